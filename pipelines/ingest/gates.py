"""Quality gates: checks of a source as a whole, after its rows were checked by the contract.

A contract quarantines the rows that break a rule; a gate asks whether what is left can
be trusted for the reference period. Each gate has an id (cited in messages, audit.json
and the report) and a level from the source's contract (`gates:`), which a gemeente may
change in gemeente.yaml (`quality_gates:`):

* ``empty-source``: no row of the source could be loaded (a header-only file, a DDAS
  delivery without signals, every row quarantined). Publishing would say "none anywhere".
* ``empty-file``: one file of a source that has rows holds none (the month's DDAS
  delivery without signals, while the earlier months have them).
* ``quarantined-share``: more than a share of the rows was quarantined.
* ``unmatched-value``: a value of a yes/no mapping (`values` in sources.yaml) that no
  loaded row holds: the export probably writes it differently (``J`` for ``Ja``).
* ``period-coverage``: the deliveries do not reach the reference period: the newest period
  a DDAS file declares (``einddatumLevering``) ends before the period's last day, or the
  newest date of a column (the ingangsdatum of uitkeringen) lies months before it.

`error` refuses the run (nothing is published), `warning` publishes with the warning in
audit.json, a banner in report.html and exit code 3, `off` skips the gate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import pandas as pd

from pipelines.settings import DELIVERY_PERIOD, Gates

GATE_IDS = ("empty-source", "empty-file", "quarantined-share", "unmatched-value", "period-coverage")


@dataclass(frozen=True)
class GateResult:
    gate: str
    source: str
    level: str  # error | warning
    message: str

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"quality gate {self.gate} ({self.level}): {self.message}"


class QualityGateFailed(Exception):
    """One or more gates at level `error`: the run stops, nothing is published."""

    def __init__(self, failed: list[GateResult]):
        self.failed = failed
        super().__init__("; ".join(str(g) for g in failed))


def _months_before(period: str, months: int) -> date:
    return (pd.Period(period, freq="M") - months).start_time.date()


def evaluate(name: str, account: dict, gates: Gates, period: str) -> list[GateResult]:
    """The gates this source's account trips (levels `error` and `warning`; none when it passes)."""
    out: list[GateResult] = []
    read, loaded, quarantined = account["rows_read"], account["rows_loaded"], account["rows_quarantined"]
    files = ", ".join(f["name"] for f in account["files"])

    def trip(gate: str, level: str, message: str) -> None:
        if level != "off":
            out.append(GateResult(gate, name, level, message))

    if loaded == 0:
        why = "the file(s) hold no rows" if read == 0 else f"all {read} row(s) were quarantined"
        trip("empty-source", gates.empty_source,
             f"source '{name}' ({files}): no row could be loaded ({why}); its tables would say "
             f"there is no {name} anywhere")
    empty = [f["name"] for f in account["files"] if f.get("rows") == 0]
    if read and empty:
        trip("empty-file", gates.empty_file,
             f"source '{name}': {len(empty)} of {len(account['files'])} file(s) hold no rows ({', '.join(empty)}); "
             "their period counts none")
    share = quarantined / read if read else 0.0
    limits = gates.quarantined_share
    if read and share > limits.error_above:
        trip("quarantined-share", "error",
             f"source '{name}': {quarantined} of {read} rows quarantined ({share:.1%}, limit {limits.error_above:.1%})"
             f"; see the quarantine file for rows and rules")
    elif read and share > limits.warning_above:
        # a warning is published (audit.json, report.html): it states no count, since with its threshold the
        # rows quarantined bound the rows read from above (privacy/published_counts.py, rule C1)
        trip("quarantined-share", "warning",
             f"source '{name}': more than {limits.warning_above:.1%} of its rows quarantined (the counts are in the "
             f"run record); see the quarantine file for rows and rules")
    if loaded:
        for column, seen in account.get("values_seen", {}).items():
            unused = [v for v, n in seen.items() if n == 0]
            if unused:
                trip("unmatched-value", gates.unmatched_value,
                     f"source '{name}', column '{column}': no loaded row holds "
                     f"{', '.join(repr(v) for v in unused)} (sources.yaml values); check how the export writes it")
    cov = gates.period_coverage
    if cov is not None and cov.column == DELIVERY_PERIOD:
        ends = [f["period_end"] for f in account["files"] if f.get("period_end")]
        newest = max(ends) if ends else None
        bound = (pd.Period(period, freq="M") - cov.within_months).end_time.date()
        if newest is None or date.fromisoformat(newest) < bound:
            trip("period-coverage", cov.level,
                 f"source '{name}': the newest delivery ({DELIVERY_PERIOD}) ends {newest or 'nowhere'}, before "
                 f"{bound}: the deliveries do not reach the end of the reference period {period}")
    elif cov is not None and loaded:
        newest = account.get("newest", {}).get(cov.column)
        bound = _months_before(period, cov.within_months)
        if newest is None or date.fromisoformat(newest[:10]) < bound:
            trip("period-coverage", cov.level,
                 f"source '{name}': the newest {cov.column} is {newest or 'empty'}, before {bound}: the delivery does "
                 f"not reach the reference period {period}")
    return out


__all__ = ["GATE_IDS", "GateResult", "QualityGateFailed", "evaluate"]
