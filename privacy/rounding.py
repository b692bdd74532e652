"""Rounding of published counts to a base (a DPIA option per purpose; CBS rounds to 5).

A published count v of a table with base b is published as the multiple of b nearest to
v, halves up: r = b * floor((v + b // 2) / b). For b = 5: 10, 11, 12 -> 10; 13..17 -> 15.

What the attacker then knows of a published cell is an interval, not a value: the true
count lies in [r - b // 2, r - b // 2 + b - 1] (for b = 5: r - 2 .. r + 2), and, because
counts below the threshold are suppressed and zeros are published exactly, it is at
least the threshold when r > 0. The audit (audit.py) and the protection LPs take these
intervals instead of exact values, so rounding is part of the proof; and rounded tables
need fewer secondary suppressions, because the published cells around a small cell no
longer pin it down exactly.

Rounded tables no longer add up exactly (a total is rounded on its own, not summed from
rounded parts); the report and audit.json say so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def round_to_base(values: np.ndarray, base: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.int64)
    base = np.asarray(base, dtype=np.int64)
    rounded: np.ndarray = base * ((values + base // 2) // base)
    return rounded


def intervals(cells: pd.DataFrame, thresholds: dict[str, int], bases: dict[str, int]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(published value, attacker's low, attacker's high) per cell; exact where a table has no
    base or the cell is zero. Only meaningful for published cells."""
    v = cells.value.to_numpy(dtype=np.int64)
    b = cells.table.map(bases).fillna(1).to_numpy(dtype=np.int64)
    thr = cells.table.map(thresholds).to_numpy(dtype=np.int64)
    rounded = (b > 1) & (v > 0)
    r = np.where(rounded, round_to_base(v, np.maximum(b, 1)), v)
    low = np.where(rounded, np.maximum(r - b // 2, thr), v)
    high = np.where(rounded, r - b // 2 + b - 1, v)
    return r, low, high


__all__ = ["round_to_base", "intervals"]
