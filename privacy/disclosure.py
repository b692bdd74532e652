"""Disclosure control of a release: which cells may be published.

Primary rule (this version): a count of 1 up to (threshold - 1) households is unsafe
and is suppressed. The threshold is the largest of the DPIA's global minimum, the
purpose's minimum and the selection's own minimum. Zeros are published (the DPIA says
`zeros: publish`): a zero reveals no household.

Secondary suppression (making sure a suppressed cell cannot be recovered from totals,
other levels, other tables or earlier releases) is NOT yet applied in this version:
the audit says so in plain words, and the report repeats it.
"""

from __future__ import annotations

import pandas as pd

SECONDARY_NOT_APPLIED = (
    "Secondary suppression is not yet applied: a suppressed cell may be recoverable from "
    "published totals, other levels or other tables of this release. Only primary "
    "suppression (counts below the threshold) protects this release."
)


def primary_suppression(cells: pd.DataFrame, thresholds: dict[str, int]) -> pd.DataFrame:
    """Add `status`: 'suppressed' for 0 < value < threshold of the cell's table, else 'published'."""
    t = cells.table.map(thresholds)
    if t.isna().any():
        missing = sorted(cells.table[t.isna()].unique())
        raise ValueError(f"no threshold for table(s): {', '.join(missing)}")
    unsafe = (cells.value > 0) & (cells.value < t)
    out = cells.copy()
    out["status"] = unsafe.map({True: "suppressed", False: "published"})
    return out


def summary(cells: pd.DataFrame, thresholds: dict[str, int]) -> dict:
    per_table = {}
    for table, g in cells.groupby("table", sort=False):
        per_table[table] = {
            "threshold": thresholds[table],
            "cells": int(len(g)),
            "published": int((g.status == "published").sum()),
            "suppressed": int((g.status == "suppressed").sum()),
        }
    return {
        "primary_rule": "a count of 1 up to threshold-1 households is suppressed; zeros are published",
        "cells": int(len(cells)),
        "published": int((cells.status == "published").sum()),
        "suppressed": int((cells.status == "suppressed").sum()),
        "tables": per_table,
        "secondary_suppression": {"applied": False, "statement": SECONDARY_NOT_APPLIED},
        "rounding": None,
        "additive_after_protection": "suppressed cells are empty; published cells are exact counts",
    }
