"""Group disclosure: every household of an area in one category.

A published count can disclose something about *every* household of an area without any
small number: "all 40 households of this buurt have a problem domain". In the release's
tables that statement always goes with one cell: the area's stapeling `0` (households
with no problem domain) being 0 while the area has households. Any finer version, such
as "every household has an uitkering" or "every household has exactly two domains",
implies that `0` is 0 as well, so protecting that one zero protects them all.

With the DPIA's `group_disclosure: protect` such a zero is suppressed and must stay
uncertain: the audit proves the attacker cannot exclude that it is 1 (target 1), and
the protection LPs hide what is needed for that. Because zeros are otherwise published,
a suppressed stapeling `0` could now be 0: the attacker's floor for every suppressed
stapeling `0` is 0 instead of 1. (A `0` of "no household has a problem domain" reveals
nothing sensitive and is published as any count is.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEY = ["table", "period", "level", "area_code"]


def group_zeros(cells: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(zeros that disclose a group, every stapeling `0` cell) as boolean Series over `cells`."""
    stap = cells.table == "stapeling"
    zero_cat = stap & (cells.category == "0")
    totals = cells[stap & (cells.category == "totaal")].set_index(KEY).value
    households = pd.Series(pd.MultiIndex.from_frame(cells[KEY]).map(totals), index=cells.index)
    return zero_cat & (cells.value == 0) & (households.fillna(0) > 0), zero_cat




def phantom_atoms(cells: pd.DataFrame, zeros: pd.Series) -> tuple[pd.DataFrame, dict[tuple[str, str], np.ndarray]]:
    """With atoms (atoms.py) the attacker knows which atoms are empty, so a zero stapeling `0`
    would be a known zero. For each buurt whose `0` is a group-disclosure zero, one
    *possible* household is added: no problem domain, in no selection, value 0 and floor 0,
    counted by stapeling `totaal` and `0` only. The audit must show it can be 1 (that such
    a household cannot be excluded). Returns (atom frame rows, members)."""
    z = cells[zeros & (cells.level == "buurt")]
    frame = pd.DataFrame({"buurtcode": z.area_code.to_numpy(), "unit": "huishouden", "group": -1,
                          "value": 0, "floor": 0.0})
    if "rk" in cells.columns:
        frame["rk"] = 0
    ones = np.ones(len(frame), dtype=bool)
    return frame, {("stapeling", "totaal"): ones, ("stapeling", "0"): ones.copy()}


__all__ = ["group_zeros", "phantom_atoms"]
