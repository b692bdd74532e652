"""The cell-key method: consistent noise on published counts (a DPIA option per purpose).

Every household (or person, for person selections) carries a *record key*, a 32-bit
number taken from its pseudonym (md5 of the pseudonym, in SQL; tabulate.py). A cell's
*cell key* is the sum of the record keys of the households it counts, modulo 2^32, as a
fraction of 2^32: a number in [0, 1) that depends only on *which* households are in the
cell. The noise of a cell is looked up in a perturbation table (p-table) with its cell
key, so the same households always get the same noise: a cell that counts the same
households as a cell of another table (stapeling `3+` and combinaties
`uitkering+achterstand+wmo`, or a selection that equals one of them) shows the same
number in both.

The p-table (Giessing 2016; the maximum-entropy approach of Destatis' `ptable`): for an
original count i, noise j in [-D, D] with probabilities of maximum entropy subject to
mean 0 and variance at most V; for counts near the threshold the support is cut so that
a published count never drops below the threshold (i + j >= threshold). Solved per row
with scipy (SLSQP), deterministic.

Small counts (1 .. threshold-1) are still suppressed: noise of +-D cannot hide that a
count is small. What the attacker knows of a published noisy count p is the interval
max(threshold, p - D) .. p + D; the protection LPs and the audit use it (as for
rounding), so a noisy table needs fewer secondary suppressions than an exact one.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
from scipy.optimize import minimize

KEY_SPACE = 2 ** 32


@cache
def ptable_row(d: int, v: float, room_below: int) -> tuple[np.ndarray, np.ndarray]:
    """(noise values, probabilities) for a count that may drop by at most `room_below`."""
    j = np.arange(-min(d, room_below), d + 1, dtype=float)
    if len(j) == 1 or room_below == 0:
        return np.array([0.0]), np.array([1.0])
    cons = [{"type": "eq", "fun": lambda p: p.sum() - 1.0},
            {"type": "eq", "fun": lambda p: p @ j},
            {"type": "ineq", "fun": lambda p: v - p @ (j * j)}]

    def neg_entropy(p: np.ndarray) -> float:
        q = np.clip(p, 1e-12, 1.0)
        return float(q @ np.log(q))

    start = np.where(j == 0, 0.5, 0.5 / (len(j) - 1))
    res = minimize(neg_entropy, start, method="SLSQP", bounds=[(0.0, 1.0)] * len(j), constraints=cons,
                   options={"ftol": 1e-12, "maxiter": 500})
    p = np.clip(res.x, 0.0, 1.0)
    p = np.round(p / p.sum(), 10)
    p[j == 0] += 1.0 - p.sum()  # exact sum 1 after rounding, absorbed by "no noise"
    return j.astype(np.int64), p


def noise(values: np.ndarray, keys: np.ndarray, thresholds: np.ndarray, d: int, v: float) -> np.ndarray:
    """The noise of every cell: p-table row of its count, entry at its cell key."""
    out = np.zeros(len(values), dtype=np.int64)
    ck = (np.asarray(keys, dtype=np.int64) % KEY_SPACE) / KEY_SPACE
    room = np.asarray(values, dtype=np.int64) - np.asarray(thresholds, dtype=np.int64)
    for r in np.unique(np.minimum(room[room >= 0], d)):
        rows = np.flatnonzero(np.minimum(room, d) == r) if r < d else np.flatnonzero(room >= d)
        j, p = ptable_row(d, v, int(r))
        out[rows] = j[np.minimum(np.searchsorted(np.cumsum(p), ck[rows], side="right"), len(j) - 1)]
    return out


def perturb(cells: pd.DataFrame, thresholds: dict[str, int], params: dict[str, tuple[int, float]]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(published value, attacker's low, attacker's high) per cell: noisy for non-zero cells at or
    above the threshold of tables in `params` (table -> (D, V)); exact elsewhere. Needs the
    column `rk` (sum of record keys) from tabulation."""
    v = cells.value.to_numpy(dtype=np.int64)
    thr = cells.table.map(thresholds).to_numpy(dtype=np.int64)
    published, low, high = v.copy(), v.copy(), v.copy()
    for table, (d, var) in params.items():
        rows = np.flatnonzero((cells.table == table).to_numpy() & (v >= thr) & (v > 0))
        if not len(rows):
            continue
        p = v[rows] + noise(v[rows], cells.rk.to_numpy()[rows], thr[rows], d, var)
        published[rows] = p
        low[rows] = np.maximum(p - d, thr[rows])
        high[rows] = p + d
    return published, low, high


__all__ = ["ptable_row", "noise", "perturb", "KEY_SPACE"]
