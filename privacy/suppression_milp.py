"""The cheapest secondary suppression pattern of a component, by integer programming.

The problem (Fischetti and Salazar's model for tabular data): choose x_j in {0, 1} for
every cell that may be hidden (published, non-zero, not locked) so that every unsafe
cell is protected, at the least total weight (protection_lp.weights). Protection of an
unsafe cell p under a pattern x is the witness LP of protection_lp.py: the attacker's
largest feasible value of p reaches its target.

That condition is not linear in x, but it is the conjunction of linear *cuts*: by LP
duality, for any multipliers g of the relations (g >= 0 on `<=` rows) with
z = e_p - A^T g,

    largest value of p  <=  v_p + g.slack + sum_j e0_j + sum_j x_j (D_j - e0_j)

where, for cell j, D_j is what hiding j can add (unbounded when z_j > 0, else
-z_j (v_j - floor_j)) and e0_j what its published interval adds (0 for an exact count).
So every g gives a necessary condition, a cut

    sum_j x_j max(0, D_j - e0_j)  >=  target_p - v_p - g.slack - sum_j e0_j,

with each coefficient capped at the right-hand side (valid for 0/1 variables). The
multipliers of a witness LP that falls short give a cut that the current pattern
violates.

Cut generation: start from the primary suppressions. Each round, for every unsafe cell
without a witness, solve its witness LP over its component of unknown cells (hidden or
rounded cells linked by relations, as in the audit); where it falls short, its
multipliers give a cut. Witnesses of earlier rounds are re-used while the cells they
move stay hidden, and one LP per component first pushes all its open cells up at once.
Add the cuts to a 0/1 program (HiGHS MIP, block by block: `Blocks`) and solve it for a
new pattern; repeat until no unsafe cell falls short. The pattern that ends the loop is protected (every unsafe
cell has a witness). Every cut holds for every protecting pattern, so the MIP's lower
bound is a lower bound for them all: when the last MIP closes its gap (1 %) within its
node limit, the pattern weighs at most 1 % more than the lightest protecting pattern.

Every limit is a count (rounds, LPs, MIP nodes), never a time, so the same input gives
the same pattern on any machine. Past a limit the protection LPs (protection_lp.py) take
over, from nothing and from the last pattern; the lighter result is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, cast

import highspy
import numpy as np
from scipy.sparse import csr_matrix

from . import audit as _audit
from .audit import INF, new_highs
from .protection_lp import Component, _ranges
from .relations import components

TOL = 1e-7
MAX_ROUNDS = 40
LP_BUDGET = 10  # witness LPs per unsafe cell, over all rounds
MIP_MAX_NODES = 2_000
MIP_REL_GAP = 0.01
FEASIBLE = int(highspy.SolutionStatus.kSolutionStatusFeasible)  # HiGHS's primal_solution_status
PARTNER_UNSAFE = 1_000  # a component with this many unsafe cells gets a second process (`Partner`)

Cut = tuple[np.ndarray, np.ndarray, float]  # (columns, coefficients, right-hand side): coef @ x >= rhs


class Separator:
    """Witness LPs of one component for a given pattern, and the cuts when they fall short.

    A: csr (relations x cells); le, slack: per relation; value; target: per cell, what an
    unsafe cell must be able to reach (NaN for the rest); floor: the least value of a hidden
    cell; low, high: what the attacker knows of a published cell (its value, or a rounded or
    noisy interval); candidate: cells that may be hidden."""

    def __init__(self, A: csr_matrix, le: np.ndarray, slack: np.ndarray, value: np.ndarray, target: np.ndarray,
                 floor: np.ndarray, low: np.ndarray, high: np.ndarray, candidate: np.ndarray) -> None:
        self.A, self.le, self.slack = A, le, slack
        A = A.tocsr()
        self.row_ptr, self.row_cells = A.indptr.astype(np.int64), A.indices.astype(np.int64)
        self.row_data = A.data.astype(np.float64)
        self.v = value.astype(float)
        self.target, self.floor = target, floor
        self.low, self.high = low, high
        self.interval = high > low
        self.candidate = candidate
        self.n = A.shape[1]
        self.lps = 0
        # (hidden cells it moves, cells it lifts, (cells it moves, their deviations): the certificate for the audit)
        self.witnesses: list[tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]] = []
        self.h = new_highs()
        self.h.setOptionValue("presolve", "off")  # small LPs, re-solved per cell: presolve costs more than it saves
        self.partner: Partner | None = None  # a second process that takes half of each round's work (`Partner`)

    def cuts(self, x: np.ndarray, fixed: np.ndarray, order: np.ndarray) -> list[Cut]:
        """A violated cut (columns, coefficients, right-hand side) for every unsafe cell in
        `order` that pattern x (bool per cell) leaves without a witness. `fixed`: hidden
        cells that are not variables of the program (the primary suppressions).

        As in the audit, the attacker's LP falls apart into components of unknown cells
        (hidden or rounded) linked by relations; each is built once and re-solved per cell."""
        free = x | self.interval
        cols_all = np.flatnonzero(free)
        Af = self.A[:, cols_all].tocsr()
        comps = components(Af)
        fixed_part = self.A @ np.where(free, 0.0, self.v)
        comp_of = np.full(self.n, -1)
        comp_of[cols_all] = comps.label
        # a witness of an earlier pattern still is one while the cells it moves stay hidden
        self.witnesses = [w for w in self.witnesses if x[w[0]].all()]
        known = np.zeros(self.n, dtype=bool)
        for _, lifts, _ in self.witnesses:
            known[lifts] = True
        todo: dict[int, list[int]] = {}  # per component, in the order of its first unsafe cell: its cells to do
        for p in order:
            if not known[p]:
                todo.setdefault(int(comp_of[p]), []).append(int(p))
        work = []  # per component: its cells, rows, row bounds, matrix, and unsafe cells without a witness
        for comp, mine in todo.items():
            rows = comps.rows(comp)
            sub = Af[rows][:, comps.cols(comp)]
            work.append((cols_all[comps.cols(comp)], rows, np.where(self.le[rows], -INF, -fixed_part[rows]),
                         -fixed_part[rows], sub, mine))
        if self.partner is not None:
            done = self.partner.share("cuts", work, [len(w[5]) * len(w[0]) for w in work], (x, fixed, known),
                                      lambda item: self._component_cuts(item, x, fixed, known))
        else:
            done = [self._component_cuts(item, x, fixed, known) for item in work]
        out = []
        for cuts, witnesses, lps in done:  # in component order
            out += cuts
            self.witnesses += witnesses
            self.lps += lps
        return out

    def _component_cuts(self, item: tuple[Any, ...], x: np.ndarray, fixed: np.ndarray, known: np.ndarray
                        ) -> tuple[list[Cut], list[Any], int]:
        """One component's cuts, the witnesses found and the LPs solved (`known` is marked, for its cells)."""
        cols, rows, row_lo, row_hi, sub, mine = item
        n_witnesses, lps = len(self.witnesses), self.lps
        h = self.h  # one solver for every component and round: a new instance costs more than the small LPs
        h.clearModel()
        lower, upper = np.where(x[cols], self.floor[cols], self.low[cols]), np.where(x[cols], INF, self.high[cols])
        h.addVars(len(lower), lower, upper)
        h.addRows(sub.shape[0], row_lo, row_hi, sub.nnz, sub.indptr[:-1].astype(np.int32),
                  sub.indices.astype(np.int32), sub.data)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        out = []
        if len(mine) > 1:  # first push them all up at once: one LP may settle many
            self._solve(h, np.searchsorted(cols, mine), x, cols, known)
        for p in mine:
            if known[p]:
                continue
            dual = self._solve(h, np.searchsorted(cols, [p]), x, cols, known)
            if known[p]:
                continue
            cut = self._cut(p, x, fixed, rows, cast(np.ndarray, dual))  # not None: unbounded marks p known
            if cut is None:  # pragma: no cover - the exact LP's multipliers always give a violated cut
                raise RuntimeError("cut generation: no violated cut from the witness LP's multipliers")
            out.append(cut)
        witnesses = self.witnesses[n_witnesses:]
        del self.witnesses[n_witnesses:]
        lps, self.lps = self.lps - lps, lps
        return out, witnesses, lps

    def _solve(self, h: highspy.Highs, ks: np.ndarray, x: np.ndarray, cols: np.ndarray, known: np.ndarray
               ) -> np.ndarray | None:
        """Maximise the sum of columns `ks`; marks in `known` the cells the solution lifts to
        their target (all of `ks` if unbounded), remembers the witness, and returns the row
        multipliers (None if unbounded)."""
        ks = np.asarray(ks, dtype=np.int32)
        h.changeColsCost(len(ks), ks, np.ones(len(ks)))
        _audit.run(h)
        self.lps += 1
        status = h.getModelStatus()
        h.changeColsCost(len(ks), ks, np.zeros(len(ks)))
        if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            if len(ks) == 1:
                known[cols[ks]] = True
            return None
        if status != highspy.HighsModelStatus.kOptimal:  # pragma: no cover - the true table is feasible
            raise RuntimeError(f"witness LP ended in state {h.modelStatusToString(status)}")
        sol = h.getSolution()
        y = np.asarray(sol.col_value)
        lifted = y >= self.target[cols] - TOL  # NaN targets compare False
        if lifted.any():
            known[cols[lifted]] = True
            d = y - self.v[cols]
            moved = np.abs(d) > TOL
            self.witnesses.append((cols[x[cols] & moved], cols[lifted], (cols[moved], d[moved])))
        return np.asarray(sol.row_dual)

    def _cut(self, p: int, x: np.ndarray, fixed: np.ndarray, rows: np.ndarray, dual: np.ndarray) -> Cut | None:
        """The cut of multipliers `dual` on `rows` for cell p, if pattern x violates it."""
        # z = e_p - A[rows]^T g is zero outside the cells of `rows` and p: the cut is computed on those alone
        pick = _ranges(self.row_ptr[rows], self.row_ptr[rows + 1] - self.row_ptr[rows])
        cells, at = np.unique(np.concatenate([self.row_cells[pick], [p]]), return_inverse=True)
        at_p = at[-1]
        per_entry = np.repeat(np.arange(len(rows)), self.row_ptr[rows + 1] - self.row_ptr[rows])
        le = self.le[rows]
        slack = np.where(le, self.slack[rows], 0.0)
        v, low, high, floor = self.v[cells], self.low[cells], self.high[cells], self.floor[cells]
        interval, fix = self.interval[cells], fixed[cells]
        free = self.candidate[cells] & ~fix
        for g in (dual, -dual):  # the solver's sign convention for a maximisation
            if np.any(g[le] < -TOL):
                continue
            g = np.where(le, np.maximum(g, 0.0), g)
            z = -np.bincount(at[:-1], weights=self.row_data[pick] * g[per_entry], minlength=len(cells))
            z[at_p] += 1.0
            up = z > TOL
            e0 = np.where(up, z * (high - v), z * (low - v))
            e0 = np.where(interval, np.maximum(e0, 0.0), 0.0)
            hide = np.where(up, INF, np.maximum(-z, 0.0) * (v - floor))
            rhs = self.target[p] - self.v[p] - g @ slack - e0.sum()
            fixed_gain = hide[fix].sum()
            if fixed_gain >= INF:
                continue  # with these multipliers a fixed hidden cell could rise without bound
            rhs -= fixed_gain
            if rhs <= TOL:
                continue
            coef = np.where(free, np.minimum(np.maximum(hide - e0, 0.0), rhs), 0.0)
            if coef[x[cells]].sum() >= rhs - TOL:
                continue  # not violated
            keep = coef > 0
            return cells[keep], coef[keep], float(rhs)
        return None


class Blocks:
    """The 0/1 program, solved block by block.

    The cuts tie the variables into blocks: two variables are in one block when a chain of
    cuts links them. No cut spans two blocks, so the program is the sum of one independent
    program per block: a pattern is the lightest when it is the lightest on every block, and
    when every block's solution is within MIP_REL_GAP of its block's optimum, the whole is
    within it of the whole's. A block's solution stands while no cut is added to it, so each
    round re-solves only the blocks its new cuts touch (blocks a cut joins are one from then
    on), each as a program of its own whose branch and bound does not multiply with another
    block's; MIP_MAX_NODES holds per block solve. On the standard table the 3,302 cuts fall
    into blocks of at most 61 variables; the first round's cuts touch 128 blocks, each of the
    last five rounds' 1 or 2 (0.9 s for all the program's solves, against 1.6 s for the whole)."""

    def __init__(self, weight: np.ndarray) -> None:
        self.weight = weight
        self.parent = np.arange(len(weight))
        self.cuts: list[Cut] = []
        self.cuts_of: dict[int, list[int]] = {}  # per block (its root), its cuts in the order they came
        self.chosen = np.zeros(len(weight), dtype=bool)
        self.solves = 0
        self.partner: Partner | None = None  # a second process that solves half of a round's blocks

    def _root(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = int(parent[root])
        while parent[i] != root:  # path compression
            parent[i], i = root, int(parent[i])
        return root

    def solve(self, cuts: list[Cut]) -> np.ndarray | None:
        """Add cuts (over variable positions) and return the positions chosen by the lightest pattern
        that meets every cut so far (None: some block has no pattern that meets its cuts)."""
        touched = set()
        for cols, coef, rhs in cuts:
            if coef.sum() < rhs - TOL:  # not even hiding every cell it names meets it (an empty cut too)
                return None
            k = len(self.cuts)
            self.cuts.append((cols, coef, rhs))
            roots = sorted({self._root(int(c)) for c in cols})
            root = roots[0]
            mine = self.cuts_of.setdefault(root, [])
            for other in roots[1:]:  # the cut joins blocks: one block from now on
                self.parent[other] = root
                mine.extend(self.cuts_of.pop(other, []))
                touched.discard(other)
            mine.append(k)
            touched.add(root)
        items = []
        for root in sorted(touched):
            ks = sorted(self.cuts_of[root])
            block = np.unique(np.concatenate([self.cuts[k][0] for k in ks]))
            items.append((block, [self.cuts[k] for k in ks]))
        if self.partner is not None:
            found = self.partner.share("blocks", items, [len(b) * len(c) for b, c in items], (),
                                       lambda item: self._solve_block(*item))
            self.solves += self.partner.theirs
        else:
            found = [self._solve_block(*item) for item in items]
        for (block, _), chosen in zip(items, found):
            if chosen is None:
                return None
            self.chosen[block] = chosen
        return np.flatnonzero(self.chosen)

    def _solve_block(self, block: np.ndarray, cuts: list[Cut]) -> np.ndarray | None:
        """The 0/1 program of one block: its variables `block` (sorted positions) and its cuts."""
        self.solves += 1
        mip = new_highs()
        mip.setOptionValue("mip_max_nodes", MIP_MAX_NODES)
        mip.setOptionValue("mip_rel_gap", MIP_REL_GAP)
        m = len(block)
        idx = np.arange(m, dtype=np.int32)
        mip.addVars(m, np.zeros(m), np.ones(m))
        mip.changeColsCost(m, idx, self.weight[block])
        mip.changeColsIntegrality(m, idx, np.full(m, highspy.HighsVarType.kInteger))
        starts = np.cumsum([0] + [len(c[0]) for c in cuts[:-1]]).astype(np.int32)
        mip.addRows(len(cuts), np.array([c[2] for c in cuts]), np.full(len(cuts), INF),
                    int(sum(len(c[0]) for c in cuts)), starts,
                    np.searchsorted(block, np.concatenate([c[0] for c in cuts])).astype(np.int32),
                    np.concatenate([c[1] for c in cuts]))
        _audit.run(mip)
        if mip.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
            return None
        found: np.ndarray = np.asarray(mip.getSolution().col_value) > 0.5
        if mip.getInfo().primal_solution_status != FEASIBLE:  # a limit reached before any pattern was found:
            found = np.ones(m, dtype=bool)  # hide them all, which meets every cut (checked in `solve`)
        return found


class Partner(_audit.Helper):
    """A forked process with a copy of the separator and the program: it separates the components
    and solves the blocks sent to it, so that a round uses both cores. It computes what this process
    would have (the same LPs, from a solver cleared per component; the same block programs), and the
    results are taken in the same order: cuts, witnesses, pattern and counts are those of one process."""

    def __init__(self, sep: Separator, program: Blocks) -> None:
        super().__init__(partial(_partner_answer, sep, program))
        self.theirs = 0  # how many items of the last `share` the partner did

    def share(self, kind: str, items: list[Any], costs: list[int], args: tuple[Any, ...],
              here: Callable[[Any], Any]) -> list[Any]:
        """[here(item) for item in items], the partner taking its share (`_share`) of the costs:
        `kind` and `args` tell it what to compute. Results in the order of `items`."""
        theirs = _share(costs)
        if theirs:
            self.send((kind, args, [items[i] for i in theirs]))
        out: list[Any] = [None] * len(items)
        for i in sorted(set(range(len(items))) - set(theirs)):
            out[i] = here(items[i])
        if theirs:
            for i, res in zip(theirs, self.recv()):
                out[i] = res
        self.theirs = len(theirs)
        return out


def _share(costs: list[int]) -> list[int]:
    """The items for the partner: the costliest first, each to whichever side has less so far
    (deterministic); the partner's in their order."""
    load = [0, 0]
    theirs = []
    for i in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
        side = int(load[1] < load[0])
        load[side] += costs[i]
        if side:
            theirs.append(i)
    return sorted(theirs)


def _partner_answer(sep: Separator, program: Blocks, message: tuple[str, tuple[Any, ...], list[Any]]) -> list[Any]:
    kind, args, items = message
    if kind == "cuts":
        return [sep._component_cuts(item, *args) for item in items]
    return [program._solve_block(*item) for item in items]


def optimise_component(task: dict[str, Any]) -> dict[str, Any]:
    """The cheapest pattern for one component (same task and result as
    protection_lp.protect_component, plus "rounds" and "converged")."""
    n = len(task["value"])
    v = task["value"].astype(float)
    suppressed = task["suppressed"].astype(bool)
    locked = task.get("locked")
    locked = np.zeros(n, dtype=bool) if locked is None else locked.astype(bool)
    floor = np.broadcast_to(np.asarray(task["floor"], dtype=float), (n,)).copy()
    dlow = task.get("dlow", np.zeros(n))
    dhigh = task.get("dhigh", np.zeros(n))
    target = np.full(n, np.nan)
    order = np.asarray(task["order"], dtype=np.int64)
    target[order] = v[order] + task["need"][order]
    candidate = (v > 0) & ~locked & ~suppressed
    sep = Separator(task["A"], task["le"], task["slack"], v, target, floor, v + dlow, v + dhigh, candidate)

    var = np.flatnonzero(candidate)
    pos = np.full(n, -1)
    pos[var] = np.arange(len(var))
    program = Blocks(task["weight"][var].astype(float))

    x = suppressed.copy()
    budget = LP_BUDGET * len(order)
    rounds = 0
    if _audit.WORKERS > 1 and not _audit.IN_WORKER and len(order) >= PARTNER_UNSAFE:
        sep.partner = program.partner = Partner(sep, program)
    try:
        while rounds < MAX_ROUNDS and sep.lps <= budget:
            rounds += 1
            cuts = sep.cuts(x, suppressed, order)
            if not cuts:  # every unsafe cell has a witness
                return {"suppress": np.flatnonzero(x & ~suppressed), "lps": sep.lps, "unprotected": [],
                        "rounds": rounds, "converged": True, "witnesses": [w[2] for w in sep.witnesses]}
            chosen = program.solve([(pos[c[0]], c[1], c[2]) for c in cuts])
            if chosen is None:
                break  # some cell cannot be protected at all: the protection LPs name it
            x = suppressed.copy()
            x[var[chosen]] = True
    finally:
        if sep.partner is not None:
            sep.partner.close()
            sep.partner = program.partner = None
    # no verified pattern within the limits: the protection LPs alone, or completing the last
    # pattern, whichever hides less
    best = None
    for start in (suppressed, x):
        comp = Component(task["A"], task["le"], task["slack"], v, task["need"], start, task["weight"], floor,
                         locked, dlow, dhigh)
        unprotected = comp.protect(order)
        hide = np.flatnonzero(comp.suppressed & ~suppressed)
        key = (len(unprotected), float(task["weight"][hide].sum()))
        if best is None or key < best[0]:
            best = key, hide, unprotected, comp.witnesses
        sep.lps += comp.lps
    found = cast("tuple[tuple[int, float], np.ndarray, list[int], list[tuple[np.ndarray, np.ndarray]]]", best)
    return {"suppress": found[1], "lps": sep.lps, "unprotected": found[2], "rounds": rounds, "converged": False,
            "witnesses": found[3]}
