"""The disclosure audit: what an attacker who holds every published number of a release
can prove about each suppressed cell, by linear programming (HiGHS).

Attacker's knowledge: every published value (where the DPIA rounds counts or adds
cell-key noise, the interval a published count stands for, in columns `low`/`high`;
rounding.py, cellkey.py); every relation in relations.py, and, for a release with
atoms (atoms.py), every relation its definitions imply; every count is a whole,
non-negative number; zeros are published, so a suppressed cell is at least 1 (except a stapeling `0` cell where the
DPIA's group-disclosure rule hides zeros: there the floor is 0). For each suppressed
cell the audit computes the smallest and the largest value consistent with all of that
(the LP relaxation: integrality is dropped, which can only widen the range, and the
widened range is what is tested).

A suppressed unsafe cell (1 <= value < threshold) is protected only when its largest
feasible value reaches the threshold: otherwise the attacker can prove it lies below
the threshold, i.e. that it is a small group. A group-disclosure zero (no household of
the area without a problem domain) is protected when it can be 1: otherwise the attacker
can prove that every household of the area has a problem.

Certificates first: the protection LPs hand over the witness they found for every unsafe
cell (a deviation from the true table). `checked_witnesses` checks each from scratch,
with nothing but the relation matrix: every cell it moves is hidden and stays at or above
its floor (or is a rounded or noisy published cell that stays within its interval), and
every relation still holds. A checked witness proves that the cells it lifts to their
threshold are protected, without an LP. Only cells that no checked witness settles get
the LPs below (over atoms, in practice none).

The LPs are solved per connected component of unknown cells (suppressed, rounded or
noisy cells that share a relation), each component's model built once and re-solved
with new objectives (warm start). Every LP solution is a witness for all cells: a cell that a feasible solution
puts at or above the threshold is proven protected without an LP of its own (its
maximum is then reported as "at least" that value); only cells no witness settles get
an exact LP. Minima are exact (a witness at 1 is the lower bound itself).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import highspy
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from .atoms import MEMBER_BOUNDS, PERSONS_SHARED
from .relations import Components, Relation, components, relation_matrix

INF = highspy.kHighsInf
WORKERS = min(2, os.cpu_count() or 1)
IN_WORKER = False  # set in parallel_map's worker processes: they start no processes of their own

T = TypeVar("T")
R = TypeVar("R")


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance (its constructor prints a banner to stdout: not on ours)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy's Highs.__init__ is not annotated
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    # one thread: the LPs are simplex, which runs on one anyway; the 0/1 programs are small, and HiGHS's
    # second thread only spins beside them (standard table: 3.4 CPU s for 2.5 s) while the second core does
    # other work (suppression_milp.Partner, the forked workers). Every instance asks for the same count: HiGHS
    # refuses to run one that asks for another than its thread pool has
    h.setOptionValue("threads", 1)
    return h


@dataclass
class CellBound:
    cell: int
    value: int
    threshold: int
    low: float  # the attacker's minimum: exact for a cell that fails; for a protected cell the least value seen
    high: float  # the attacker's maximum; exact when high_exact, else a feasible value >= threshold
    high_exact: bool = True

    @property
    def protected(self) -> bool:
        return self.high >= self.threshold - 1e-6


@dataclass
class AuditResult:
    bounds: dict[int, CellBound] = field(default_factory=dict)
    witnesses_checked: int = 0  # small cells shown protected by a checked witness, without an LP
    lps: int = 0
    components: int = 0
    seconds: float = 0.0

    @property
    def failing(self) -> list[CellBound]:
        return [b for b in self.bounds.values() if not b.protected]

    def summary(self, atoms_at_least_one: bool = True,
                zeros_hidden: AbstractSet[tuple[str, str]] = frozenset(), persons_shared: bool = False,
                member_bounds: bool = False, possible_parts: bool = False) -> dict[str, Any]:
        """For audit.json. `atoms_at_least_one`: whether the audit bounded every non-empty atom by 1
        (0 in a release with the vroegsignalering monitor); `zeros_hidden`: (table, level) whose zeros
        are suppressed too (disclosure.primary_suppression); `persons_shared`: whether some person group
        holds several household atoms (atoms.py, Persons); `member_bounds`: whether the atoms bound the
        members per household of combinations of person selections (atoms.py, Members per household)."""
        failing = self.failing
        hidden = ("; in " + ", ".join(sorted(f"{t} {lv}" for t, lv in zeros_hidden)) + " zeros are suppressed too, "
                  "so a suppressed cell there may be 0") if zeros_hidden else ""
        return {
            "method": "per suppressed small cell (and small atom): a table the attacker cannot exclude in which it "
                      "reaches its threshold, either a witness of the protection checked here against every relation "
                      "and every published cell, or the largest value by linear programming over all published cells "
                      "and relations (HiGHS); for a cell that fails, also the smallest value",
            "attacker_knows": ["every published cell, of this release and of every earlier release of the period",
                               "every selection's definition: each cell is the sum of its atoms (per buurt, the "
                               "households split by domain combination and by every selection; persons by every "
                               "person selection" + (f", {PERSONS_SHARED}" if persons_shared else "") + "), so categories sum to totaal, buurten to wijk, wijken to "
                               "gemeente, stapeling and combinaties agree, and nested or overlapping selections "
                               "difference each other",
                               "which atoms are empty (a non-empty atom is >= 1)" if atoms_at_least_one else
                               "which atoms are empty, not that the others are non-empty (floor 0: a release with the "
                               "vroegsignalering monitor)" + (
                                   "; except parts with earlier months' facts that a household elsewhere in the "
                                   "gemeente shows possible, taken as possibly non-empty (no definition names a "
                                   "place: privacy/atoms.py, Parts: possible, not empty)" if possible_parts else ""),
                               "a household has 1 to the largest household's number of persons"
                               + (f", and, {MEMBER_BOUNDS}" if member_bounds else ""),
                               "suppressed cells are >= 1 (zeros are published), a suppressed stapeling 0 >= 0 "
                               "where the group-disclosure rule hides zeros" + hidden,
                               "where counts are rounded or noisy: the interval each published count stands for"],
            "protected_groups": "every suppressed small cell, and every small atom: any group a reader of the "
                                "definitions can name is a union of atoms, so none is provably small",
            "suppressed_unsafe_cells_audited": len(self.bounds),
            "provably_below_threshold": len(failing),
            "small_cells_exactly_recoverable": sum(1 for b in failing if b.high - b.low < 0.5),  # of those provably small
            "settled_by_checked_witnesses": self.witnesses_checked,
            "lps_solved": self.lps,
            "components": self.components,
            "passed": not failing,
        }


def _solve(h: highspy.Highs, cols: np.ndarray, sense: highspy.ObjSense) -> tuple[float, np.ndarray | None]:
    """Optimise the sum of `cols` (cost 1 on each); (objective, primal solution or None if unbounded)."""
    h.changeColsCost(len(cols), cols.astype(np.int32), np.ones(len(cols)))
    h.changeObjectiveSense(sense)
    run(h)
    out: tuple[float, np.ndarray | None] | None
    st = h.getModelStatus()  # read before the model changes again: a change resets the status
    if st not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kUnbounded,
                  highspy.HighsModelStatus.kUnboundedOrInfeasible):
        # a warm start can end without a verdict: solve again from scratch, without presolve
        h.clearSolver()
        h.setOptionValue("presolve", "off")
        run(h)
        h.setOptionValue("presolve", "choose")
        st = h.getModelStatus()
    if st == highspy.HighsModelStatus.kOptimal:
        out = h.getInfo().objective_function_value, np.asarray(h.getSolution().col_value)
    elif st in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        out = INF, None  # the model is always feasible (the true counts satisfy it): unbounded
    else:
        out = None
    h.changeColsCost(len(cols), cols.astype(np.int32), np.zeros(len(cols)))
    if out is not None:
        return out
    if st == highspy.HighsModelStatus.kIterationLimit:
        raise RuntimeError("a disclosure audit LP ran out of simplex iterations every time it was solved (audit.run); "
                           "nothing was published")
    raise RuntimeError(f"disclosure audit LP ended in state {h.modelStatusToString(st)}: the published tables "
                       "are inconsistent with their relations")


def _bound_component(h: highspy.Highs, targets: list[int], col: dict[int, int], value: dict[int, int],
                     thr: dict[int, float], both: bool, out: dict[int, CellBound], floors: np.ndarray) -> int:
    """Bounds of every target cell of one component; returns the number of LPs solved.

    Every LP solution is a point the attacker cannot exclude, so it is a witness for all
    cells at once: a cell that some solution puts at or above its threshold is proven
    protected (its maximum is at least that value), one that some solution puts at 1 has
    minimum 1 (the lower bound). Exact LPs are solved only for cells no witness settles."""
    lps = 0
    lower_of = {c: float(floors[col[c]]) for c in targets}  # the attacker's floor of each cell
    high = {c: -INF for c in targets}  # best witnessed value (exact when `exact_high`)
    low = {c: INF for c in targets}
    exact_high: set[int] = set()

    def witness(x: np.ndarray) -> None:
        for c in targets:
            v = x[col[c]]
            high[c] = max(high[c], v)
            low[c] = min(low[c], v)

    cols = np.array([col[c] for c in targets])
    obj, x = _solve(h, cols, highspy.ObjSense.kMaximize)  # push all small cells up at once
    lps += 1
    if x is not None:  # None: the sum is unbounded; the per-cell LPs below decide
        witness(x)
    for c in targets:
        if high[c] >= thr[c] - 1e-6:
            continue
        obj, x = _solve(h, np.array([col[c]]), highspy.ObjSense.kMaximize)
        lps += 1
        if x is None:
            high[c] = INF
        else:
            witness(x)
            high[c] = obj
        exact_high.add(c)
    if both:  # exact minima of the cells that fail (for a protected cell, the least value a witness showed)
        failing = [c for c in targets if high[c] < thr[c] - 1e-6]
        for c in targets:
            if c not in failing:
                low[c] = max(min(low[c], float(value[c])), lower_of[c])
        if any(low[c] > lower_of[c] + 1e-6 for c in failing):
            obj, x = _solve(h, np.array([col[c] for c in failing]), highspy.ObjSense.kMinimize)
            lps += 1
            witness(cast(np.ndarray, x))  # a minimum is bounded (by the floors): never None
        for c in failing:
            if low[c] <= lower_of[c] + 1e-6:
                low[c] = lower_of[c]
                continue
            obj, x = _solve(h, np.array([col[c]]), highspy.ObjSense.kMinimize)
            lps += 1
            witness(cast(np.ndarray, x))  # a minimum is bounded (by the floors): never None
            low[c] = obj
    for c in targets:
        out[c] = CellBound(c, int(value[c]), int(thr[c]), low[c] if both else lower_of[c], high[c],
                           high_exact=c in exact_high or high[c] == INF)
    return lps


def lp_model(lower: np.ndarray, upper: np.ndarray, rows: csr_matrix, row_lo: np.ndarray, row_hi: np.ndarray
             ) -> highspy.Highs:
    """The attacker's LP over one component: a variable per unknown cell within [lower, upper],
    a row per relation (csr `rows`, the published cells moved into [row_lo, row_hi])."""
    h = new_highs()
    h.addVars(len(lower), lower, upper)
    h.addRows(rows.shape[0], row_lo, row_hi, rows.nnz, rows.indptr[:-1].astype(np.int32),
              rows.indices.astype(np.int32), rows.data)
    return h


# (columns, rows, row_lo, row_hi, target cells, cell -> column, cell -> value, cell -> target, both, lower, upper)
ComponentTask = tuple[int, csr_matrix, np.ndarray, np.ndarray, list[int], dict[int, int], dict[int, int],
                      dict[int, float], bool, np.ndarray, np.ndarray]


def _component_task(task: ComponentTask) -> tuple[dict[int, CellBound], int]:
    n, rows, row_lo, row_hi, targets, col, value, thr, both, lower, upper = task
    h = lp_model(lower, upper, rows, row_lo, row_hi)
    out: dict[int, CellBound] = {}
    lps = _bound_component(h, targets, col, value, thr, both, out, lower)
    return out, lps


# An LP's simplex iterations are bounded by this many per row and column (plus a floor): the witness LPs of a
# monitor release beside five earlier months took at most 0.52 per row and column, and one of them, without
# presolve, stalled near its optimum for good (100,000 iterations in 42 s; with presolve: 3,031). A bound in
# iterations, not seconds, so that every machine gives the same verdicts and patterns.
ITERATIONS_PER_ROW_AND_COLUMN, ITERATIONS_FLOOR = 4, 1_000
# how an LP that ran out of iterations is solved again, from scratch, in turn
AGAIN: tuple[dict[str, bool | float | str | int], ...] = ({"presolve": "on"}, {"presolve": "on", "simplex_strategy": 4})


def _is_mip(h: highspy.Highs) -> bool:
    return any(t != highspy.HighsVarType.kContinuous for t in h.getLp().integrality_)


def run(h: highspy.Highs) -> None:
    """h.run(), loud where HiGHS refuses to solve, and never without end. HiGHS refuses an instance
    whose thread count differs from its thread pool's (new_highs asks for 1; an instance made otherwise
    that ran first in this process set up a pool of another size): the pool is then shut down once and
    the instance run again, so that a refusal never passes for a verdict on the tables. An LP gets
    at most ITERATIONS_PER_ROW_AND_COLUMN iterations per row and column; one that runs out is solved
    again from scratch with presolve, then with the primal simplex (AGAIN), its options restored after.
    One that runs out every time keeps that status: a witness LP then has no witness (more is hidden),
    an audit LP raises."""
    lp = not _is_mip(h)
    if lp:
        h.setOptionValue("simplex_iteration_limit",
                         ITERATIONS_PER_ROW_AND_COLUMN * (h.getNumRow() + h.getNumCol()) + ITERATIONS_FLOOR)
    _run(h)
    if not lp:
        return
    for options in AGAIN:
        if h.getModelStatus() != highspy.HighsModelStatus.kIterationLimit:
            return
        before: dict[str, bool | float | str | int] = {k: h.getOptionValue(k)[1] for k in options}  # (status, value)
        h.clearSolver()
        for k, v in options.items():
            h.setOptionValue(k, v)
        try:
            _run(h)
        finally:
            for k, v in before.items():
                h.setOptionValue(k, v)


def _run(h: highspy.Highs) -> None:
    if h.run() != highspy.HighsStatus.kError:
        return
    highspy.Highs.resetGlobalScheduler(True)
    if h.run() == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS refused to solve a linear program (status: error); nothing was published")


def fork_safe() -> None:
    """Call before forking a process that may solve a MIP: HiGHS's MIP hands work to a pool of threads
    that a forked child does not have (it waited for them for good, 2026-12-04), so the pool is shut
    down here and each process starts its own when it needs one. Not for a process in which another thread
    is solving at the same moment (wijksignaal protects one release per process: a regional run's gemeenten
    are separate flow runs)."""
    highspy.Highs.resetGlobalScheduler(True)


class Helper:
    """A forked helper process that answers each message from this process (its first) with
    `answer(message)`, in order: `send`, then `recv` the answer; an exception `answer` raises is sent
    back and raised by `recv`. It ends when told (`close`), and by itself once its first process is
    gone: that process's end of the pipe is closed in the child, and its pid is watched (a killed
    first process may leave a copy of its end open in another child, so end of file alone is not
    enough)."""

    def __init__(self, answer: Callable[[Any], Any]) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        fork_safe()
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(answer, os.getpid(), self.conn, child), daemon=True)
        self.process.start()
        child.close()

    def send(self, message: Any) -> None:
        self.conn.send(message)

    def recv(self) -> Any:
        out = self.conn.recv()
        if isinstance(out, BaseException):
            raise out
        return out

    def close(self) -> None:
        try:
            self.conn.send(None)
            self.process.join(timeout=5)
        except (OSError, EOFError):  # the process is gone already
            pass
        finally:
            if self.process.is_alive():  # pragma: no cover - it ends when told to
                self.process.kill()
                self.process.join()
            self.conn.close()


def _serve(answer: Callable[[Any], Any], first: int, first_end: Any, conn: Any) -> None:
    first_end.close()  # the first process's end: with it closed here, its death ends this loop (end of file)
    try:
        while True:
            while not conn.poll(1.0):
                if os.getppid() != first:
                    return
            message = conn.recv()
            if message is None:
                return
            try:
                reply = answer(message)
            except Exception as exc:  # pragma: no cover - raised again in the first process
                reply = exc
            conn.send(reply)
    except (OSError, EOFError):  # the first process is gone
        pass
    finally:
        conn.close()


def _mark_worker() -> None:
    global IN_WORKER
    IN_WORKER = True


def parallel_map(fn: Callable[[T], R], tasks: list[T], sizes: list[int]) -> list[R]:
    """[fn(t) for t in tasks], in WORKERS forked processes when the work (sum of `sizes`) is
    large enough to pay for them; the largest tasks go first, so no worker is left with a
    big one at the end. Results come back in the order of `tasks`."""
    if WORKERS < 2 or len(tasks) < 2 or sum(sizes) < 2_000:
        return [fn(t) for t in tasks]
    import multiprocessing as mp

    order = sorted(range(len(tasks)), key=lambda i: -sizes[i])
    fork_safe()
    with mp.get_context("fork").Pool(WORKERS, initializer=_mark_worker) as pool:
        done = pool.map(fn, [tasks[i] for i in order], chunksize=1)
    out: list[R | None] = [None] * len(tasks)
    for i, r in zip(order, done):
        out[i] = r
    return cast("list[R]", out)  # every slot is filled: `order` is a permutation of the tasks


def protection_targets(cells: pd.DataFrame, thresholds: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """(target, floor) per cell. target: the value an attacker must not be able to exclude for a
    suppressed cell that needs protection (its table's threshold for a small count, 1 for a
    group-disclosure zero; NaN for the rest). floor: the least value the attacker allows a
    suppressed cell (1, because zeros are published; 0 where the group rule hides zeros).
    From the columns `target` and `floor` that primary suppression writes, else derived."""
    v = cells.value.to_numpy(dtype=float)
    if "target" in cells.columns:
        return cells["target"].to_numpy(dtype=float), cells["floor"].to_numpy(dtype=float)
    thr = cells.table.map(thresholds).to_numpy(dtype=float)
    return np.where((v > 0) & (v < thr), thr, np.nan), np.ones(len(cells))


def published_bounds(cells: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """What the attacker knows of each published cell: its value, or with rounding or cell-key
    noise (rounding.py, cellkey.py) the interval in columns `low`/`high`."""
    v = cells.value.to_numpy(dtype=float)
    if "low" in cells.columns:
        return cells["low"].to_numpy(dtype=float), cells["high"].to_numpy(dtype=float)
    return v, v


def checked_witnesses(cells: pd.DataFrame, rels: list[Relation], thresholds: dict[str, int],
                      witnesses: list[tuple[np.ndarray, np.ndarray]]) -> dict[int, float]:
    """{cell id: the value a witness lifts it to} for the unsafe cells that some witness lifts to
    their target. A witness (cell ids, deviations from the true values) counts only when it is
    checked here, from scratch, to be a table the attacker cannot exclude: every cell it moves
    is hidden and stays at or above its floor, or is a rounded or noisy published cell that
    stays within its interval; every relation still holds (A d = 0 on equalities, A d <= slack
    on the others). A checked witness is a certificate: no LP is needed for the cells it lifts."""
    if not witnesses:
        return {}
    A, le, slack = relation_matrix(cells, rels)
    pos = pd.Series(np.arange(len(cells)), index=cells.index)
    v = cells.value.to_numpy(dtype=float)
    low, high = published_bounds(cells)
    hidden = (cells.status == "suppressed").to_numpy()
    target, floor = protection_targets(cells, thresholds)
    sizes = np.fromiter((len(w[0]) for w in witnesses), dtype=np.int64, count=len(witnesses))
    cols = pos.loc[np.concatenate([w[0] for w in witnesses])].to_numpy()
    dev = np.concatenate([np.asarray(w[1], dtype=float) for w in witnesses])
    which = np.repeat(np.arange(len(witnesses)), sizes)
    y = v[cols] + dev
    cell_ok = np.where(hidden[cols], y >= floor[cols] - 1e-6, (y >= low[cols] - 1e-6) & (y <= high[cols] + 1e-6))
    ok = np.bincount(which, weights=~cell_ok, minlength=len(witnesses)) == 0
    D = csr_matrix((dev, (cols, which)), shape=(len(cells), len(witnesses)))
    R = (A @ D).tocoo()
    bad_row = np.where(le[R.row], R.data > slack[R.row] + 1e-6, np.abs(R.data) > 1e-6)
    ok &= np.bincount(R.col[bad_row], minlength=len(witnesses)) == 0
    good = ok[which] & (y >= target[cols] - 1e-6)  # NaN targets compare False
    out: dict[int, float] = {}
    for c, val in zip(cells.index[cols[good]], y[good]):
        out[c] = max(out.get(c, -INF), float(val))
    return out


@dataclass
class AttackerLP:
    """The attacker's LP over every unknown cell of a release (`free`: suppressed, or published as an
    interval): a variable per such cell within [lower, upper], a row per relation with the published
    cells moved into [row_lo, row_hi] (Af: relations x free cells), and its linked components."""

    free: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    Af: csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    comps: Components
    target: np.ndarray

    @classmethod
    def of(cls, cells: pd.DataFrame, rels: list[Relation], thresholds: dict[str, int]) -> AttackerLP:
        published_low, published_high = published_bounds(cells)
        hidden = (cells.status == "suppressed").to_numpy()
        interval = ~hidden & (published_low < published_high)  # rounded: the attacker knows an interval
        free = hidden | interval
        target, floor = protection_targets(cells, thresholds)
        A, le, _ = relation_matrix(cells, rels)
        rhs = -(A[:, ~free] @ cells.value.to_numpy(dtype=float)[~free])
        Af = A[:, free].tocsr()
        return cls(free, np.where(interval, published_low, floor)[free], np.where(interval, published_high, INF)[free],
                   Af, np.where(le, -INF, rhs), rhs, components(Af), target)


def bound_rests_on(cells: pd.DataFrame, rels: list[Relation], thresholds: dict[str, int], cell: int) -> list[int]:
    """The published cells whose values the attacker's largest value of suppressed `cell` rests on
    (ids, in order): the cells of the relations whose multipliers in the LP of that maximum are not
    zero. With those multipliers the relations add up to the bound, so a privacy officer can follow
    it from these cells; another set of cells may give the same bound. Empty for an unbounded cell."""
    lp = AttackerLP.of(cells, rels, thresholds)
    col = int(np.flatnonzero(cells.index[lp.free] == cell)[0])
    members, rows = lp.comps.cols(lp.comps.label[col]), lp.comps.rows(lp.comps.label[col])
    h = lp_model(lp.lower[members], lp.upper[members], lp.Af[rows][:, members], lp.row_lo[rows], lp.row_hi[rows])
    h.changeColCost(int(lp.comps.local[col]), 1.0)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    run(h)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return []
    used = rows[np.abs(np.asarray(h.getSolution().row_dual)) > 1e-9]
    published = set(cells.index[~lp.free])
    return sorted({c for r in used for c in rels[r].cells if c in published})


def audit(cells: pd.DataFrame, rels: list[Relation], thresholds: dict[str, int], *, both: bool = True,
          touched: set[int] | None = None, previous: AuditResult | None = None,
          witnesses: list[tuple[np.ndarray, np.ndarray]] | None = None) -> AuditResult:
    """Bounds for every suppressed cell whose true value is below its table's threshold.

    both=False computes only the maximum (what protection needs). With `touched` (cells
    whose status changed since `previous`), only components containing one of them are
    solved again; the bounds of the other components are taken from `previous`, whose
    LPs are unchanged."""
    t0 = time.perf_counter()
    result = AuditResult()
    suppressed = cells.index[(cells.status == "suppressed").to_numpy()]
    if len(suppressed) == 0:
        return result
    lp = AttackerLP.of(cells, rels, thresholds)
    free, lower, upper, Af, row_lo, row_hi, target = lp.free, lp.lower, lp.upper, lp.Af, lp.row_lo, lp.row_hi, lp.target
    var = {c: k for k, c in enumerate(cells.index[free])}  # the LP's variables
    value = dict(zip(cells.index, cells.value))
    comps = lp.comps  # unknown cells linked through a shared relation
    label = comps.label
    result.components = comps.count

    thr = dict(zip(cells.index, target))
    unsafe = [c for c in suppressed if value[c] < thr[c]]  # NaN targets compare False
    by_comp: dict[int, list[int]] = {}
    for c in unsafe:
        by_comp.setdefault(label[var[c]], []).append(c)

    settled = checked_witnesses(cells, rels, thresholds, witnesses or [])
    for c in [c for c in unsafe if c in settled]:
        result.bounds[c] = CellBound(c, int(value[c]), int(thr[c]), float(lower[var[c]]), settled[c], high_exact=False)
        by_comp[label[var[c]]].remove(c)
    result.witnesses_checked = len(settled)
    by_comp = {k: t for k, t in by_comp.items() if t}

    redo = None
    if touched is not None and previous is not None:
        redo = {label[var[c]] for c in touched if c in var}
        for c in unsafe:
            if label[var[c]] not in redo and c in previous.bounds:
                result.bounds[c] = previous.bounds[c]
    tasks = []
    for comp, targets in sorted(by_comp.items()):
        if redo is not None and comp not in redo:
            continue
        members = comps.cols(comp)
        rows = comps.rows(comp)
        targets = sorted(targets)
        tasks.append((len(members), Af[rows][:, members], row_lo[rows], row_hi[rows], targets,
                      {c: int(comps.local[var[c]]) for c in targets}, {c: value[c] for c in targets},
                      {c: thr[c] for c in targets}, both, lower[members], upper[members]))
    for bounds, lps in parallel_map(_component_task, tasks, [len(t[4]) for t in tasks]):
        result.bounds.update(bounds)
        result.lps += lps
    result.seconds = time.perf_counter() - t0
    return result
