"""Secondary suppression over all tables of a release at once, proven by the audit.

Primary suppression hides every count of 1..threshold-1. Then, until the LP audit
(audit.py) finds no suppressed small cell whose largest feasible value stays below the
threshold, for each failing cell one more cell is suppressed: a published, non-zero cell
that shares a relation with it or, when all of those are suppressed already, with one
of them (breadth first through suppressed cells), chosen by (in this order)
  0. nearness: fewest relations away;
  1. capacity: its value leaves room for the failing cell to reach the threshold
     (value - 1 >= threshold - failing value), so one partner can suffice;
  2. inner before total: buurt before wijk before gemeente, a category before `totaal`;
  3. the smallest value (least information lost), then the cell id (determinism).
Each round re-audits; the loop ends when the audit passes. Zeros are never suppressed,
so "a suppressed cell is at least 1" stays true for the attacker and for the audit.
"""

from __future__ import annotations

import logging

import pandas as pd

from .audit import AuditResult, audit
from .relations import Relation

log = logging.getLogger("wijksignaal.protect")
LEVEL_RANK = {"buurt": 0, "wijk": 1, "gemeente": 2}
MAX_ROUNDS = 200


class ProtectionFailed(Exception):
    pass


def _candidates(cell: int, partners: dict, status: dict, value: dict, chosen: set) -> dict[int, int]:
    """Published non-zero cells nearest to `cell` through chains of suppressed cells -> distance."""
    seen, frontier, depth = {cell}, [cell], 0
    while frontier:
        depth += 1
        found, nxt = {}, []
        for c in frontier:
            for p in partners.get(c, ()):
                if p in seen:
                    continue
                seen.add(p)
                if status[p] == "published" and value[p] > 0 and p not in chosen:
                    found[p] = depth
                elif status[p] == "suppressed":
                    nxt.append(p)
        if found:
            return found
        frontier = nxt
    return {}


def secondary_suppression(cells: pd.DataFrame, rels: list[Relation], thresholds: dict[str, int]
                          ) -> tuple[pd.DataFrame, AuditResult, dict]:
    """Return cells with secondary suppressions added (status 'suppressed', column `reason`),
    the final audit, and statistics."""
    cells = cells.copy()
    if "reason" not in cells.columns:
        cells["reason"] = cells.status.map({"suppressed": "primary", "published": ""})
    partners: dict[int, set[int]] = {}
    for r in rels:
        for c in r.cells:
            partners.setdefault(c, set()).update(x for x in r.cells if x != c)
    value = dict(zip(cells.index, cells.value))
    level = dict(zip(cells.index, cells.level.map(LEVEL_RANK)))
    total = dict(zip(cells.index, cells.category == "totaal"))
    thr = dict(zip(cells.index, cells.table.map(thresholds)))
    rounds, result, touched = 0, None, None
    while True:
        result = audit(cells, rels, thresholds, both=False, touched=touched, previous=result)
        failing = result.failing
        log.info("protection round %d: %d small cell(s) audited, %d provably below the threshold (%d LPs, %.1f s)",
                 rounds + 1, len(result.bounds), len(failing), result.lps, result.seconds)
        if not failing:
            break
        rounds += 1
        if rounds > MAX_ROUNDS:
            raise ProtectionFailed(f"secondary suppression did not converge in {MAX_ROUNDS} rounds")
        status = dict(zip(cells.index, cells.status))
        chosen: set[int] = set()
        for b in sorted(failing, key=lambda b: b.cell):
            need = thr[b.cell] - b.value
            options = _candidates(b.cell, partners, status, value, chosen)
            if not options:
                continue
            best = min(options, key=lambda p: (options[p], value[p] - 1 < need, level[p], total[p], value[p], p))
            chosen.add(best)
        if not chosen:
            raise ProtectionFailed(
                f"{len(failing)} cell(s) stay provably below the threshold and no published partner is left")
        cells.loc[sorted(chosen), "status"] = "suppressed"
        cells.loc[sorted(chosen), "reason"] = "secondary"
        touched = chosen | {b.cell for b in failing}
    result = audit(cells, rels, thresholds)  # the final audit: minimum and maximum of every small cell
    log.info("final audit: %d small cell(s), %d provably below the threshold (%d LPs, %.1f s)",
             len(result.bounds), len(result.failing), result.lps, result.seconds)
    if result.failing:  # pragma: no cover - the loop above ends only when the maximum passes
        raise ProtectionFailed(f"{len(result.failing)} cell(s) provably below the threshold after protection")
    stats = {"rounds": rounds, "secondary": int((cells.reason == "secondary").sum()),
             "suppressed_total_value": int(cells.value[cells.reason == "secondary"].sum())}
    return cells, result, stats
