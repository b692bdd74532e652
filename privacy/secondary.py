"""Secondary suppression over all tables of a release at once, proven by the audit.

Primary suppression hides every count of 1..threshold-1. Secondary suppression then
works in steps:

1. The cheapest pattern by a 0/1 program with cut generation (suppression_milp.py): for
   every unsafe cell a witness LP looks for a table the attacker cannot tell from the
   real one in which the cell reaches the threshold; where the current pattern leaves
   none, the LP's multipliers give a cut, a linear condition every protecting pattern
   meets, and HiGHS' MIP chooses the cheapest pattern meeting every cut found so far.
   Weights: inner cells cost less than totals, small cells less than large ones. The loop
   ends when every unsafe cell has a witness. Components of the relation graph (one per
   gemeente and period) are solved in parallel.
2. Where a component's loop exceeds its limits (rounds, LPs: counts, never times, so the
   pattern does not depend on the machine), the protection LPs (protection_lp.py) take
   over: per unsafe cell the cheapest witness, every published cell it moves suppressed,
   started from nothing and from the loop's last pattern; the lighter result is kept.
3. The full audit (audit.py) of the result. It should pass: every unsafe cell has a
   witness. Should it not (a numerical corner), audit-and-fix rounds take over: for
   every failing cell the nearest published non-zero cell is suppressed (fewest
   relations away, then one whose value leaves room for the failing cell to reach the
   threshold, then inner before total, then the smallest value, then the cell id), and
   the audit runs again.

Zeros are never chosen as secondary suppressions, so "a suppressed cell is at least 1"
stays true for the attacker and for the audit; the one zero that is hidden, the
group-disclosure stapeling `0` (group.py), comes with floor 0 for every suppressed
stapeling `0`. Everything is in a fixed order: same input, same pattern.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from .audit import AuditResult, audit, parallel_map, protection_targets, published_bounds
from .protection_lp import protect_component, weights
from .relations import Relation, components, relation_matrix
from .suppression_milp import optimise_component

log = logging.getLogger("wijksignaal.protect")
LEVEL_RANK = {"buurt": 0, "wijk": 1, "gemeente": 2}
MAX_ROUNDS = 200
# releases without atoms only (over atoms the protection LPs are used: disclosure.protect). Measured
# 2026-11-23, the 0/1 program then took about ten times the protection LPs' time on the country (82,266
# unsafe cells in 791 components: 14 s for the largest gemeente, 951); above this many unsafe cells a
# release gets the protection LPs. Solved block by block with a partner process (suppression_milp.Blocks,
# Partner), the standard table (2,726 unsafe cells) takes 1.9 s, and at 4,000 buurten (one component of
# about 21,800) 21 s against 175 s for the protection LPs, with 3,790 secondaries against 4,174; the
# country without atoms was not measured again, so the switch stays
MILP_MAX_UNSAFE = 20_000


class WouldHide(Exception):
    """secondary_suppression(stop_on=...): the pattern would hide a cell it was asked not to; the
    search was ended there (disclosure.protect then protects with those cells locked)."""


class ProtectionFailed(Exception):
    pass


def _candidates(cell: int, partners: dict[int, set[int]], status: dict[int, str], value: dict[int, int],
                chosen: set[int], locked: set[int]) -> dict[int, int]:
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
                if status[p] == "published" and value[p] > 0 and p not in chosen and p not in locked:
                    found[p] = depth
                elif status[p] == "suppressed":
                    nxt.append(p)
        if found:
            return found
        frontier = nxt
    return {}


def lp_secondary(cells: pd.DataFrame, rels: list[Relation], thresholds: dict[str, int],
                 need: np.ndarray | None = None, floor: float | None = None, method: str = "auto",
                 steps: tuple[int, int] | None = None, stop_on: np.ndarray | None = None,
                 fail_fast: bool = False) -> tuple[list[int], dict[str, Any]]:
    """Cell ids to suppress so that every unsafe cell has a witness: with method "milp" the
    0/1 program (suppression_milp.py), with "greedy" the protection LPs alone
    (protection_lp.py); "auto": the 0/1 program up to MILP_MAX_UNSAFE unsafe cells.

    `need` (per cell; default threshold - value) is how far an unsafe cell must be able to
    rise and `floor` the least an attacker allows a suppressed cell (default per cell:
    audit.protection_targets); the benchmark changes both to compare with tau-ARGUS on its
    own terms (a percentage range, cells >= 0). `stop_on` (a cell mask; the protection LPs only):
    a component's search ends when it would hide one of these cells for good (not one it may give
    back: `release`), and stats["stopped"] says so; the pattern is then incomplete. `fail_fast` (the
    protection LPs only): a component's search ends at its first cell that nothing can protect."""
    n = len(cells)
    value = cells.value.to_numpy(dtype=float)
    target, floors = protection_targets(cells, thresholds)
    suppressed = (cells.status == "suppressed").to_numpy()
    unsafe = suppressed & (value < target)
    if method == "auto":
        method = "milp" if unsafe.sum() <= MILP_MAX_UNSAFE else "greedy"
    stats: dict[str, Any] = {"method": method, "lps": 0, "unprotected": 0, "components": 0, "cut_rounds": 0,
                             "not_converged": 0, "witnesses": [], "stopped": False}
    if not rels:
        return [], stats
    A, le, slack = relation_matrix(cells, rels)
    floors = floors if floor is None else np.full(n, float(floor))
    locked = cells["locked"].to_numpy(dtype=bool) if "locked" in cells.columns else np.zeros(n, dtype=bool)
    need = np.nan_to_num(target - value) if need is None else need
    low, high = published_bounds(cells)
    weight = weights(value, cells.level.map(LEVEL_RANK).to_numpy(), (cells.category == "totaal").to_numpy())
    release = None
    prefer = cells["prefer"].fillna(0).to_numpy(dtype=float) if "prefer" in cells.columns else None
    if "priority" in cells.columns:  # cells the readers need most: hidden only where nothing cheaper protects
        prio = cells["priority"].fillna(1.0).to_numpy(dtype=float)
        weight = weight * prio
        release = prio > 1
        if prefer is not None:  # a cell that showing can never leave safe (atoms.showable) is not tried again
            release &= prefer > 0

    comps = components(A)  # cells linked through relations
    order_all = np.lexsort((np.arange(n), value))  # smallest value first (largest shortfall), then position
    order_all = order_all[unsafe[order_all]]

    tasks: list[dict[str, Any]]  # the arguments of protect_component / optimise_component, per component
    members_of: list[np.ndarray]
    tasks, members_of = [], []
    todo_of = pd.Series(order_all).groupby(comps.label[order_all], sort=True)
    for comp, todo in todo_of:
        members = comps.cols(comp)
        rrows = comps.rows(comp)
        tasks.append({"A": A[rrows][:, members], "le": le[rrows], "slack": slack[rrows], "value": value[members],
                      "need": need[members], "floor": floors[members], "suppressed": suppressed[members],
                      "weight": weight[members], "locked": locked[members],
                      "dlow": (low - value)[members], "dhigh": (high - value)[members],
                      "order": comps.local[todo.to_numpy()]})
        if steps is not None:
            tasks[-1]["steps"] = steps
        if release is not None:  # cells readers need most, tried again after the pattern is found
            tasks[-1]["release"] = np.flatnonzero(release[members])
        if prefer is not None:  # ... and kept published from the start where that can be safe at all
            tasks[-1]["prefer"] = prefer[members]
        if fail_fast and method == "greedy":
            tasks[-1]["fail_fast"] = True
        if stop_on is not None and method == "greedy":
            tasks[-1]["stop_on"] = (stop_on & ~release)[members] if release is not None else stop_on[members]
        members_of.append(members)
    chosen = []
    solve = optimise_component if method == "milp" else protect_component
    for members, res in zip(members_of, parallel_map(solve, tasks, [len(t["order"]) for t in tasks])):
        chosen.extend(cells.index[members[res["suppress"]]])
        stats["witnesses"].extend((cells.index[members[cols]].to_numpy(), dev) for cols, dev in res.get("witnesses", []))
        stats["lps"] += res["lps"]
        stats["unprotected"] += len(res["unprotected"])
        stats["cut_rounds"] = max(stats["cut_rounds"], res.get("rounds", 0))
        stats["not_converged"] += method == "milp" and not res["converged"]
        stats["stopped"] |= bool(res.get("stopped", False))
    stats["components"] = len(tasks)
    return sorted(chosen), stats


def secondary_suppression(cells: pd.DataFrame, rels: list[Relation], thresholds: dict[str, int],
                          method: str = "auto", steps: tuple[int, int] | None = None,
                          stop_on: np.ndarray | None = None, fail_fast: bool = False
                          ) -> tuple[pd.DataFrame, AuditResult, dict[str, Any]]:
    """Return cells with secondary suppressions added (status 'suppressed', column `reason`),
    the final audit, and statistics (with the witnesses the audit checked). Cells with a true
    `locked` column are never suppressed. `stop_on`: raise WouldHide as soon as the pattern would
    hide one of these cells for good (lp_secondary); `fail_fast`: raise ProtectionFailed at the first
    cell that nothing can protect (the count in its message is then at least one)."""
    cells = cells.copy()
    if "reason" not in cells.columns:
        cells["reason"] = cells.status.map({"suppressed": "primary", "published": ""})
    chosen, lp_stats = lp_secondary(cells, rels, thresholds, method=method, steps=steps, stop_on=stop_on,
                                    fail_fast=fail_fast)
    if lp_stats["stopped"] and not lp_stats["unprotected"]:
        raise WouldHide(f"the pattern would hide a cell of `stop_on` (after {lp_stats['lps']} LPs)")
    cells.loc[chosen, "status"] = "suppressed"
    cells.loc[chosen, "reason"] = "secondary"
    log.info("secondary suppression (%s): %d LPs solved in %d component(s) (up to %d cut round(s), %d component(s) "
             "left to the protection LPs alone), %d secondary suppression(s), %d cell(s) without witness",
             lp_stats["method"], lp_stats["lps"], lp_stats["components"], lp_stats["cut_rounds"],
             lp_stats["not_converged"], len(chosen), lp_stats["unprotected"])
    if lp_stats["unprotected"]:  # not even with every cell that may be hidden hidden: nothing can protect them
        many = f"at least {lp_stats['unprotected']}" if lp_stats["stopped"] else str(lp_stats["unprotected"])
        raise ProtectionFailed(f"{many} small cell(s) cannot be protected by any suppression: "
                               "the cells that may not be hidden (published by earlier releases) determine them")
    # the full audit: the largest value of every small cell (and the smallest, where it fails), where a checked
    # witness of the protection LPs does not already show that the cell can reach its threshold
    result = audit(cells, rels, thresholds, witnesses=lp_stats["witnesses"])
    log.info("audit: %d small cell(s), %d provably below the threshold (%d LPs, %.1f s)",
             len(result.bounds), len(result.failing), result.lps, result.seconds)
    rounds = 0
    if result.failing:
        rounds = _fix_rounds(cells, rels, thresholds, result)
        result = audit(cells, rels, thresholds)
        log.info("audit after %d fix round(s): %d small cell(s), %d provably below the threshold (%d LPs, %.1f s)",
                 rounds, len(result.bounds), len(result.failing), result.lps, result.seconds)
    if result.failing:  # pragma: no cover - the fix rounds end only when the maximum passes
        raise ProtectionFailed(f"{len(result.failing)} cell(s) provably below the threshold after protection")
    stats = {key: lp_stats[key] for key in ("method", "lps", "cut_rounds", "not_converged", "witnesses")}
    stats.update(fix_rounds=rounds, secondary=int((cells.reason == "secondary").sum()),
                 suppressed_total_value=int(cells.value[cells.reason == "secondary"].sum()))
    return cells, result, stats


def _fix_rounds(cells: pd.DataFrame, rels: list[Relation], thresholds: dict[str, int], result: AuditResult) -> int:
    """Audit-and-fix, in place on `cells`, until no cell fails; returns the number of rounds."""
    partners: dict[int, set[int]] = {}
    for r in rels:
        for c in r.cells:
            partners.setdefault(c, set()).update(x for x in r.cells if x != c)
    value = dict(zip(cells.index, cells.value))
    level = dict(zip(cells.index, cells.level.map(LEVEL_RANK)))
    total = dict(zip(cells.index, cells.category == "totaal"))
    thr = dict(zip(cells.index, protection_targets(cells, thresholds)[0]))
    locked = set(cells.index[cells["locked"]]) if "locked" in cells.columns else set()
    rounds = 0
    while result.failing:
        rounds += 1
        if rounds > MAX_ROUNDS:
            raise ProtectionFailed(f"secondary suppression did not converge in {MAX_ROUNDS} rounds")
        status = dict(zip(cells.index, cells.status))
        chosen: set[int] = set()
        for b in sorted(result.failing, key=lambda b: b.cell):
            options = _candidates(b.cell, partners, status, value, chosen, locked)
            if options:
                need = thr[b.cell] - b.value
                chosen.add(min(options, key=lambda p: (options[p], value[p] - 1 < need, level[p], total[p],
                                                       value[p], p)))
        if not chosen:
            raise ProtectionFailed(
                f"{len(result.failing)} cell(s) stay provably below the threshold and no published partner is left")
        cells.loc[sorted(chosen), "status"] = "suppressed"
        cells.loc[sorted(chosen), "reason"] = "secondary"
        touched = chosen | {b.cell for b in result.failing}
        result = audit(cells, rels, thresholds, both=False, touched=touched, previous=result)
        log.info("fix round %d: %d provably below the threshold (%d LPs, %.1f s)",
                 rounds, len(result.failing), result.lps, result.seconds)
    return rounds
