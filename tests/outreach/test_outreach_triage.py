"""Triage rules and teams: order, located errors, team mapping, deadlines and expiry."""

from datetime import date
from pathlib import Path

import pytest
from outreach_tiny import BUURTEN, rows, signal, u, warehouse

from pipelines.configfile import ConfigError
from pipelines.outreach.cases import MatchingError, match_cases
from pipelines.outreach.deadlines import Terms, load_terms
from pipelines.outreach.triage import json_schemas, load_teams, load_triage, team_of_buurten, triage_cases

CONFIG = Path(__file__).resolve().parents[2] / "config"
TERMS = Terms(terms={"crisis": 2, "telefoon": 5, "brief": 10})
RULES = """\
rules:
  - id: crisis
    description: crisis
    when: {crisis: true}
    action: huisbezoek
    priority: 1
    term: crisis
    expiry_months: 3
  - id: meervoudig
    description: meervoudig
    when: {meervoudig: true}
    action: telefoon
    priority: 2
    term: telefoon
    expiry_months: 1
  - id: huur-hoog
    description: huur, hoog bedrag
    when: {partner_in: [Huur], min_totaal_bedrag: 1000}
    action: telefoon
    priority: 2
    term: telefoon
    expiry_months: 1
  - id: herhaald
    description: herhaald
    when: {herhaalde_melding: true}
    action: geen_actie
    priority: 3
    expiry_months: 1
  - id: standaard
    description: standaard
    action: brief
    priority: 3
    term: brief
    expiry_months: 0
"""
TEAMS = """\
gemeente: GM0164
teams:
  centrum:
    name: Centrum
    wijken: [WK016400]
  noord:
    name: Noord
    wijken: [WK016401, WK016402]
    buurten: [BU01640001]
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def problems(call, *args):
    with pytest.raises(ConfigError) as e:
        call(*args)
    return [str(p) for p in e.value.problems]


@pytest.fixture
def config(tmp_path):
    return load_triage(write(tmp_path, "triage.yaml", RULES), TERMS), load_teams(write(tmp_path, "teams.yaml", TEAMS))


def triaged(con, period):
    got = con.execute("SELECT c.hid::VARCHAR, t.team, t.action, t.priority, t.term, t.deadline, t.expires, t.rule, "
                      "t.rules_fired FROM case_triage t JOIN cases c USING (case_id, period) WHERE t.period = ?",
                      [period]).fetchall()
    return {hid: rest for hid, *rest in got}


def test_first_matching_rule_decides_and_every_matching_rule_is_recorded(config):
    con = warehouse({"anna": "h1", "bert": "h1", "cees": "h2", "dirk": "h3", "eva": "h4", "fred": "h5"},
                    {"h2": "BU01640001", "h3": "BU01640100", "h4": "BU01640200"})
    signal(con, "a", "anna", "Huur", 1200, "2026-12-23", crisis=True)   # crisis and meervoudig and huur-hoog
    signal(con, "b", "bert", "Zorg", 100, "2026-12-24")
    signal(con, "c", "cees", "Huur", 1000, "2026-12-24")                # huur-hoog: exactly 1000
    signal(con, "d", "dirk", "Huur", 999, "2026-12-24")                 # below: the default
    signal(con, "e0", "eva", "Zorg", 100, "2026-11-02")
    signal(con, "e1", "eva", "Zorg", 100, "2026-12-01")                 # herhaald
    signal(con, "f", "fred", "Energie", None, "2026-12-31")
    match_cases(con, "2026-12")
    got = triage_cases(con, "2026-12", *config, TERMS)
    assert (got.cases, got.by_action) == (5, {"brief": 2, "geen_actie": 1, "huisbezoek": 1, "telefoon": 1})
    t = triaged(con, "2026-12")
    assert t[u("h1")] == ["centrum", "huisbezoek", 1, "crisis", date(2026, 12, 28), date(2027, 3, 31), "crisis",
                          ["crisis", "meervoudig", "huur-hoog", "standaard"]]
    assert t[u("h2")] == ["noord", "telefoon", 2, "telefoon", date(2027, 1, 4), date(2027, 1, 31), "huur-hoog",
                          ["huur-hoog", "standaard"]]  # BU01640001 is in wijk WK016400 but listed by noord
    assert t[u("h3")][1:2] + t[u("h3")][7:] == ["brief", ["standaard"]]
    assert t[u("h4")] == ["noord", "geen_actie", 3, None, None, date(2027, 1, 31), "herhaald", ["herhaald", "standaard"]]
    assert t[u("h5")][:7] == ["centrum", "brief", 3, "brief", date(2027, 1, 15), date(2026, 12, 31), "standaard"]


def test_triage_is_deterministic_and_replaces_the_month(config):
    con = warehouse({"anna": "h1", "bert": "h2"})
    signal(con, "a", "anna", "Zorg", 100, "2026-10-05")
    signal(con, "b", "bert", "Zorg", 100, "2026-10-06", crisis=True)
    match_cases(con, "2026-10")
    first = triage_cases(con, "2026-10", *config, TERMS)
    before = rows(con, "case_triage")
    assert triage_cases(con, "2026-10", *config, TERMS) == first
    assert rows(con, "case_triage") == before and len(before) == 2


def test_expiry_from_triage_decides_carry_over(config):
    con = warehouse({"anna": "h1", "bert": "h2"})
    signal(con, "a9", "anna", "Zorg", 100, "2026-09-05", crisis=True)  # crisis: open 3 more months
    signal(con, "b9", "bert", "Zorg", 100, "2026-09-05")               # standaard: expires end of September
    signal(con, "a10", "anna", "Water", 50, "2026-10-05")
    signal(con, "b10", "bert", "Water", 50, "2026-10-05")
    match_cases(con, "2026-09")
    triage_cases(con, "2026-09", *config, TERMS)
    got = match_cases(con, "2026-10")
    assert (got.new_cases, got.carried_over) == (1, 1)
    opened = dict(con.execute("SELECT hid::VARCHAR, opened FROM cases WHERE period = '2026-10'").fetchall())
    assert opened == {u("h1"): "2026-09", u("h2"): "2026-10"}


def test_triage_needs_a_matched_month(config):
    con = warehouse({"anna": "h1"})
    with pytest.raises(MatchingError, match="no cases matched for 2026-10: match the month first"):
        triage_cases(con, "2026-10", *config, TERMS)


def test_a_typo_in_a_key_names_file_line_and_the_key_meant(tmp_path):
    p = write(tmp_path, "triage.yaml", RULES.replace("    priority: 2\n    term: telefoon\n    expiry_months: 1\n  - id: huur",
                                                     "    priorty: 2\n    term: telefoon\n    expiry_months: 1\n  - id: huur")
              .replace("{meervoudig: true}", "{meervoudg: true}"))
    got = problems(load_triage, p)
    assert any(g.startswith(f"{p}:11: rules.1.when.meervoudg: unknown key 'meervoudg'; did you mean 'meervoudig'?") for g in got)
    assert any(g.startswith(f"{p}:13: rules.1.priorty: unknown key 'priorty'; did you mean 'priority'?") for g in got)
    assert f"{p}:9: rules.1.priority: required key is missing" in got


def test_unknown_term_partner_and_action(tmp_path):
    p = write(tmp_path, "triage.yaml", RULES.replace("term: telefoon", "term: telefon", 1)
              .replace("action: huisbezoek", "action: bezoek"))
    got = problems(load_triage, p)
    assert got[0].startswith(f"{p}:5: rules.0.action: Input should be 'brief', 'telefoon', 'huisbezoek' or 'geen_actie'")
    p1 = write(tmp_path, "triage1.yaml", RULES.replace("[Huur]", "[Huurr]"))
    assert problems(load_triage, p1) == [  # the partners: the code list declared in sources.yaml
        f"{p1}:18: rules.2.when.partner_in.0: unknown signal partner 'Huurr'; did you mean 'Huur'? partners: Energie, "
        "Huur, Hypotheek, CAK Zorgverzekeringen, Zorg, Water, DUO, Belastingdienst, CAK Eigen bijdrage, Overige, "
        "Dienst Toeslagen"]
    p2 = write(tmp_path, "triage2.yaml", RULES.replace("term: telefoon", "term: telefon", 1))
    assert problems(load_triage, p2, TERMS) == [
        f"{p2}:14: rules.1.term: unknown term 'telefon'; did you mean 'telefoon'? terms: brief, crisis, telefoon"]


def test_every_case_gets_a_decision(tmp_path):
    no_default = write(tmp_path, "a.yaml", RULES.replace("    action: brief\n", "    when: {crisis: false}\n    action: brief\n"))
    assert problems(load_triage, no_default) == [
        f"{no_default}:29: the last rule ('standaard') has conditions, so a case that no rule matches would have no "
        "decision; end with a default rule without `when`"]
    early = write(tmp_path, "b.yaml", RULES.replace("    when: {herhaalde_melding: true}\n", ""))
    assert problems(load_triage, early) == [
        f"{early}:23: rules.3 ('herhaald') has no conditions, so it decides every case: the rules after it "
        "(standaard) could never fire; give it conditions or move it last"]
    term = write(tmp_path, "c.yaml", RULES.replace("    action: geen_actie\n", "    action: geen_actie\n    term: brief\n"))
    assert problems(load_triage, term) == [f"{term}:23: rules.3: Value error, action geen_actie has no deadline: "
                                           "leave out term"]


def test_a_buurt_in_no_team_is_an_error_unless_there_is_a_fallback(tmp_path):
    p = write(tmp_path, "teams.yaml", TEAMS.replace("WK016401, WK016402", "WK016401"))
    assert problems(team_of_buurten, load_teams(p), BUURTEN) == [
        f"{p}:2: teams: 1 buurt(en) of GM0164 in no team: BU01640200; add them (or their wijk) to a team, or "
        "declare a `fallback` team"]
    with_fallback = write(tmp_path, "teams2.yaml", TEAMS.replace("WK016401, WK016402", "WK016401") + "fallback: centrum\n")
    assert team_of_buurten(load_teams(with_fallback), BUURTEN) == {
        "BU01640000": "centrum", "BU01640001": "noord", "BU01640100": "noord", "BU01640200": "centrum"}


def test_a_case_outside_the_gemeentes_buurten_needs_the_fallback(tmp_path, config):
    con = warehouse({"anna": "h1", "bert": "h2"}, {"h2": "BU03630000"})  # Amsterdam: not in Hengelo's teams
    signal(con, "a", "anna", "Zorg", 100, "2026-10-05")
    signal(con, "b", "bert", "Zorg", 100, "2026-10-06")
    match_cases(con, "2026-10")
    assert problems(triage_cases, con, "2026-10", *config, TERMS) == [
        f"{config[1].path}:2: teams: 1 case(s) of 2026-10 are at an address without a buurt of GM0164 (no buurt, or "
        "one of another gemeente) and there is no `fallback` team for them"]
    assert rows(con, "case_triage") == []
    fallback = load_teams(write(tmp_path, "teams2.yaml", TEAMS + "fallback: noord\n"))
    triage_cases(con, "2026-10", config[0], fallback, TERMS)
    assert {k: v[0] for k, v in triaged(con, "2026-10").items()} == {u("h1"): "centrum", u("h2"): "noord"}


def test_team_codes_are_checked(tmp_path):
    p = write(tmp_path, "teams.yaml", TEAMS.replace("WK016401, WK016402", "WK016401, WK016400, WK016409, WK036300")
              + "fallback: centrun\n")
    assert problems(load_teams, p) == [
        f"{p}:8: teams.noord.wijken.1: WK016400 is also in team 'centrum'; a wijk belongs to one team",
        f"{p}:8: teams.noord.wijken.3: WK036300 is not in gemeente GM0164",
        f"{p}:10: fallback: unknown team 'centrun'; did you mean 'centrum'? teams: centrum, noord"]
    unknown = write(tmp_path, "teams2.yaml", TEAMS.replace("WK016401, WK016402", "WK016401, WK016402, WK016409"))
    assert problems(team_of_buurten, load_teams(unknown), BUURTEN) == [
        f"{unknown}:8: teams.noord.wijken.2: WK016409 is not a wijk of gemeente GM0164; did you mean 'WK016402'?"]
    typo = write(tmp_path, "teams3.yaml", TEAMS.replace("wijken: [WK016400]", "wijkken: [WK016400]"))
    assert problems(load_teams, typo)[0].startswith(f"{typo}:5: teams.centrum.wijkken: unknown key 'wijkken'; "
                                                    "did you mean 'wijken'?")


def test_shipped_triage_and_teams_load_and_cover_hengelo():
    terms = load_terms(CONFIG / "terms.yaml")
    triage = load_triage(CONFIG / "triage.yaml", terms)
    assert [r.id for r in triage.triage.rules][0] == "crisis" and triage.triage.rules[-1].when.is_empty()
    teams = load_teams(CONFIG / "teams.yaml")
    import csv

    with (CONFIG / "reference" / "cbs_buurten_2014.csv").open(encoding="utf-8") as fh:
        hengelo = [(r["buurtcode"], r["wijkcode"]) for r in csv.DictReader(fh) if r["gemeentecode"] == "GM0164"]
    mapping = team_of_buurten(teams, hengelo)
    assert len(mapping) == 62 and set(mapping.values()) == {"centrum-noord", "oost", "zuid", "west"}


def test_published_json_schemas_are_current():
    for name, text in json_schemas().items():
        assert (CONFIG / f"{name}.schema.json").read_text(encoding="utf-8") == text
