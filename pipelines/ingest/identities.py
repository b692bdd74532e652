"""The identity vault's records: names and addresses for the month's signal lists, read after link.

What goes into the vault, and when (issue 16). A signal list shows the month's cases (a case
is a household with a vroegsignaal in the month: outreach/cases.py) and names the persons of
their signals and the address. So the vault holds the persons of the households with a
vroegsignaal in the month, and nobody else: `vault_households.sql` finds them in the warehouse
after link (by the signal's person, or by its address). Until issue 16 every person of the BRP
went into the vault at ingest: for the country 17.8 million names and addresses, 610 MB, 10 GB
of memory and about 100 s, for lists that name about one person in a hundred.

How they are read. The BRP extract is read a second time, in batches (`readers.stream_csv`,
which reads the same files with the same checks and row numbers as ingest did), with its
`identity` columns. Per batch the source's own load SQL (sources.yaml `load`, as ingest ran it)
gives each row's household pseudonym; DuckDB computes only that one (it prunes the pseudonyms
the query does not use). The rows of the wanted households keep their identity columns and get
their person pseudonym from the same load SQL over those rows alone. Memory is a batch, not
the population.

Which rows are never taken: a row the contract quarantined at ingest (the source's quarantine
file names it by file and row), a row whose person is not the warehouse's person of that
household (the extract changed after ingest: counted as `not_loaded`), and, for a person on
more than one row, every row after the first (as ingest keeps the first).

No identity value reaches DuckDB or a file here: DuckDB sees only the columns the load SQL
reads (as at ingest), in an in-memory connection that may not spill to a temporary file; the
identity columns stay in Arrow and go to `privacy.vault.write_vault` (encrypted) only.
"""

from __future__ import annotations

import csv
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.ingest import ADDRESS_KEY_SQL, IDENTITY_PREFIX, _params, _staging, load_sql, only_allowed, with_identity
from pipelines.ingest.readers import SourceFileError, StreamedFile, stream_csv
from pipelines.link import placed_by_address
from pipelines.settings import Source, load_contract
from privacy.pseudonymise import Pads, install_sql_macro
from privacy.vault import COLUMNS, FIELDS

HOUSEHOLDS_SQL = (Path(__file__).parent / "vault_households.sql").read_text(encoding="utf-8")
BY_ADDRESS = "\n".join(line for line in (Path(__file__).parent / "vault_households_by_address.sql").read_text(
    encoding="utf-8").splitlines() if not line.lstrip().startswith("--"))


@dataclass
class VaultRecords:
    """The vault's records and counts of how they were found (counts only leave this module)."""

    records: pa.Table
    households: int = 0  # wanted: with a vroegsignaal in the month
    households_found: int = 0  # of those, with at least one record
    persons: int = 0  # the warehouse's persons of the wanted households
    rows_read: int = 0  # records of the extract read again
    quarantined: int = 0  # rows of wanted households skipped: quarantined at ingest
    not_loaded: int = 0  # rows of wanted households skipped: not a warehouse person (the extract changed)
    files: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict:
        return {"households": self.households, "households_found": self.households_found, "persons": self.persons,
                "records": self.records.num_rows, "rows_read": self.rows_read, "quarantined": self.quarantined,
                "not_loaded": self.not_loaded, "seconds": self.seconds}


def wanted_persons(con: duckdb.DuckDBPyConnection, bounds: dict) -> pa.Table:
    """(pid, hid) of the persons of the households with a vroegsignaal in the month (text UUIDs)."""
    tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
    if not {"persons", "vroegsignalen"} <= tables:
        return pa.table({"pid": pa.array([], pa.string()), "hid": pa.array([], pa.string())})
    query = HOUSEHOLDS_SQL.replace("{by_address}", BY_ADDRESS if placed_by_address(con) else "")
    return con.execute(query, {"period_start": bounds["period_start"], "period_end": bounds["period_end"]}
                       ).fetch_arrow_table().cast(pa.schema([("pid", pa.string()), ("hid", pa.string())]))


def quarantined_rows(path: Path) -> set[tuple[str, int]]:
    """(file, row) of every row a source's quarantine file names (ingest wrote it; no values in it)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return {(r["file"], int(r["row"])) for r in csv.DictReader(fh) if r["row"]}


T = TypeVar("T")
_END = object()


def read_ahead(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """`items`, made in a thread of their own at most `depth` ahead of their use: the CSV parser
    (which releases the GIL) reads the next batch while DuckDB pseudonymises this one."""
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(x: object) -> bool:
        while not stop.is_set():
            try:
                box.put(x, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def make() -> None:
        try:
            for x in items:
                if not put(("item", x)):
                    return
            put(("end", _END))
        except BaseException as exc:  # given to the consumer, raised there
            put(("error", exc))

    worker = threading.Thread(target=make, name="vault-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, x = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise x
            yield x
    finally:
        stop.set()
        worker.join()


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET temp_directory = ''")  # never a temporary file (an in-memory database would spill to ./.tmp)
    install_sql_macro(con)
    con.execute(ADDRESS_KEY_SQL)
    return con


def vault_records(name: str, source: Source, sources_dir: Path, config_dir: Path, pads: Pads, wanted: pa.Table,
                  quarantined: set[tuple[str, int]], allowed: set[str] | None = None,
                  batch_rows: int = 1_000_000) -> VaultRecords:
    """The vault's records (privacy.vault.COLUMNS) of the persons in `wanted` (pid, hid), read from
    the source's extract in batches of `batch_rows` records. `allowed`: the fields some DPIA
    purpose allows (the load SQL sees the columns ingest gave it, the others empty)."""
    t0 = time.perf_counter()
    reduced, _, unread = only_allowed(name, source, load_contract(config_dir, source), allowed)
    read_as, identity = with_identity(reduced)
    if read_as.format != "csv":
        raise SourceFileError(name, read_as.file, "identity columns are read from a CSV extract only")
    found = VaultRecords(records=_empty(), persons=wanted.num_rows,
                         households=len(pc.unique(wanted["hid"])) if wanted.num_rows else 0)
    if not wanted.num_rows:  # no household with a signal: an empty vault, and the extract is not read
        found.seconds = round(time.perf_counter() - t0, 2)
        return found
    query = load_sql(reduced, config_dir).strip().rstrip(";")
    params = _params(query, reduced, pads)
    load_columns = list(reduced.columns)
    con = _connect()
    parts: list[pa.Table] = []
    files: list[StreamedFile] = []
    rid = 0
    try:
        con.register("vault_wanted", wanted.select(["hid"]))
        con.execute("CREATE TEMP TABLE vault_households AS SELECT DISTINCT CAST(hid AS UUID) AS hid FROM vault_wanted")
        con.unregister("vault_wanted")
        for info, batch, first in read_ahead(stream_csv(name, read_as, sources_dir, batch_rows)):
            if not files or files[-1] is not info:
                files.append(info)
            rids = pa.array(np.arange(rid, rid + batch.num_rows, dtype=np.int64))
            rid += batch.num_rows
            staging = _staging(batch.select(load_columns).append_column("_rid", rids), reduced, unread)
            con.register("staging", staging)
            try:  # the household pseudonym only (the pid and the other columns are pruned)
                hit = con.execute(f"SELECT l._rid FROM ({query}) AS l WHERE l.hid IN (SELECT hid FROM "
                                  "vault_households) ORDER BY l._rid", params).fetch_arrow_table()["_rid"]
            finally:
                con.unregister("staging")
            if not len(hit):
                continue
            local = pc.subtract(hit, rids[0])
            rows = staging.take(local)
            con.register("staging", rows)
            try:  # now the person pseudonym, of these rows alone
                keys = con.execute(f"SELECT CAST(l.pid AS VARCHAR) AS pid, CAST(l.hid AS VARCHAR) AS hid, l._rid "
                                   f"FROM ({query}) AS l ORDER BY l._rid", params).fetch_arrow_table()
            finally:
                con.unregister("staging")
            if keys.num_rows != rows.num_rows or not pc.all(pc.equal(keys["_rid"], rows["_rid"])).as_py():
                raise RuntimeError(f"load SQL {reduced.load}: does not give one row per staged row; the identity "
                                   "vault is not written")
            taken = batch.take(local)
            parts.append(pa.table({
                "pid": keys["pid"], "hid": keys["hid"], "_rid": keys["_rid"],
                "_file": pa.array(np.full(len(local), len(files) - 1, dtype=np.int32)),
                "_k": pc.add(local, first),
                **{k: taken[identity[f"{IDENTITY_PREFIX}{k}"]] if f"{IDENTITY_PREFIX}{k}" in identity
                   else pa.nulls(len(local), pa.string()) for k in FIELDS}}))
    finally:
        con.close()
    parts = [p for p in parts if not files[p["_file"][0].as_py()].superseded]  # (a file read again: see stream_csv)
    found.rows_read = sum(f.parsed for f in files if not f.superseded)
    found.files = [{"name": f.name, "rows": f.parsed + len(f.rejected)} for f in files if not f.superseded]
    candidates = pa.concat_tables(parts) if parts else _empty().append_column("_rid", pa.array([], pa.int64()))
    if parts:
        candidates = _taken(candidates, files, quarantined, wanted, found)
    found.records = candidates.select(list(COLUMNS))
    found.households_found = len(pc.unique(found.records["hid"])) if found.records.num_rows else 0
    found.seconds = round(time.perf_counter() - t0, 2)
    return found


def _taken(candidates: pa.Table, files: list[StreamedFile], quarantined: set[tuple[str, int]], wanted: pa.Table,
           found: VaultRecords) -> pa.Table:
    """The candidate rows the vault takes: not quarantined, a warehouse person, the first row of a pid."""
    file_of = candidates["_file"].to_numpy()
    k = candidates["_k"].to_numpy()
    rows = np.empty(len(k), dtype=np.int64)
    for i, f in enumerate(files):
        mine = file_of == i
        rows[mine] = f.rows[k[mine]]
    keep = np.array([(files[f].name, int(r)) not in quarantined for f, r in zip(file_of, rows)], dtype=bool)
    found.quarantined = int((~keep).sum())
    candidates = candidates.filter(pa.array(keep))
    pair = pc.binary_join_element_wise(candidates["pid"], candidates["hid"], "/")
    loaded = pc.is_in(pair, value_set=pc.binary_join_element_wise(wanted["pid"], wanted["hid"], "/"))
    loaded = pc.fill_null(loaded, False)
    found.not_loaded = candidates.num_rows - int(pc.sum(loaded).as_py() or 0)
    candidates = candidates.filter(loaded).sort_by("_rid")
    _, first = np.unique(candidates["pid"].to_numpy(zero_copy_only=False), return_index=True)
    return candidates.take(pa.array(np.sort(first))).sort_by([("hid", "ascending"), ("pid", "ascending")])


def _empty() -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in COLUMNS})
