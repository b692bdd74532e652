"""Relations from what the tool knows: an attacker who reads every selection's definition.

Each test runs tabulate and protect on the session's warehouse with the shipped
selections plus ones a data team would naturally write, and lets an independent
attacker (attacker.py: scipy, relations from the atoms) try every suppressed small cell.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from attacker import provable

from pipelines.pipeline import prepare, stage_protect, stage_tabulate
from pipelines.protect import thresholds
from pipelines.settings import SELECTIONS_DIR

HEADER = """\
id: {id}
title: {title}
description: {title}
purpose: {purpose}
owner: Team Onderzoek
approval: {{by: FG, date: 2026-09-25}}
unit: {unit}
outputs: [buurt_tables]
criteria:
{criteria}
"""

LOPENDE_UITKERING = """\
  source: uitkeringen
  active: true
"""
ALLE_BEHALVE_BBZ = """\
  source: uitkeringen
  active: true
  where:
    - {field: regeling, op: in, value: [Participatiewet, IOAW, IOAZ]}
"""
MET_INHOUDING = """\
  source: uitkeringen
  active: true
  where:
    - {field: inhouding, op: "=", value: true}
"""


def selection_yaml(sid: str, criteria: str, purpose: str = "stapelingsmonitor", unit: str = "huishouden") -> str:
    return HEADER.format(id=sid, title=sid.replace("-", " "), purpose=purpose, unit=unit, criteria=criteria)


def setup_run(release, tmp_path: Path, extra: dict[str, str], *, shipped: bool = True, published_dir: Path | None = None,
              work: str = "work"):
    """A run on a copy of the session's warehouse with the shipped selections (or none) plus `extra`
    (id -> YAML), in its own work directory."""
    sel = tmp_path / f"selections-{work}"
    sel.mkdir()
    if shipped:
        for p in SELECTIONS_DIR.glob("*.yaml"):
            shutil.copy(p, sel / p.name)
    for sid, text in extra.items():
        (sel / f"{sid}.yaml").write_text(text, encoding="utf-8")
    settings_text = release["settings"].read_text(encoding="utf-8")
    lines = [line for line in settings_text.splitlines() if not line.startswith("work_dir:")]
    lines += [f"work_dir: {tmp_path / work}", f"selections_dir: {sel}"]
    if published_dir is not None:
        lines.append(f"published_dir: {published_dir}")
    settings = tmp_path / f"gemeente-{work}.yaml"
    settings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / work).mkdir(exist_ok=True)
    shutil.copy(release["work"] / "warehouse.duckdb", tmp_path / work / "warehouse.duckdb")
    return prepare(settings)


def attack(run, tab, protected, extra_published=None) -> list[dict]:
    return provable(protected, tab.cells, tab.atoms, run.buurten(), thresholds(run, tab.cells), extra_published)


def cell(cells: pd.DataFrame, table: str, category: str = "totaal") -> pd.Series:
    c = cells[(cells.table == table) & (cells.category == category)]
    return c.set_index(["level", "area_code"]).value


def test_a_selection_equal_to_a_sum_of_combinaties_cells_is_protected_with_them(release, tmp_path):
    run = setup_run(release, tmp_path, {"lopende-uitkering": selection_yaml("lopende-uitkering", LOPENDE_UITKERING)})
    tab = stage_tabulate(run)
    cells = tab.cells
    combos = [c for c in cells[cells.table == "combinaties"].category.unique() if "uitkering" in c.split("+")]
    total = sum(cell(cells, "combinaties", c) for c in combos)
    assert cell(cells, "selectie:lopende-uitkering").equals(total.loc[cell(cells, "selectie:lopende-uitkering").index])
    protected, summary = stage_protect(run, tab)
    assert summary["audit"]["passed"]
    assert attack(run, tab, protected) == []


def test_nested_and_subset_selections_do_not_difference_each_other(release, tmp_path):
    run = setup_run(release, tmp_path, {
        "lopende-uitkering": selection_yaml("lopende-uitkering", LOPENDE_UITKERING),
        "uitkering-behalve-bbz": selection_yaml("uitkering-behalve-bbz", ALLE_BEHALVE_BBZ),
        "uitkering-met-inhouding": selection_yaml("uitkering-met-inhouding", MET_INHOUDING),
    })
    tab = stage_tabulate(run)
    diff = cell(tab.cells, "selectie:lopende-uitkering") - cell(tab.cells, "selectie:uitkering-behalve-bbz")
    assert ((diff > 0) & (diff < 10)).sum() > 5  # the differences an attacker would be after exist
    protected, summary = stage_protect(run, tab)
    assert summary["audit"]["passed"] and summary["relations"]["atoms"]["households"] > 0
    assert attack(run, tab, protected) == []
    # the differences are never readable: wherever both cells are published, the difference is 0 or >= 10
    shown = protected[protected.status == "published"]
    a = cell(shown, "selectie:lopende-uitkering")
    b = cell(shown, "selectie:uitkering-behalve-bbz")
    both = a.index.intersection(b.index)
    d = a[both] - b[both]
    assert ((d == 0) | (d >= 10)).all()


def test_a_rerun_elsewhere_with_one_selection_fewer_is_protected_against_the_published_release(release, tmp_path):
    register = tmp_path / "register"
    first = setup_run(release, tmp_path, {"lopende-uitkering": selection_yaml("lopende-uitkering", LOPENDE_UITKERING)},
                      published_dir=register, work="first")
    from pipelines.pipeline import stage_publish

    tab1 = stage_tabulate(first)
    cells1, summary1 = stage_protect(first, tab1, {})
    rel1 = stage_publish(first, cells1, {}, {}, summary1)
    assert (register / rel1.release_id / "tables.csv").exists()

    # another work directory, the shipped selections only: the published release counts through the register
    second = setup_run(release, tmp_path, {}, published_dir=register, work="second")
    tab2 = stage_tabulate(second)
    assert set(tab2.other_definitions.table) == {f"selectie:lopende-uitkering@{s['version'][:12]}"
                                                 for s in summary_selections(rel1) if s["id"] == "lopende-uitkering"}
    cells2, summary2 = stage_protect(second, tab2, {})
    e = summary2["earlier_releases"]
    assert e["releases"] == [rel1.release_id] and e["cells_of_other_definitions"] > 0
    # the attacker holds both releases
    assert attack(second, tab2, cells2, extra_published=first_release_as_known(rel1)) == []
    # and the second release's id names what it was protected against
    rid = stage_publish(second, cells2, {}, {}, summary2).release_id
    assert rid != rel1.release_id and (register / rid).is_dir()


def summary_selections(rel) -> list[dict]:
    import json

    return json.loads((rel.folder / "audit.json").read_text(encoding="utf-8"))["rules"]["selections"]


def first_release_as_known(rel1) -> pd.DataFrame:
    """Everything the first release published; its `lopende-uitkering` cells under the name the second
    run gives that definition."""
    version = [s["version"] for s in summary_selections(rel1) if s["id"] == "lopende-uitkering"][0]
    t = pd.read_csv(rel1.folder / "tables.csv", dtype={"value": "Int64", "period": str}, keep_default_na=False,
                    na_values={"value": [""]})
    return t.assign(table=t.table.replace("selectie:lopende-uitkering", f"selectie:lopende-uitkering@{version[:12]}"))


def test_every_published_cell_is_the_sum_of_its_atoms(release):
    run = prepare(release["settings"])
    tab = stage_tabulate(run)
    f = tab.atoms.frame
    geo = run.buurten().set_index("buurtcode")
    for (table, category), mask in tab.atoms.members.items():
        c = tab.cells[(tab.cells.table == table) & (tab.cells.category == category) & (tab.cells.level == "wijk")]
        sums = f[mask].assign(w=lambda d: d.buurtcode.map(geo.wijkcode)).groupby("w").value.sum()
        assert (c.set_index("area_code").value == sums.reindex(c.area_code).fillna(0).to_numpy()).all(), table
    assert (f.value > 0).all() and np.isin(f.unit, ["huishouden", "persoon"]).all()


def test_the_attacker_breaks_the_same_release_protected_without_atoms(release, tmp_path):
    """The old relations (categories, levels, selection <= households) miss what the definitions imply:
    protected by them alone, the nested selections give small groups away, and the attacker finds them."""
    from privacy import disclosure

    run = setup_run(release, tmp_path, {
        "lopende-uitkering": selection_yaml("lopende-uitkering", LOPENDE_UITKERING),
        "uitkering-behalve-bbz": selection_yaml("uitkering-behalve-bbz", ALLE_BEHALVE_BBZ),
    })
    tab = stage_tabulate(run)
    persons = {f"selectie:{s.selection.id}" for s in run.selections if s.selection.unit == "persoon"}
    weak, summary = disclosure.protect(tab.cells, run.buurten(), thresholds(run, tab.cells), persons)
    assert summary["audit"]["passed"]  # its own audit knows no better
    found = attack(run, tab, weak)
    assert len(found) > 5


def test_a_cell_whose_own_atoms_pin_a_small_atom_is_not_showable():
    """An attacker who knows every atom of a cell is at least 1 reads from the cell alone that an
    atom is at most the cell's value minus the other atoms: 12 in five atoms pins each below 8."""
    from small_tables import BUURTEN

    from privacy.atoms import Atoms, showable

    atoms_of = {"BU1": [2, 3, 3, 2, 2], "BU2": [8, 3, 1], "BU3": [12]}
    rows = [(b, v) for b, vs in atoms_of.items() for v in vs]
    frame = pd.DataFrame({"buurtcode": [b for b, _ in rows], "unit": "huishouden", "group": -1,
                          "value": [v for _, v in rows], "floor": 1.0})
    atoms = Atoms(frame, {("t", "c"): np.ones(len(frame), dtype=bool)})
    cells = pd.DataFrame({"table": "t", "category": "c", "level": ["buurt"] * 3 + ["wijk"],
                          "area_code": ["BU1", "BU2", "BU3", "WK1"], "value": [12, 12, 12, 36]})
    target = np.where(frame.value < 10, 10.0, np.nan)
    everything = np.ones(4, dtype=bool)
    assert showable(cells, atoms, BUURTEN, everything, cells.value.to_numpy(float), target).tolist() == [
        False, True, True, True]
    # published as an interval reaching 16 (rounded): room enough
    assert showable(cells, atoms, BUURTEN, everything, np.array([16.0, 12, 12, 36]), target)[0]
    # only the cells asked about
    assert not showable(cells, atoms, BUURTEN, np.array([False, True, False, False]),
                        cells.value.to_numpy(float), target)[[0, 2, 3]].any()


def test_the_2plus_figures_are_shown_wherever_they_can_be_safe(release):
    """Every buurt 2+ that showing can leave safe is published, and the gemeente's own 2+ (the
    report's first figure) is never given up for them; the attacker finds nothing. (The session's
    gemeente is a quarter of Hengelo: with threshold 5 it has buurten of both kinds.)"""
    from pipelines.protect import PRIORITY
    from privacy import disclosure
    from privacy.atoms import showable

    run = prepare(release["settings"])
    tab = stage_tabulate(run)
    cells = tab.cells
    thr = {t: 5 for t in cells.table.unique()}
    persons = {f"selectie:{s.selection.id}" for s in run.selections if s.selection.unit == "persoon"}
    protected, summary = disclosure.protect(cells, run.buurten(), thr, persons, atoms=tab.atoms, priority=PRIORITY)
    assert summary["audit"]["passed"]
    two = (cells.table == "stapeling") & (cells.category == "2+")
    buurt = (two & (cells.level == "buurt") & (cells.value >= 5)).to_numpy()
    f = tab.atoms.frame
    can = showable(cells, tab.atoms, run.buurten(), buurt, cells.value.to_numpy(float),
                   np.where(f.value < 5, 5.0, np.nan))
    assert can.sum() >= 2 and buurt.sum() > can.sum()  # both kinds occur
    assert (protected.status[can] == "published").all()
    assert protected.status[two & (cells.level == "gemeente")].eq("published").all()
    assert provable(protected, cells, tab.atoms, run.buurten(), thr) == []


OUDEREN = """\
id: {id}
title: {id}
description: {id}
purpose: ouderen-zorg-en-geldzorgen
owner: Team Wmo
approval: {{by: FG, date: 2026-09-25}}
unit: {unit}
levels: [gemeente, wijk]
outputs: [buurt_tables]
criteria:
  source: brp
  where:
    - {{field: leeftijd, op: ">=", value: 75}}
{count}"""


def test_a_household_selection_that_counts_members_bounds_the_persons_of_a_person_selection(release, tmp_path):
    """'Households with two 75-plussers' holds at least twice as many 75-plussers as households: a
    relation between a household and a person selection that a reader of the two definitions writes
    down, and that 'persons >= households' does not give (privacy/atoms.py, "Members per household").
    Tabulate bounds every person group by the fewest and most members of each union of its
    person-selection patterns that any one of its households has; the bounds hold on the warehouse,
    and the release is safe against an attacker who uses them."""
    from privacy import disclosure

    run = setup_run(release, tmp_path, {
        "twee-75-plussers": OUDEREN.format(id="twee-75-plussers", unit="huishouden",
                                           count='  count: {op: ">=", value: 2}\n'),
        "75-plussers": OUDEREN.format(id="75-plussers", unit="persoon", count=""),
    }, shipped=False)
    tab = stage_tabulate(run)
    f, bounds = tab.atoms.frame, tab.atoms.person_bounds
    two = tab.atoms.members[("selectie:twee-75-plussers", "totaal")]
    old = tab.atoms.members[("selectie:75-plussers", "totaal")]
    assert two.sum() > 0 and len(bounds) > 0
    # in every group of 'two 75-plussers' households the persons of the person selection are >= 2 per household
    groups = set(f.group[two])
    for g in groups:
        ours = tuple(int(a) for a in np.flatnonzero(old & (f.group == g).to_numpy()))
        b = bounds[(bounds.group == g) & (bounds.atoms == ours)]
        assert len(b) == 1 and b.low.iloc[0] >= 2, (g, b)
    protected, summary = stage_protect(run, tab)
    assert summary["audit"]["passed"]
    assert attack(run, tab, protected) == []
    # audit.json says so, and how many bounds the release used
    assert summary["relations"]["atoms"]["member_bounds"] == len(bounds)
    assert "Members per household" in summary["relations"]["atoms"]["rule"]
    assert any("Members per household" in k for k in summary["audit"]["attacker_knows"])
    # protected without the bounds, the same release gives way to an attacker who knows only what the
    # definition says: at least 2 of the person selection per household of 'two 75-plussers'
    Atoms = type(tab.atoms)
    persons = {f"selectie:{s.selection.id}" for s in run.selections if s.selection.unit == "persoon"}
    weak, summary = disclosure.protect(tab.cells, run.buurten(), thresholds(run, tab.cells), persons,
                                       atoms=Atoms(f, tab.atoms.members, tab.atoms.max_household_size))
    assert summary["audit"]["passed"]  # its own audit knew no better
    definitional = pd.DataFrame(
        [(g, tuple(int(a) for a in np.flatnonzero(old & (f.group == g).to_numpy())), 2, -1) for g in sorted(groups)],
        columns=["group", "atoms", "low", "high"])
    reader = Atoms(f, tab.atoms.members, tab.atoms.max_household_size, definitional)
    found = provable(weak, tab.cells, reader, run.buurten(), thresholds(run, tab.cells))
    assert len(found) > 0


def test_the_group_of_parts_is_protected_not_a_part_another_month_pins():
    """atoms.py, "Parts": a household atom split by another month's fact into parts of 3 and 1; that
    month published the part of 3 (a cell of its own, known). A part has no target of its own; the
    group of 4 has, and the audit proves it can reach 10 (the part of 1 can grow, its buurt's other
    atom shrink)."""
    from small_tables import BUURTEN

    from privacy import disclosure
    from privacy.atoms import Atoms, atom_cells, group_cells

    frame = pd.DataFrame({"buurtcode": ["BU1", "BU1", "BU1", "BU2", "BU3"], "unit": "huishouden", "group": -1,
                          "value": [3, 1, 20, 15, 12], "floor": 1.0})
    members = {("t", "totaal"): np.ones(5, dtype=bool),
               ("u@2026-09", "totaal"): np.array([True, False, False, False, False])}
    atoms = Atoms(frame, members, parts=np.array([0, 0, -1, -1, -1]))
    thr = {"t": 10}
    cells = atom_cells(atoms, "2026-10", 0, thr)
    assert cells.target.isna().tolist() == [True, True, True, True, True]  # the parts, and atoms of 10 or more
    groups = group_cells(atoms, "2026-10", 5, thr)
    assert groups[["area_code", "value", "target", "floor"]].values.tolist() == [["BU1", 4, 10.0, 1.0]]
    rows = [("buurt", "BU1", 24), ("buurt", "BU2", 15), ("buurt", "BU3", 12), ("wijk", "WK1", 51),
            ("gemeente", "GM1", 51)]
    t = pd.DataFrame([dict(table="t", period="2026-10", level=lv, area_code=a, area_name=a, category="totaal", value=v)
                      for lv, a, v in rows])
    known = pd.DataFrame([dict(table="u@2026-09", period="2026-10", level="buurt", area_code="BU1", area_name="BU1",
                               category="totaal", value=3)])
    protected, summary = disclosure.protect(t, BUURTEN, thr, atoms=atoms, known_elsewhere=known)
    assert (protected.status == "published").all()
    assert summary["audit"]["provably_below_threshold"] == 0 and summary["audit"]["small_atoms_audited"] == 1
    assert "groep=som(delen)" in summary["relations"]["kinds"]
    # without parts, the part of 3 is a small atom of its own that the other month pins at 3: refused
    with pytest.raises(disclosure.PinnedByEarlier) as refused:
        disclosure.protect(t, BUURTEN, thr, atoms=Atoms(frame, members), known_elsewhere=known)
    # the message names the other month's cell that the bound rests on, for the privacy officer to follow
    assert "(first: (atom) buurt BU1 huishouden, bounded through their u@2026-09 buurt BU1 totaal); " in str(refused.value)
