"""Matching vroegsignalen into cases: one case per address and month, carried over while open.

`match_cases(con, period)` reads the warehouse tables `vroegsignalen`, `persons` and
`households` and writes `cases`, `case_signals` and `case_matching` (their columns are
described in sql/cases_schema.sql). A household (hid) stands for an address.

* **Grouping.** All signals with a signal date in the month (YYYY-MM) whose person lives at
  the same address form that address's case for the month: a *melding* in Divosa's words.
* **meervoudig**: 2 or more signals at the address in that month.
* **opeenvolgend**: a signal at the address in the 6 calendar months before the month.
* **herhaalde melding** (per signal): the same signal partner reported at the same address on
  an earlier day within the 6 months before, and the amount is not higher (DDAS end result
  "Niet opgepakt: herhaalde melding"). The warehouse knows only the partner's *type* (DDAS
  `signaalpartner.type`: Energie, Huur, Zorg, ...), not the organisation: two energy companies
  at one address count as the same partner here. It also does not know (yet) whether the
  earlier signal was picked up, which the DDAS definition asks; a received signal counts. A
  case is `herhaalde_melding` when every one of its signals of the month is one.
* **crisis**: a signal of the month is a crisissignaal.
* **Carry-over.** When the address already has a case that is still open (its latest status is
  `open` and it is not past the expiry its latest triage gave it), the month's signals join that
  case: it keeps its id and gets a row for the month. Otherwise a new case opens, with an id
  derived from the hid and the month (a hash: it reveals nothing the hid does not). A case that
  was never triaged has no expiry yet and stays open: nothing is closed silently.
* **Address history.** An earlier signal counts at the address it was matched to in its own
  month (case_signals); a signal from before matching began counts at its person's current
  address, since the warehouse keeps only the current BRP extract.
* **By person or by address.** A signal joins the household of its person or, for a client
  identified by address only (DDAS v1.2), the one household link placed at that address.
* **Nothing dropped.** A signal that neither places (its person has no household in the BRP
  extract, its address none or several) is counted as unmatched; `signals == in_cases + unmatched`, returned and kept in `case_matching`.
* **Idempotent.** Matching a month again first removes that month's own rows, then builds them
  again from the same tables: the same result. A month older than one already matched is
  refused, since later months' cases were built on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from pipelines.link import placed_by_address
from pipelines.outreach.sql import sql, statements
from pipelines.periods import period_bounds

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
HISTORY_MONTHS = 6


class MatchingError(Exception):
    """The warehouse or the period cannot be matched (a data or usage problem; no raw value in it)."""


@dataclass(frozen=True)
class Matching:
    """The account of one month's matching."""

    period: str
    signals: int       # signals with a signal date in the month
    in_cases: int      # of which in a case
    unmatched: int     # of which placed in no household (by person or by address)
    cases: int         # cases with signals this month
    new_cases: int     # of which opened this month
    carried_over: int  # of which carried over from an earlier month


def check_period(period: str) -> str:
    if not isinstance(period, str) or not PERIOD.match(period):
        raise MatchingError(f"period {period!r} is not a month YYYY-MM")
    return period


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql("cases_schema"))


def _run(con: duckdb.DuckDBPyConnection, name: str, params: dict, by_address: str) -> None:
    for statement, values in statements(name, params):
        con.execute(statement.replace("{by_address}", by_address), values)


def _by_address(con: duckdb.DuckDBPyConnection) -> str:
    """cases_signals.sql's household of a signal placed by its address: for a client without a person
    (identified by address only), link's `vroegsignalen.hid` where the sources link signals by address
    (row_households.sql), else none. A fixed text."""
    return "CASE WHEN v.pid IS NULL THEN v.hid END" if placed_by_address(con) else "NULL::UUID"


def _required(con: duckdb.DuckDBPyConnection) -> None:
    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    missing = [t for t in ("vroegsignalen", "persons", "households") if t not in have]
    if missing:
        raise MatchingError(f"the warehouse has no table {', '.join(missing)}: run ingest and link first")


def match_cases(con: duckdb.DuckDBPyConnection, period: str) -> Matching:
    """Match the signals of `period` (YYYY-MM) into cases; see the module's text."""
    check_period(period)
    _required(con)
    ensure_tables(con)
    later = con.execute("SELECT max(period) FROM case_matching WHERE period > ?", [period]).fetchone()
    if later and later[0]:
        raise MatchingError(f"cases were already matched for {later[0]}; matching the earlier month {period} "
                            "again would change what the later months were built on")
    bounds = period_bounds(period, HISTORY_MONTHS + 1)
    params = {"period": period, "period_start": bounds["period_start"], "period_end": bounds["period_end"],
              "history_start": bounds["lookback_start"]}
    by_address = _by_address(con)
    con.execute("BEGIN TRANSACTION")
    try:
        for step in ("cases_clear", "cases_signals", "cases_history", "cases_herhaald", "cases_assign",
                     "cases_facts", "cases_account"):
            _run(con, step, params, by_address)
        row = con.execute("SELECT signals, in_cases, unmatched, cases, new_cases, carried_over FROM case_matching "
                          "WHERE period = ?", [period]).fetchone()
        assert row is not None
        result = Matching(period, *(int(x) for x in row))
        if result.signals != result.in_cases + result.unmatched:  # never: a signal lost is a bug
            raise MatchingError(f"{period}: {result.signals} signals but {result.in_cases} in cases and "
                                f"{result.unmatched} unmatched")
        for temp in ("outreach_signals", "outreach_history", "outreach_herhaald"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result
