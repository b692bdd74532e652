"""Link: persons -> households -> buurt, and per reference period the household facts."""

from __future__ import annotations

import logging
import time

import duckdb
import pandas as pd

from .sql import sql

log = logging.getLogger("wijksignaal.link")


def period_bounds(period: str, lookback_months: int) -> dict:
    p = pd.Period(period, freq="M")
    return {
        "period": period,
        "period_start": p.start_time.date(),
        "period_end": p.end_time.date(),
        "lookback_start": (p - (lookback_months - 1)).start_time.date(),
    }


def load_buurten(con: duckdb.DuckDBPyConnection, buurten: pd.DataFrame) -> None:
    """The reference geography of the run, in the warehouse (codes and names only)."""
    frame = buurten[["buurtcode", "buurtnaam", "wijkcode", "wijknaam", "gemeentecode", "gemeentenaam"]]
    con.register("ref_buurten", frame)
    try:
        con.execute("CREATE OR REPLACE TABLE buurten AS SELECT * FROM ref_buurten ORDER BY buurtcode")
    finally:
        con.unregister("ref_buurten")


def link(con: duckdb.DuckDBPyConnection, period: str, lookback_months: int) -> dict:
    t0 = time.perf_counter()
    bounds = period_bounds(period, lookback_months)
    con.execute(sql("link_households"), {"year": bounds["period_end"].year})
    con.execute(sql("household_facts_schema"))
    con.execute("DELETE FROM household_facts WHERE period = ?", [period])
    con.execute(sql("household_facts"), bounds)
    households, multi = con.execute("SELECT count(*), count(*) FILTER (WHERE several_buurten) FROM households").fetchone()
    unlinked = dict(con.execute(sql("unlinked")).fetchall())
    facts = con.execute("SELECT count(*) FROM household_facts WHERE period = ?", [period]).fetchone()[0]
    seconds = round(time.perf_counter() - t0, 2)
    log.info("linked %d households (%d facts for %s) in %.1f s", households, facts, period, seconds)
    return {
        "period": period,
        "window": {k: str(v) for k, v in bounds.items() if k != "period"},
        "achterstand_lookback_months": lookback_months,
        "households": int(households),
        "households_in_several_buurten": int(multi),
        "source_rows_not_in_brp": {k: int(v) for k, v in unlinked.items()},
        "seconds": seconds,
    }
