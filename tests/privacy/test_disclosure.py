import pandas as pd
import pytest
from small_tables import BUURTEN, table

from privacy.audit import audit
from privacy.disclosure import ProtectionFailed, primary_suppression, protect
from privacy.relations import build


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
    assert result.summary()["small_cells_exactly_recoverable"] == 1 and not result.summary()["passed"]


def test_the_cells_a_bound_rests_on_are_those_of_its_relations_and_none_when_it_is_unbounded():
    from privacy.audit import bound_rests_on

    cells = primary_suppression(table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)}), {"t": 10})
    rels = build(cells, BUURTEN)
    (small,) = audit(cells, rels, {"t": 10}).bounds
    named = {(r.area_code, r.category) for r in cells.loc[bound_rests_on(cells, rels, {"t": 10}, small)].itertuples()}
    assert named == {("BU1", "totaal"), ("BU1", "b")}  # a = totaal - b
    hidden = cells.assign(status=["suppressed" if r.area_code == "BU1" else r.status for r in cells.itertuples()])
    rests = cells.loc[bound_rests_on(hidden, build(hidden, BUURTEN), {"t": 10}, small)]
    assert list(zip(rests.area_code, rests.category)) == [("BU2", "a"), ("BU3", "a"), ("WK1", "a")]  # wijk - others
    free = cells.assign(status="suppressed")  # nothing published: nothing bounds it
    assert bound_rests_on(free, build(free, BUURTEN), {"t": 10}, small) == []


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
    """An attacker's view: tables.csv and every definition (the atoms). scipy bounds every suppressed
    small cell and every small atom (attacker.py); none may be provably below the threshold."""
    from attacker import provable

    from pipelines.pipeline import prepare, stage_tabulate
    from pipelines.protect import thresholds

    published = pd.read_csv(release["release"].folder / "tables.csv", dtype={"value": "Int64", "period": str},
                            keep_default_na=False, na_values={"value": [""]})
    run = prepare(release["settings"])
    tab = stage_tabulate(run)
    key = ["table", "level", "area_code", "category"]
    assert (published[key].to_numpy() == tab.cells[key].to_numpy()).all()
    small = (published.status == "suppressed") & (tab.cells.value < 10) & (tab.cells.value > 0)
    assert small.sum() > 50
    assert provable(published, tab.cells, tab.atoms, run.buurten(), thresholds(run, tab.cells)) == []


def test_tables_whose_relations_do_not_hold_are_refused():
    cells = table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)})
    cells.loc[(cells.area_code == "BU2") & (cells.category == "totaal"), "value"] = 51  # 20 + 30 is 50
    rels = build(cells, BUURTEN)
    from privacy.relations import check

    assert sorted(r.kind for r in check(cells, rels)) == ["categories", "wijk=sum(buurten)"]
    with pytest.raises(ProtectionFailed, match=r"^2 relation\(s\) do not hold on the unprotected tables "):
        protect(cells, BUURTEN, {"t": 10})


def test_what_earlier_releases_pin_leaves_the_zeros_this_release_hides_unknown():
    """disclosure.known_before: a row total V = b + d and a column total U = z + d published earlier, z a
    zero of a table whose zeros are hidden. Were z taken as published, d = U and b = V - U would be
    pinned at 5, and the release refused; hidden, z may hold all of U and b reach V."""
    from privacy.disclosure import known_before
    from privacy.relations import Relation

    cells = pd.DataFrame({"table": ["t"] * 5, "level": ["buurt"] * 5, "category": ["V", "U", "b", "d", "z"],
                          "value": [17, 12, 5, 12, 0]})
    primary = primary_suppression(cells, {"t": 10}, zeros_hidden={("t", "buurt")})
    rels = [Relation((0, 2, 3), (1.0, -1.0, -1.0), "=", "som"), Relation((1, 3, 4), (1.0, -1.0, -1.0), "=", "som")]
    known = pd.Series([True, True, False, False, False], index=primary.index)
    prior = known_before(primary, known)
    assert list(prior.status) == ["published", "published", "suppressed", "suppressed", "suppressed"]
    assert not audit(prior, rels, {"t": 10}, both=False).failing
    shown = prior.assign(status=["published", "published", "suppressed", "suppressed", "published"])
    assert [primary.category[b.cell] for b in audit(shown, rels, {"t": 10}, both=False).failing] == ["b"]
    published_zero = known_before(primary_suppression(cells, {"t": 10}), known)  # zeros published: shown
    assert published_zero.status.iloc[4] == "published"
