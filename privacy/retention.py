"""Retention terms (rule R1 of privacy/README.md, "Bewaartermijnen"): how long the data of each
source may be kept, from the `retention_months` that config/dpia.yaml gives per purpose and source.

R1. A source's term is the **longest** term among the purposes that read it (that name it in
`allowed_sources`): a row may be kept as long as some purpose that may read it still needs it,
and no longer. A source that no purpose reads has a term of 0 months: nothing of it is kept.

A term of N months, for the reference period P (YYYY-MM, passed in by the caller: never the
clock), keeps the months P-(N-1) .. P: the first month kept is `keep_from`, and `cutoff` is its
first day. A dated row (an uitkering's end date, a signal's date) before the cutoff, and
everything of a month before `keep_from`, is past its term. A row with no end date (a running
uitkering) is never past it.

R2. What is *made* from a source for some outputs (the signal lists and the cases behind them,
the outcomes, the DDAS delivery, the feedback to signal partners, the monitor's fixed facts: all
made from the vroegsignalen) is kept for the longest term of that source among the purposes that
allow one of those outputs (`allowed_outputs`), not among every purpose that reads the source: a
signal list made under a 12-month purpose is not kept 24 months because the stapeling monitor
keeps the signals themselves that long.

This module decides; pipelines/retention.py deletes. It reads nothing but its arguments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .dpia import DpiaRules

RULE = "R1"
RULE_TEXT = ("a source is kept for the longest retention_months among the purposes that read it; a term of N "
             "months at reference period P keeps the months P-(N-1)..P")
MADE_RULE = "R2"
MADE_RULE_TEXT = ("what is made from a source for some outputs is kept for the longest retention_months of that "
                  "source among the purposes that allow one of those outputs")
PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class RetentionError(ValueError):
    """The reference period is not a month (no data value in the message)."""


def _months(period: str) -> int:
    m = PERIOD.match(period) if isinstance(period, str) else None
    if m is None:
        raise RetentionError(f"reference period {period!r} is not a month YYYY-MM")
    return int(m.group(1)) * 12 + int(m.group(2)) - 1


def _period(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class Term:
    """The retention term of one source at one reference period."""

    source: str
    months: int                   # the longest term of the purposes that read the source (0: none reads it)
    purposes: tuple[str, ...]     # the purposes that read the source, sorted
    longest: tuple[str, ...]      # those of them whose term is the longest: the ones that keep it
    reference: str                # YYYY-MM
    keep_from: str                # YYYY-MM: the first month kept
    rule: str = RULE              # R1 (the source), R2 (what is made from it for some outputs)

    @property
    def cutoff(self) -> date:
        """The first day kept: a row dated before it is past its term."""
        year, month = self.keep_from.split("-")
        return date(int(year), int(month), 1)

    def past(self, period: str) -> bool:
        """Whether everything of month `period` (YYYY-MM) is past the term."""
        return _months(period) < _months(self.keep_from)

    def as_dict(self) -> dict[str, object]:
        return {"months": self.months, "purposes": list(self.purposes), "longest": list(self.longest),
                "keep_from": self.keep_from, "cutoff": self.cutoff.isoformat(), "rule": self.rule}


def _longest(source: str, reference: str, terms: dict[str, int], rule: str) -> Term:
    """The term that keeps `source` longest among `terms` (purpose -> its months), from `reference`."""
    months = max(terms.values(), default=0)
    if months < 0:
        raise RetentionError(f"source '{source}': a retention term is negative")
    longest = tuple(name for name, n in terms.items() if n == months) if terms else ()
    return Term(source=source, months=months, purposes=tuple(terms), longest=longest, reference=reference,
                keep_from=_period(_months(reference) - months + 1), rule=rule)


def term(dpia: DpiaRules, source: str, reference: str) -> Term:
    """The term of `source` at `reference` under rule R1."""
    return _longest(source, reference, {name: p.retention_months[source] for name, p in sorted(dpia.purposes.items())
                                        if source in p.allowed_sources}, RULE)


def made_term(dpia: DpiaRules, source: str, outputs: Iterable[str], reference: str) -> Term:
    """The term, under rule R2, of what is made from `source` for `outputs`."""
    wanted = set(outputs)
    return _longest(source, reference, {name: p.retention_months[source] for name, p in sorted(dpia.purposes.items())
                                        if source in p.allowed_sources and wanted & set(p.allowed_outputs)}, MADE_RULE)


def terms(dpia: DpiaRules, sources: Iterable[str], reference: str) -> dict[str, Term]:
    """The term of every source at `reference`, in the order given."""
    return {s: term(dpia, s, reference) for s in sources}


__all__ = ["RULE", "RULE_TEXT", "MADE_RULE", "MADE_RULE_TEXT", "RetentionError", "Term", "term", "made_term", "terms"]
