import pandas as pd
from small_tables import BUURTEN, table

from privacy.audit import audit
from privacy.disclosure import primary_suppression
from privacy.relations import build
from privacy.secondary import _fix_rounds, lp_secondary, secondary_suppression


def suppressed(cells: pd.DataFrame) -> set[tuple[str, str]]:
    s = cells[cells.status == "suppressed"]
    return set(zip(s.area_code, s.category))


def test_a_lone_small_cell_gets_the_cheapest_rectangle_and_no_totals():
    # (BU1, a) = 3 must be able to reach 10: +7 there, -7 on (BU1, b), and the same in reverse in
    # another buurt. BU2 (20, 30) is cheaper to hide than BU3 (25, 25) by 1 + ln(1 + value).
    cells = primary_suppression(table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)}), {"t": 10})
    protected, result, stats = secondary_suppression(cells, build(cells, BUURTEN), {"t": 10})
    assert suppressed(protected) == {("BU1", "a"), ("BU1", "b"), ("BU2", "a"), ("BU2", "b")}
    assert stats["secondary"] == 3 and stats["fix_rounds"] == 0
    (bound,) = result.bounds.values()
    assert bound.high >= 10


def test_a_partner_without_room_is_not_enough():
    # (BU1, b) = 5 can go down by 4 only (a suppressed cell is >= 1), not by the 7 that (BU1, a) = 3
    # needs: the witness must lift the buurt's totaal or find room elsewhere.
    cells = primary_suppression(table({"BU1": (3, 5), "BU2": (20, 30), "BU3": (25, 25)}), {"t": 10})
    rels = build(cells, BUURTEN)
    protected, result, _ = secondary_suppression(cells, rels, {"t": 10})
    assert not result.failing
    assert all(b.high >= 10 for b in audit(protected, rels, {"t": 10}).bounds.values())


def test_the_need_and_floor_options_give_the_weaker_percentage_protection():
    # tau-ARGUS's terms: a 30 % range (3 -> needs +1) and cells >= 0. Still a rectangle here,
    # but a smaller requirement never needs more cells.
    cells = primary_suppression(table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)}), {"t": 10})
    rels = build(cells, BUURTEN)
    full, _ = lp_secondary(cells, rels, {"t": 10})
    weak, _ = lp_secondary(cells, rels, {"t": 10}, need=(0.3 * cells.value).round().to_numpy(dtype=float), floor=0)
    assert len(weak) <= len(full) == 3


def test_audit_and_fix_rounds_alone_also_reach_a_passing_audit():
    cells = primary_suppression(table({"BU1": (3, 40), "BU2": (6, 30), "BU3": (25, 2)}), {"t": 10})
    cells["reason"] = cells.status.map({"suppressed": "primary", "published": ""})
    rels = build(cells, BUURTEN)
    first = audit(cells, rels, {"t": 10})
    assert first.failing
    rounds = _fix_rounds(cells, rels, {"t": 10}, first)
    assert rounds >= 1 and not audit(cells, rels, {"t": 10}).failing
    assert (cells.status[cells.value == 0] == "published").all()


def test_the_audit_accepts_a_witness_only_when_it_checks_out():
    """A witness is a certificate only if every cell it moves is hidden (and stays >= 1) and every
    relation still holds; the audit checks each one from scratch."""
    import numpy as np

    from privacy.audit import checked_witnesses

    cells = primary_suppression(table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)}), {"t": 10})
    rels = build(cells, BUURTEN)
    chosen, stats = lp_secondary(cells, rels, {"t": 10}, method="greedy")
    protected = cells.copy()
    protected.loc[chosen, "status"] = "suppressed"
    assert suppressed(protected) == {("BU1", "a"), ("BU1", "b"), ("BU2", "a"), ("BU2", "b")}
    small = cells.index[(cells.area_code == "BU1") & (cells.category == "a")][0]
    ids = {(a, c): i for i, a, c in zip(cells.index, cells.area_code, cells.category) if cells.level[i] == "buurt"}
    good = (np.array([ids["BU1", "a"], ids["BU1", "b"], ids["BU2", "a"], ids["BU2", "b"]]), np.array([7., -7., -7., 7.]))
    assert checked_witnesses(protected, rels, {"t": 10}, [good]) == {small: 10.0}
    unbalanced = (good[0], np.array([7., -7., -7., 6.]))  # BU2's totaal would change
    published = (np.array([ids["BU1", "a"], ids["BU1", "b"], ids["BU3", "a"], ids["BU3", "b"]]), good[1])  # BU3 is shown
    too_low = (good[0], np.array([7., -7., -20., 20.]))  # (BU2, a) = 20 would go to 0
    assert checked_witnesses(protected, rels, {"t": 10}, [unbalanced, published, too_low]) == {}
    assert stats["witnesses"] and checked_witnesses(protected, rels, {"t": 10}, stats["witnesses"])[small] >= 10


def test_preferred_cells_are_hidden_only_where_nothing_else_protects():
    # the protection LPs alone hide BU2 (cheapest); with BU2 preferred they go round it through BU3
    cells = primary_suppression(table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)}), {"t": 10})
    plain, _, _ = secondary_suppression(cells, build(cells, BUURTEN), {"t": 10}, method="greedy")
    assert suppressed(plain) == {("BU1", "a"), ("BU1", "b"), ("BU2", "a"), ("BU2", "b")}
    cells["prefer"] = (cells.area_code == "BU2") * 10.0
    protected, result, _ = secondary_suppression(cells, build(cells, BUURTEN), {"t": 10}, method="greedy")
    assert suppressed(protected) == {("BU1", "a"), ("BU1", "b"), ("BU3", "a"), ("BU3", "b")}
    assert not result.failing


def test_preferred_cells_yield_where_they_alone_protect_the_least_needed_first():
    # every buurt that could protect BU1 is preferred, and the totals may not be hidden (published before):
    # one buurt must be hidden after all, BU3, the one needed less
    cells = primary_suppression(table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)}), {"t": 10})
    cells["prefer"] = cells.area_code.map({"BU2": 10.0, "BU3": 5.0}).fillna(0.0)
    cells["locked"] = cells.level != "buurt"
    protected, result, _ = secondary_suppression(cells, build(cells, BUURTEN), {"t": 10}, method="greedy")
    assert suppressed(protected) == {("BU1", "a"), ("BU1", "b"), ("BU3", "a"), ("BU3", "b")}
    assert not result.failing and all(b.high >= 10 for b in result.bounds.values())


def test_a_table_without_relations_needs_no_secondary_suppression():
    # one lone cell: nothing can be derived from anything, so nothing more is hidden (and nothing fails)
    cells = primary_suppression(pd.DataFrame([dict(table="t", period="2026-10", level="buurt", area_code="BU1",
                                                   area_name="BU1", category="totaal", value=3)]), {"t": 10})
    protected, result, stats = secondary_suppression(cells, [], {"t": 10})
    assert stats["secondary"] == 0 and suppressed(protected) == {("BU1", "totaal")}


def test_the_look_around_a_cell_reaches_what_the_relation_graph_reaches():
    import numpy as np
    from scipy.sparse import random as sparse_random

    from privacy.protection_lp import Component

    rng = np.random.default_rng(7)
    A = sparse_random(40, 120, density=0.03, random_state=rng, format="csr")
    A.data[:] = 1.0
    n = A.shape[1]
    comp = Component(A, np.zeros(40, dtype=bool), np.zeros(40), np.ones(n), np.zeros(n), np.zeros(n, dtype=bool),
                     np.ones(n))
    B = (A != 0).astype(float)
    for start in ([0], [5, 17], [n - 1]):
        x = np.zeros(n)
        x[start] = 1.0
        for steps in (1, 2, 4):
            y = x.copy()
            for _ in range(steps):  # the dense reference: cells of the relations of the cells reached
                y = np.maximum(y, (B.T @ ((B @ y) > 0)) > 0)
            assert comp._near(np.asarray(start), steps).tolist() == np.flatnonzero(y).tolist()
        assert comp._near(np.asarray(start), 2).tolist() == comp._near(np.asarray(start), 2).tolist()  # marks cleared


def test_a_small_cell_in_no_relation_is_protected_by_being_hidden():
    import numpy as np
    from scipy.sparse import csr_matrix

    from privacy.protection_lp import Component

    comp = Component(csr_matrix((0, 1)), np.zeros(0, dtype=bool), np.zeros(0), np.array([3.0]), np.array([7.0]),
                     np.array([True]), np.ones(1))
    assert comp.protect(np.array([0])) == [] and comp.witnesses[0][1][0] >= 7.0


def test_the_second_process_changes_nothing_but_the_time(monkeypatch):
    """protection_lp.Ahead finds the next cell's witness alongside; it is taken only where solving
    in turn would have solved the very same LPs: pattern, witnesses and LPs are the same."""
    import numpy as np

    import privacy.audit as audit_module
    import privacy.protection_lp as plp
    from privacy.protection_lp import protect_component

    rng = np.random.default_rng(7)
    buurten = pd.DataFrame({"buurtcode": [f"BU{k:02d}" for k in range(60)],
                            "wijkcode": [f"WK{k // 10}" for k in range(60)], "gemeentecode": "GM1"})
    values = {b: (int(rng.integers(1, 14)), int(rng.integers(1, 30))) for b in buurten.buurtcode}
    cells = primary_suppression(table(values, buurten), {"t": 10})
    rels = build(cells, buurten)
    taken = []
    real = plp.protect_component

    def counting(task):
        out = real(task)
        taken.append(out["taken_ahead"])
        return out

    monkeypatch.setattr("privacy.secondary.protect_component", counting)
    monkeypatch.setattr(audit_module, "WORKERS", 2)
    monkeypatch.setattr(plp, "AHEAD_CELLS", 10**9)
    alone, alone_stats = lp_secondary(cells, rels, {"t": 10}, method="greedy")
    monkeypatch.setattr(plp, "AHEAD_CELLS", 10)
    monkeypatch.setattr(plp, "AHEAD_UNSAFE", 10)
    both, both_stats = lp_secondary(cells, rels, {"t": 10}, method="greedy")
    assert taken[0] == 0 and taken[1] > 10  # the second run took witnesses of the second process
    assert both == alone and len(alone) > 10
    assert both_stats["lps"] == alone_stats["lps"]
    assert len(both_stats["witnesses"]) == len(alone_stats["witnesses"])
    for (c1, d1), (c2, d2) in zip(both_stats["witnesses"], alone_stats["witnesses"]):
        assert list(c1) == list(c2) and np.allclose(d1, d2)
    assert protect_component is real


def test_a_search_asked_to_stop_on_cells_ends_where_it_would_hide_one_and_only_there():
    """disclosure.protect asks the pattern found without the earlier releases' cells to stop as soon as
    it hides one of them (it would be protected again with them locked): `stop_on`."""
    import numpy as np
    import pytest

    from privacy.secondary import WouldHide

    cells = primary_suppression(table({"BU1": (3, 40), "BU2": (20, 30), "BU3": (25, 25)}), {"t": 10})
    rels = build(cells, BUURTEN)
    plain, _, stats = secondary_suppression(cells, rels, {"t": 10}, "greedy")
    hidden = (plain.status == "suppressed").to_numpy() & (cells.status == "published").to_numpy()
    assert hidden.sum() == 3
    with pytest.raises(WouldHide):
        secondary_suppression(cells, rels, {"t": 10}, "greedy", stop_on=hidden)
    untouched = (plain.status == "published").to_numpy()
    again, _, _ = secondary_suppression(cells, rels, {"t": 10}, "greedy", stop_on=untouched)
    assert list(again.status) == list(plain.status)
    assert stats["witnesses"]  # the audit's certificates, for the audit beside earlier releases
    nothing = np.zeros(len(cells), dtype=bool)
    assert list(secondary_suppression(cells, rels, {"t": 10}, "greedy", stop_on=nothing)[0].status) == list(
        plain.status)


def test_with_fail_fast_the_search_ends_at_the_first_cell_nothing_can_protect():
    """Beside earlier releases, the second run (known cells locked) fails at its first small cell without
    any witness; disclosure.protect then asks whether the earlier releases pinned it."""
    import pytest

    from privacy.secondary import ProtectionFailed

    cells = primary_suppression(table({"BU1": (3, 4), "BU2": (20, 30), "BU3": (25, 25)}), {"t": 10})
    locked = cells.assign(locked=cells.status == "published")  # every published cell public already
    rels = build(cells, BUURTEN)
    with pytest.raises(ProtectionFailed) as whole:
        secondary_suppression(locked, rels, {"t": 10}, "greedy")
    with pytest.raises(ProtectionFailed) as fast:
        secondary_suppression(locked, rels, {"t": 10}, "greedy", fail_fast=True)
    assert str(whole.value).startswith("3 small cell(s) cannot be protected by any suppression: ")
    assert str(fast.value).startswith("at least 1 small cell(s) cannot be protected by any suppression: ")


def test_farkas_multipliers_prove_an_lp_infeasible_only_where_it_is():
    import numpy as np

    from privacy.audit import INF
    from privacy.protection_lp import _infeasible

    # rows: x0 + x1 = 5 (row 0) and x1 - x2 = 0 (row 2); columns colwise
    start, index, data = np.array([0, 1, 3, 4]), np.array([0, 0, 1, 1]), np.array([1.0, 1.0, 1.0, -1.0])
    rows, lo, hi = np.array([0, 2]), np.array([5.0, 0.0]), np.array([5.0, 0.0])
    ray = (np.array([0]), np.array([1.0]))  # from the look without row 2: x0 + x1 <= 2 < 5
    assert _infeasible(ray, rows, np.zeros(3), np.array([1.0, 1.0, 1.0]), lo, hi, start, index, data)
    assert not _infeasible(ray, rows, np.zeros(3), np.array([1.0, 4.0, 4.0]), lo, hi, start, index, data)
    assert not _infeasible(ray, rows, np.zeros(3), np.array([1.0, INF, 1.0]), lo, hi, start, index, data)
    assert not _infeasible((np.array([0]), np.array([-1.0])), rows, np.zeros(3), np.ones(3), lo, hi, start, index,
                           data)
    # a `<=` row (row bounds -INF .. 5): x0 <= 5 with x0 in [0, 1] is feasible, x0 <= 0.5 with x0 = 1 is not
    one = (np.array([0, 1]), np.array([0]), np.array([1.0]))
    assert not _infeasible((np.array([0]), np.array([1.0])), np.array([0]), np.zeros(1), np.ones(1),
                           np.array([-INF]), np.array([5.0]), *one)
    assert not _infeasible((np.array([0]), np.array([1.0])), np.array([0]), np.ones(1), np.ones(1),
                           np.array([-INF]), np.array([0.5]), *one)  # y = +1 proves nothing about an upper bound
    assert _infeasible((np.array([0]), np.array([-1.0])), np.array([0]), np.ones(1), np.ones(1),
                       np.array([-INF]), np.array([0.5]), *one)
    # a column with an unbounded side that the multipliers touch, however little, proves nothing
    tiny = (np.array([0, 1, 2]), np.array([0, 0]), np.array([1.0, 1e-13]))
    assert not _infeasible((np.array([0]), np.array([1.0])), np.array([0]), np.zeros(2), np.array([1.0, INF]),
                           np.array([5.0]), np.array([5.0]), *tiny)


def test_a_wider_look_proved_infeasible_by_a_narrower_one_changes_nothing_but_the_lps(monkeypatch):
    import numpy as np

    import privacy.protection_lp as plp

    rng = np.random.default_rng(14)
    buurten = pd.DataFrame({"buurtcode": [f"BU{k:02d}" for k in range(40)],
                            "wijkcode": [f"WK{k // 8}" for k in range(40)], "gemeentecode": "GM1"})
    values = {b: (int(rng.integers(1, 14)), int(rng.integers(1, 30))) for b in buurten.buurtcode}
    cells = primary_suppression(table(values, buurten), {"t": 10})
    cells["locked"] = (cells.status == "published") & (rng.random(len(cells)) < 0.6)  # published before: fixed
    rels = build(cells, buurten)
    proved = []
    real = plp.protect_component

    def counting(task):
        out = real(task)
        proved.append(out["proved_infeasible"])
        return out

    monkeypatch.setattr("privacy.secondary.protect_component", counting)
    shortcut, with_stats = lp_secondary(cells, rels, {"t": 10}, method="greedy")
    monkeypatch.setattr(plp, "_infeasible", lambda *a: False)
    solved, without_stats = lp_secondary(cells, rels, {"t": 10}, method="greedy")
    monkeypatch.setattr(plp, "_infeasible", lambda *a: True)  # every wider look after one without witness skipped
    skipped, skipped_stats = lp_secondary(cells, rels, {"t": 10}, method="greedy")
    # this table has wider looks that find a witness where the narrower one had none
    assert skipped_stats["unprotected"] > without_stats["unprotected"]
    proved = proved[:2]
    assert sum(proved[:1]) > 5 and sum(proved[1:]) == 0
    assert shortcut == solved and with_stats["unprotected"] == without_stats["unprotected"] > 0
    assert with_stats["lps"] == without_stats["lps"] - sum(proved)
    for (c1, d1), (c2, d2) in zip(with_stats["witnesses"], without_stats["witnesses"], strict=True):
        assert list(c1) == list(c2) and np.allclose(d1, d2)


def test_a_long_protection_says_how_far_it_is(monkeypatch, caplog):
    """Every PROGRESS_SECONDS the protection logs counts (never a value): here every cell, as the clock is set to 0."""
    import logging

    import privacy.protection_lp as protection_lp

    monkeypatch.setattr(protection_lp, "PROGRESS_SECONDS", 0.0)
    cells = primary_suppression(table({"BU1": (3, 40), "BU2": (4, 30), "BU3": (25, 25)}), {"t": 10})
    with caplog.at_level(logging.INFO, logger="wijksignaal.protect"):
        lp_secondary(cells, build(cells, BUURTEN), {"t": 10}, method="greedy")
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("protection of a component")]
    assert said and all(" unsafe cells taken, " in m and m.endswith(" s") for m in said)
