"""The vroegsignalering monitor (pipelines/monitor/indicators.py): monitor:* tables of the month's cases
and their outcomes, protected with the rest of the release, fixed by the first release that publishes
them, attacked with the independent LP attacker."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import write_settings

from pipelines.cli import EXIT_PROBLEM, main
from pipelines.monitor.intake import import_files
from pipelines.pipeline import prepare, run_all, stage_protect, stage_tabulate
from pipelines.protect import monitor_zeros_hidden, thresholds
from pipelines.publish import read_record
from pipelines.publish.tablescsv import read_tables
from pipelines.synth.outcomes import fill_lists
from pipelines.tabulate import additivity_violations

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "privacy"))
from attacker import provable  # noqa: E402

PERIOD = "2026-10"
SELECTION = "verse-achterstand-zorg-energie"


def _import(settings: Path, seed: int) -> None:
    run = prepare(settings)
    folder = run.work_dir / "outreach" / PERIOD / SELECTION
    filled = fill_lists(folder, PERIOD, seed=seed, out=run.work_dir.parent / f"filled-{seed}")
    con = duckdb.connect(str(run.warehouse))
    try:
        import_files(con, run.work_dir, filled, None, run.vault_key(create=False))
    finally:
        con.close()


@pytest.fixture(scope="module")
def monitored(release, sources, key_file, tmp_path_factory):
    """The session release's work directory with its lists filled in and imported, then a release
    with the monitor (`run --monitor`)."""
    folder = tmp_path_factory.mktemp("monitor")
    shutil.copytree(release["work"], folder / "work", ignore=shutil.ignore_patterns(".lock"))
    settings = write_settings(folder, sources, key_file)
    _import(settings, seed=7)
    rel = run_all(settings, {"monitor": True})
    return {"settings": settings, "release": rel, "first": release["release"].release_id}


def _tables(rel) -> pd.DataFrame:
    return read_tables((rel.folder / "tables.csv").read_bytes())


def _monitor(t: pd.DataFrame) -> pd.DataFrame:
    return t[t.table.str.startswith("monitor:")].reset_index(drop=True)


def test_monitor_tables_count_the_cases_and_their_outcomes(monitored):
    t = _tables(monitored["release"])
    mon = _monitor(t)
    assert sorted(mon.table.unique()) == ["monitor:contactpogingen", "monitor:eindresultaat", "monitor:opvolging",
                                          "monitor:signaalpartners", "monitor:signalen"]
    assert set(mon.level) == {"gemeente", "wijk"}  # the DPIA's monitor purpose goes down to wijk
    assert not ((mon.status == "published") & (mon.value == 0)).any()  # the monitor's zeros are hidden too
    run = prepare(monitored["settings"], {"monitor": True})
    tab = stage_tabulate(run)
    cells = tab.cells[tab.cells.table.str.startswith("monitor:")]
    con = duckdb.connect(str(run.warehouse), read_only=True)
    try:
        cases, picked, reached = con.execute(
            "SELECT count(DISTINCT c.hid), count(DISTINCT c.hid) FILTER (WHERE o.datum_opgepakt IS NOT NULL), "
            "count(DISTINCT c.hid) FILTER (WHERE k.bereikt) FROM cases c "
            "LEFT JOIN case_outcomes o ON o.case_id = c.case_id AND o.period = c.period "
            "LEFT JOIN case_contacts k ON k.case_id = c.case_id AND k.period = c.period WHERE c.period = ?",
            [PERIOD]).fetchone()
    finally:
        con.close()
    g = cells[cells.level == "gemeente"].set_index(["table", "category"]).value
    assert g[("monitor:signalen", "totaal")] == cases > 0
    assert g[("monitor:opvolging", "opgepakt")] == picked > 0
    assert g[("monitor:opvolging", "bereikt")] == reached > 0
    assert g[("monitor:opvolging", "bereikt")] <= g[("monitor:opvolging", "contactpoging")] <= cases
    # only a case on a list can get an outcome from a list: the monitor says how many were (outreach summary.json)
    summary = json.loads((run.work_dir / "outreach" / PERIOD / "summary.json").read_text(encoding="utf-8"))
    listed = sum(x["cases"] for x in summary["lists"])
    assert g[("monitor:opvolging", "op een signaallijst")] == listed
    assert picked <= listed < cases
    assert additivity_violations(cells, run.domains.ids) == []  # the end results partition the cases; wijken sum
    audit = json.loads((monitored["release"].folder / "audit.json").read_text(encoding="utf-8"))
    assert "households_with_a_case" not in audit["monitor"]  # rule C1: it is the gemeente cell, in the record only
    assert read_record(monitored["release"].folder)["monitor"]["households_with_a_case"] == cases
    assert audit["monitor"]["fixed_by"] == monitored["release"].release_id
    assert audit["disclosure"]["audit"]["provably_below_threshold"] == 0
    # every line true: this release's audit assumed floors of 0, and a wijk's suppressed monitor cell may be 0
    knows = audit["disclosure"]["audit"]["attacker_knows"]
    assert "which atoms are empty (a non-empty atom is >= 1)" not in knows
    assert any(k.startswith("which atoms are empty, not that the others are non-empty (floor 0") for k in knows)
    assert any("monitor:opvolging wijk" in k and "may be 0" in k for k in knows)
    assert audit["disclosure"]["relations"]["atoms"]["floor"] == 0.0
    assert audit["tables"]["monitor:eindresultaat"]["sums"]["totaal"][-1] == "nog geen eindresultaat"
    report = (monitored["release"].folder / "report.html").read_text(encoding="utf-8")
    assert "<h2>Monitor vroegsignalering</h2>" in report and monitored["release"].release_id in report


def _differences(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


def test_another_key_gives_the_same_monitor_tables(monitored, tmp_path, sources):
    """Deterministic: the same sources and outcomes under other keys (pseudonyms, case ids and list
    references all differ) give the same monitor tables, byte for byte. The audit differs only by the
    snapshot's digest, a hash over pseudonymous keys, and the release id it enters."""
    settings = write_settings(tmp_path, sources, tmp_path.parent / f"{tmp_path.name}-keys" / "other.key")
    first = run_all(settings)
    assert first.release_id == monitored["first"]
    _import(settings, seed=7)
    again = run_all(settings, {"monitor": True})
    ours = monitored["release"]
    for name in ("tables.csv", "tables.xlsx"):
        assert (again.folder / name).read_bytes() == (ours.folder / name).read_bytes(), name
    a, b = (json.loads((r.folder / "audit.json").read_text(encoding="utf-8")) for r in (ours, again))
    assert a["monitor"]["facts_sha256"] != b["monitor"]["facts_sha256"]
    assert _differences(a, b) == [".counts.record", ".fingerprint.base", ".monitor.facts_sha256", ".monitor.fixed_by",
                                  ".release_id"]


def test_the_independent_attacker_proves_no_monitor_cell_small(monitored):
    run = prepare(monitored["settings"], {"monitor": True})
    tab = stage_tabulate(run)
    published = _tables(monitored["release"])
    first = read_tables((run.work_dir / "releases" / monitored["first"] / "tables.csv").read_bytes())
    key = ["table", "level", "area_code", "category"]
    release = tab.cells[key].merge(published[key + ["status", "value"]], on=key, how="left").set_index(tab.cells.index)
    assert release.status.notna().all() and len(release) == len(published)
    mon = release.table.str.startswith("monitor:")
    assert 0 < (mon & (release.status == "suppressed")).sum() < mon.sum()
    # the attacker holds this release and the month's first one (its cells are sums of the same atoms)
    found = provable(release, tab.cells, tab.atoms, run.buurten(), thresholds(run, tab.cells),
                     extra_published=first[first.status == "published"], atom_floor=0.0,
                     zeros_hidden=monitor_zeros_hidden(tab.cells))
    assert found == []


def test_registered_outcomes_split_the_households_not_their_persons(monitored, tmp_path, sources, key_file):
    """A person group (privacy/atoms.py, "Persons") holds the household atoms that differ only by what a
    wijkteam registered: no selection can name it, so the persons are not split by it."""
    from pipelines.monitor.indicators import indicators
    from pipelines.settings import SELECTIONS_DIR

    shutil.copytree(SELECTIONS_DIR, tmp_path / "selections")
    own = (SELECTIONS_DIR / "ouderen-wmo-en-achterstand.yaml").read_text(encoding="utf-8")
    # a person selection of many persons with a case (the shipped one, 75-plussers, has a handful)
    broad = own.replace("id: ouderen-wmo-en-achterstand", "id: inwoners-met-vroegsignaal").split("criteria:")[0]
    (tmp_path / "selections" / "inwoners-met-vroegsignaal.yaml").write_text(
        broad + "criteria:\n  all:\n    - source: vroegsignalen\n", encoding="utf-8")
    shutil.copytree(monitored["settings"].parent / "work", tmp_path / "w" / "work", ignore=shutil.ignore_patterns(".lock"))
    settings = write_settings(tmp_path / "w", sources, key_file, selections_dir=tmp_path / "selections")
    tab = stage_tabulate(prepare(settings, {"monitor": True}))
    f, members = tab.atoms.frame, tab.atoms.members
    grouped = ((f.unit == "huishouden") & (f.group >= 0)).to_numpy()
    group = f.group.to_numpy()
    sizes = pd.Series(group[grouped]).value_counts()
    assert set(group[(f.unit == "persoon").to_numpy()]) == set(sizes.index)
    assert sizes.max() > 1  # some persons are shared by several household atoms
    split_by = {key for key, mask in members.items()
                if pd.Series(mask[grouped]).groupby(group[grouped]).nunique().max() > 1}
    registered = {(i.table, i.category) for i in indicators([]) if i.registered}
    assert split_by and split_by <= registered, split_by - registered
    assert ("monitor:opvolging", "op een signaallijst") not in registered  # a list follows from the signals


def test_a_withheld_gemeente_has_no_monitor_cells_and_the_first_releases_atoms(monitored):
    """protect.withhold_monitor: where earlier releases pin small groups beside the monitor's finer atoms, the
    monitor of that gemeente is withheld: none of its cells, and its atoms are those of a release without it."""
    from pipelines.protect import other_definitions, tabulate_release
    from pipelines.tabulate import tabulate

    run = prepare(monitored["settings"], {"monitor": True})
    withheld = tabulate_release(run, ("GM0164",))
    assert not withheld.cells.table.str.startswith("monitor:").any()
    con = run.connect()
    try:  # no monitor at all: the month's first release's atoms
        plain = tabulate(con, run.period, run.selections, run.domains.ids, other=other_definitions(run, run.earlier()))
    finally:
        con.close()
    assert sorted(withheld.atoms.frame.value) == sorted(plain.atoms.frame.value)
    assert len(tabulate_release(run).atoms.frame) > len(plain.atoms.frame)  # the monitor splits them


def test_withholding_names_the_gemeenten_of_the_pinned_areas_and_refuses_when_none_would_be_left(monitored):
    from pipelines.protect import withhold_monitor

    run = prepare(monitored["settings"], {"monitor": True})
    b = run.buurten()
    assert withhold_monitor(run, [b.buurtcode.iloc[0], b.wijkcode.iloc[-1]], ()) is None  # GM0164 is all there is
    two = pd.concat([b, b.assign(buurtcode="BU99990000", wijkcode="WK999900", gemeentecode="GM9999").head(1)])
    run_two = type("R", (), {"buurten": lambda self: two})()
    assert withhold_monitor(run_two, [b.buurtcode.iloc[0], b.wijkcode.iloc[-1]], ()) == ("GM0164",)
    assert withhold_monitor(run_two, ["BU99990000"], ()) == ("GM9999",)
    assert withhold_monitor(run_two, ["BU99990000"], ("GM9999",)) is None  # nothing more to withhold: refused


def test_a_monitor_release_pinned_everywhere_is_refused_with_the_monitor_named(monitored, monkeypatch):
    import pipelines.protect as protect_module
    from privacy.disclosure import PinnedByEarlier

    run = prepare(monitored["settings"], {"monitor": True})
    tab = stage_tabulate(run)
    tab.monitor = {**tab.monitor, "frozen_by": None}
    calls = []

    def pinned(*args, **kwargs):
        calls.append(1)
        raise PinnedByEarlier("2 small cell(s) are already shown to be below the threshold", [run.buurten().buurtcode[0]])

    monkeypatch.setattr(protect_module, "_protect", pinned)
    with pytest.raises(protect_module.ProtectionFailed) as info:
        protect_module.protect(run, tab)
    assert len(calls) == 1  # withholding the only gemeente would leave no monitor: refused at once
    assert str(info.value).startswith("2 small cell(s) are already shown to be below the threshold. This release "
                                      "would add the month's monitor")


def test_later_outcomes_do_not_change_a_published_monitor(monitored, tmp_path, sources, key_file):
    """The first release with the month's monitor fixes it: outcomes imported later change the warehouse,
    not what a later release of the month publishes (no difference of two releases counts who changed)."""
    shutil.copytree(monitored["settings"].parent / "work", tmp_path / "work", ignore=shutil.ignore_patterns(".lock"))
    settings = write_settings(tmp_path, sources, key_file)
    before = _monitor(_tables(monitored["release"]))
    _import(settings, seed=99)  # other outcomes for the same cases
    again = run_all(settings, {"monitor": True})
    assert again.release_id == monitored["release"].release_id  # the same release, byte for byte
    assert (again.folder / "tables.csv").read_bytes() == (monitored["release"].folder / "tables.csv").read_bytes()
    con = duckdb.connect(str(tmp_path / "work" / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT DISTINCT release_id FROM monitor_snapshots").fetchall() == [
            (monitored["release"].release_id,)]
    finally:
        con.close()
    plain = run_all(settings)  # a run without --monitor publishes the month's fixed monitor too
    pd.testing.assert_frame_equal(_monitor(_tables(plain)), before)


def test_cli_monitor_without_cases_is_refused_before_prefect(tmp_path, sources, key_file, capsys):
    settings = write_settings(tmp_path, sources, key_file)
    assert main(["run", "--config", str(settings), "--monitor"]) == EXIT_PROBLEM
    err = capsys.readouterr().err
    assert ("--monitor: no cases for 2026-10: the monitor counts the cases of the month's signal lists (run the month "
            "first, then import its outcomes with wijksignaal outcomes)") in err


def test_a_refused_monitor_release_says_the_month_keeps_its_earlier_release(monitored, monkeypatch):
    import pipelines.protect as protect_module
    from privacy.secondary import ProtectionFailed

    run = prepare(monitored["settings"], {"monitor": True})
    tab = stage_tabulate(run)
    tab.monitor = {**tab.monitor, "frozen_by": None}  # as before the month's monitor was first published

    def refuse(*args, **kwargs):
        raise ProtectionFailed("5 small cell(s) are already shown to be below the threshold")

    monkeypatch.setattr(protect_module, "_protect", refuse)
    with pytest.raises(ProtectionFailed) as info:
        protect_module.protect(run, tab)
    assert str(info.value) == (
        "5 small cell(s) are already shown to be below the threshold. This release would add the month's monitor: it "
        "cannot be published beside what was published of 2026-10 before; without --monitor the month keeps its "
        "earlier release")


def _as_an_earlier_month(monitored, tmp_path, month: str) -> Path:
    """A copy of the monitored work directory in which the month's monitor release was published for
    `month` instead: its folder, tables.csv and snapshot relabelled (the same households and facts), so
    that the month's monitor is made again with an earlier month's monitor published beside it."""
    folder = tmp_path / "m"
    shutil.copytree(monitored["settings"].parent, folder, ignore=shutil.ignore_patterns(".lock"))
    settings = folder / monitored["settings"].name
    settings.write_text(monitored["settings"].read_text(encoding="utf-8").replace(
        str(monitored["settings"].parent), str(folder)), encoding="utf-8")
    releases = folder / "work" / "releases"
    old = releases / monitored["release"].release_id
    new = releases / f"GM0164-{month}-0000000000"
    old.rename(new)
    audit = json.loads((new / "audit.json").read_text(encoding="utf-8"))
    audit["period"] = month
    (new / "audit.json").write_text(json.dumps(audit), encoding="utf-8")
    tables = (new / "tables.csv").read_text(encoding="utf-8")
    (new / "tables.csv").write_text(tables.replace(f",{PERIOD},", f",{month},"), encoding="utf-8")
    con = duckdb.connect(str(prepare(settings).warehouse))
    try:
        con.execute("UPDATE monitor_snapshots SET period = ?, release_id = ? WHERE period = ?", [month, new.name, PERIOD])
    finally:
        con.close()
    return settings


def test_an_earlier_months_published_monitor_is_known_to_the_audit_over_this_months_households(monitored, tmp_path):
    """README, "Monitor vroegsignalering", Across months: the cells an earlier month's monitor published
    are sums of this month's atoms, split by that month's facts; what is protected is every group of
    this month's definitions, and the independent attacker, holding the earlier month's cells too,
    proves none small."""
    settings = _as_an_earlier_month(monitored, tmp_path, "2026-09")
    run = prepare(settings, {"monitor": True})
    tab = stage_tabulate(run)
    earlier = tab.monitor["earlier_months"]
    assert [e["period"] for e in earlier] == ["2026-09"] and earlier[0]["fixed_by"] == "GM0164-2026-09-0000000000"
    sep = read_tables(settings.parent / "work" / "releases" / "GM0164-2026-09-0000000000" / "tables.csv")
    sep = sep[sep.table.str.startswith("monitor:") & (sep.status == "published")]
    assert earlier[0]["cells"] == len(sep) > 0
    # the same households with the same facts: over this month's atoms each cell has its published value
    key = ["table", "level", "area_code", "category"]
    before = tab.before.assign(table=tab.before.table.str.replace("@2026-09", "", regex=False))
    both = sep.merge(before, on=key, suffixes=("", "_now"))
    assert len(both) == len(sep) and (both.value.astype(int) == both.value_now.astype(int)).all()
    assert tab.atoms.parts is not None and (tab.atoms.parts < 0).all()  # the same facts split nothing
    parts = tab.atoms.parts
    protected, summary = stage_protect(run, tab)  # (the relabelled release is not in the ledger: nothing is published)
    assert summary["earlier_releases"]["cells_of_earlier_months_monitors"] == len(sep)
    release = tab.cells[key].merge(protected[key + ["status", "value"]], on=key, how="left").set_index(tab.cells.index)
    release.loc[release.status == "suppressed", "value"] = pd.NA
    first = read_tables((run.work_dir / "releases" / monitored["first"] / "tables.csv").read_bytes())
    extra = pd.concat([first[first.status == "published"], tab.before.assign(status="published")], ignore_index=True)
    found = provable(release, tab.cells, tab.atoms, run.buurten(), thresholds(run, tab.cells), extra_published=extra,
                     atom_floor=0.0, zeros_hidden=monitor_zeros_hidden(tab.cells), parts=parts)
    assert found == []


@pytest.fixture(scope="module")
def monitor_series(sources, key_file, tmp_path_factory):
    """Three months as a gemeente works them (benchmarks/bench_monitor.py): per month the release with its
    lists, the lists filled in and imported, then the month's monitor release."""
    from conftest import TREND_PERIODS

    folder = tmp_path_factory.mktemp("series")
    settings = write_settings(folder, sources, key_file)
    for period in TREND_PERIODS:
        first = run_all(settings, {"period": period})
        run = prepare(settings, {"period": period})
        filled = fill_lists(run.work_dir / "outreach" / period / SELECTION, period, seed=11,
                            out=folder / "filled" / period)
        con = duckdb.connect(str(run.warehouse))
        try:
            import_files(con, run.work_dir, filled, None, run.vault_key(create=False))
        finally:
            con.close()
        rel = run_all(settings, {"period": period, "monitor": True})
    return {"settings": settings, "release": rel, "first": first.release_id, "periods": TREND_PERIODS}


def test_every_release_lists_the_earlier_months_and_what_its_audit_relates_of_them(monitor_series):
    """Every line true, and none missing: a month's first release relates nothing of the earlier months' releases,
    its monitor release only their monitor cells; audit.json says so per month, with the releases."""
    august, september, october = monitor_series["periods"]
    folder = monitor_series["release"].folder.parent
    audits = {p.name: json.loads((p / "audit.json").read_text(encoding="utf-8")) for p in sorted(folder.iterdir())}
    of = {m: sorted(rid for rid, a in audits.items() if a["period"] == m) for m in (august, september, october)}
    assert [len(of[m]) for m in of] == [2, 2, 2]  # per month a first release and a monitor release

    def listed(release_id):
        e = audits[release_id]["disclosure"]["earlier_releases"]["earlier_months"]
        assert e["rule"].startswith("the releases of earlier months of this gemeente, and what this release's audit")
        return e["months"]

    assert listed(of[august][0]) == listed(of[august][1]) == []
    assert listed(monitor_series["first"]) == [{"period": m, "releases": of[m], "related": "nothing"}
                                               for m in (august, september)]
    assert listed(monitor_series["release"].release_id) == [{"period": m, "releases": of[m], "related": "monitor cells"}
                                                            for m in (august, september)]


def test_a_re_run_beside_earlier_months_reproduces_its_release(monitor_series):
    """The base a release is matched by (protect.protect) is the base its audit.json records, earlier months
    included: so a re-run of the third month's monitor release is protected against the same releases and is
    the same release, byte for byte."""
    again = run_all(monitor_series["settings"], {"period": monitor_series["periods"][-1], "monitor": True})
    ours = monitor_series["release"]
    assert again.release_id == ours.release_id
    for name in ("tables.csv", "audit.json"):
        assert (again.folder / name).read_bytes() == (ours.folder / name).read_bytes(), name


def test_three_monitors_in_a_row_are_published_and_the_attacker_holding_all_three_proves_nothing(monitor_series):
    """README, "Monitor vroegsignalering", Across months. Before the earlier months' monitors were part of the
    audit, an attacker holding three consecutive monthly monitors bounded the third month's achterstand by the
    sum of the three `monitor:signalen totaal` and proved small cells below 10 (benchmarks/README.md: 10
    cells of Hengelo's October). Now the third month's audit knows the first two months' published monitor
    cells as sums of its own atoms, and the independent attacker holding them proves nothing."""
    august, september, october = monitor_series["periods"]
    run = prepare(monitor_series["settings"], {"period": october, "monitor": True})
    tab = stage_tabulate(run)
    assert tab.monitor["frozen_by"] == monitor_series["release"].release_id
    assert [e["period"] for e in tab.monitor["earlier_months"]] == [august, september]
    audit = json.loads((monitor_series["release"].folder / "audit.json").read_text(encoding="utf-8"))
    assert audit["monitor"]["earlier_months"] == tab.monitor["earlier_months"]
    assert audit["disclosure"]["earlier_releases"]["cells_of_earlier_months_monitors"] == len(tab.before) > 0
    assert set(tab.before.table.str.split("@").str[1]) == {august, september}
    published = _tables(monitor_series["release"])
    key = ["table", "level", "area_code", "category"]
    release = tab.cells[key].merge(published[key + ["status", "value"]], on=key, how="left").set_index(tab.cells.index)
    assert release.status.notna().all() and len(release) == len(published)
    first = read_tables((run.work_dir / "releases" / monitor_series["first"] / "tables.csv").read_bytes())
    extra = pd.concat([first[first.status == "published"], tab.before.assign(status="published")], ignore_index=True)
    found = provable(release, tab.cells, tab.atoms, run.buurten(), thresholds(run, tab.cells), extra_published=extra,
                     atom_floor=0.0, zeros_hidden=monitor_zeros_hidden(tab.cells), parts=tab.atoms.parts)
    assert found == []


def test_with_parts_shown_possible_elsewhere_the_third_monitor_is_protected_for_that_attacker(monitor_series):
    """privacy/atoms.py, "Parts: possible, not empty": with the DPIA's earlier_months_parts: possible_elsewhere
    the third month's tabulation adds parts of 0 that households elsewhere show possible; the protection
    then leaves an attacker who takes them as possible (and every other empty part as known) nothing, and
    audit.json's attacker_knows says the attacker is not taken to know they are empty."""
    import dataclasses

    august, september, october = monitor_series["periods"]
    run = prepare(monitor_series["settings"], {"period": october, "monitor": True})
    disclosure = run.dpia.disclosure.model_copy(update={"earlier_months_parts": "possible_elsewhere"})
    run = dataclasses.replace(run, dpia=run.dpia.model_copy(update={"disclosure": disclosure}))
    tab = stage_tabulate(run)
    possible = tab.atoms.possible
    assert possible is not None and possible.sum() > 0 and len(possible) == len(tab.atoms.frame)
    assert (tab.atoms.frame.unit.to_numpy()[possible] == "huishouden").all()
    assert (tab.atoms.frame.value.to_numpy()[possible] == 0).all() and (tab.atoms.parts[possible] >= 0).all()
    protected, summary = stage_protect(run, tab)  # (not published)
    assert summary["audit"]["passed"]
    assert any("a household elsewhere in the gemeente shows possible" in k for k in summary["audit"]["attacker_knows"])
    key = ["table", "level", "area_code", "category"]
    release = tab.cells[key].merge(protected[key + ["status", "value"]], on=key, how="left").set_index(tab.cells.index)
    release.loc[release.status == "suppressed", "value"] = pd.NA
    first = read_tables((run.work_dir / "releases" / monitor_series["first"] / "tables.csv").read_bytes())
    extra = pd.concat([first[first.status == "published"], tab.before.assign(status="published")], ignore_index=True)
    found = provable(release, tab.cells, tab.atoms, run.buurten(), thresholds(run, tab.cells), extra_published=extra,
                     atom_floor=0.0, zeros_hidden=monitor_zeros_hidden(tab.cells), parts=tab.atoms.parts,
                     possible=possible)
    assert found == []
