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


def link(con: duckdb.DuckDBPyConnection, period: str, lookback_months: int, domains: Domains) -> dict:
    t0 = time.perf_counter()
    bounds = period_bounds(period, lookback_months)
    con.execute(sql("link_households"), {"year": bounds["period_end"].year})
    household_facts(con, domains, bounds)
    households, multi = con.execute("SELECT count(*), count(*) FILTER (WHERE several_buurten) FROM households").fetchone()
    unlinked = dict(con.execute(sql("unlinked")).fetchall())
    facts = con.execute("SELECT count(*) FROM household_facts WHERE period = ?", [period]).fetchone()[0]
    seconds = round(time.perf_counter() - t0, 2)
    log.info("linked %d households (%d facts for %s) in %.1f s", households, facts, period, seconds)
    return {
        "period": period,
        "window": {k: str(bounds[k]) for k in ("period_start", "period_end", "lookback_start")},
        "achterstand_lookback_months": lookback_months,
        "households": int(households),
        "households_in_several_buurten": int(multi),
        "source_rows_not_in_brp": {k: int(v) for k, v in unlinked.items()},
        "seconds": seconds,
    }
