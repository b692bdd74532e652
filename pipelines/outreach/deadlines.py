"""Deadlines in working days, with the Dutch public holidays of the maintained `holidays`
library, and the gemeente's terms (config/terms.yaml).

Which days are not working days
-------------------------------
Saturdays, Sundays and the *algemeen erkende feestdagen* of the Algemene termijnenwet (Atw,
art. 3), the law that says how a term of a Dutch public body is counted:

* lid 1: Nieuwjaarsdag, tweede Paas- en Pinksterdag, both Kerstdagen, Hemelvaartsdag,
  Koningsdag (27 April, the 26th when the 27th is a Sunday) and **5 mei, every year**;
* lid 2: Goede Vrijdag is treated as one of them.

`holidays.Netherlands` gives these as its PUBLIC category, except that it counts Bevrijdingsdag
(5 May) only every fifth year (2025, 2030, ...), as many CAOs do for a day off; its OPTIONAL
category has 5 May every year. The default here is the Atw's: 5 May every year
(`liberation_day: every_year`), so a deadline never falls on a day the law does not count; a
gemeente whose offices are open on 5 May except in lustrum years sets `liberation_day: lustrum`.
Goede Vrijdag counts (Atw lid 2) unless `good_friday: false`. The days the government declares
equal to a holiday for a few years at a time (Atw lid 3, such as the Friday after Hemelvaart)
are not in the library: a gemeente lists them, or its own closing days, in `extra_days_off`.

Terms
-----
How many working days a wijkteam has per kind of contact is the gemeente's choice: the Wgs
sets no term for answering a vroegsignaal. The shipped defaults (brief 10, telefoon 5,
huisbezoek 10, crisis 2 working days) are ours, checked against the Wgs's own limits for the
first conversation after someone asks for help (art. 4: within four weeks, ~20 working days;
within three working days when eviction, cutting off gas, electricity, water or heat, or ending
the health insurance threatens): every default is inside four weeks, and a crisis signal gets
less than the three days of a threatening debt.
"""

from __future__ import annotations

import difflib
from collections.abc import Container
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import holidays as holidays_lib
from dateutil.easter import easter
from pydantic import Field, StringConstraints

from pipelines.configfile import Strict, load_model

TermName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,30}$")]
WorkingDays = Annotated[int, Field(ge=0, le=60)]


class Terms(Strict):
    """The gemeente's terms in working days and its calendar."""

    terms: dict[TermName, WorkingDays] = Field(min_length=1, description="term name -> working days")
    liberation_day: Literal["every_year", "lustrum"] = Field(
        default="every_year", description="5 May off every year (Algemene termijnenwet art. 3) or every fifth year")
    good_friday: bool = Field(default=True, description="Goede Vrijdag is not a working day (Atw art. 3 lid 2)")
    extra_days_off: list[date] = Field(default_factory=list, description="further days the offices are closed")
    count_from: Literal["signal_date", "period_end"] = Field(
        default="signal_date", description="a deadline counts from the first signal of the month, or from the "
                                           "month's last day (when lists go out once a month)")


def add_working_days(start: date, n: int, days_off: Container[date]) -> date:
    """The `n`-th working day after `start` (`start` itself not counted); for `n` = 0, `start`
    when it is a working day, else the next one. Weekends and every date in `days_off` (such as
    a `holidays.Netherlands()`, or `calendar(terms)`) are skipped."""
    if n < 0:
        raise ValueError("a term is a number of working days, 0 or more")

    def working(day: date) -> bool:
        return day.weekday() < 5 and day not in days_off

    day, left = start, n
    if n == 0:
        while not working(day):
            day += timedelta(days=1)
        return day
    while left:
        day += timedelta(days=1)
        left -= working(day)
    return day


class Calendar(Container[date]):
    """The days off of a gemeente (see the module's text), for any year asked about."""

    def __init__(self, liberation_day: str = "every_year", good_friday: bool = True,
                 extra_days_off: tuple[date, ...] = ()):
        categories = ("public", "optional") if liberation_day == "every_year" else ("public",)
        self._nl = holidays_lib.Netherlands(categories=categories)  # years filled in as asked
        self._good_friday = good_friday
        self._extra = frozenset(extra_days_off)

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        if day in self._extra:
            return True
        if not self._good_friday and day == easter(day.year) - timedelta(days=2):
            return False
        return day in self._nl


def calendar(terms: Terms) -> Calendar:
    return Calendar(terms.liberation_day, terms.good_friday, tuple(terms.extra_days_off))


class Deadlines:
    """Deadline of a term from a start date, computed once per (start, term)."""

    def __init__(self, terms: Terms):
        self.terms = terms
        self._calendar = calendar(terms)
        self.deadline = lru_cache(maxsize=None)(self._deadline)

    def _deadline(self, start: date, term: str) -> date:
        return add_working_days(start, self.terms.terms[term], self._calendar)


def check_term(name: str, terms: Terms) -> str | None:
    """None when `name` is one of the terms, else the message (with a did-you-mean)."""
    if name in terms.terms:
        return None
    close = difflib.get_close_matches(name, list(terms.terms), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown term '{name}'; {hint}terms: {', '.join(sorted(terms.terms))}"


def load_terms(path: Path | str) -> Terms:
    return load_model(Terms, path)
