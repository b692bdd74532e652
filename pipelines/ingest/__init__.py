"""Ingest: read a source, check its data contract, quarantine failing rows, pseudonymise
and load the rest into the warehouse. Row accounting always holds:
rows read = rows loaded + rows quarantined (checked here; a mismatch stops the run).
"""

from __future__ import annotations

import csv
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.ingest.contracts import ContractOutcome, RuleResult, validate
from pipelines.ingest.readers import FileInfo, RawSource, Rejected, read_source
from pipelines.settings import LINK_KINDS, POPULATION_TABLE, Contract, Source, load_contract
from privacy.pseudonymise import Pads, install_sql_macro

log = logging.getLogger("wijksignaal.ingest")

QUARANTINE_COLUMNS = ["source", "file", "row", "rule", "column", "message"]
PARAMETER = re.compile(r"\$([a-z_]+)")
ADDRESS_KEY_SQL = (Path(__file__).parent / "address_key.sql").read_text(encoding="utf-8")


class AccountingError(Exception):
    pass


@dataclass
class SourceAccount:
    source: str
    files: list[dict]
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    quarantined_by_rule: dict[str, int]
    contract: dict
    columns_not_read: list[str] = field(default_factory=list)
    values_seen: dict[str, dict[str, int]] = field(default_factory=dict)
    newest: dict[str, str | None] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def quarantine_records(name: str, raw: RawSource, outcome: ContractOutcome) -> list[dict]:
    """One record per (row, rule): where the row is and which rule it broke; never its values."""
    rules = {r.rule: r for r in outcome.rules}
    out = [
        {"source": name, "file": r.file, "row": r.row if r.row is not None else "", "rule": r.rule, "column": "",
         "message": r.message}
        for r in raw.rejected
    ]
    if outcome.failures:
        rids = pa.array(sorted(outcome.failures), type=pa.int64())
        mask = pc.is_in(raw.table["_rid"], value_set=rids)
        located = raw.table.filter(mask).select(["_rid", "_file", "_row"]).to_pylist()
        for rec in located:
            for rule in outcome.failures[rec["_rid"]]:
                out.append({"source": name, "file": rec["_file"], "row": rec["_row"], "rule": rule,
                            "column": rules[rule].column, "message": f"not met: {rules[rule].description}"})
    return out


def write_quarantine(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=QUARANTINE_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(records)


def load_sql(source: Source, config_dir: Path) -> str:
    """The source's load SQL (`load` in sources.yaml): it reads the staged rows as `staging`."""
    return (config_dir / source.load).read_text(encoding="utf-8")


def _load(con: duckdb.DuckDBPyConnection, source: Source, query: str, pads: Pads, staging: pa.Table) -> None:
    """Pseudonymise the rows into TEMP table `loading_<table>`: a temporary table lives in
    memory (spilling to the work directory's tmp/ at most), never in the warehouse file."""
    install_sql_macro(con)
    con.execute(ADDRESS_KEY_SQL)
    con.register("staging", staging)
    try:
        con.execute(f'CREATE OR REPLACE TEMP TABLE "loading_{source.table}" AS ' + query,
                    _params(query, source, pads))
    finally:
        con.unregister("staging")
    check_pseudonymised(con, source)


# the pseudonym column a load gives for each pseudonymised link column
PSEUDONYM_OF = {"pseudonym": "pid", "household": "hid", "signal": "sid", "address": "aid"}


class LoadSqlError(Exception):
    pass


def check_pseudonymised(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """A load SQL is configuration (sources.yaml `load`), so what it gives is checked: every
    pseudonymised link column comes out as its pseudonym (a UUID, which cannot hold a BSN or
    a household number) and never under its own name."""
    types = dict(con.execute(f'SELECT column_name, column_type FROM (DESCRIBE "loading_{source.table}")').fetchall())
    problems = [f"column '{c}' must not be kept: it is pseudonymised" for c, kind in source.link.items()
                if kind in PSEUDONYM_OF and c in types]
    problems += [f"column '{PSEUDONYM_OF[kind]}' (the pseudonym of '{c}') must be a UUID from pseudonym(), "
                 f"not {types.get(PSEUDONYM_OF[kind], 'missing')}"
                 for c, kind in source.link.items() if kind in PSEUDONYM_OF and types.get(PSEUDONYM_OF[kind]) != "UUID"]
    if "_rid" not in types:
        problems.append("column '_rid' (the row id) must be kept")
    if problems:
        con.execute(f'DROP TABLE IF EXISTS "loading_{source.table}"')
        raise LoadSqlError(f"load SQL {source.load}: " + "; ".join(problems) + "; nothing is loaded")


def loaded_columns(name: str, source: Source, allowed: set[str]) -> list[tuple[str, str | None]]:
    """(column, what is kept of it) per column of a source as a run loads it; None: not read.
    The link columns (sources.yaml `link`) are read whatever the DPIA allows: they place a row.
    Every other column is read only when some DPIA purpose allows its field, and kept as read."""
    keep = set(source.link) | allowed
    return [(c, LINK_KINDS[source.link[c]] if c in source.link else "bewaard" if c in keep else None)
            for c in source.fields]


def only_allowed(name: str, source: Source, contract: Contract, allowed: set[str] | None
                 ) -> tuple[Source, Contract, list[str]]:
    """The source and contract reduced to the columns it may be read for: its link columns and
    the fields some DPIA purpose allows (`allowed`; None = every column). Returns the columns
    left unread too: the file's values there are never read, the warehouse column stays empty."""
    if allowed is None:
        return source, contract, []
    keep = set(source.link) | allowed
    unread = [c for c in source.fields if c not in keep]
    source = source.model_copy(update={"columns": {c: h for c, h in source.columns.items() if c in keep},
                                       "columns_by_version": {v: {c: p for c, p in m.items() if c in keep}
                                                              for v, m in source.columns_by_version.items()},
                                       "values": {c: m for c, m in source.values.items() if c in keep}})
    contract = contract.model_copy(update={"expectations": [  # a rule over two columns needs both read
        e for e in contract.expectations
        if e.column in keep and all(v in keep or v.startswith("_") for k, v in e.kwargs.items()
                                    if k in ("on_or_after", "on_or_before"))
        and all(c in keep for c in e.kwargs.get("or_filled_in", []))]})
    return source, contract, unread


def not_run(full: Contract, reduced: Contract, unread: list[str]) -> list[RuleResult]:
    """The contract's rules `only_allowed` dropped, as results that say why they did not run."""
    kept = {e.rule for e in reduced.expectations}
    return [RuleResult(e.rule, e.expect, e.column, e.description,
                       skipped=f"not run: it reads a column that is not loaded ({', '.join(unread)}: no DPIA purpose "
                               "allows it)")
            for e in full.expectations if e.rule not in kept]


def _staging(table: pa.Table, source: Source, unread: list[str]) -> pa.Table:
    """What the load SQL reads: yes/no columns as booleans by the source's `values` mapping (a
    value not listed becomes null; the contract quarantines that row), unread columns as nulls."""
    for column, mapping in source.values.items():
        mapped = pc.take(pa.array(list(mapping.values()), pa.bool_()),
                         pc.index_in(table[column], value_set=pa.array(list(mapping), pa.string())))
        table = table.set_column(table.column_names.index(column), column, mapped)
    for column in unread:
        table = table.append_column(column, pa.nulls(table.num_rows, pa.string()))
    return table


def _values_seen(table: pa.Table, source: Source, keep: pa.Array) -> dict[str, dict[str, int]]:
    """Per yes/no column, how many loaded rows hold each listed value (0 where none does)."""
    out = {}
    for column, mapping in source.values.items():
        counts = pc.value_counts(pc.filter(table[column], keep)).to_pylist()
        seen = {c["values"]: c["counts"] for c in counts}
        out[column] = {v: int(seen.get(v, 0)) for v in mapping}
    return out


def ingest_source(
    con: duckdb.DuckDBPyConnection, name: str, source: Source, sources_dir: Path, config_dir: Path,
    pads: Pads, codelists: dict[str, list[str]], chunk_rows: int = 2_000_000, allowed: set[str] | None = None,
    newest_of: str | None = None,
) -> tuple[SourceAccount, list[dict]]:
    """Read, check and load one source. The contract check (GX, in this thread) and the
    pseudonymising load (DuckDB, in a worker thread) run at the same time over the same
    rows; the load goes to a TEMP table first (memory), and only the rows the contract
    passes are then written to the warehouse: a quarantined row's values never reach the
    warehouse file (a DELETE would leave them in its bytes). `newest_of` names a date
    column whose newest loaded value the account reports (the period-coverage gate).
    A source's `identity` columns (the BRP's names and address) are never read here: the
    identity vault is filled after link, with only the households that have a signal
    (identities.py)."""
    t0 = time.perf_counter()
    full = load_contract(config_dir, source)
    source, contract, unread = only_allowed(name, source, full, allowed)
    raw = read_source(name, source, sources_dir)
    t1 = time.perf_counter()
    log.info("%s: read %d rows from %d file(s) in %.1f s", name, raw.rows_read, len(raw.files), t1 - t0)
    table = source.table
    query = load_sql(source, config_dir)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"load-{name}") as pool:
        loading = pool.submit(_load, con, source, query, pads,
                              _staging(raw.table.drop_columns(["_file", "_row"]), source, unread))
        try:
            outcome = validate(name, raw.table, contract, source, codelists, chunk_rows)
            outcome.rules.extend(not_run(full, contract, unread))
        finally:
            loading.result()  # re-raises a load error; waits for the load either way
    t2 = time.perf_counter()
    bad = pa.array(sorted(outcome.failures), type=pa.int64())
    keep = pc.invert(pc.is_in(raw.table["_rid"], value_set=bad))
    con.register("quarantined", pa.table({"_rid": bad}))
    try:
        con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * EXCLUDE (_rid) FROM "loading_{table}" '
                    'WHERE _rid NOT IN (SELECT _rid FROM quarantined) ORDER BY _rid')
    finally:
        con.unregister("quarantined")
        con.execute(f'DROP TABLE IF EXISTS "loading_{table}"')
    # every row is placed: by its person or, in a source with an address link (a DDAS v1.2 client without BSN), by
    # its address; the BRP's persons always by their BSN (their address only serves to link such signals)
    placed = "coalesce(pid, aid)" if "address" in source.link.values() and table != POPULATION_TABLE else "pid"
    loaded, unparsed = con.execute(f'SELECT count(*), count(*) FILTER (WHERE {placed} IS NULL) FROM "{table}"'
                                   ).fetchone()
    if unparsed:
        raise AccountingError(f"source '{name}': {unparsed} row(s) passed the contract but could not be "
                              "pseudonymised; nothing is published")
    newest = {}
    if newest_of:
        value = con.execute(f'SELECT max("{newest_of}") FROM "{table}"').fetchone()[0]
        newest[newest_of] = None if value is None else str(value)
    t3 = time.perf_counter()
    log.info("%s: contract checked and rows pseudonymised and loaded in %.1f s; %d loaded, %d quarantined",
             name, t3 - t1, loaded, len(outcome.failures) + len(raw.rejected))

    records = quarantine_records(name, raw, outcome)
    by_rule: dict[str, int] = {}
    for r in records:
        by_rule[r["rule"]] = by_rule.get(r["rule"], 0) + 1
    quarantined = len(outcome.failures) + len(raw.rejected)
    account = SourceAccount(
        source=name,
        files=[asdict(f) for f in raw.files],
        rows_read=raw.rows_read,
        rows_loaded=int(loaded),
        rows_quarantined=quarantined,
        quarantined_by_rule=dict(sorted(by_rule.items())),
        contract=outcome.as_dict(),
        columns_not_read=unread,
        values_seen=_values_seen(raw.table, source, keep),
        newest=newest,
        seconds={"read": round(t1 - t0, 2), "check_and_load": round(t2 - t1, 2), "quarantine": round(t3 - t2, 2)},
    )
    if account.rows_read != account.rows_loaded + account.rows_quarantined:
        raise AccountingError(
            f"source '{name}': rows read ({account.rows_read}) != loaded ({account.rows_loaded}) "
            f"+ quarantined ({account.rows_quarantined}); nothing is published"
        )
    return account, records


IDENTITY_PREFIX = "_identity_"


def with_identity(source: Source) -> tuple[Source, dict[str, str]]:
    """The source as read for the identity vault (identities.py; preflight checks these headers):
    its columns and its `identity` headers (a header read already, the address, is not read
    twice); and per identity column, the column holding it."""
    mapped = {h: c for c, h in source.columns.items()}
    identity = {f"{IDENTITY_PREFIX}{k}": h for k, h in source.identity.items()}
    extra = {c: h for c, h in identity.items() if h not in mapped}
    return (source.model_copy(update={"columns": {**source.columns, **extra}}),
            {c: c if c in extra else mapped[h] for c, h in identity.items()})


def _params(query: str, source: Source, pads: Pads) -> dict:
    """The values a load SQL may bind: the pseudonym pads and the source's formats; each query
    gets the ones it names (DuckDB refuses a parameter the query does not use)."""
    offered = {"ipad": pads.inner, "opad": pads.outer, "date_format": source.date_format, "decimal": source.decimal}
    named = set(PARAMETER.findall(query))
    unknown = named - set(offered)
    if unknown:
        raise ValueError(f"load SQL of table '{source.table}' names unknown parameter(s) "
                         f"{', '.join('$' + u for u in sorted(unknown))}; offered: "
                         f"{', '.join('$' + o for o in offered)}")
    return {k: v for k, v in offered.items() if k in named}


__all__ = ["ingest_source", "write_quarantine", "SourceAccount", "AccountingError", "FileInfo", "Rejected"]
