"""Which month a scheduled run is about.

A monthly run publishes the last complete month: the calendar month before the one in
which the run was *scheduled* to start, on the clock of the Netherlands. It is derived from
the flow run's scheduled start time (a fact of the run, the same on every retry and on
every machine), never from the moment some piece of code happens to run: a run scheduled
for 1 December 00:30 (Amsterdam; 30 November 23:30 UTC) that starts late, at 01:10, is about
November either way.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd

TIMEZONE = "Europe/Amsterdam"


def month_start(period: str, months_back: int = 0) -> date:
    """The first day of the month `months_back` months before `period` ('YYYY-MM')."""
    return (pd.Period(period, freq="M") - months_back).start_time.date()


def months_ending(period: str, n: int) -> list[str]:
    """The n monthly periods ('YYYY-MM') that end with `period`, oldest first."""
    return list(pd.period_range(end=period, periods=n, freq="M").strftime("%Y-%m"))


def period_bounds(period: str, lookback_months: int = 1) -> dict:
    """The dates a period stands for, for every query of a run: `period` ('YYYY-MM'),
    `period_start` and `period_end` (its first and last day), `lookback_start` (the first day
    of the look-back window of `lookback_months` months that ends with the period) and
    `year` (the period's year, for ages)."""
    end = pd.Period(period, freq="M").end_time.date()
    return {"period": period, "period_start": month_start(period), "period_end": end,
            "lookback_start": month_start(period, lookback_months - 1), "year": end.year}



def last_complete_month(moment: datetime, timezone: str = TIMEZONE) -> str:
    """'YYYY-MM' of the month before `moment`'s month in `timezone`. `moment` must carry its
    time zone: a naive time is ambiguous by an hour or two, exactly at the month's edge."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the scheduled start time has no time zone")
    local = moment.astimezone(ZoneInfo(timezone))
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def scheduled_period(timezone: str = TIMEZONE) -> str:
    """The last complete month before the current flow run's scheduled start time."""
    from prefect.runtime import flow_run

    start = flow_run.scheduled_start_time
    return last_complete_month(start, timezone)
