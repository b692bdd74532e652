"""Choosing secondary suppressions with one small linear program per unsafe cell.

For an unsafe cell i (1 <= value < threshold), protection means: an attacker cannot
exclude that the cell holds `threshold`. That is true exactly when there is a
deviation d of the suppressed cells from their true values such that
  * every relation still holds (A d = 0 for equalities, A d <= slack for `<=`),
  * published cells do not move (d_j = 0), suppressed cells stay at or above the
    attacker's floor, 1 because zeros are published (d_j >= floor_j - value_j), and
  * d_i >= target_i - value_i (the cell reaches its target: the threshold, or 1 for a
    group-disclosure zero).
Such a d is a *witness*: a table the attacker cannot tell from the real one.

The protection LP looks for the cheapest witness when published cells may join:
minimise sum_j cost_j * |d_j| over the cells near i (published non-zero cells cost
their weight, already suppressed cells almost nothing). Every published cell the
witness moves is suppressed. Suppressing more never invalidates a witness, so after
the last LP every unsafe cell has one: the pattern is protected by construction, and
the full audit (audit.py) then proves it independently.

"Near": the cells within 2 relation steps of i (enough for the rectangles of a two-way
table). When the witness found there has to hide new cells, the LP is solved again over
4 steps, where a cheaper way round (through another level or table) may exist, and
widened further only while there is no witness at all. Relations touching those cells
are kept whole, cells outside stay fixed, so a local witness is a global one. (On the
standard table the second look takes the pattern from 585 to 518 cells; 5 or 6 steps
find nothing cheaper and cost more time.) Over atoms (atoms.py) a cell reaches the cells
that share its households in two steps (cell -> atom -> cell), so the steps double: 4,
then 8 (on Hengelo's test release, 2 and 4 hid 18 of the gemeente's 19 cells; 4 and 8
hide 8).

A witness also protects other cells: a cell it moves up by at least that cell's own
shortfall needs no LP of its own.

A look with no witness at all is infeasible, and HiGHS returns the multipliers that prove
it (a Farkas ray: a combination of the relations that no table within the bounds meets).
Before the wider look's LP is solved, those multipliers are tried on it: where they prove
it infeasible too (checked in full, with a margin: `_infeasible`), it has no witness and is
not solved. Only LPs without a witness are skipped, so pattern and witnesses are those of
solving every look (on the country 17,429 of 146,990 LPs: the multipliers settled 40 % of
the wider looks that followed a look without witness).

Both cores: in a large component a second process (`Ahead`, forked with the component)
finds the witness of the next cell in order while this one finds the current cell's, from
the pattern as it stands. Its witness is taken only where the current cell's witness hid
nothing new and left the next cell unprotected, that is where the next cell's LPs are the
very LPs solving one after the other would solve; else it is dropped and the next cell is
done here. Pattern, witnesses and the count of LPs are those of solving in turn.

Weights (information loss; inner cells before totals): 1 + ln(1 + value), times 1.5
at wijk and 2.25 at gemeente level, times 1.5 for a `totaal` category. Unsafe cells
are taken smallest value first (they need the largest deviation), then by cell id:
deterministic.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

import highspy
import numpy as np
from scipy.sparse import csr_matrix

from . import audit as _audit
from .audit import INF, new_highs

COLWISE, MINIMIZE = int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize)
EPS_COST = 1e-3  # cost of moving an already suppressed cell: prefer short witnesses
TOL = 1e-7
NEAR, WIDER = 2, 4  # relation steps around a cell: first try, and where hiding more is needed
AHEAD_CELLS, AHEAD_UNSAFE = 1_000, 100  # a component this large (cells, unsafe cells) gets a second process
PROGRESS_SECONDS = 60.0  # a protection that takes longer says every minute how far it is (log, counts only)

log = logging.getLogger("wijksignaal.protect")

Witness = tuple[np.ndarray, np.ndarray, np.ndarray]  # (columns it moves, their deviations, columns to suppress)


def weights(value: np.ndarray, level_rank: np.ndarray, is_total: np.ndarray) -> np.ndarray:
    w: np.ndarray = (1.0 + np.log1p(value)) * (1.5 ** level_rank) * np.where(is_total, 1.5, 1.0)
    return w


class Component:
    """One connected component of the relation graph and its protection LPs.

    A: csr (relations x cells, coefficients); le: `<=` flag per relation; slack: per
    relation, the room the true values leave under a `<=`; value; need: how far each
    unsafe cell must be able to rise (its target - value); suppressed: bool per cell;
    weight: the cost of suppressing a cell; floor: per cell (or one for all), the least
    value the attacker allows a suppressed cell (1: zeros are published); locked: cells
    that may not be suppressed (public already through an earlier release); dlow, dhigh:
    where counts are rounded or noisy, how far below and above its true value a
    published cell may lie for the attacker."""

    def __init__(self, A: csr_matrix, le: np.ndarray, slack: np.ndarray, value: np.ndarray, need: np.ndarray,
                 suppressed: np.ndarray, weight: np.ndarray, floor: float | np.ndarray = 1.0,
                 locked: np.ndarray | None = None, dlow: np.ndarray | None = None, dhigh: np.ndarray | None = None,
                 steps: tuple[int, int] = (NEAR, WIDER)) -> None:
        self.le, self.slack = le, slack
        self.near, self.wider = steps
        self.value = value.astype(float)
        self.need = need.astype(float)
        self.suppressed = suppressed.copy()
        self.weight = weight
        self.floor = np.broadcast_to(np.asarray(floor, dtype=float), self.value.shape)
        self.candidate = (self.value > 0) & (~locked if locked is not None else True)  # may be suppressed
        zero = np.zeros(len(self.value))
        self.dlow = zero if dlow is None else dlow  # a published rounded cell: true value - published interval
        self.dhigh = zero if dhigh is None else dhigh
        self.interval = self.dhigh > self.dlow
        self.Ac = A.tocsc()
        A = A.tocsr()
        # the relation graph as index arrays: every look around a cell gathers only the slices of the
        # cells and relations it reaches, never a product over the whole component
        self.row_ptr, self.row_cells = A.indptr.astype(np.int64), A.indices.astype(np.int64)
        self.col_ptr, self.col_rows = self.Ac.indptr.astype(np.int64), self.Ac.indices.astype(np.int64)
        self.col_data = self.Ac.data.astype(np.float64)
        self.n = A.shape[1]
        self._cell_seen, self._row_seen = np.zeros(self.n, dtype=bool), np.zeros(A.shape[0], dtype=bool)
        self._stamp = np.zeros(max(self.n, A.shape[0]), dtype=np.int64)  # scratch of _fresh
        self.h = new_highs()
        self.h.setOptionValue("presolve", "off")  # small LPs: presolve costs more than it saves
        self.lps = 0
        self.proved_infeasible = 0  # wider looks that a narrower look's multipliers showed to have no witness
        self._ray: tuple[np.ndarray, np.ndarray] | None = None  # those multipliers, for the cell under way (_find)
        self.witnesses: list[tuple[np.ndarray, np.ndarray]] = []  # (columns moved, their deviations)
        self.ahead: Ahead | None = None  # finds the next cell's witness alongside (module docstring)
        self.taken_ahead = 0  # witnesses of the second process that were taken
        self.stop_on: np.ndarray | None = None  # cells whose hiding ends the search (protect_component)
        self.fail_fast = False  # end the search at the first cell that nothing can protect (protect_component)
        self.stopped = False
        self.failed: list[int] = []  # the cell that nothing can protect, where fail_fast ended the search

    def _near(self, cells: np.ndarray, steps: int | None) -> np.ndarray:
        """The cells within `steps` relation steps of `cells` (None: until the component is in), as
        sorted positions. A breadth-first search from the newly reached cells only: its work is that
        of the cells and relations reached, not of the component."""
        frontier = self._fresh(np.asarray(cells, dtype=np.int64), self._cell_seen)
        reached, rows_seen = [frontier], []
        while steps is None or steps > 0:
            rows = self._fresh(_gather(self.col_ptr, self.col_rows, frontier), self._row_seen)
            rows_seen.append(rows)
            frontier = self._fresh(_gather(self.row_ptr, self.row_cells, rows), self._cell_seen)
            if not len(frontier):
                break
            reached.append(frontier)
            steps = None if steps is None else steps - 1
        out = np.sort(np.concatenate(reached))
        self._cell_seen[out] = False  # the scratch marks are cleared where they were set
        self._row_seen[np.concatenate(rows_seen)] = False
        return out

    def _fresh(self, idx: np.ndarray, seen: np.ndarray) -> np.ndarray:
        """The positions in idx not marked in `seen`, each once (in no particular order); marks them."""
        idx = idx[~seen[idx]]
        at = np.arange(len(idx))
        self._stamp[idx] = at  # of repeated positions one write stays: that occurrence is kept
        idx = idx[self._stamp[idx] == at]
        seen[idx] = True
        return idx

    def protect(self, order: np.ndarray, widen: bool = True) -> list[int]:
        """A witness for every unsafe cell in `order`; returns the cells left without one.
        widen=False: look no further than `wider` relation steps (a cell without a witness
        there is returned as left without one)."""
        covered = np.zeros(self.n, dtype=bool)  # lifted by its shortfall in some witness
        unprotected: list[int] = []
        order = np.asarray(order, dtype=np.int64)
        k = 0
        started = last = time.monotonic()
        while k < len(order) and not self.stopped:
            if time.monotonic() - last >= PROGRESS_SECONDS:  # a long protection says it is alive (counts only)
                last = time.monotonic()
                log.info("protection of a component of %d cells: %d of %d unsafe cells taken, %d LPs, %.0f s",
                         self.n, k, len(order), self.lps, last - started)
            i = int(order[k])
            k += 1
            if covered[i]:
                continue
            # the next cell solving in turn would take (only looked for with a second process)
            left = np.flatnonzero(~covered[order[k:]]) if self.ahead is not None else np.zeros(0, dtype=np.int64)
            if self.ahead is not None and len(left):
                nxt = k + int(left[0])
                self.ahead.submit(int(order[nxt]), self.suppressed, self.candidate, widen)
                self._take(i, self._find(i, widen), covered, unprotected, widen)
                found, lps = self.ahead.result()
                j = int(order[nxt])
                if not covered[j] and np.array_equal(self.ahead.sent[0], self.suppressed):  # nothing new hidden
                    self.lps += lps  # the LPs solving in turn would have solved for j, with this very pattern
                    self.taken_ahead += 1
                    self._take(j, found, covered, unprotected, widen)
                    k = nxt + 1
            else:
                self._take(i, self._find(i, widen), covered, unprotected, widen)
        return unprotected

    def _find(self, i: int, widen: bool) -> Witness | None:
        """The witness for cell i: near, then wider where hiding more is needed (protect())."""
        x = self._near(np.array([i]), self.near)
        self._ray = None
        found = self._witness(x, i)
        if found is None or self._cost(found) > 0:
            # hiding more is needed: look for a cheaper way in a wider neighbourhood, widening
            # further while there is none at all
            grown, steps = len(x), self.wider - self.near
            while True:
                x = self._near(x, steps)
                steps = 1
                size = len(x)
                if size == grown:
                    break  # the whole component is in
                grown = size
                wider = self._witness(x, i)
                if wider is not None and (found is None or self._cost(wider) < self._cost(found)):
                    found = wider
                if found is not None or not widen:
                    break
        return found

    def _take(self, i: int, found: Witness | None, covered: np.ndarray, unprotected: list[int],
              widened: bool) -> None:
        """Apply cell i's witness: hide what it moves, mark what it lifts; or note i unprotected.
        `widened`: the search for it looked through the whole component if it had to."""
        if found is None:
            unprotected.append(i)
            # widening looked through the whole component with every cell that may be hidden (protect() with
            # widen, alone or as protect_preferring's last step): nothing protects i, so protection fails
            if self.fail_fast and widened:
                self.stopped = True
                self.failed.append(i)
            return
        cols, dev, hide = found
        self.suppressed[hide] = True
        covered[self._lifted(cols, dev)] = True
        self.witnesses.append((cols, dev))
        if self.stop_on is not None and self.stop_on[hide].any():
            self.stopped = True

    def protect_preferring(self, order: np.ndarray, prefer: np.ndarray) -> list[int]:
        """protect(), with the `prefer` cells (published figures readers need most; per cell 0, or
        how much it is needed) not hidden at first. Where a small cell is left without any
        witness, preferred cells become candidates again: the least needed first, and of those
        the nearest first (within `near` relation steps, then `wider`, then the whole
        component); only those small cells are protected again. Witnesses found before stay
        valid, since hiding more never breaks one."""
        held = (prefer > 0) & self.candidate
        self.candidate = self.candidate & ~held
        # a cell without a witness within `wider` steps while the preferred cells are held is not chased
        # through the whole component: the preferred cells near it are freed first (below)
        unprotected = self.protect(order, widen=False)
        for rank in np.unique(prefer[held]):
            for steps in (self.near, self.wider, None):
                if not unprotected or self.stopped:
                    break
                free = held & (prefer <= rank)
                if steps is not None:
                    near = np.zeros(self.n, dtype=bool)
                    near[self._near(np.asarray(unprotected), steps)] = True
                    free &= near
                if not free.any():
                    continue
                held &= ~free
                self.candidate |= free
                unprotected = self.protect(np.asarray(unprotected, dtype=np.int64), widen=False)
        self.candidate |= held
        if unprotected and not self.stopped:  # every cell may be hidden now: the whole component, as protect() looks
            unprotected = self.protect(np.asarray(unprotected, dtype=np.int64))
        return unprotected

    def _lifted(self, cols: np.ndarray, dev: np.ndarray) -> np.ndarray:
        """The cells a witness moves up by at least their shortfall: it protects them all."""
        lifted: np.ndarray = cols[dev >= self.need[cols] - TOL]
        return lifted

    def release(self, tries: np.ndarray, order: np.ndarray) -> None:
        """Publish again what the pattern hid but need not: for each cell in `tries` (hidden by this
        pattern, in order), show it, and look for new witnesses, moving hidden cells only, for the
        unsafe cells in `order` whose every witness moved it. If all find one, the cell stays
        published; else it is hidden again. Greedy patterns hide more than they need: this gives
        back the cells readers need most (stapeling 2+)."""
        targets = np.asarray(order, dtype=np.int64)
        for c in (int(c) for c in tries):
            if not self.suppressed[c]:
                continue
            keep = [w for w in self.witnesses if c not in w[0]]
            covered = np.zeros(self.n, dtype=bool)
            for cols, dev in keep:
                covered[self._lifted(cols, dev)] = True
            lost = [int(t) for t in targets if not covered[t]]
            self.suppressed[c] = False
            candidate, self.candidate = self.candidate, np.zeros(self.n, dtype=bool)  # nothing new may be hidden
            new, ok = [], True
            for t in lost:
                if covered[t]:
                    continue
                self._ray = None
                found = self._witness(self._near(np.array([t]), self.wider), t)
                if found is None:
                    ok = False
                    break
                cols, dev, _ = found
                covered[self._lifted(cols, dev)] = True
                new.append((cols, dev))
            self.candidate = candidate
            if ok:
                self.witnesses = keep + new
            else:
                self.suppressed[c] = True

    def _cost(self, found: Witness) -> float:
        """What a witness costs: the weight of the cells it would newly hide."""
        hide = found[2]
        return float(self.weight[hide][~self.suppressed[hide]].sum())

    def _witness(self, near: np.ndarray, i: int) -> Witness | None:
        """The cheapest witness for cell i among the `near` cells (sorted positions): (columns it
        moves, their deviations, columns to suppress) or None.

        Columns: p - m is the move of a cell beyond what is published about it (cost: its
        weight, or EPS_COST when suppressed already); where counts are rounded a third block
        r moves a published cell within its interval, free and without suppressing it."""
        value = self.value
        cols = near[self.suppressed[near] | self.candidate[near] | self.interval[near]]
        # the columns' slices of the relation matrix; the rows that hold none of them constrain nothing here
        lengths = self.col_ptr[cols + 1] - self.col_ptr[cols]
        pick = _ranges(self.col_ptr[cols], lengths)
        entry_rows = self.col_rows[pick]
        rows = np.sort(self._fresh(entry_rows, self._row_seen))  # the rows held, in order (as np.unique gives them)
        self._row_seen[rows] = False
        self._stamp[rows] = np.arange(len(rows))
        local = self._stamp[entry_rows]  # each entry's row within `rows`
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        k = len(cols)
        blocks = 3 if self.interval[cols].any() else 2
        hidden = self.suppressed[cols]
        may_hide = hidden | self.candidate[cols]
        cost = np.where(hidden, EPS_COST, self.weight[cols])
        ii = int(np.searchsorted(cols, i))
        c = np.concatenate([cost, cost] + [np.zeros(k)] * (blocks - 2))
        c[ii] = 0.0
        low_pub = np.where(hidden, 0.0, self.dlow[cols])  # a suppressed cell has no published interval
        lower = np.concatenate([np.zeros(2 * k)] + [low_pub] * (blocks - 2))
        upper = np.concatenate([np.where(may_hide, INF, 0.0),
                                np.where(may_hide, np.maximum(value[cols] + low_pub - self.floor[cols], 0.0), 0.0)]
                               + [np.where(hidden, 0.0, self.dhigh[cols])] * (blocks - 2))
        lower[ii] = self.need[i]
        upper[k + ii] = 0.0
        nnz = int(indptr[-1])
        data = self.col_data[pick]
        start = np.concatenate([indptr] + [indptr[1:] + nnz * b for b in range(1, blocks)]).astype(np.int32)
        index = np.concatenate([local] * blocks).astype(np.int32)
        data = np.concatenate([data, -data] + [data] * (blocks - 2)).astype(np.float64)
        row_lo, row_hi = np.where(self.le[rows], -INF, 0.0), np.where(self.le[rows], self.slack[rows], 0.0)
        if self._ray is not None and _infeasible(self._ray, rows, lower, upper, row_lo, row_hi, start, index, data):
            self.proved_infeasible += 1
            return None  # the multipliers that showed a smaller look infeasible show this one infeasible too
        self.h.clearModel()
        # the model as arrays in one call: filling a HighsLp attribute by attribute costs about 8 times as much
        self.h.passModel(blocks * k, len(rows), blocks * nnz, COLWISE, MINIMIZE, 0.0, c, lower, upper,
                         row_lo, row_hi, start, index, data, np.zeros(blocks * k, dtype=np.int32))
        _audit.run(self.h)
        self.lps += 1
        status = self.h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            if status == highspy.HighsModelStatus.kInfeasible:
                _, has_ray, ray = self.h.getDualRay()  # type: ignore[attr-defined]  # highspy 1.16: in _Highs, not in its stubs
                self._ray = (rows, np.asarray(ray, dtype=float)) if has_ray else None
            return None
        sol = np.asarray(self.h.getSolution().col_value)
        beyond = sol[:k] - sol[k:2 * k]
        d = beyond + (sol[2 * k:] if blocks == 3 else 0.0)
        moved = np.abs(d) > TOL
        return cols[moved], d[moved], cols[np.abs(beyond) > TOL]


class Ahead(_audit.Helper):
    """A forked process with a copy of the component that finds the witness of the cells sent to
    it (with the pattern as it stands: suppressed and candidate cells), one at a time, in order,
    and says how many LPs it took."""

    def __init__(self, comp: Component) -> None:
        super().__init__(partial(_ahead_answer, comp))
        self.sent = (comp.suppressed.copy(), comp.candidate.copy())  # the pattern as the process has it

    def submit(self, i: int, suppressed: np.ndarray, candidate: np.ndarray, widen: bool) -> None:
        """Cell i, and where the pattern changed since the last cell sent (a few cells, not the whole)."""
        flips = tuple(np.flatnonzero(new != old) for new, old in zip((suppressed, candidate), self.sent))
        self.sent = (suppressed.copy(), candidate.copy())
        self.send((i, flips, widen))

    def result(self) -> tuple[Witness | None, int]:
        out: tuple[Witness | None, int] = self.recv()
        return out


def _ahead_answer(comp: Component, task: tuple[int, tuple[np.ndarray, np.ndarray], bool]
                  ) -> tuple[Witness | None, int]:
    i, (suppressed, candidate), widen = task
    comp.suppressed[suppressed] = ~comp.suppressed[suppressed]
    comp.candidate[candidate] = ~comp.candidate[candidate]
    before = comp.lps
    return comp._find(i, widen), comp.lps - before


def _infeasible(ray: tuple[np.ndarray, np.ndarray], rows: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                row_lo: np.ndarray, row_hi: np.ndarray, start: np.ndarray, index: np.ndarray,
                data: np.ndarray) -> bool:
    """Whether row multipliers y (`ray`: on some of `rows`, component row ids) prove this LP
    infeasible (Farkas): for every x within its bounds, y.Ax is at most sum_j max(z_j l_j, z_j u_j)
    with z = A'y, and for every feasible row activity s, y.s is at least sum_r min(y_r lo_r, y_r hi_r);
    the first below the second means no x meets the rows. Checked here in full, with a margin, so
    a ray that proves nothing is only a missed shortcut."""
    ray_rows, ray_y = ray
    at = np.searchsorted(rows, ray_rows)
    if np.any(at >= len(rows)) or np.any(rows[np.minimum(at, len(rows) - 1)] != ray_rows):
        return False  # pragma: no cover - a wider look holds every row of a narrower one
    y = np.zeros(len(rows))
    y[at] = np.where(np.abs(ray_y) > 1e-9, ray_y, 0.0)
    z = np.bincount(np.repeat(np.arange(len(start) - 1), np.diff(start)), weights=data * y[index],
                    minlength=len(start) - 1)
    up, down = z > 0, z < 0  # exact: a column the multipliers touch at all counts with its bound
    if np.any(up & (upper >= INF)) or np.any(down & (lower <= -INF)):
        return False
    col_max = float(np.sum(z[up] * upper[up]) + np.sum(z[down] * lower[down]))
    pos, neg = y > 0, y < 0
    if np.any(pos & (row_lo <= -INF)) or np.any(neg & (row_hi >= INF)):
        return False
    row_min = float(np.sum(y[pos] * row_lo[pos]) + np.sum(y[neg] * row_hi[neg]))
    # the margin: beyond what HiGHS's tolerances (1e-7 on bounds and rows) let a nearly feasible table gain
    return col_max < row_min - 1e-6 * (1.0 + abs(row_min) + float(np.abs(y).sum()) + float(np.abs(z).sum()))


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions starts[0] .. starts[0] + lengths[0] - 1, then those of the next range, and so on."""
    total = int(lengths.sum())
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    out: np.ndarray = offsets + np.arange(total, dtype=np.int64)
    return out


def _gather(ptr: np.ndarray, index: np.ndarray, which: np.ndarray) -> np.ndarray:
    """The entries of compressed rows (or columns) `which`: index[ptr[w]:ptr[w + 1]] for each w, concatenated."""
    out: np.ndarray = index[_ranges(ptr[which], ptr[which + 1] - ptr[which])]
    return out


def protect_component(task: dict[str, Any]) -> dict[str, Any]:
    """Secondary suppressions for one component (see Component); task holds its arguments
    and `order`, the unsafe cells in processing order. Returns {"suppress": positions to
    suppress, "lps": LPs solved, "unprotected": positions without a witness, "witnesses": the
    witnesses found, (positions moved, deviations), for the audit to check, "taken_ahead": how many of them
    the second process found (Ahead), "proved_infeasible": looks shown to have no witness without an LP}. With `stop_on` (a cell mask), the search ends as soon as a
    witness hides one of those cells, and with `fail_fast` at the first cell nothing can protect;
    the result then says "stopped": True (its pattern is incomplete)."""
    comp = Component(task["A"], task["le"], task["slack"], task["value"], task["need"], task["suppressed"],
                     task["weight"], task["floor"], task.get("locked"), task.get("dlow"), task.get("dhigh"),
                     task.get("steps", (NEAR, WIDER)))
    comp.stop_on = task.get("stop_on")
    comp.fail_fast = bool(task.get("fail_fast", False))
    if _audit.WORKERS > 1 and not _audit.IN_WORKER and comp.n >= AHEAD_CELLS and len(task["order"]) >= AHEAD_UNSAFE:
        comp.ahead = Ahead(comp)
    try:
        prefer = task.get("prefer")
        if prefer is not None and prefer.any():
            unprotected = comp.protect_preferring(task["order"], prefer)
        else:
            unprotected = comp.protect(task["order"])
    finally:
        if comp.ahead is not None:
            comp.ahead.close()
            comp.ahead = None
    if comp.stopped:
        return {"suppress": np.flatnonzero(comp.suppressed & ~task["suppressed"]), "lps": comp.lps,
                "unprotected": comp.failed, "witnesses": comp.witnesses, "taken_ahead": comp.taken_ahead,
                "proved_infeasible": comp.proved_infeasible, "stopped": True}
    if "release" in task and not unprotected:
        tries = [c for c in task["release"] if comp.suppressed[c] and not task["suppressed"][c]]
        comp.release(np.asarray(tries, dtype=np.int64), task["order"])
    return {"suppress": np.flatnonzero(comp.suppressed & ~task["suppressed"]), "lps": comp.lps,
            "unprotected": unprotected, "witnesses": comp.witnesses, "taken_ahead": comp.taken_ahead,
            "proved_infeasible": comp.proved_infeasible}
