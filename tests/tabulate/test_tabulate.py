import numpy as np
import pandas as pd

from pipelines.link.domains import combinaties
from pipelines.tabulate import STAPELING, additivity_violations

DOMAINS = ("uitkering", "achterstand", "wmo")  # config/domains.yaml as shipped


def cells_of(release):
    return pd.read_csv(release["release"].folder / "tables.csv", dtype={"value": "Int64"}, keep_default_na=False,
                       na_values={"value": [""]})


def test_tables_csv_has_exactly_the_design_columns(release):
    header = (release["release"].folder / "tables.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "table,period,level,area_code,area_name,category,value,status"


def test_tables_are_additive_before_suppression(release):
    from pipelines.pipeline import prepare, stage_tabulate

    cells = stage_tabulate(prepare(release["settings"])).cells
    assert additivity_violations(cells, DOMAINS) == []
    # wijk = sum of its buurten, gemeente = sum of its wijken, for every table and category
    b = prepare(release["settings"]).buurten().set_index("buurtcode")
    cells = cells[cells.table.isin(cells[cells.level == "buurt"].table.unique())]  # tables with buurt cells
    buurt = cells[cells.level == "buurt"].assign(wijk=lambda d: d.area_code.map(b.wijkcode))
    wijk_sum = buurt.groupby(["table", "wijk", "category"]).value.sum()
    wijk = cells[cells.level == "wijk"].set_index(["table", "area_code", "category"]).value
    assert (wijk_sum.sort_index().to_numpy() == wijk.sort_index().to_numpy()).all()
    gm = cells[cells.level == "gemeente"].set_index(["table", "category"]).value
    gm_sum = cells[cells.level == "wijk"].groupby(["table", "category"]).value.sum()
    assert (gm.sort_index() == gm_sum.sort_index()).all()


def test_categories_and_areas_are_complete(release):
    cells = cells_of(release)
    stap = cells[cells.table == "stapeling"]
    assert set(stap.category) == set(STAPELING)
    assert list(dict.fromkeys(cells[cells.table == "combinaties"].category)) == list(combinaties(DOMAINS)) == [
        "totaal", "uitkering", "achterstand", "wmo", "uitkering+achterstand", "uitkering+wmo", "achterstand+wmo",
        "uitkering+achterstand+wmo"]
    assert stap[stap.level == "buurt"].area_code.nunique() == 62
    assert set(cells.table) == {"stapeling", "combinaties"} | {f"selectie:{s}" for s in (
        "inhouding-zonder-budgetbeheer", "kinderen-uitkering-huurachterstand", "ouderen-wmo-en-achterstand",
        "stapeling-drie-domeinen", "verse-achterstand-zorg-energie", "verse-achterstand-zorg-energie-signaallijst")}
    # a selection whose purpose stops at wijk level publishes no buurt cells
    ouderen = cells[cells.table == "selectie:ouderen-wmo-en-achterstand"]
    assert set(ouderen.level) == {"gemeente", "wijk"}
    assert set(cells.status) == {"published", "suppressed"}


def test_suppressed_cells_are_empty_and_published_cells_at_least_threshold_or_zero(release):
    cells = cells_of(release)
    sup = cells[cells.status == "suppressed"]
    assert len(sup) > 0 and sup.value.isna().all()
    pub = cells[cells.status == "published"].value
    assert ((pub == 0) | (pub >= 10)).all()


def test_selection_compiler_agrees_with_the_household_facts(release):
    """Two independent routes to 'inhouding zonder budgetbeheer' give the same count per buurt: the
    selection compiler, and plain SQL over the warehouse (a household counts when some uitkering
    active in 2026-10 has an inhouding and none has budgetbeheer)."""
    from pipelines.pipeline import prepare, stage_tabulate

    raw = stage_tabulate(prepare(release["settings"])).cells
    raw = raw[(raw.table == "selectie:inhouding-zonder-budgetbeheer") & (raw.level == "buurt")]
    con = prepare(release["settings"]).connect()
    try:
        facts = dict(con.execute(
            "WITH u AS (SELECT p.hid, coalesce(bool_or(u.inhouding), false) AS inhouding, "
            "coalesce(bool_or(u.budgetbeheer), false) AS budgetbeheer "
            "FROM uitkeringen u JOIN persons p USING (pid) WHERE u.ingangsdatum <= DATE '2026-10-31' "
            "AND (u.einddatum IS NULL OR u.einddatum >= DATE '2026-10-01') GROUP BY p.hid) "
            "SELECT h.buurtcode, count(*) FROM households h JOIN u USING (hid) WHERE u.inhouding "
            "AND NOT u.budgetbeheer GROUP BY 1").fetchall())
    finally:
        con.close()
    assert dict(zip(raw.area_code, raw.value)) == {b: facts.get(b, 0) for b in raw.area_code}
    assert sum(facts.values()) > 20 and len(raw) == 62


def test_three_domain_selection_equals_the_combinaties_cell_everywhere(release):
    from pipelines.pipeline import prepare, stage_tabulate

    cells = stage_tabulate(prepare(release["settings"])).cells
    sel = cells[cells.table == "selectie:stapeling-drie-domeinen"].set_index(["level", "area_code"]).value
    comb = cells[(cells.table == "combinaties") & (cells.category == "uitkering+achterstand+wmo")]
    comb = comb.set_index(["level", "area_code"]).value
    assert sel.sum() > 0
    assert sel.sort_index().equals(comb.sort_index())


def test_person_bounds_per_group_and_union_of_patterns_and_refused_beyond_the_limit():
    """Members per household (privacy/atoms.py): a group of two households, each with one member in
    the selection and one outside it, is bounded to exactly one of each per household; a group
    whose persons span more combinations of person selections than can be bounded is refused."""
    import numpy as np
    import pandas as pd
    import pytest

    from pipelines.tabulate import MAX_PATTERNS, person_bounds
    from privacy.secondary import ProtectionFailed

    groups = pd.DataFrame({"buurtcode": ["BU1"], "group": [0]})
    pp = pd.DataFrame({"buurtcode": ["BU1", "BU1"], "s": [True, False], "n": [2, 2]})
    per = pd.DataFrame({"hid": ["a", "a", "b", "b"], "buurtcode": "BU1", "s": [True, False, True, False], "n": 1})
    b = person_bounds(per, pp, np.zeros(len(pp), dtype=np.int64), groups, ["buurtcode"], ["s"], offset=10, largest=6)
    assert b.to_dict("records") == [
        {"group": 0, "atoms": (10,), "low": 1, "high": 1},  # in the selection: exactly 1 per household
        {"group": 0, "atoms": (10, 11), "low": 2, "high": 2},  # all members: 2 per household (of at most 6)
        {"group": 0, "atoms": (11,), "low": 1, "high": 1},  # outside it
    ]
    names = [f"s{i}" for i in range(4)]
    codes = range(MAX_PATTERNS + 1)
    pp = pd.DataFrame({"buurtcode": "BU1", **{n: [bool(c >> i & 1) for c in codes] for i, n in enumerate(names)},
                       "n": 1})
    per = pp.assign(hid="a")
    with pytest.raises(ProtectionFailed, match="nothing was published"):
        person_bounds(per, pp, np.zeros(len(pp), dtype=np.int64), groups, ["buurtcode"], names, offset=0, largest=20)


def _possible(rows, group_h, gemeenten):
    """possible_parts over household atoms `rows` (buurtcode, x, b0_0, b1_0, n) with flags b0_0 (an earlier
    month 0) and b1_0 (month 1); `gemeenten`: buurt -> gemeente."""
    from types import SimpleNamespace

    from pipelines.tabulate import possible_parts

    hh = pd.DataFrame(rows, columns=["buurtcode", "x", "b0_0", "b1_0", "n"]).assign(rk=0)
    monitor = SimpleNamespace(before_flags=lambda: [("b0_0", "", []), ("b1_0", "", [])])
    pkey = ["buurtcode", "x", "b0_0", "b1_0"]
    groups = hh[pkey].assign(group=range(len(hh)))
    buurten = pd.DataFrame({"buurtcode": list(gemeenten), "gemeentecode": list(gemeenten.values())})
    group_p = np.array([g for g in group_h if g >= 0], dtype=np.int64)
    return possible_parts(hh, np.array(group_h), monitor, buurten, pkey, groups, group_p)


def test_a_part_the_data_leave_empty_is_added_as_0_where_a_household_elsewhere_in_the_gemeente_has_it():
    gemeenten = {"BU1": "GM1", "BU2": "GM1", "BU3": "GM2"}
    rows = [("BU1", True, True, True, 1),    # earlier flags of both months: a part without either is possible
            ("BU2", True, False, True, 1),   # shows: no flag of month 0, month 1's as they are
            ("BU2", True, False, False, 1),  # shows: no earlier flag at all
            ("BU3", False, True, False, 1)]  # another gemeente: shows nothing for GM1
    extra, group = _possible(rows, [-1, -1, -1, -1], gemeenten)
    assert extra[["buurtcode", "x", "b0_0", "b1_0", "n"]].values.tolist() == [
        ["BU1", True, False, True, 0], ["BU1", True, False, False, 0]]
    assert group.tolist() == [-1, -1]  # their persons: none in a person selection, as for BU2's households
    # a household whose persons are modelled (one is in a person selection) shows nothing of that kind
    extra, _ = _possible(rows, [-1, 1, 2, -1], gemeenten)
    assert extra.empty
    # nor does a household of another gemeente, nor one with other predicates of this release
    extra, _ = _possible([("BU1", True, True, False, 1), ("BU3", True, False, False, 1), ("BU2", False, False, False, 1)],
                         [-1, -1, -1], gemeenten)
    assert extra.empty


def test_parts_are_added_only_where_no_definition_names_a_place(tmp_path):
    import shutil

    from pipelines.protect import names_no_place
    from pipelines.settings import CONFIG_DIR

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    assert names_no_place(config)
    (config / "domains" / "wmo.sql").write_text((CONFIG_DIR / "domains" / "wmo.sql").read_text() + "\n-- changed\n")
    assert not names_no_place(config)  # a domain of its own: it might read the buurt


def test_the_dpia_chooses_whether_parts_shown_elsewhere_are_possible_and_a_choice_that_cannot_apply_is_said(
        tmp_path, caplog):
    import shutil
    from types import SimpleNamespace

    from pipelines.protect import possible_elsewhere
    from pipelines.settings import CONFIG_DIR
    from privacy.dpia import Disclosure

    assert Disclosure().earlier_months_parts == "empty_as_in_the_data"  # the default: as before
    chosen = Disclosure(earlier_months_parts="possible_elsewhere")
    assert not possible_elsewhere(SimpleNamespace(dpia=SimpleNamespace(disclosure=Disclosure()), config_dir=CONFIG_DIR))
    assert possible_elsewhere(SimpleNamespace(dpia=SimpleNamespace(disclosure=chosen), config_dir=CONFIG_DIR))
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "domains.yaml").write_text((CONFIG_DIR / "domains.yaml").read_text() + "\n# changed\n")
    with caplog.at_level("WARNING", logger="wijksignaal"):
        assert not possible_elsewhere(SimpleNamespace(dpia=SimpleNamespace(disclosure=chosen), config_dir=config))
    assert "possible_elsewhere does not apply: the catalogue (sources.yaml) or the domains are not the shipped" in caplog.text
