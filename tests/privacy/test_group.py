import numpy as np
import pandas as pd
from scipy.optimize import linprog
from small_tables import BUURTEN

from privacy.disclosure import protect
from privacy.relations import build

CATS = ("totaal", "0", "1", "2", "3+")


def stapeling(rows: dict) -> pd.DataFrame:
    """A stapeling table over 3 buurten, their wijk and gemeente; rows: buurt -> (0, 1, 2, 3+)."""
    out = []
    sums = np.sum(list(rows.values()), axis=0)
    for area, level, parts in [(b, "buurt", v) for b, v in rows.items()] + [("WK1", "wijk", sums), ("GM1", "gemeente", sums)]:
        for cat, v in zip(CATS, (sum(parts),) + tuple(parts)):
            out.append(dict(table="stapeling", period="2026-10", level=level, area_code=area, area_name=area,
                            category=cat, value=int(v)))
    return pd.DataFrame(out)


def attacker_max(cells: pd.DataFrame, cell: int) -> float:
    """scipy over what is published: a suppressed stapeling 0 may be 0, any other suppressed cell is >= 1."""
    bounds = [((0 if c == "0" else 1), None) if s == "suppressed" else (v, v)
              for c, s, v in zip(cells.category, cells.status, cells.value)]
    rels = build(cells, BUURTEN)
    a = np.zeros((len(rels), len(cells)))
    for k, r in enumerate(rels):
        a[k, list(r.cells)] = r.coefs
    obj = np.zeros(len(cells))
    obj[cell] = -1.0
    res = linprog(obj, A_eq=a, b_eq=np.zeros(len(rels)), bounds=bounds, method="highs")
    return np.inf if res.status == 3 else -res.fun


def test_a_zero_that_says_every_household_has_a_problem_is_hidden_and_can_be_one():
    cells = stapeling({"BU1": (0, 12, 0, 0), "BU2": (50, 20, 12, 0), "BU3": (60, 25, 15, 0)})
    protected, summary = protect(cells, BUURTEN, {"stapeling": 10}, group=True)
    zero = protected.index[(protected.area_code == "BU1") & (protected.category == "0")][0]
    assert protected.status[zero] == "suppressed"
    assert summary["group_disclosure"]["cells"] == 1 and summary["audit"]["passed"]
    assert attacker_max(protected, zero) >= 1 - 1e-6


def test_the_dpia_may_publish_such_a_zero():
    cells = stapeling({"BU1": (0, 12, 0, 0), "BU2": (50, 20, 12, 0), "BU3": (60, 25, 15, 0)})
    protected, summary = protect(cells, BUURTEN, {"stapeling": 10}, group=False)
    assert (protected.status == "published").all()
    assert summary["group_disclosure"] == {"applied": False, "rule": "not applied: the DPIA publishes such cells",
                                           "cells": 0}
