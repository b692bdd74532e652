"""Ingest: read a source, check its data contract, quarantine failing rows, pseudonymise
and load the rest into the warehouse. Row accounting always holds:
rows read = rows loaded + rows quarantined (checked here; a mismatch stops the run).
"""

from __future__ import annotations

import csv
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from privacy.pseudonymise import Pads, install_sql_macro

from ..settings import Source, load_contract
from ..sql import sql
from .contracts import ContractOutcome, validate
from .readers import FileInfo, Rejected, RawSource, read_source

log = logging.getLogger("wijksignaal.ingest")

QUARANTINE_COLUMNS = ["source", "file", "row", "rule", "column", "message"]
TABLE_OF = {"brp": "persons", "uitkeringen": "uitkeringen", "vroegsignalen": "vroegsignalen", "wmo": "wmo"}


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
                            "column": rules[rule].column, "message": rules[rule].description})
    return out


def write_quarantine(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=QUARANTINE_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(records)


def _load(con: duckdb.DuckDBPyConnection, name: str, source: Source, pads: Pads, staging: pa.Table) -> None:
    install_sql_macro(con)
    con.register("staging", staging)
    try:
        con.execute(sql(f"load_{name}"), _params(name, source, pads))
    finally:
        con.unregister("staging")


def ingest_source(
    con: duckdb.DuckDBPyConnection, name: str, source: Source, sources_dir: Path, config_dir: Path,
    pads: Pads, codelists: dict[str, list[str]], chunk_rows: int = 2_000_000,
) -> tuple[SourceAccount, list[dict]]:
    """Read, check and load one source. The contract check (GX, in this thread) and the
    pseudonymising load (DuckDB, in a worker thread) run at the same time over the same
    rows; rows the contract fails are then deleted from the loaded table by row id."""
    t0 = time.perf_counter()
    raw = read_source(name, source, sources_dir)
    t1 = time.perf_counter()
    log.info("%s: read %d rows from %d file(s) in %.1f s", name, raw.rows_read, len(raw.files), t1 - t0)
    table = TABLE_OF[name]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"load-{name}") as pool:
        loading = pool.submit(_load, con, name, source, pads, raw.table.drop_columns(["_file", "_row"]))
        try:
            outcome = validate(name, raw.table, load_contract(config_dir, source), source, codelists, chunk_rows)
        finally:
            loading.result()  # re-raises a load error; waits for the load either way
    t2 = time.perf_counter()
    if outcome.failures:
        bad = pa.table({"_rid": pa.array(sorted(outcome.failures), type=pa.int64())})
        con.register("quarantined", bad)
        try:
            con.execute(f'DELETE FROM "{table}" WHERE _rid IN (SELECT _rid FROM quarantined)')
        finally:
            con.unregister("quarantined")
    con.execute(f'ALTER TABLE "{table}" DROP COLUMN _rid')
    loaded, unparsed = con.execute(f'SELECT count(*), count(*) FILTER (WHERE pid IS NULL) FROM "{table}"').fetchone()
    if unparsed:
        raise AccountingError(f"source '{name}': {unparsed} row(s) passed the contract but could not be "
                              "pseudonymised; nothing is published")
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
        seconds={"read": round(t1 - t0, 2), "check_and_load": round(t2 - t1, 2), "quarantine": round(t3 - t2, 2)},
    )
    if account.rows_read != account.rows_loaded + account.rows_quarantined:
        raise AccountingError(
            f"source '{name}': rows read ({account.rows_read}) != loaded ({account.rows_loaded}) "
            f"+ quarantined ({account.rows_quarantined}); nothing is published"
        )
    return account, records


def _params(name: str, source: Source, pads: Pads) -> dict:
    params = {"ipad": pads.inner, "opad": pads.outer, "date_format": source.date_format}
    if name == "uitkeringen":
        params["decimal"] = source.decimal
    return params


__all__ = ["ingest_source", "write_quarantine", "SourceAccount", "AccountingError", "FileInfo", "Rejected"]
