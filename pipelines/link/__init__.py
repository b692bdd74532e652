"""Link: persons -> households -> buurt, and per reference period the household facts
(one flag per problem domain of config/domains.yaml, composed by domains.py)."""

from __future__ import annotations

import logging
import time

import duckdb
import pandas as pd

from pipelines.configfile import ConfigError, Problem
from pipelines.link.domains import Domains
from pipelines.link.sql import sql
from pipelines.periods import period_bounds
from pipelines.settings import POPULATION_TABLE, SourcesFile

log = logging.getLogger("wijksignaal.link")


def load_buurten(con: duckdb.DuckDBPyConnection, buurten: pd.DataFrame) -> None:
    """The reference geography of the run, in the warehouse (codes and names only)."""
    frame = buurten[["buurtcode", "buurtnaam", "wijkcode", "wijknaam", "gemeentecode", "gemeentenaam"]]
    con.register("ref_buurten", frame)
    try:
        con.execute("CREATE OR REPLACE TABLE buurten AS SELECT * FROM ref_buurten ORDER BY buurtcode")
    finally:
        con.unregister("ref_buurten")


def household_facts(con: duckdb.DuckDBPyConnection, domains: Domains, bounds: dict) -> None:
    """The period's rows of household_facts: one per household, a flag per domain, n_domeinen. A
    table left with other columns (an earlier declaration of the domains) is made anew: every run
    writes the facts of its own period, and reads no other."""
    have = [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND "
                                      "table_name = 'household_facts' ORDER BY column_index").fetchall()]
    if have and have != domains.columns:
        log.info("household_facts had other columns (another declaration of the domains): made anew")
        con.execute("DROP TABLE household_facts")
    con.execute(domains.schema_sql())
    con.execute("DELETE FROM household_facts WHERE period = ?", [bounds["period"]])
    domains.check_queries(con, bounds)
    try:
        con.execute(domains.insert_sql(), domains.parameters(bounds))
    except duckdb.Error as exc:  # named by its kind only: the message could quote a value of the data
        raise ConfigError([Problem(str(domains.file), None, "the household facts could not be composed from the "
                                   f"domains ({type(exc).__name__}); check each domain's SELECT")]) from None


UNLINKED_REASONS = {
    "no_person_with_bsn": "the row's BSN is not that of any person in the BRP extract (moved away, a typo)",
    "no_person_at_address": "the client is identified by address (DDAS v1.2, no BSN) and no person in the BRP "
                            "extract lives at that address",
    "several_households_at_address": "the client is identified by address and the BRP extract places more than one "
                                     "household at that address: the row is not given to any of them",
}
"""Why a loaded row of a source is not placed in a household (audit.json `linking.unlinked_rows`)."""


def _address_linked(sources: SourcesFile) -> list[str]:
    """The tables of the sources (other than the BRP's persons) whose rows may be placed by address."""
    return [s.table for s in sources.sources.values() if "address" in s.link.values() and s.table != POPULATION_TABLE]


def placed_by_address(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether link gave vroegsignalen its `hid` (row_households.sql): the sources place signals by address."""
    found = con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = "
                        "'vroegsignalen' AND column_name = 'hid'").fetchone()
    return bool(found and found[0])


def place_rows(con: duckdb.DuckDBPyConnection, sources: SourcesFile) -> None:
    """Each row of a source with an address link gets `hid`: its person's household, or the one
    household at its address (row_households.sql); the address table is the link stage's own (TEMP)."""
    con.execute(sql("address_households"))
    for table in _address_linked(sources):
        con.execute(sql("row_households").replace("{table}", table))


def unlinked_rows(con: duckdb.DuckDBPyConnection, sources: SourcesFile) -> dict[str, dict[str, int]]:
    """Per source other than the BRP: its loaded rows not placed in a household, by reason
    (UNLINKED_REASONS), and how many were placed by their address."""
    address = set(_address_linked(sources))
    parts = [sql("unlinked").replace("{source}", name).replace("{table}", s.table)
             .replace("{aid}", 's."aid"' if s.table in address else "NULL::UUID")
             for name, s in sources.sources.items() if s.table != POPULATION_TABLE]
    if not parts:
        return {}
    rows = con.execute("\nUNION ALL\n".join(f"({p})" for p in parts)).fetchall()
    out = {}
    for source, bsn, no_address, several, by_address in rows:
        counts = {"no_person_with_bsn": int(bsn)}
        if sources.sources[source].table in address:
            counts.update(no_person_at_address=int(no_address), several_households_at_address=int(several),
                          linked_by_address=int(by_address))
        out[source] = counts
    return out


def link(con: duckdb.DuckDBPyConnection, period: str, lookback_months: int, domains: Domains,
         sources: SourcesFile) -> dict:
    t0 = time.perf_counter()
    bounds = period_bounds(period, lookback_months)
    con.execute(sql("link_households"), {"year": bounds["period_end"].year})
    place_rows(con, sources)
    household_facts(con, domains, bounds)
    households, multi = con.execute("SELECT count(*), count(*) FILTER (WHERE several_buurten) FROM households").fetchone()
    unlinked = unlinked_rows(con, sources)
    facts = con.execute("SELECT count(*) FROM household_facts WHERE period = ?", [period]).fetchone()[0]
    seconds = round(time.perf_counter() - t0, 2)
    log.info("linked %d households (%d facts for %s) in %.1f s", households, facts, period, seconds)
    return {
        "period": period,
        "window": {k: str(bounds[k]) for k in ("period_start", "period_end", "lookback_start")},
        "achterstand_lookback_months": lookback_months,
        "households": int(households),
        "households_in_several_buurten": int(multi),
        # per source: loaded rows placed in no household, by reason (not dropped: they stay in the warehouse)
        "unlinked_rows": unlinked,
        "unlinked_reasons": {k: v for k, v in UNLINKED_REASONS.items()
                             if any(k in counts for counts in unlinked.values())},
        "seconds": seconds,
    }
