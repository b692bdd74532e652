import pandas as pd
import pytest

from privacy.audit import audit
from privacy.disclosure import ProtectionFailed, primary_suppression, protect
from privacy.relations import build

from small_tables import BUURTEN, table


def test_counts_below_threshold_are_suppressed_zeros_and_threshold_published():
    cells = pd.DataFrame({"table": ["t"] * 5, "value": [0, 1, 9, 10, 250]})
    out = primary_suppression(cells, {"t": 10})
    assert list(out.status) == ["published", "suppressed", "suppressed", "published", "published"]


def test_threshold_is_per_table():
    cells = pd.DataFrame({"table": ["a", "b"], "value": [12, 12]})
    assert list(primary_suppression(cells, {"a": 10, "b": 15}).status) == ["published", "suppressed"]


def test_primary_suppression_alone_is_recoverable_and_the_audit_says_so():
    cells = primary_suppression(table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)}), {"t": 10})
    result = audit(cells, build(cells, BUURTEN), {"t": 10})
    (bound,) = result.bounds.values()
    assert bound.value == 3 and bound.low == pytest.approx(3) and bound.high == pytest.approx(3)
    assert result.summary()["exactly_recoverable"] == 1 and not result.summary()["passed"]


def test_protection_makes_every_small_cell_reach_the_threshold():
    cells = table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)})
    protected, summary = protect(cells, BUURTEN, {"t": 10})
    assert summary["audit"]["passed"] and summary["audit"]["provably_below_threshold"] == 0
    assert summary["secondary_suppression"]["cells"] >= 3  # a cell alone in its row and column needs a rectangle
    recheck = audit(protected, build(protected, BUURTEN), {"t": 10})
    assert all(b.high >= 10 for b in recheck.bounds.values())
    assert "reason" not in protected.columns  # which cells are primary is never published


def test_the_summary_names_the_method_and_large_releases_get_the_protection_lps(monkeypatch):
    import privacy.secondary as secondary

    cells = table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)})
    _, summary = protect(cells, BUURTEN, {"t": 10})
    assert summary["secondary_suppression"]["method_used"] == "0/1 program with cut generation"
    assert summary["secondary_suppression"]["cut_rounds"] >= 2  # at least one cut, then a protected pattern
    monkeypatch.setattr(secondary, "MILP_MAX_UNSAFE", 0)
    _, summary = protect(cells, BUURTEN, {"t": 10})
    assert summary["secondary_suppression"]["method_used"] == "one linear program per unsafe cell"
    assert summary["secondary_suppression"]["cut_rounds"] == 0 and summary["audit"]["passed"]


def test_zeros_are_never_suppressed_and_protection_is_deterministic():
    cells = table({"BU1": (3, 0), "BU2": (0, 30), "BU3": (6, 25)})
    p1, s1 = protect(cells, BUURTEN, {"t": 10})
    p2, s2 = protect(cells, BUURTEN, {"t": 10})
    assert (p1.status[p1.value == 0] == "published").all()
    assert list(p1.status) == list(p2.status) and s1 == s2
    assert s1["audit"]["passed"]


def test_release_audit_rechecked_from_tables_csv_with_an_independent_solver(release):
    """An attacker's view: only tables.csv. scipy's linprog bounds each suppressed cell; every
    cell whose true value is small must be able to reach the threshold."""
    import numpy as np
    from scipy.optimize import linprog

    from pipelines.pipeline import prepare, stage_tabulate

    published = pd.read_csv(release["release"].folder / "tables.csv", dtype={"value": "Int64"}, keep_default_na=False,
                            na_values={"value": [""]})
    truth = stage_tabulate(prepare(release["settings"]))
    assert (published[["table", "level", "area_code", "category"]].to_numpy()
            == truth[["table", "level", "area_code", "category"]].to_numpy()).all()
    run = prepare(release["settings"])
    persons = {f"selectie:{s.selection.id}" for s in run.selections if s.selection.unit == "persoon"}
    rels = build(published.assign(value=published.value.fillna(0)), run.buurten(), persons)
    sup = list(published.index[published.status == "suppressed"])
    var = {c: k for k, c in enumerate(sup)}
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for r in rels:
        row, rhs = np.zeros(len(sup)), 0.0
        for c, coef in zip(r.cells, r.coefs):
            if c in var:
                row[var[c]] += coef
            else:
                rhs -= coef * published.value[c]
        if row.any():
            (a_eq if r.sense == "=" else a_ub).append(row)
            (b_eq if r.sense == "=" else b_ub).append(rhs)
    small = [c for c in sup if truth.value[c] < 10]
    assert len(small) > 50
    rng = np.random.default_rng(1)
    for c in rng.choice(small, size=25, replace=False):
        obj = np.zeros(len(sup))
        obj[var[c]] = -1.0  # maximise
        res = linprog(obj, A_ub=np.array(a_ub) if a_ub else None, b_ub=b_ub or None, A_eq=np.array(a_eq), b_eq=b_eq,
                      bounds=[(1, None)] * len(sup), method="highs")
        assert res.status in (0, 3)  # optimal or unbounded
        assert res.status == 3 or -res.fun >= 10 - 1e-6, (published.loc[c].to_dict(), -res.fun)


def test_tables_whose_relations_do_not_hold_are_refused():
    cells = table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)})
    cells.loc[(cells.area_code == "BU2") & (cells.category == "totaal"), "value"] = 51  # 20 + 30 is 50
    rels = build(cells, BUURTEN)
    from privacy.relations import check

    assert sorted(r.kind for r in check(cells, rels)) == ["categories", "wijk=sum(buurten)"]
    with pytest.raises(ProtectionFailed, match=r"^2 relation\(s\) do not hold on the unprotected tables "):
        protect(cells, BUURTEN, {"t": 10})
