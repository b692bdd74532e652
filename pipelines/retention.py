"""Retention, enforced: delete what is past its term from a work directory, and make the bytes go.

The terms come from privacy/retention.py (rule R1: per source the longest `retention_months`
of the purposes that read it, counted back from a reference period YYYY-MM). This module
applies them to a work directory, under its lock (workdir.exclusive):

* **Warehouse rows.** A source's table (config/sources.yaml `table`) loses the rows whose date
  is before the source's cutoff. The date column is the source's catalogue declaration: its
  `window_field` (vroegsignalen: signaaldatum) or else the end of its `period_fields`
  (uitkeringen, wmo: einddatum; a running one, without einddatum, is kept). A source that
  declares neither (the BRP) is its current extract, replaced whole at every ingest.
  The outreach tables (cases, case_signals, case_triage, case_matching; the outcomes case_outcomes,
  case_contacts; the monitor's monitor_snapshots) lose the rows of months before rule R2's cutoff; household_facts loses the months before the BRP's.
* **Files.** `quarantine/<period>/<source>.csv` and `quality/<period>/<source>.json` of a month
  before their source's first month kept; `outreach/<period>/` (the signal lists, made from that
  month's vroegsignalen), `levering/<period>/` (the DDAS delivery) and `terugkoppeling/<period>/`
  (the feedback to signal partners) under rule R2's term (what was made from the vroegsignalen for
  those outputs: privacy/retention.py), like the outreach, outcomes and monitor-snapshot tables.
  The identity vault is written whole after link, with the month's signal households, by every run
  that makes signal lists: a vault no selection needs any more is removed, and so is a `.new` file
  a crashed write left.
* **Compaction.** A DuckDB DELETE leaves the old values in the file until its blocks are reused,
  so the warehouse is then copied into a fresh file (COPY FROM DATABASE), fsync'd and renamed
  over the old one; no WAL is left.
* **Deletion log.** Counts per place, source, purpose and month (no identity, no pseudonym) are
  appended durably to `<work>/retention.jsonl` and returned (audit.json `retention`).

`dry_run` counts the same and changes nothing: the warehouse is opened read-only.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from pathlib import Path

import duckdb

from pipelines import workdir
from pipelines.settings import SourcesFile
from privacy.dpia import DpiaRules
from privacy.ledger import append_durable, fsync_dir
from privacy.retention import MADE_RULE, MADE_RULE_TEXT, RULE, RULE_TEXT, Term, made_term, terms

log = logging.getLogger("wijksignaal.retention")

WAREHOUSE = "warehouse.duckdb"
LOG = "retention.jsonl"
# pipelines/outreach and pipelines/monitor: months of signals, their outcomes and the monitor's fixed facts
OUTREACH_TABLES = ("cases", "case_signals", "case_triage", "case_matching", "case_lists", "case_outcomes",
                   "case_contacts", "monitor_snapshots")
OUTREACH_SOURCE = "vroegsignalen"
FACTS_TABLE, FACTS_SOURCE = "household_facts", "brp"  # pipelines/link: one month of the BRP per period
FILE_FOLDERS = {"quarantine": ".csv", "quality": ".json"}  # <work>/<folder>/<period>/<source><ext>
# <work>/<folder>/<period>/: made from a month's vroegsignalen (the signal lists, the DDAS delivery with its BSNs, the
# feedback to signal partners), kept under the vroegsignalen term
SIGNAL_FOLDERS = ("outreach", "levering", "terugkoppeling")
# the outputs these folders and the outreach tables are made for: their term is rule R2's (privacy/retention.py)
MADE_OUTPUTS = ("signal_list", "ddas_delivery", "partner_feedback", "monitor_tables")
VAULT = Path("vault") / "identiteiten.duckdb"
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_SQL_FILE = Path(__file__).with_name("sql") / "retention.sql"


def _sql() -> dict[str, str]:
    text = _SQL_FILE.read_text(encoding="utf-8")
    parts = re.split(r"^-- name: (\w+)\n", text, flags=re.M)
    return {name: "\n".join(ln for ln in body.splitlines() if not ln.startswith("--")).strip().rstrip(";")
            for name, body in zip(parts[1::2], parts[2::2], strict=True)}


SQL = _sql()


def dated_column(sources: SourcesFile, source: str) -> str | None:
    """The date column that dates a row of the source's table, from its catalogue declaration."""
    spec = sources.sources[source]
    for entry in spec.catalogue.values():
        if entry.table not in (None, spec.table):
            continue
        if entry.window_field:
            return entry.window_field
        if entry.period_fields:
            return entry.period_fields[-1]
    return None


def _rows(con: duckdb.DuckDBPyConnection, kind: str, table: str, column: str, term: Term) -> list[tuple[str, int]]:
    params = {"cutoff": term.cutoff} if kind == "dated" else {"keep_from": term.keep_from}
    return [(p, int(n)) for p, n in con.execute(SQL[f"{kind}_count"].format(table=table, column=column),
                                                params).fetchall()]


def _plan_warehouse(con: duckdb.DuckDBPyConnection, sources: SourcesFile, ts: dict[str, Term], made: Term
                    ) -> tuple[list[tuple[str, str, str, Term]], list[str]]:
    """(table, kind, column, term) for every table with a term, and the tables without one."""
    tables = [t for (t,) in con.execute(SQL["tables"]).fetchall()]
    plan, undated = [], []
    by_table = {sources.sources[s].table: s for s in ts}
    for table in tables:
        if table in by_table:
            source = by_table[table]
            column = dated_column(sources, source)
            have = {c for (c,) in con.execute(SQL["columns"], {"table": table}).fetchall()}
            if column and column in have:
                plan.append((table, "dated", column, ts[source]))
            else:
                undated.append(table)
        elif table in OUTREACH_TABLES and OUTREACH_SOURCE in ts:
            plan.append((table, "period", "period", made))
        elif table == FACTS_TABLE and FACTS_SOURCE in ts:
            plan.append((table, "period", "period", ts[FACTS_SOURCE]))
        else:
            undated.append(table)
    return plan, undated


def _entry(place: str, source: str, term: Term, period: str, **count: int) -> dict:
    return {"place": place, "source": source, "rule": term.rule, "purposes": list(term.longest), "period": period,
            **count}


def compact(warehouse: Path) -> None:
    """Copy the warehouse into a fresh file and rename it over the old one: the blocks that held
    deleted rows are not copied, so their bytes are gone. No WAL is left behind."""
    fresh = warehouse.with_name(f".{warehouse.name}.compact")
    for p in (fresh, fresh.with_name(fresh.name + ".wal")):
        p.unlink(missing_ok=True)
    con = duckdb.connect(str(warehouse))
    try:
        tmp = warehouse.parent / "tmp"
        tmp.mkdir(exist_ok=True)
        con.execute("SET temp_directory = ?", [str(tmp)])
        db = con.execute("SELECT current_database()").fetchone()[0]
        con.execute("ATTACH '" + str(fresh).replace("'", "''") + "' AS retention_fresh")
        con.execute(f'COPY FROM DATABASE "{db}" TO retention_fresh')
        con.execute("DETACH retention_fresh")
    finally:
        con.close()
    fresh.with_name(fresh.name + ".wal").unlink(missing_ok=True)  # DETACH checkpointed it
    os.chmod(fresh, warehouse.stat().st_mode & 0o777)  # as private as the warehouse it replaces
    fd = os.open(fresh, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    warehouse.with_name(warehouse.name + ".wal").unlink(missing_ok=True)  # closed cleanly: checkpointed
    os.replace(fresh, warehouse)
    fsync_dir(warehouse.parent)


def _files(work_dir: Path, ts: dict[str, Term], made: Term, dry_run: bool) -> tuple[list[dict], list[str]]:
    """Quarantine, quality, outreach, delivery and feedback files past their term (removed unless dry_run)."""
    gone: list[dict] = []
    kept_unknown: list[str] = []
    for folder, ext in FILE_FOLDERS.items():
        root = work_dir / folder
        for month in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
            if not MONTH.match(month.name):
                kept_unknown.append(f"{folder}/{month.name}")
                continue
            for f in sorted(month.iterdir()):
                source = f.name[:-len(ext)] if f.name.endswith(ext) else None
                if source not in ts:
                    kept_unknown.append(f"{folder}/{month.name}/{f.name}")
                    continue
                if ts[source].past(month.name):
                    gone.append(_entry(folder, source, ts[source], month.name, files=1))
                    if not dry_run:
                        f.unlink()
            if not dry_run and not any(month.iterdir()):
                month.rmdir()
    for place in SIGNAL_FOLDERS:
        root = work_dir / place
        if OUTREACH_SOURCE not in ts or not root.is_dir():
            continue
        term = made
        for month in sorted(p for p in root.iterdir() if p.is_dir()):
            if MONTH.match(month.name) and term.past(month.name):
                n = sum(1 for p in month.rglob("*") if not p.is_dir())
                gone.append(_entry(place, OUTREACH_SOURCE, term, month.name, files=n))
                if not dry_run:
                    shutil.rmtree(month)
    return gone, kept_unknown


def _vault(work_dir: Path, ts: dict[str, Term], vault_needed: bool, dry_run: bool) -> list[dict]:
    vault = work_dir / VAULT
    leftovers = [vault.with_name(f".{vault.name}.new"), vault.with_name(f".{vault.name}.new.wal")]
    if not vault_needed:  # no selection makes signal lists: nothing needs the identities any more
        leftovers += [vault, vault.with_name(vault.name + ".wal")]
    present = [p for p in leftovers if p.exists()]
    if not present or FACTS_SOURCE not in ts:
        return []
    if not dry_run:
        for p in present:
            p.unlink()
    return [_entry("vault", FACTS_SOURCE, ts[FACTS_SOURCE], ts[FACTS_SOURCE].reference, files=len(present))]


def enforce(work_dir: Path, dpia: DpiaRules, sources: SourcesFile, reference: str, *, dry_run: bool = False,
            vault_needed: bool = True) -> dict:
    """Delete what is past its term at `reference` (YYYY-MM) from `work_dir`, compact the
    warehouse and append the deletion log; with `dry_run`, only count. Returns the counts
    (deterministic: no time, no size) for audit.json."""
    work_dir = Path(work_dir)
    ts = terms(dpia, sources.ids, reference)
    made = made_term(dpia, OUTREACH_SOURCE, MADE_OUTPUTS, reference)
    t0 = time.perf_counter()
    with workdir.exclusive(work_dir, "retention", reference):
        warehouse = work_dir / WAREHOUSE
        rows: list[dict] = []
        undated: list[str] = []
        before = warehouse.stat().st_size if warehouse.exists() else 0
        if warehouse.exists():
            con = duckdb.connect(str(warehouse), read_only=dry_run)
            try:
                plan, undated = _plan_warehouse(con, sources, ts, made)
                for table, kind, column, term in plan:
                    counted = _rows(con, kind, table, column, term)
                    of = "extract" if kind == "dated" else "earlier runs"
                    rows += [{**_entry(f"warehouse:{table}", term.source, term, p, rows=n), "of": of}
                             for p, n in counted]
                    if counted and not dry_run:
                        con.execute(SQL[f"{kind}_delete"].format(table=table, column=column),
                                    {"cutoff": term.cutoff} if kind == "dated" else {"keep_from": term.keep_from})
            finally:
                con.close()
            if not dry_run:
                compact(warehouse)
        files, unknown = _files(work_dir, ts, made, dry_run)
        files += _vault(work_dir, ts, vault_needed, dry_run)
        result = {
            "rule": f"{RULE}: {RULE_TEXT}; {MADE_RULE}: {MADE_RULE_TEXT} (privacy/README.md, Bewaartermijnen)",
            "reference": reference,
            "dry_run": dry_run,
            "terms": {s: t.as_dict() for s, t in ts.items()},
            "made_terms": {f"{OUTREACH_SOURCE}: {', '.join(MADE_OUTPUTS)}": made.as_dict()},
            "rows": rows,
            "files": files,
            "rows_deleted": sum(r["rows"] for r in rows),
            "files_deleted": sum(f["files"] for f in files),
            "kept_without_term": sorted(undated) + sorted(unknown),
        }
        seconds = round(time.perf_counter() - t0, 3)
        after = warehouse.stat().st_size if warehouse.exists() else 0
        if not dry_run:
            line = {**result, "compacted": warehouse.exists(), "warehouse_bytes": {"before": before, "after": after},
                    "seconds": seconds}
            append_durable(work_dir / LOG, (json.dumps(line, sort_keys=True) + "\n").encode("utf-8"), 0o600)
    log.info("retention at %s: %d row(s) and %d file(s) %s in %.1f s", reference, result["rows_deleted"],
             result["files_deleted"], "past their term (dry run: nothing deleted)" if dry_run else "deleted", seconds)
    return result


def audit_section(result: dict) -> dict:
    """audit.json's `retention`: the terms, and the rows of this run's extracts that were past
    their term (a function of the inputs, the rules and the period, like the rest of audit.json).
    What earlier runs left (their months' facts, cases, files) depends on the work directory's
    history, not on this release's inputs: it is counted in the deletion log only."""
    extract = [{k: v for k, v in r.items() if k != "of"} for r in result["rows"] if r["of"] == "extract"]
    return {"rule": result["rule"], "reference": result["reference"], "terms": result["terms"],
            "made_terms": result.get("made_terms", {}),
            "extract_rows": extract, "extract_rows_deleted": sum(r["rows"] for r in extract),
            "earlier_runs": f"rows, files and months left by earlier runs are counted in {LOG} in the work directory"}


def for_run(run, reference: str | None = None, dry_run: bool = False) -> dict:
    """`enforce` for a pipeline Run (its work directory, DPIA, sources; its period by default)."""
    return enforce(run.work_dir, run.dpia, run.sources, reference or run.period, dry_run=dry_run,
                   vault_needed=bool(run.signal_lists))


__all__ = ["LOG", "audit_section", "compact", "dated_column", "enforce", "for_run"]
