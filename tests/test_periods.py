"""The period of a scheduled run: the last complete month before its scheduled start, on the
clock of the Netherlands (not UTC, not the moment the code happens to run)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipelines.periods import last_complete_month

AMS = ZoneInfo("Europe/Amsterdam")
UTC = UTC


@pytest.mark.parametrize("moment, period", [
    (datetime(2026, 12, 3, 2, 0, tzinfo=AMS), "2026-11"),  # the default schedule: 02:00 on the 3rd
    (datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "2026-11"),  # 1 December 00:30 in Amsterdam (winter, UTC+1)
    (datetime(2026, 11, 30, 22, 59, tzinfo=UTC), "2026-10"),  # still 30 November 23:59 in Amsterdam
    (datetime(2026, 7, 31, 22, 30, tzinfo=UTC), "2026-07"),  # 1 August 00:30 in summer time (UTC+2)
    (datetime(2027, 1, 1, 0, 0, tzinfo=AMS), "2026-12"),  # across the year
    (datetime(2027, 1, 31, 23, 59, tzinfo=AMS), "2026-12"),
])
def test_the_last_complete_month_on_amsterdam_time(moment, period):
    assert last_complete_month(moment) == period


def test_a_naive_time_is_refused_not_guessed():
    with pytest.raises(ValueError, match="^the scheduled start time has no time zone$"):
        last_complete_month(datetime(2026, 12, 1, 0, 30))


def test_another_clock_can_be_asked_for():
    moment = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert last_complete_month(moment, "UTC") == "2026-10"
    assert last_complete_month(moment + timedelta(minutes=30), "UTC") == "2026-11"


def test_the_release_flow_takes_the_period_from_its_scheduled_start(monkeypatch):
    """Without a period, a flow run's period comes from prefect.runtime's scheduled start time."""
    import prefect.runtime.flow_run

    from pipelines.periods import scheduled_period

    monkeypatch.setitem(prefect.runtime.flow_run.FIELDS, "scheduled_start_time",
                        lambda: datetime(2026, 7, 31, 22, 30, tzinfo=UTC))
    assert scheduled_period() == "2026-07"
