"""Problem domains declared once (config/domains.yaml): a fourth domain runs through every
table, relation, text and the protection; a bad declaration is a located error."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import write_settings

from pipelines.configfile import ConfigError
from pipelines.link import household_facts
from pipelines.link.domains import combinaties, load_domains
from pipelines.periods import period_bounds
from pipelines.publish import read_record
from pipelines.select.selections import load_dpia
from pipelines.settings import CONFIG_DIR

THREE = ("uitkering", "achterstand", "wmo")
FOUR = THREE + ("schuld_12m",)
SHIPPED = (CONFIG_DIR / "domains.yaml").read_text(encoding="utf-8")
BASE = len(SHIPPED.splitlines())  # the appended domain's "- id:" is on line BASE + 2

# a fourth domain (broad enough that the session's small gemeente has households with all four)
FOURTH = """
  - id: schuld_12m
    label_nl: schuldsignaal
    definition: a vroegsignaal with signaaldatum in the 12 months to {period_end}, or one with a crisissignaal
    definition_nl: een vroegsignaal in de 12 maanden tot en met het einde van de maand, of een met een crisissignaal
    reads: {vroegsignalen: [signaaldatum, crisissignaal]}
    sql: domains/schuld_12m.sql
"""
FOURTH_SQL = """-- schuld_12m: a vroegsignaal in the 12 months to the period end, or a crisissignaal
SELECT p.hid
FROM vroegsignalen v JOIN persons p USING (pid)
WHERE (v.signaaldatum > $period_end - INTERVAL 12 MONTH AND v.signaaldatum <= $period_end) OR v.crisissignaal;
"""


def config_with(folder: Path, extra: str = FOURTH, sql: str | None = FOURTH_SQL) -> Path:
    """A copy of config/ with `extra` appended to domains.yaml (and domains/schuld_12m.sql)."""
    shutil.copytree(CONFIG_DIR, folder, ignore=shutil.ignore_patterns("reference", "gemeente.yaml"))
    (folder / "domains.yaml").write_text(SHIPPED + extra, encoding="utf-8")
    if sql is not None:
        (folder / "domains" / "schuld_12m.sql").write_text(sql, encoding="utf-8")
    return folder


def problems(config: Path) -> list[str]:
    with pytest.raises(ConfigError) as e:
        load_domains(config, load_dpia(config))
    return [str(p) for p in e.value.problems]


# --- a fourth domain, end to end ----------------------------------------------------------------

@pytest.fixture(scope="module")
def four(sources, key_file, tmp_path_factory):
    """A release of the session's sources with a fourth domain."""
    from pipelines.pipeline import run_all

    folder = tmp_path_factory.mktemp("four")
    config = config_with(folder / "config")
    settings = write_settings(folder, sources, key_file, config_dir=config)
    return {"release": run_all(settings), "settings": settings, "config": config}


def test_a_fourth_domain_gives_every_combination_and_its_definition(four):
    folder = four["release"].folder
    tables = pd.read_csv(folder / "tables.csv", dtype={"value": "Int64"}, keep_default_na=False,
                         na_values={"value": [""]})
    cats = list(dict.fromkeys(tables.category[tables.table == "combinaties"]))
    assert cats == list(combinaties(FOUR)) and len(cats) == 16
    assert cats[-5:] == ["uitkering+achterstand+wmo", "uitkering+achterstand+schuld_12m",
                         "uitkering+wmo+schuld_12m", "achterstand+wmo+schuld_12m",
                         "uitkering+achterstand+wmo+schuld_12m"]
    audit = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
    d = audit["definitions"]
    assert [k for k in d if k in FOUR] == list(FOUR)
    assert d["schuld_12m"] == ("a vroegsignaal with signaaldatum in the 12 months to 2026-10-31, or one with a "
                               "crisissignaal")
    assert d["achterstand"] == "a vroegsignaal with signaaldatum from 2026-08-01 to 2026-10-31"
    assert audit["tables"]["stapeling"]["description"] == (
        "households by number of problem domains (uitkering, achterstand, wmo, schuld_12m): totaal, 0, 1, 2+, 2, 3+ "
        "(2+ = 2 + 3+)")
    assert audit["tables"]["combinaties"]["categories"] == cats
    assert [x["id"] for x in audit["rules"]["domains"]["declared"]] == list(FOUR)
    # the report names the domain with its label, from audit.json
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert '"schuld_12m": "schuldsignaal"' in html and 'schuld_12m: "schuldsignaal"' in html
    assert '"dom:schuld_12m": "schuldsignaal per 100"' in html
    assert "met Wmo, met schuldsignaal en met twee of" in html
    assert "<b>schuldsignaal</b> (een vroegsignaal in de 12 maanden tot en met het einde van de maand, of een met een " \
           "crisissignaal). Alleen aantallen" in html


def test_a_fourth_domain_is_protected(four):
    audit = json.loads((four["release"].folder / "audit.json").read_text(encoding="utf-8"))
    disclosure = audit["disclosure"]
    assert disclosure["audit"]["passed"] is True and disclosure["audit"]["provably_below_threshold"] == 0
    disclosure = read_record(four["release"].folder)["disclosure"]  # rule C1: the counts are in the record
    assert disclosure["audit"]["small_atoms_audited"] > 0 and disclosure["secondary_suppression"]["cells"] > 0


def test_earlier_standard_tables_have_this_definition_only_with_the_same_domains(four, release):
    """An earlier release of the period with three domains: its stapeling and combinaties cells are
    of another definition than a run with four (counted, never related as the same cells); with the
    shipped three they are the same; an audit.json that predates the declaration was made with the
    achterstand domain before it read address-linked signals (DDAS v1.2): another definition."""
    from pipelines.pipeline import prepare, stage_tabulate
    from pipelines.protect import _what_earlier_published
    from privacy.earlier import EarlierRelease

    three = release["release"]
    audit = json.loads((three.folder / "audit.json").read_text(encoding="utf-8"))
    old = pd.read_csv(three.folder / "tables.csv", keep_default_na=False)
    standard = old[old.table.isin(["stapeling", "combinaties"]) & (old.status == "published")]
    run = prepare(four["settings"])
    same, _, counts = _what_earlier_published(run, stage_tabulate(run), [EarlierRelease(three.release_id,
                                                                                        three.folder, audit)])
    assert counts["cells_without_a_definition_to_relate"] == len(standard) > 0
    assert not same.table.isin(["stapeling", "combinaties"]).any()
    run = prepare(release["settings"])
    tab = stage_tabulate(run)
    before = {**audit, "rules": {k: v for k, v in audit["rules"].items() if k != "domains"}}
    same, _, counts = _what_earlier_published(run, tab, [EarlierRelease(three.release_id, three.folder, audit)])
    assert counts["cells_without_a_definition_to_relate"] == 0
    assert same.table.isin(["stapeling", "combinaties"]).sum() == len(standard)
    same, _, counts = _what_earlier_published(run, tab, [EarlierRelease(three.release_id, three.folder, before)])
    assert counts["cells_without_a_definition_to_relate"] == len(standard)
    assert not same.table.isin(["stapeling", "combinaties"]).any()


def test_stapeling_3plus_counts_households_with_three_or_four_domains(four):
    from pipelines.pipeline import prepare, stage_tabulate
    from pipelines.tabulate import additivity_violations
    from privacy.relations import build, check

    run = prepare(four["settings"])
    assert run.domains.ids == FOUR
    cells = stage_tabulate(run).cells
    assert additivity_violations(cells, FOUR) == []
    rels = [r for r in build(cells, run.buurten()) if r.kind == "stapeling=combinaties"]
    assert len(rels) == 3 * cells[cells.table == "stapeling"][["level", "area_code"]].drop_duplicates().shape[0]
    assert check(cells, rels) == []
    con = run.connect()
    try:
        facts = dict(con.execute("SELECT n_domeinen, count(*) FROM household_facts WHERE period = '2026-10' "
                                 "GROUP BY 1").fetchall())
    finally:
        con.close()
    gm = cells[cells.level == "gemeente"].set_index(["table", "category"]).value
    assert facts.get(4, 0) > 0 and facts.get(3, 0) > 0
    assert gm["stapeling", "3+"] == facts[3] + facts[4]
    assert gm["combinaties", "uitkering+achterstand+wmo+schuld_12m"] == facts[4]
    assert gm["stapeling", "3+"] == sum(gm["combinaties", c] for c in combinaties(FOUR) if c.count("+") >= 2)


def test_the_register_lists_the_fourth_domain_and_what_it_reads(four, tmp_path, capsys):
    import csv

    from pipelines.cli import main

    assert main(["register", "--config-dir", str(four["config"]), "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    standard = list(csv.DictReader((tmp_path / "register.csv").open(encoding="utf-8")))[0]
    assert standard["velden"] == ("brp.huishouden; uitkeringen.ingangsdatum; uitkeringen.einddatum; "
                                  "vroegsignalen.signaaldatum; vroegsignalen.crisissignaal; wmo.ingangsdatum; "
                                  "wmo.einddatum")
    entry = json.loads((tmp_path / "algoritmeregister" / "stapeling-standaardtabellen.json").read_text("utf-8"))
    assert entry["criteria"][-1] == ("schuld_12m: een vroegsignaal in de 12 maanden tot en met het einde van de "
                                     "maand, of een met een crisissignaal")
    assert entry["korte_omschrijving"] == ("Per buurt, wijk en gemeente het aantal huishoudens met 0, 1, 2 of 3 of "
                                           "meer probleemdomeinen en met elke combinatie van domeinen.")
    shipped = tmp_path / "shipped"
    assert main(["register", "--out", str(shipped)]) == 0
    capsys.readouterr()
    other = json.loads((shipped / "algoritmeregister" / "stapeling-standaardtabellen.json").read_text("utf-8"))
    assert other["versie"] != entry["versie"]  # the domain declaration is part of the version


# --- the shipped declaration ----------------------------------------------------------------------

OLD_ACHTERSTAND = ("-- achterstand: a vroegsignaal with signaaldatum in the look-back window that ends at the\n"
                   "-- period end (achterstand_lookback_months months).\nSELECT p.hid\n"
                   "FROM vroegsignalen v JOIN persons p USING (pid)\n"
                   "WHERE v.signaaldatum BETWEEN $lookback_start AND $period_end")


def test_the_shipped_domains_are_the_three_of_the_standard_tables_as_they_were():
    from pipelines.protect import BUILT_IN_DOMAINS

    domains = load_domains(CONFIG_DIR, load_dpia(CONFIG_DIR))
    assert domains.ids == THREE
    assert domains.columns == ["period", "hid", "buurtcode", "n_personen", "n_minderjarigen", "n_75plus",
                               "uitkering", "achterstand", "wmo", "n_domeinen"]
    # earlier releases name no declaration: they were made with the three domains as they were until the
    # achterstand domain read each signal's household from the link stage (DDAS v1.2 clients identified by
    # address count too): the shipped declaration is another definition now
    before = [[d.id, OLD_ACHTERSTAND if d.id == "achterstand" else d.query] for d in domains.declared]
    assert hashlib.sha256(json.dumps(before).encode("utf-8")).hexdigest() == BUILT_IN_DOMAINS
    assert domains.definition_sha256 != BUILT_IN_DOMAINS
    assert domains.reads() == {"uitkeringen": ["ingangsdatum", "einddatum"], "vroegsignalen": ["signaaldatum"],
                               "wmo": ["ingangsdatum", "einddatum"]}


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE households (hid UUID, buurtcode VARCHAR, n_personen INTEGER, n_minderjarigen INTEGER, "
                "n_75plus INTEGER)")
    con.execute("CREATE TABLE persons (pid UUID, hid UUID)")
    con.execute("CREATE TABLE uitkeringen (pid UUID, ingangsdatum DATE, einddatum DATE)")
    con.execute("CREATE TABLE vroegsignalen (pid UUID, signaaldatum DATE, crisissignaal BOOLEAN)")
    con.execute("CREATE TABLE wmo (pid UUID, ingangsdatum DATE, einddatum DATE)")
    for i in range(1, 4):
        con.execute(f"INSERT INTO households VALUES ('00000000-0000-0000-0000-00000000000{i}', 'BU1', 1, 0, 0)")
        con.execute(f"INSERT INTO persons VALUES ('00000000-0000-0000-0000-00000000010{i}', "
                    f"'00000000-0000-0000-0000-00000000000{i}')")
    # household 1: uitkering and two signals in the look-back window; household 2: an older crisis signal
    # (within 12 months); household 3: nothing
    con.execute("INSERT INTO uitkeringen VALUES ('00000000-0000-0000-0000-000000000101', '2020-01-01', NULL)")
    con.execute("INSERT INTO vroegsignalen VALUES ('00000000-0000-0000-0000-000000000101', '2026-10-03', true), "
                "('00000000-0000-0000-0000-000000000101', '2026-09-03', false), "
                "('00000000-0000-0000-0000-000000000102', '2026-01-03', true)")
    # as the link stage leaves it: each signal carries its household (here all by their person)
    con.execute("ALTER TABLE vroegsignalen ADD COLUMN hid UUID")
    con.execute("UPDATE vroegsignalen v SET hid = p.hid FROM persons p WHERE p.pid = v.pid")
    return con


def test_household_facts_follow_the_declaration_and_are_made_anew_when_it_changes(tmp_path):
    con = _warehouse()
    bounds = period_bounds("2026-10", 3)
    household_facts(con, load_domains(CONFIG_DIR), bounds)
    assert con.execute("SELECT * EXCLUDE (period, hid, buurtcode, n_personen, n_minderjarigen, n_75plus) "
                       "FROM household_facts ORDER BY hid").fetchall() == [
        (True, True, False, 2), (False, False, False, 0), (False, False, False, 0)]
    four = load_domains(config_with(tmp_path / "config"))
    household_facts(con, four, bounds)  # the table of three domains is made anew
    assert [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = "
                                      "'household_facts' ORDER BY column_index").fetchall()] == four.columns
    assert con.execute("SELECT uitkering, achterstand, wmo, schuld_12m, n_domeinen FROM household_facts "
                       "ORDER BY hid").fetchall() == [(True, True, False, True, 3), (False, False, False, True, 1),
                                                      (False, False, False, False, 0)]


def test_a_select_that_does_not_run_names_its_file(tmp_path):
    config = config_with(tmp_path / "config", sql="SELECT p.hid FROM vroegsignalen v JOIN persons p USING (pid) "
                                                  "WHERE v.crisis_signaal\n")
    with pytest.raises(ConfigError) as e:
        household_facts(_warehouse(), load_domains(config), period_bounds("2026-10", 3))
    assert [str(p) for p in e.value.problems] == [
        f"{config / 'domains' / 'schuld_12m.sql'}: domain 'schuld_12m': the SELECT does not run: Binder Error: Table "
        '"v" does not have a column named "crisis_signaal"']


# --- located errors -----------------------------------------------------------------------------

def test_a_domain_id_that_is_no_column_name_is_refused_with_its_line(tmp_path):
    config = config_with(tmp_path / "config", FOURTH.replace("id: schuld_12m", "id: Crisis-signaal"))
    assert problems(config) == [
        f"{config / 'domains.yaml'}:{BASE + 2}: domains.3.id: Value error, 'Crisis-signaal' must match "
        "^[a-z][a-z0-9_]*$ (lower-case letters, digits and _, at most 40; it is a column name)"]
    config = config_with(tmp_path / "config2", FOURTH.replace("id: schuld_12m", "id: n_domeinen"))
    assert problems(config)[0].startswith(
        f"{config / 'domains.yaml'}:{BASE + 2}: domains.3.id: Value error, 'n_domeinen' is a name the tables use "
        "themselves; reserved: achterstand_lookback_months, buurtcode, combinaties, ")


def test_a_missing_sql_file_is_refused_with_its_line(tmp_path):
    config = config_with(tmp_path / "config", sql=None)
    assert problems(config) == [
        f"{config / 'domains.yaml'}:{BASE + 7}: domains.3.sql: file 'schuld_12m.sql' not found in {config / 'domains'}"]


def test_an_unknown_key_is_refused_with_a_suggestion(tmp_path):
    config = config_with(tmp_path / "config", FOURTH.replace("label_nl:", "lable_nl:"))
    assert problems(config) == [
        f"{config / 'domains.yaml'}:{BASE + 2}: domains.3.label_nl: required key is missing",
        f"{config / 'domains.yaml'}:{BASE + 3}: domains.3.lable_nl: unknown key 'lable_nl'; did you mean "
        "'label_nl'?; allowed: definition, definition_nl, explanation_nl, id, label_nl, reads, sql, with_nl"]


@pytest.mark.parametrize("change, line, message", [
    (("id: schuld_12m", "id: wmo"), 2, "domains.3.id: domain 'wmo' is declared twice (first as domains.2); keep one"),
    (("[signaaldatum, crisissignaal]", "[signaaldatum, bedrag]"), 6,
     "domains.3.reads.vroegsignalen: bedrag: not allowed by the stapeling purpose 'stapelingsmonitor' (dpia.yaml "
     "allows vroegsignalen: signaalpartner, crisissignaal, signaaldatum)"),
    (("{period_end}", "{peildatum}"), 4, "domains.3.definition: Value error, unknown placeholder {peildatum}; "
     "allowed here: {period_start}, {period_end}, {lookback_start}, {lookback_months}"),
    (("tot en met het einde van de maand", "tot {period_end}"), 5, "domains.3.definition_nl: Value error, unknown "
     "placeholder {period_end}; allowed here: {lookback_months}"),
    (("sql: domains/schuld_12m.sql", "sql: ../schuld_12m.sql"), 7,
     "domains.3.sql: Value error, must be a file next to domains.yaml (a relative path without '..')"),
])
def test_other_declaration_errors_are_located(tmp_path, change, line, message):
    config = config_with(tmp_path / "config", FOURTH.replace(*change))
    assert problems(config) == [f"{config / 'domains.yaml'}:{BASE + line}: {message}"]


@pytest.mark.parametrize("sql, message", [
    ("SELECT 1 AS hid; DELETE FROM persons", "must hold exactly one SELECT statement (found 2 statement(s))"),
    ("DELETE FROM persons", "must hold exactly one SELECT statement (found 1 statement(s))"),
    ("SELECT hid FROM persons WHERE $peildatum", "uses parameter(s) $peildatum; allowed: $period, $period_start, "
     "$period_end, $lookback_start"),
    ("SELEC hid FROM persons", 'is not valid SQL: Parser Error: syntax error at or near "SELEC"'),
])
def test_a_sql_file_must_hold_one_select(tmp_path, sql, message):
    config = config_with(tmp_path / "config", sql=sql)
    assert problems(config) == [f"{config / 'domains.yaml'}:{BASE + 7}: domains.3.sql: 'schuld_12m.sql' {message}"]


def test_a_run_collects_domain_problems_with_the_others(tmp_path, sources, key_file, capsys):
    from pipelines.cli import main

    config = config_with(tmp_path / "config", FOURTH.replace("id: schuld_12m", "id: Crisis"))
    src = config / "sources.yaml"
    lines = src.read_text(encoding="utf-8").splitlines()
    src.write_text("\n".join(lines + ["bogus: 1"]) + "\n", encoding="utf-8")
    settings = write_settings(tmp_path, sources, key_file, config_dir=config)
    assert main(["run", "--config", str(settings)]) == 1
    y = config / "domains.yaml"
    domain = (f"{y}:{BASE + 2}: domains.3.id: Value error, 'Crisis' must match ^[a-z][a-z0-9_]*$ (lower-case "
              "letters, digits and _, at most 40; it is a column name)")
    sources_problem = f"{src}:{len(lines) + 1}: bogus: unknown key 'bogus'; allowed: sources"
    assert capsys.readouterr().err == f"error: {sources_problem}\nerror: {domain}\nnothing was published\n"
    assert main(["check", "--config-dir", str(config)]) == 1
    assert capsys.readouterr().err == f"{sources_problem}\n{domain}\n2 problem(s) found\n"
