"""Outcomes in: filled-in wijkteam lists (XLSX) and DDAS v1.2 vroegsignaalzaken (JSON) read back
into case_outcomes / case_contacts; every rule's failure quarantined with its id and no value;
importing again changes nothing; no name or street from a list in the warehouse or quarantine."""

from __future__ import annotations

import copy
import csv
import fcntl
import hashlib
import json
import os
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest
from conftest import write_settings

from pipelines.cli import main
from pipelines.monitor.intake import RULES, OutcomesError, import_files
from pipelines.settings import CONFIG_DIR
from privacy.pseudonymise import hmac_python, uuid_of

PERIOD = "2026-10"
SELECTION = "verse-achterstand-zorg-energie"
EXAMPLE = CONFIG_DIR / "reference" / "ddas" / "v1.2" / "enkelvoudigVoorbeeld.json"


@pytest.fixture(scope="module")
def base(release, sources, key_file, tmp_path_factory):
    """The session release's work directory (with its lists), copied once for this module."""
    folder = tmp_path_factory.mktemp("intake")
    shutil.copytree(release["work"], folder / "work", ignore=shutil.ignore_patterns(".lock"))
    settings = write_settings(folder, sources, key_file)
    lists = sorted((folder / "work" / "outreach" / PERIOD / SELECTION).glob("*.xlsx"))
    assert lists
    return {"folder": folder, "settings": settings, "lists": lists}


@pytest.fixture
def work(base, tmp_path, sources, key_file):
    """A fresh copy of the work directory per test, with its settings."""
    shutil.copytree(base["folder"] / "work", tmp_path / "work")
    settings = write_settings(tmp_path, sources, key_file)
    team = base["lists"][0].stem
    return {"work": tmp_path / "work", "settings": settings,
            "list": tmp_path / "work" / "outreach" / PERIOD / SELECTION / f"{team}.xlsx", "team": team}


def columns(ws) -> dict[str, int]:
    return {c.value: c.column for c in ws[1]}


def fill(path: Path, rows: dict[int, dict], out: Path | None = None) -> Path:
    """Fill the list's sheet rows (2 = the first case) with the given fill-in values; save."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Lijst"]
    col = columns(ws)
    for r, values in rows.items():
        for name, value in values.items():
            ws.cell(r, col[name]).value = value
    out = out or path
    wb.save(out)
    return out


def list_cells(path: Path, names: tuple[str, ...]) -> list[dict]:
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb["Lijst"].iter_rows(values_only=True))
    head = list(rows[0])
    return [{n: r[head.index(n)] for n in names} for r in rows[1:]]


FULL = {"datum opgepakt": datetime(2026, 11, 9), "contactsoort": "Telefoon", "contactdatum": datetime(2026, 11, 10),
        "bereikt": "ja", "resultaat": "Vervolghulp en/of verwijzing financieel"}


def connect(work: Path):
    return duckdb.connect(str(work / "warehouse.duckdb"))


def dump(work: Path) -> str:
    con = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
    try:
        text = repr(con.execute("SELECT * FROM case_outcomes ORDER BY ALL").fetchall()) + \
            repr(con.execute("SELECT * FROM case_contacts ORDER BY ALL").fetchall())
    finally:
        con.close()
    return hashlib.sha256(text.encode()).hexdigest()


def vault_key(work: Path) -> bytes:
    """The identity vault's key of the session's runs (beside the pseudonym key, conftest's key_file)."""
    from pipelines.pipeline import prepare

    return prepare(work.parent / "gemeente.yaml").vault_key(create=False)


def run_import(work: Path, files: list[Path], key: bytes | None = None):
    con = connect(work)
    try:
        return import_files(con, work, files, key, vault_key(work))
    finally:
        con.close()


def quarantine(work: Path) -> list[dict]:
    path = work / "quarantine" / PERIOD / "uitkomsten.csv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# -- the list ----------------------------------------------------------------------------------------------------


def test_a_filled_in_list_is_imported_by_case(work):
    path = work["list"]
    zaken = [r["zaak"] for r in list_cells(path, ("zaak",))]
    fill(path, {2: FULL, 3: {"datum opgepakt": "12-11-2026"},
                4: {"resultaat": "Niet opgepakt: herhaalde melding"},
                5: {"toelichting": "alleen tekst: wordt niet gelezen"}})
    (r,) = run_import(work["work"], [path])
    assert (r.imported, r.unchanged, r.empty, r.quarantined) == (3, 0, len(zaken) - 3, 0)
    con = connect(work["work"])
    try:
        got = con.execute("SELECT CAST(case_id AS VARCHAR), period, datum_opgepakt, resultaat, source, "
                          "file_sha256, \"row\" FROM case_outcomes ORDER BY \"row\"").fetchall()
        contacts = con.execute("SELECT CAST(case_id AS VARCHAR), seq, soort, datum, dagdeel, bereikt "
                               "FROM case_contacts").fetchall()
        teams = {t for (t,) in con.execute("SELECT DISTINCT t.team FROM case_outcomes o JOIN case_triage t "
                                           "USING (case_id, period)").fetchall()}
    finally:
        con.close()
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    from pipelines.outreach.lists import reference

    key = vault_key(work["work"])  # the list names a case by its keyed reference
    got = [(reference(key, g[0]), *g[1:]) for g in got]
    contacts = [(reference(key, c[0]), *c[1:]) for c in contacts]
    assert got == [(zaken[0], PERIOD, date(2026, 11, 9), "Vervolghulp en/of verwijzing financieel", "lijst", sha, 2),
                   (zaken[1], PERIOD, date(2026, 11, 12), None, "lijst", sha, 3),
                   (zaken[2], PERIOD, None, "Niet opgepakt: herhaalde melding", "lijst", sha, 4)]
    assert contacts == [(zaken[0], 1, "Telefoon", date(2026, 11, 10), None, True)]
    assert teams == {work["team"]}


def test_importing_the_same_file_again_changes_nothing(work):
    path = fill(work["list"], {2: FULL, 3: {**FULL, "contactsoort": "Duif"}})
    first = run_import(work["work"], [path])
    tables, q = dump(work["work"]), (work["work"] / "quarantine" / PERIOD / "uitkomsten.csv").read_bytes()
    (again,) = run_import(work["work"], [path])
    assert (first[0].imported, again.imported, again.unchanged, again.quarantined) == (1, 0, 1, 1)
    assert dump(work["work"]) == tables
    assert (work["work"] / "quarantine" / PERIOD / "uitkomsten.csv").read_bytes() == q
    # a later version of the list replaces the case's outcome, not adds one
    fill(path, {2: {**FULL, "resultaat": "Geen reactie na eerder contact"}})
    (later,) = run_import(work["work"], [path])
    assert (later.imported, later.unchanged) == (1, 0)
    con = connect(work["work"])
    try:
        assert con.execute("SELECT count(*), min(resultaat) FROM case_outcomes").fetchone() == \
            (1, "Geen reactie na eerder contact")
        assert con.execute("SELECT count(*) FROM case_contacts").fetchone() == (1,)
    finally:
        con.close()


LIST_RULES = {
    "zaak-onbekend": {2: {"zaak": "ffffffffff", **FULL}},
    "zaak-dubbel": {2: FULL, 3: FULL},  # row 3 is given row 2's case number below
    "datum-ongeldig": {2: {**FULL, "datum opgepakt": "31-02-2026"}},
    "enum-contactsoort": {2: {**FULL, "contactsoort": "Postduif"}},
    "enum-resultaat": {2: {**FULL, "resultaat": "Opgelost"}},
    "enum-bereikt": {2: {**FULL, "bereikt": "misschien"}},
    "contact-onvolledig": {2: {**FULL, "contactdatum": None}},
    "contact-zonder-opgepakt": {2: {**FULL, "datum opgepakt": None, "resultaat": None}},
    "resultaat-zonder-opgepakt": {2: {"resultaat": "Vervolghulp en/of verwijzing"}},
    "niet-opgepakt-met-datum": {2: {"datum opgepakt": datetime(2026, 11, 9),
                                    "resultaat": "Niet opgepakt: onterecht signaal"}},
    "volgorde-opgepakt": {2: {**FULL, "datum opgepakt": datetime(2026, 1, 5), "contactdatum": datetime(2026, 1, 6)}},
    "volgorde-contact": {2: {**FULL, "contactdatum": datetime(2026, 11, 2)}},
}


@pytest.mark.parametrize("rule", sorted(LIST_RULES))
def test_each_list_rule_quarantines_the_row_with_its_id(work, rule):
    path = work["list"]
    rows = copy.deepcopy(LIST_RULES[rule])
    if rule == "zaak-dubbel":
        rows[3]["zaak"] = list_cells(path, ("zaak",))[0]["zaak"]
    fill(path, rows)
    (r,) = run_import(work["work"], [path])
    bad = 3 if rule == "zaak-dubbel" else 2
    assert r.by_rule == {rule: 1} and r.quarantined == 1
    assert r.imported == (1 if rule == "zaak-dubbel" else 0)
    (line,) = quarantine(work["work"])
    assert (line["file"], line["row"], line["rule"]) == (path.name, str(bad), rule)
    assert line["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and line["message"]
    assert rule in RULES


def test_a_list_from_elsewhere_takes_its_month_from_the_workbook(work, tmp_path):
    out = fill(work["list"], {2: FULL}, tmp_path / "ingevuld.xlsx")  # renamed, outside its folder
    (r,) = run_import(work["work"], [out])
    assert (r.imported, r.quarantined) == (1, 0)


def test_no_name_or_street_of_the_list_enters_the_warehouse_or_quarantine(work):
    path = work["list"]
    cells = list_cells(path, ("namen", "adres", "plaats"))
    names = {n.strip() for c in cells for n in (c["namen"] or "").split(";") if len(n.strip()) >= 6}
    streets = {" ".join(c["adres"].split()[:-1]) for c in cells if c["adres"] and len(c["adres"].split()) > 1}
    streets = {s for s in streets if len(s) >= 6}
    assert names and streets
    one = sorted(names)[0]
    # a name typed into every fill-in column, and in the free text
    fill(path, {2: {**FULL, "toelichting": f"gesproken met {one}"},
                3: {"datum opgepakt": one, "contactsoort": one, "contactdatum": one, "bereikt": one, "resultaat": one},
                4: {**FULL, "contactsoort": sorted(streets)[0]}})
    results = run_import(work["work"], [path])
    assert results[0].quarantined == 2
    files = [work["work"] / "warehouse.duckdb", *(work["work"] / "quarantine").rglob("*")]
    blob = b"".join(p.read_bytes() for p in files if p.is_file())
    wal = work["work"] / "warehouse.duckdb.wal"
    blob += wal.read_bytes() if wal.exists() else b""
    for value in names | streets:
        assert value.encode("utf-8") not in blob, "a name or street from the list was written"


# -- DDAS v1.2 vroegsignaalzaken ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signals(base, sources, key_file):
    """Synthetic signal IDs (from the DDAS files) with their case in the warehouse."""
    key = key_file.read_bytes()
    ids = []
    for f in sorted(sources.glob("vroegsignalen_*.json")):
        doc = json.loads(f.read_text(encoding="utf-8"))
        ids += [(s["ID"], s["signaaldatum"]) for lev in doc["leveringen"] for s in lev["vroegsignalen"]]
    con = duckdb.connect(str(base["folder"] / "work" / "warehouse.duckdb"), read_only=True)
    try:
        by_sid = {str(s): (str(c), p) for s, c, p in con.execute("SELECT sid, case_id, period FROM case_signals "
                                                                 "WHERE period = ?", [PERIOD]).fetchall()}
    finally:
        con.close()
    out: dict[str, list] = {}
    for i, day in ids:
        hit = by_sid.get(uuid_of(hmac_python(key, "vs:" + i)))
        if hit:
            out.setdefault(hit[0], []).append((i, day))
    cases = sorted(out.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return {"key": key, "cases": cases}


def ddas_file(folder: Path, zaken: list[dict]) -> Path:
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    lev = doc["leveringen"][0]
    del lev["vroegsignalen"]
    lev["vroegsignaalzaken"] = zaken
    doc["startdatumLevering"], doc["einddatumLevering"] = "2026-10-01", "2026-10-31"
    path = folder / "zaken.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def zaak(ids: list[str], **extra) -> dict:
    return {"resultaat": "(Budget)advies en/of quick fix", "matchingsdatum": "2026-11-03",
            "startdatumMatchingperiode": "2026-10-01", "einddatumMatchingperiode": "2026-10-31",
            "datumOpgepakt": "2026-11-05", "vroegsignalen": [{"ID": i} for i in ids],
            "contactpogingen": [{"soort": "Brief", "datum": "2026-11-05", "dagdeel": "Ochtend", "bereikt": False},
                                {"soort": "Huisbezoek", "datum": "2026-11-09", "dagdeel": "Middag", "bereikt": True}],
            **extra}


def test_a_ddas_vroegsignaalzaak_links_by_its_pseudonymised_signal_ids(work, signals, tmp_path):
    case_id, sigs = signals["cases"][0]
    path = ddas_file(tmp_path, [zaak([i for i, _ in sigs])])
    (r,) = run_import(work["work"], [path], signals["key"])
    assert (r.imported, r.quarantined) == (1, 0)
    con = connect(work["work"])
    try:
        assert con.execute("SELECT CAST(case_id AS VARCHAR), period, datum_opgepakt, resultaat, source, \"row\" "
                           "FROM case_outcomes").fetchall() == \
            [(case_id, PERIOD, date(2026, 11, 5), "(Budget)advies en/of quick fix", "ddas", 1)]
        assert con.execute("SELECT seq, soort, datum, dagdeel, bereikt FROM case_contacts ORDER BY seq").fetchall() == \
            [(1, "Brief", date(2026, 11, 5), "Ochtend", False), (2, "Huisbezoek", date(2026, 11, 9), "Middag", True)]
        blob = (work["work"] / "warehouse.duckdb").read_bytes()
    finally:
        con.close()
    assert not any(i.encode() in blob for i, _ in sigs)  # the raw signal ID is not kept
    tables = dump(work["work"])
    (again,) = run_import(work["work"], [path], signals["key"])
    assert (again.imported, again.unchanged) == (0, 1) and dump(work["work"]) == tables


def test_a_ddas_zaak_with_nothing_registered_is_not_filled_in_and_clears_nothing(work, signals, tmp_path):
    """A case system's delivery lists every matched case; one with no pick-up date, contact attempt or end
    result is counted as not filled in, as a list's empty row is, and leaves what was imported before."""
    case_id, sigs = signals["cases"][0]
    (first,) = run_import(work["work"], [ddas_file(tmp_path, [zaak([i for i, _ in sigs])])], signals["key"])
    assert first.imported == 1
    tables = dump(work["work"])
    bare = {k: v for k, v in zaak([i for i, _ in sigs]).items() if k not in ("resultaat", "datumOpgepakt",
                                                                            "contactpogingen")}
    later = tmp_path / "later"
    later.mkdir()
    (r,) = run_import(work["work"], [ddas_file(later, [bare])], signals["key"])
    assert (r.imported, r.unchanged, r.empty, r.quarantined) == (0, 0, 1, 0)
    assert dump(work["work"]) == tables


def _ddas_case(signals, rule):
    (_, s1), (_, s2) = signals["cases"][0], signals["cases"][1]
    ids = [i for i, _ in s1]
    last = max(d for _, d in s1)
    return {
        "ddas-schema": zaak(ids, contactpogingen=[{"soort": "Duif", "datum": "2026-11-05"}]),
        "signaal-onbekend": zaak([*ids, "VS-GEEN-SIGNAAL"]),
        "signalen-meerdere-zaken": zaak([*ids, s2[0][0]]),
        "volgorde-matching": zaak(ids, matchingsdatum=date.fromordinal(date.fromisoformat(last).toordinal() - 1)
                                  .isoformat(), datumOpgepakt="2026-11-05"),
        "volgorde-opgepakt": zaak(ids, datumOpgepakt="2026-11-01", contactpogingen=[]),
        "volgorde-contact": zaak(ids, contactpogingen=[{"soort": "Brief", "datum": "2026-11-04"}]),
        "contact-onvolledig": zaak(ids, contactpogingen=[{"soort": "Brief"}]),
        "contact-zonder-opgepakt": {k: v for k, v in zaak(ids).items() if k not in ("datumOpgepakt", "resultaat")},
        "resultaat-zonder-opgepakt": {k: v for k, v in zaak(ids, contactpogingen=[]).items() if k != "datumOpgepakt"},
        "niet-opgepakt-met-datum": zaak(ids, resultaat="Niet opgepakt: herhaalde melding", contactpogingen=[]),
    }[rule]


DDAS_RULES = ["ddas-schema", "signaal-onbekend", "signalen-meerdere-zaken", "volgorde-matching", "volgorde-opgepakt",
              "volgorde-contact", "contact-onvolledig", "contact-zonder-opgepakt", "resultaat-zonder-opgepakt",
              "niet-opgepakt-met-datum"]


@pytest.mark.parametrize("rule", DDAS_RULES)
def test_each_ddas_rule_quarantines_the_zaak_with_its_id(work, signals, tmp_path, rule):
    good = zaak([i for i, _ in signals["cases"][2][1]])
    path = ddas_file(tmp_path, [good, _ddas_case(signals, rule)])
    (r,) = run_import(work["work"], [path], signals["key"])
    assert (r.imported, r.quarantined, r.by_rule) == (1, 1, {rule: 1})
    (line,) = quarantine(work["work"])
    assert (line["file"], line["row"], line["rule"]) == ("zaken.json", "leveringen[0].vroegsignaalzaken[1]", rule)
    assert "VS-" not in line["message"] and "Duif" not in line["message"]


def test_a_ddas_file_of_another_version_or_shape_is_refused_whole(work, tmp_path):
    v09 = tmp_path / "oud.json"
    v09.write_text(json.dumps({"leveringen": [{"aanleverende_organisatie": {}}]}), encoding="utf-8")
    with pytest.raises(OutcomesError) as exc:
        run_import(work["work"], [v09], b"k" * 32)
    assert exc.value.problems == [f"{v09}: DDAS v0.9 (field leveringen[0].aanleverende_organisatie): outcomes are "
                                  "read from DDAS v1.2 vroegsignaalzaken"]
    assert not (work["work"] / "quarantine" / PERIOD / "uitkomsten.csv").exists()


# -- the command line --------------------------------------------------------------------------------------------


def test_cli_imports_and_prints_counts(work, capsys):
    path = fill(work["list"], {2: FULL, 3: {**FULL, "bereikt": "wel"}})
    n = len(list_cells(path, ("zaak",)))
    assert main(["outcomes", "--config", str(work["settings"]), str(path)]) == 0
    q = work["work"] / "quarantine" / PERIOD / "uitkomsten.csv"
    assert capsys.readouterr().out == (f"{path}: 1 imported, 0 unchanged, {n - 2} not filled in, 1 quarantined\n"
                                       f"  rule enum-bereikt: 1 row(s)\n  quarantined to {q}\n")
    assert main(["outcomes", "--config", str(work["settings"]), str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: 0 imported, 1 unchanged, {n - 2} not filled in, 1 quarantined\n")


def test_cli_refuses_a_bad_file_with_one_located_line_and_imports_nothing(work, tmp_path, capsys):
    good = fill(work["list"], {2: FULL})
    bad = tmp_path / "lijst.xlsx"
    bad.write_bytes(b"no workbook")
    assert main(["outcomes", "--config", str(work["settings"]), str(good), str(bad)]) == 1
    assert capsys.readouterr().err == f"error: {bad}: not an XLSX workbook (BadZipFile)\nnothing was imported\n"
    con = connect(work["work"])
    try:
        assert "case_outcomes" not in {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
                                       .fetchall()}
    finally:
        con.close()
    other = tmp_path / "x.csv"
    other.write_text("a\n", encoding="utf-8")
    assert main(["outcomes", "--config", str(work["settings"]), str(other)]) == 1
    assert capsys.readouterr().err == (f"error: {other}: not an outcomes file: give a wijkteam's list (.xlsx) or DDAS "
                                       "v1.2 vroegsignaalzaken (.json)\nnothing was imported\n")


def test_cli_usage_and_busy(work, capsys):
    with pytest.raises(SystemExit) as usage:
        main(["outcomes", "--config", str(work["settings"])])
    assert usage.value.code == 2
    capsys.readouterr()
    from pipelines.workdir import describe

    lock = work["work"] / ".lock"
    info = {"pid": 1, "host": "h", "command": "run", "period": PERIOD, "since": "2026-11-01T00:00:00Z"}
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, json.dumps(info).encode())
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["outcomes", "--config", str(work["settings"]), str(work["list"])]) == 75
    finally:
        os.close(fd)
    assert capsys.readouterr().err == (f"error: work directory {work['work'].resolve()} is in use by another "
                                       f"wijksignaal {describe(info)}; try again when it has finished\n")
