"""The outreach stage end to end: signal lists per wijkteam from the identity vault, written
owner-only outside the release; names and addresses nowhere else (bytes scanned)."""

from __future__ import annotations

import csv
import json
import re
import stat
import zipfile
from pathlib import Path

import duckdb
import pytest
from conftest import write_settings

SELECTION = "verse-achterstand-zorg-energie"


@pytest.fixture(scope="module")
def listed(sources, key_file, tmp_path_factory):
    from pipelines.pipeline import prepare, run_all

    folder = tmp_path_factory.mktemp("lists")
    settings = write_settings(folder, sources, key_file)
    release = run_all(settings)
    return {"release": release, "work": folder / "work", "run": prepare(settings), "settings": settings}


@pytest.fixture(scope="module")
def identities(sources) -> dict[str, set[str]]:
    """The synthetic BRP's names and streets (values a scan must not find)."""
    with (sources / "brp.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    first = {r["Voornamen"] for r in rows if len(r["Voornamen"]) >= 6}
    return {"voornamen": first, "straten": {r["Straatnaam"] for r in rows},
            "namen": {f"{r['Voornamen']} {r['Geslachtsnaam']}" for r in rows}, "bsn": {r["BSN"] for r in rows}}


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_each_team_gets_a_list_of_the_selections_cases(listed):
    work, run = listed["work"], listed["run"]
    summary = json.loads((work / "outreach" / "2026-10" / "summary.json").read_text(encoding="utf-8"))
    (entry,) = summary["lists"]
    assert entry["selection"] == SELECTION and entry["purpose"] == "vroeg-eropaf"
    loaded = next(s for s in run.selections if s.selection.id == SELECTION)
    members, params = loaded.members("2026-10")
    con = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
    try:
        expected = con.execute(f"SELECT count(*) FROM cases WHERE period = '2026-10' AND hid IN ({members})",
                               params).fetchone()[0]
        teams = dict(con.execute(f"SELECT t.team, count(*) FROM cases c JOIN case_triage t USING (case_id, period) "
                                 f"WHERE c.period = '2026-10' AND c.hid IN ({members}) GROUP BY 1", params).fetchall())
    finally:
        con.close()
    assert entry["cases"] == expected > 0
    assert entry["by_team"] == dict(sorted(teams.items()))
    folder = work / "outreach" / "2026-10" / SELECTION
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.{ext}" for t in teams for ext in ("html", "xlsx"))
    for team, n in teams.items():
        html = (folder / f"{team}.html").read_text(encoding="utf-8")
        assert html.count('<tr class="p') == n


def test_lists_are_owner_only_and_outside_the_release(listed):
    work = listed["work"]
    outreach = work / "outreach"
    for p in [outreach, *outreach.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), p
    release_files = [p.name for p in _files(listed["release"].folder)]
    assert not [n for n in release_files if n.endswith(".html") and n != "report.html"]


def test_a_list_names_and_addresses_but_holds_no_bsn(listed, identities):
    folder = listed["work"] / "outreach" / "2026-10" / SELECTION
    text = "\n".join(p.read_text(encoding="utf-8") for p in folder.glob("*.html"))
    assert any(n in text for n in identities["namen"])  # control: the scan below could find values
    assert any(s in text for s in identities["straten"])
    digits = set(re.findall(r"\b\d{9}\b", text))
    for x in folder.glob("*.xlsx"):
        with zipfile.ZipFile(x) as z:
            digits |= {d for n in z.namelist() for d in re.findall(r"\b\d{9}\b", z.read(n).decode("utf-8", "replace"))}
    assert not digits & identities["bsn"]


def test_every_name_and_address_on_a_list_is_found_in_the_vault(listed):
    """The vault holds only the households with a vroegsignaal in the month: that is every one a list shows."""
    folder = listed["work"] / "outreach" / "2026-10" / SELECTION
    text = "\n".join(p.read_text(encoding="utf-8") for p in folder.glob("*.html"))
    assert text.count('<tr class="p') > 0
    assert "niet in de identiteitskluis" not in text and "(onbekend)" not in text


def test_the_workbook_offers_the_ddas_choices(listed):
    folder = listed["work"] / "outreach" / "2026-10" / SELECTION
    with zipfile.ZipFile(sorted(folder.glob("*.xlsx"))[0]) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
        shared = z.read("xl/sharedStrings.xml").decode("utf-8")
    assert sheet.count("<dataValidation ") == 5  # contactsoort, bereikt, resultaat, two dates
    assert "Keuzelijsten!$A$2:$A$11" in sheet  # the 10 DDAS v1.2 contact kinds
    assert "Niet opgepakt: herhaalde melding" in shared and "Huisbezoek" in shared


def test_names_and_addresses_are_nowhere_but_in_the_vault_and_the_lists(listed, identities):
    """The bytes of the warehouse (and its WAL), the release, quarantine, quality, ledger, the
    vault's access log and the outreach summary: no synthetic first name, full name or street."""
    work = listed["work"]
    scanned = [p for p in _files(work) if not p.is_relative_to(work / "outreach" / "2026-10" / SELECTION)
               and p.name != "identiteiten.duckdb"]
    assert any(p.name == "warehouse.duckdb" for p in scanned) and any(p.name == "toegang.jsonl" for p in scanned)
    needles = [v.encode() for v in identities["straten"] | identities["voornamen"]]
    for p in scanned:
        data = p.read_bytes()
        assert not [n for n in needles if n in data], p


def test_the_vault_is_encrypted_and_will_not_open_without_its_key(listed, identities):
    vault = listed["work"] / "vault" / "identiteiten.duckdb"
    data = vault.read_bytes()
    assert not [s for s in identities["straten"] if s.encode() in data]
    with pytest.raises(duckdb.Error):
        duckdb.connect(str(vault), read_only=True).execute("SELECT count(*) FROM personen").fetchall()


def test_every_opening_of_the_vault_is_logged_without_identities(listed):
    lines = [json.loads(x) for x in (listed["work"] / "vault" / "toegang.jsonl").read_text(encoding="utf-8")
             .splitlines()]
    assert [(x.get("selection"), x.get("purpose"), x["action"]) for x in lines] == [
        (None, None, "written"), (SELECTION, "vroeg-eropaf", "opened"), (SELECTION, "vroeg-eropaf", "closed")]
    # the persons of the households with a vroegsignaal in the month (not every person the BRP contract loaded)
    con = duckdb.connect(str(listed["work"] / "warehouse.duckdb"), read_only=True)
    try:
        persons, households, everyone = con.execute(
            "WITH h AS (SELECT p.hid FROM vroegsignalen v JOIN persons p USING (pid) WHERE v.signaaldatum BETWEEN "
            "'2026-10-01' AND '2026-10-31' UNION SELECT hid FROM vroegsignalen WHERE signaaldatum BETWEEN "
            "'2026-10-01' AND '2026-10-31' AND hid IS NOT NULL) SELECT count(DISTINCT pid) FILTER (WHERE hid IN "
            "(SELECT hid FROM h)), (SELECT count(*) FROM h), count(DISTINCT pid) FROM persons").fetchone()
    finally:
        con.close()
    assert (lines[0]["records"], lines[0]["households"], lines[0]["period"]) == (persons, households, "2026-10")
    assert 0 < households < persons < everyone / 20
    # the writing names its purpose, selection, DPIA version and fields, like an opening (README: every writing)
    assert (lines[0]["action"], lines[0]["purposes"], lines[0]["selections"], lines[0]["dpia"]) == (
        "written", ["vroeg-eropaf"], ["verse-achterstand-zorg-energie"], "DPIA-WIJKSIGNAAL-2026-01 1.3")
    assert lines[0]["fields"] == sorted(["voornamen", "geslachtsnaam", "straat", "huisnummer", "postcode", "woonplaats"])
    assert lines[-1]["records_read"] > 0
    assert all(x["user"] and x["host"] for x in lines)
    assert (lines[1]["period"], lines[1]["dpia"]) == ("2026-10", "DPIA-WIJKSIGNAAL-2026-01 1.3")
    assert lines[1]["fields"] == "voornamen, geslachtsnaam, straat, huisnummer, postcode, woonplaats"
    text = json.dumps(lines)
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", text)  # no pseudonym


def test_no_list_and_no_vault_without_a_selection_that_asks_for_one(sources, key_file, tmp_path):
    import shutil

    from pipelines.pipeline import run_all
    from pipelines.settings import SELECTIONS_DIR

    selections = tmp_path / "selections"
    shutil.copytree(SELECTIONS_DIR, selections)
    path = selections / f"{SELECTION}.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("outputs: [buurt_tables, signal_list]",
                                                             "outputs: [buurt_tables]"), encoding="utf-8")
    settings = write_settings(tmp_path / "r", sources, key_file, selections_dir=selections)
    run_all(settings)
    work = tmp_path / "r" / "work"
    assert not (work / "vault").exists() and not (work / "outreach").exists()


def test_a_vault_opened_for_a_purpose_without_signal_list_is_refused_and_logged(listed):
    from privacy.vault import VaultRefused, open_vault

    run = listed["run"]
    with pytest.raises(VaultRefused) as e:
        open_vault(run.vault_file, run.vault_key(create=False), purpose_id="stapelingsmonitor",
                   purpose_outputs=run.dpia.purposes["stapelingsmonitor"].allowed_outputs, selection="x",
                   access_log=run.vault_log)
    assert "signal_list" in str(e.value)
    last = json.loads(run.vault_log.read_text(encoding="utf-8").splitlines()[-1])
    assert (last["purpose"], last["action"]) == ("stapelingsmonitor", "refused")


def test_an_earlier_month_run_again_publishes_but_makes_no_lists(listed, caplog):
    """Lists of a month are made while it is the newest: matching an earlier month again would
    change the cases the later lists were built on. The release is made; the lists are not, and
    the log says why."""
    import logging

    from pipelines.pipeline import prepare, run_all, stage_outreach

    release = run_all(listed["settings"], {"period": "2026-09"})
    assert release.folder.exists()
    assert not (listed["work"] / "outreach" / "2026-09").exists()
    with caplog.at_level(logging.WARNING, logger="wijksignaal"):
        result = stage_outreach(prepare(listed["settings"], {"period": "2026-09"}))
    assert result["lists"] == [] and result["reason"].startswith("no signal lists for 2026-09: the cases of 2026-10")
    assert result["reason"] in caplog.text


def test_the_release_publishes_the_lists_count_under_a_published_definition(listed):
    """The public count of a list is a selection derived in the selection language (the
    selection, and a vroegsignaal in the month), so audit.json publishes its definition and the
    protection relates it to the selection it narrows; where it is published it equals the
    cases on the lists."""
    import pandas as pd

    folder = listed["release"].folder
    audit = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
    entry = next(s for s in audit["rules"]["selections"] if s["id"] == f"{SELECTION}-signaallijst")
    assert entry["definition"]["criteria"]["all"] == [
        next(s for s in audit["rules"]["selections"] if s["id"] == SELECTION)["definition"]["criteria"],
        {"source": "vroegsignalen", "where": [], "within_months": 1}]
    assert entry["dpia_rules_passed"] == [r["id"] for r in audit["rules"]["dpia"]["rulebook"]]
    parent = next(s for s in audit["rules"]["selections"] if s["id"] == SELECTION)
    assert entry["approval"] == {"by": f"{parent['approval']['by']} (met de selectie '{SELECTION}')",
                                 "date": parent["approval"]["date"]}
    tables = pd.read_csv(folder / "tables.csv", dtype={"value": "Int64"}, keep_default_na=False,
                         na_values={"value": [""]})
    cells = tables[tables.table == f"selectie:{SELECTION}-signaallijst"]
    assert set(cells.level) == {"gemeente", "wijk", "buurt"}
    summary = json.loads((listed["work"] / "outreach" / "2026-10" / "summary.json").read_text(encoding="utf-8"))
    by_buurt = {}
    con = duckdb.connect(str(listed["work"] / "warehouse.duckdb"), read_only=True)
    try:
        by_buurt = dict(con.execute("SELECT c.buurtcode, count(*) FROM cases c JOIN case_triage t USING (case_id, period) "
                                    "WHERE c.period = '2026-10' GROUP BY 1").fetchall())
    finally:
        con.close()
    shown = cells[(cells.level == "buurt") & (cells.status == "published")]
    assert len(shown) > 0
    listed_per_buurt = {}
    for team_file in (listed["work"] / "outreach" / "2026-10" / SELECTION).glob("*.html"):
        for code in re.findall(r"buurt (BU\d{8})", team_file.read_text(encoding="utf-8")):
            listed_per_buurt[code] = listed_per_buurt.get(code, 0) + 1
    for row in shown.itertuples():
        assert row.value == listed_per_buurt.get(row.area_code, 0), row.area_code
        assert row.value <= by_buurt.get(row.area_code, 0)
    total = cells[cells.level == "gemeente"].iloc[0]
    if total.status == "published":
        assert total.value == summary["lists"][0]["cases"]


def test_a_lists_case_reference_cannot_be_joined_to_the_warehouse(listed):
    """The reference on a list is keyed with the vault's key: no case id of the warehouse starts
    with it (an unkeyed prefix would lead from a name on a list to the household's pseudonym)."""
    folder = listed["work"] / "outreach" / "2026-10" / SELECTION
    refs = {m for p in folder.glob("*.html") for m in re.findall(r"<td>([0-9a-f]{10})<br>", p.read_text(encoding="utf-8"))}
    con = duckdb.connect(str(listed["work"] / "warehouse.duckdb"), read_only=True)
    try:
        ids = [str(c) for (c,) in con.execute("SELECT DISTINCT case_id FROM cases").fetchall()]
    finally:
        con.close()
    assert refs and not [r for r in refs if any(i.replace("-", "").startswith(r[:8]) for i in ids)]


def test_the_default_rule_is_a_reason_only_where_it_decided():
    import pandas as pd

    from pipelines.outreach.lists import build_cases

    case = {"case_id": "c1", "hid": "h1", "buurtcode": "BU01640000", "meervoudig": True, "opeenvolgend": False,
            "herhaalde_melding": False, "crisis": True, "team": "t", "action": "huisbezoek", "priority": 1,
            "deadline": None, "expires": None, "rule": "crisis", "rules_fired": ["crisis", "meervoudig", "standaard"]}
    rows = build_cases(pd.DataFrame([case]), pd.DataFrame(columns=["case_id", "pid", "signaalpartner", "bedrag",
                                                                   "signaaldatum", "crisissignaal", "herhaalde_melding"]),
                       {}, {}, {"crisis": "Crisis.", "meervoudig": "Meervoudig.", "standaard": "Enkel signaal."},
                       {"standaard"}, lambda c: "ref")
    assert rows[0]["redenen"] == ["Crisis.", "Meervoudig."]


def test_a_list_shows_only_the_fields_the_purpose_names():
    from pipelines.outreach.lists import allowed_only

    record = {"pid": "p", "hid": "h", "voornamen": "Jan", "geslachtsnaam": "Smit", "straat": "Dorpsstraat",
              "huisnummer": "1", "postcode": "1234AB", "woonplaats": "Hengelo"}
    assert allowed_only([record], ["geslachtsnaam", "postcode"]) == [
        {"pid": "p", "hid": "h", "geslachtsnaam": "Smit", "postcode": "1234AB"}]


def test_the_country_run_makes_one_list_per_gemeente():
    """gemeente NL (every gemeente in one run) has no teams.yaml of its own: one team per gemeente
    (it failed with a raw validation error after publishing)."""
    from types import SimpleNamespace

    from pipelines.outreach.lists import _teams_for
    from pipelines.settings import CONFIG_DIR

    con = duckdb.connect()
    con.execute("CREATE TABLE buurten AS SELECT * FROM (VALUES ('BU01640000', 'WK016400', 'GM0164'), "
                "('BU03630000', 'WK036300', 'GM0363'), ('BU03630100', 'WK036301', 'GM0363')) t(buurtcode, wijkcode, "
                "gemeentecode)")
    run = SimpleNamespace(config_dir=CONFIG_DIR, settings=SimpleNamespace(gemeente="NL"))
    teams, note = _teams_for(run, con)
    assert {k: t.wijken for k, t in teams.teams.teams.items()} == {"gm0164": ["WK016400"],
                                                                   "gm0363": ["WK036300", "WK036301"]}
    assert note == "the country run (gemeente NL): one list per gemeente, team = gemeente"


def test_a_list_filled_in_where_it_was_made_is_kept_when_the_lists_are_made_again(release, sources, key_file, tmp_path):
    """Making the month's lists again (a re-run, `run --monitor`) replaces them, but never a list a wijkteam
    filled in where it lies: that one is kept beside the new one, byte for byte, and found again by intake."""
    import shutil

    from pipelines.outreach.lists import filled_in, run_outreach
    from pipelines.pipeline import prepare
    from pipelines.synth.outcomes import fill_lists

    shutil.copytree(release["work"], tmp_path / "work", ignore=shutil.ignore_patterns(".lock"))
    run = prepare(write_settings(tmp_path, sources, key_file))
    folder = run.work_dir / "outreach" / "2026-10" / SELECTION
    made = sorted(folder.glob("*.xlsx"))
    assert len(made) == 4 and not any(filled_in(p) for p in made)
    (team,) = fill_lists(folder, "2026-10", seed=3, out=tmp_path / "filled")[:1]
    shutil.copy(team, folder / team.name)  # filled in where it lies
    edited = (folder / team.name).read_bytes()
    assert filled_in(folder / team.name)
    run_outreach(run)
    kept = folder / f"{team.stem}.ingevuld.xlsx"
    assert kept.read_bytes() == edited
    assert sorted(p.name for p in folder.glob("*.xlsx")) == sorted([*(p.name for p in made), kept.name])
    assert not filled_in(folder / team.name)  # the new list, to fill in again
    run_outreach(run)  # again: nothing new filled in, so nothing more kept
    assert sorted(p.name for p in folder.glob("*.xlsx")) == sorted([*(p.name for p in made), kept.name])
    from pipelines.monitor.intake import import_files

    con = duckdb.connect(str(run.warehouse))
    try:
        (r,) = import_files(con, run.work_dir, [kept], None, run.vault_key(create=False))
    finally:
        con.close()
    assert r.imported > 0 and r.quarantined == 0  # its team is found by its cases
