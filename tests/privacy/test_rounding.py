import numpy as np
import pandas as pd
from scipy.optimize import linprog
from small_tables import BUURTEN, table

from privacy.disclosure import protect
from privacy.relations import build
from privacy.rounding import intervals, round_to_base


def test_rounding_to_base_five_goes_to_the_nearest_multiple_halves_up():
    assert list(round_to_base(np.array([0, 10, 12, 13, 17, 18, 102]), np.full(7, 5))) == [0, 10, 10, 15, 15, 20, 100]


def test_the_attacker_knows_an_interval_that_starts_at_the_threshold():
    cells = pd.DataFrame({"table": ["t"] * 4 + ["u"], "value": [0, 10, 13, 48, 13]})
    r, low, high = intervals(cells, {"t": 10, "u": 10}, {"t": 5})
    assert list(r) == [0, 10, 15, 50, 13]
    assert list(low) == [0, 10, 13, 48, 13] and list(high) == [0, 12, 17, 52, 13]


def attacker_maximum(published: pd.DataFrame, rels, cell: int, base: int) -> float:
    """scipy's linprog over tables.csv-like cells: suppressed >= 1, a published count r is somewhere in
    r - 2 .. r + 2 (base 5) and >= 10 when r > 0."""
    n = len(published)
    bounds = []
    for status, v in zip(published.status, published.value):
        if status == "suppressed":
            bounds.append((1, None))
        elif v == 0:
            bounds.append((0, 0))
        else:
            bounds.append((max(v - base // 2, 10), v - base // 2 + base - 1))
    a_eq, a_ub = [], []
    for r in rels:
        row = np.zeros(n)
        row[list(r.cells)] = r.coefs
        (a_eq if r.sense == "=" else a_ub).append(row)
    obj = np.zeros(n)
    obj[cell] = -1.0
    res = linprog(obj, A_eq=np.array(a_eq), b_eq=np.zeros(len(a_eq)), A_ub=np.array(a_ub) if a_ub else None,
                  b_ub=np.zeros(len(a_ub)) if a_ub else None, bounds=bounds, method="highs")
    return np.inf if res.status == 3 else -res.fun


def test_rounded_release_is_protected_against_the_intervals_and_publishes_multiples_of_the_base():
    cells = table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 26)})
    exact, s_exact = protect(cells, BUURTEN, {"t": 10})
    rounded, s_rounded = protect(cells, BUURTEN, {"t": 10}, bases={"t": 5})
    shown = rounded[rounded.status == "published"]
    assert (shown.value % 5 == 0).all() and (shown.value != cells.value[shown.index]).any()
    assert s_rounded["rounding"]["tables"] == {"t": 5} and s_rounded["audit"]["passed"]
    assert s_rounded["secondary_suppression"]["cells"] <= s_exact["secondary_suppression"]["cells"]
    rels = build(cells, BUURTEN)
    small = cells.index[(cells.value > 0) & (cells.value < 10)]
    for c in small:
        assert rounded.status[c] == "suppressed"
        assert attacker_maximum(rounded, rels, c, 5) >= 10 - 1e-6
