"""Triage of cases into werkbakjes: YAML rules (config/triage.yaml) and wijkteams
(config/teams.yaml), parsed strictly and checked like selections (file:line, did-you-mean).

A rule has conditions on a case's facts of the month (`when`, every condition must hold; see
cases.py for their meaning) and a decision: an action, a priority (1 is the most urgent), a
term (a name in config/terms.yaml: the deadline is that many working days after the month's
first signal) and an expiry (how many months after this month the case stays open, so that
new signals at the address join it instead of opening a new case).

Rules are tried in the file's order and the **first whose conditions hold decides**; every rule
whose conditions hold is recorded too (`rules_fired`), for the reasons on the list.

**Every case gets a decision.** The last rule must have no conditions (it is the default) and
no earlier rule may lack them (the rules after it could never fire). Both are checked when the
file is read, with the line of the rule, so a missing default is found before any case is
triaged, never discovered by a case that falls through at run time.

The team of a case follows from its buurt: a team lists wijken (every buurt in them) and/or
buurten (a buurt listed by a team goes to that team, even when its wijk is another team's).
Every buurt of the gemeente must have a team, or teams.yaml declares a `fallback` team; a
code that is not a buurt or wijk of the gemeente is an error with its line.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import duckdb
import pandas as pd
from pydantic import Field, StringConstraints, model_validator

from pipelines.configfile import ConfigError, Problem, Strict, YamlDoc, file_sha256, parse_model, read_yaml
from pipelines.outreach.cases import MatchingError, check_period, ensure_tables
from pipelines.outreach.deadlines import Deadlines, Terms, check_term
from pipelines.outreach.sql import sql
from pipelines.periods import period_bounds

ACTIONS = ("brief", "telefoon", "huisbezoek", "geen_actie")
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,40}$")]
TeamId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,40}$")]
BuurtCode = Annotated[str, StringConstraints(pattern=r"^BU\d{8}$")]
WijkCode = Annotated[str, StringConstraints(pattern=r"^WK\d{6}$")]


class When(Strict):
    """Conditions on a case's facts of the month; all must hold. No conditions: every case."""

    meervoudig: bool | None = Field(default=None, description="2 or more signals at the address this month")
    opeenvolgend: bool | None = Field(default=None, description="a signal at the address in the 6 months before")
    crisis: bool | None = Field(default=None, description="a crisissignaal this month")
    herhaalde_melding: bool | None = Field(default=None, description="every signal this month is a herhaalde melding")
    partner_in: list[str] | None = Field(default=None, min_length=1,
                                         description="a signal this month from one of these partner types (the code "
                                                     "list of vroegsignalen.signaalpartner in sources.yaml)")
    min_totaal_bedrag: int | None = Field(default=None, ge=0, description="this month's amounts add up to at least")
    min_signalen: int | None = Field(default=None, ge=1, description="at least this many signals this month")

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in type(self).model_fields)

    def to_sql(self, params: list) -> str:
        """A condition over `cases c` from fixed fragments; every value is a bound parameter."""
        conds = []
        for flag in ("meervoudig", "opeenvolgend", "crisis", "herhaalde_melding"):
            if getattr(self, flag) is not None:
                conds.append(f"c.{flag} = ?")
                params.append(getattr(self, flag))
        if self.partner_in is not None:
            conds.append("list_has_any(c.partners, ?::VARCHAR[])")
            params.append(list(self.partner_in))
        if self.min_totaal_bedrag is not None:
            conds.append("c.totaal_bedrag >= ?")
            params.append(self.min_totaal_bedrag)
        if self.min_signalen is not None:
            conds.append("c.n_signalen >= ?")
            params.append(self.min_signalen)
        return f"coalesce({' AND '.join(conds)}, false)" if conds else "true"


class Rule(Strict):
    id: RuleId
    description: str = Field(description="why, in plain Dutch: shown on the list as the reason")
    when: When = Field(default_factory=When)
    action: Literal[ACTIONS]  # type: ignore[valid-type]
    priority: int = Field(ge=1, le=3, description="1 is the most urgent")
    term: str | None = Field(default=None, description="a term of config/terms.yaml; not for geen_actie")
    expiry_months: int = Field(ge=0, le=24, description="months after this month that the case stays open")

    @model_validator(mode="after")
    def _term(self) -> Rule:
        if self.action == "geen_actie" and self.term is not None:
            raise ValueError("action geen_actie has no deadline: leave out term")
        if self.action != "geen_actie" and self.term is None:
            raise ValueError(f"action {self.action} needs a term (a name in config/terms.yaml)")
        return self


class Triage(Strict):
    """The gemeente's triage rules, tried in order; the first whose conditions hold decides."""

    rules: list[Rule] = Field(min_length=1)


class Team(Strict):
    name: str = Field(description="the team's name as on its list")
    wijken: list[WijkCode] = Field(default_factory=list, description="every buurt of these wijken")
    buurten: list[BuurtCode] = Field(default_factory=list, description="these buurten (over their wijk's team)")


class Teams(Strict):
    """Wijkteams and the buurten they serve."""

    gemeente: str = Field(pattern=r"^(GM\d{4}|NL)$", description="the gemeente (NL: the country run, every gemeente)")
    teams: dict[TeamId, Team] = Field(min_length=1)
    fallback: str | None = Field(default=None, description="the team of a buurt no team lists")


@dataclass(frozen=True)
class LoadedTriage:
    triage: Triage
    path: Path
    version: str  # sha256 of the file


@dataclass(frozen=True)
class LoadedTeams:
    teams: Teams
    path: Path
    version: str
    doc: YamlDoc = field(repr=False)


def _did_you_mean(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def signal_partners(config_dir: Path) -> tuple[str, ...]:
    """The kinds of signal partner (the code list of vroegsignalen.signaalpartner, declared once in
    the sources.yaml next to triage.yaml, or the shipped one)."""
    from pipelines.select.catalogue import catalogue_of, shipped
    from pipelines.settings import load_sources

    cat = catalogue_of(load_sources(config_dir)) if (config_dir / "sources.yaml").exists() else shipped()
    return cat["vroegsignalen"].fields["signaalpartner"].values


def load_triage(path: Path | str, terms: Terms | None = None) -> LoadedTriage:
    """Read triage.yaml; with `terms`, every rule's term must be one of them."""
    doc = read_yaml(path)
    triage = parse_model(Triage, doc)
    where = str(doc.path)
    partners = signal_partners(Path(doc.path).parent)
    problems = []
    seen: dict[str, int] = {}
    for i, rule in enumerate(triage.rules):
        if rule.id in seen:
            problems.append(Problem(where, doc.line_of(("rules", i, "id")),
                                    f"rules.{i}.id: '{rule.id}' is also rule {seen[rule.id]}; rule ids are unique"))
        seen.setdefault(rule.id, i)
        if rule.when.is_empty() and i < len(triage.rules) - 1:
            later = ", ".join(r.id for r in triage.rules[i + 1:])
            problems.append(Problem(where, doc.line_of(("rules", i)),
                                    f"rules.{i} ('{rule.id}') has no conditions, so it decides every case: the "
                                    f"rules after it ({later}) could never fire; give it conditions or move it last"))
        for j, partner in enumerate(rule.when.partner_in or []):
            if partner not in partners:
                problems.append(Problem(where, doc.line_of(("rules", i, "when", "partner_in", j)),
                                        f"rules.{i}.when.partner_in.{j}: unknown signal partner '{partner}'; "
                                        f"{_did_you_mean(partner, list(partners))}partners: {', '.join(partners)}"))
        if terms is not None and rule.term is not None and (msg := check_term(rule.term, terms)):
            problems.append(Problem(where, doc.line_of(("rules", i, "term")), f"rules.{i}.term: {msg}"))
    last = triage.rules[-1]
    if not last.when.is_empty():
        problems.append(Problem(where, doc.line_of(("rules", len(triage.rules) - 1)),
                                f"the last rule ('{last.id}') has conditions, so a case that no rule matches would "
                                "have no decision; end with a default rule without `when`"))
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    return LoadedTriage(triage, doc.path, file_sha256(doc.path))


def load_teams(path: Path | str) -> LoadedTeams:
    doc = read_yaml(path)
    teams = parse_model(Teams, doc)
    where, digits = str(doc.path), teams.gemeente[2:]
    problems = []
    if teams.fallback is not None and teams.fallback not in teams.teams:
        problems.append(Problem(where, doc.line_of(("fallback",)),
                                f"fallback: unknown team '{teams.fallback}'; "
                                f"{_did_you_mean(teams.fallback, list(teams.teams))}teams: {', '.join(teams.teams)}"))
    owner: dict[str, str] = {}
    for team_id, team in teams.teams.items():
        if not team.wijken and not team.buurten and team_id != teams.fallback:
            problems.append(Problem(where, doc.line_of(("teams", team_id)),
                                    f"teams.{team_id}: lists no wijken or buurten (and is not the fallback)"))
        for key in ("wijken", "buurten"):
            for i, code in enumerate(getattr(team, key)):
                loc = ("teams", team_id, key, i)
                if code[2:6] != digits:
                    problems.append(Problem(where, doc.line_of(loc), f"teams.{team_id}.{key}.{i}: {code} is not in "
                                            f"gemeente {teams.gemeente}"))
                elif code in owner:
                    problems.append(Problem(where, doc.line_of(loc), f"teams.{team_id}.{key}.{i}: {code} is also "
                                            f"in team '{owner[code]}'; a {key[:-2]} belongs to one team"))
                owner.setdefault(code, team_id)
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    return LoadedTeams(teams, doc.path, file_sha256(doc.path), doc)


def team_of_buurten(loaded: LoadedTeams, buurten: list[tuple[str, str]]) -> dict[str, str]:
    """{buurtcode: team} for the gemeente's (buurtcode, wijkcode) pairs; every buurt gets a team
    (or the fallback), every code in teams.yaml must be one of the gemeente's."""
    teams, doc, where = loaded.teams, loaded.doc, str(loaded.path)
    wijk_of = dict(buurten)
    wijken = set(wijk_of.values())
    problems = []
    by_wijk: dict[str, str] = {}
    by_buurt: dict[str, str] = {}
    for team_id, team in teams.teams.items():
        for key, known, target in (("wijken", wijken, by_wijk), ("buurten", set(wijk_of), by_buurt)):
            for i, code in enumerate(getattr(team, key)):
                if code not in known:
                    problems.append(Problem(where, doc.line_of(("teams", team_id, key, i)),
                                            f"teams.{team_id}.{key}.{i}: {code} is not a {key[:-2]} of gemeente "
                                            f"{teams.gemeente}; {_did_you_mean(code, sorted(known))}".rstrip("; ")))
                target[code] = team_id
    result: dict[str, str] = {}
    missing = []
    for buurt, wijk in sorted(buurten):
        chosen = by_buurt.get(buurt) or by_wijk.get(wijk) or teams.fallback
        if chosen is None:
            missing.append(buurt)
        else:
            result[buurt] = chosen
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        problems.append(Problem(where, doc.line_of(("teams",)),
                                f"teams: {len(missing)} buurt(en) of {teams.gemeente} in no team: {shown}; add them "
                                "(or their wijk) to a team, or declare a `fallback` team"))
    if problems:
        raise ConfigError(problems)
    return result


@dataclass(frozen=True)
class Triaged:
    """The account of one month's triage."""

    period: str
    cases: int
    by_action: dict[str, int]
    by_team: dict[str, int]
    by_rule: dict[str, int]


def _buurten(con: duckdb.DuckDBPyConnection, gemeente: str, where: str) -> list[tuple[str, str]]:
    try:
        rows = con.execute("SELECT buurtcode, wijkcode FROM buurten WHERE gemeentecode = ? OR ? = 'NL' "
                           "ORDER BY buurtcode", [gemeente, gemeente]).fetchall()
    except duckdb.CatalogException:
        raise MatchingError("the warehouse has no table buurten: run ingest first") from None
    if not rows:
        raise ConfigError([Problem(where, None, f"gemeente {gemeente}: the warehouse has no buurten of it")])
    return [(str(b), str(w)) for b, w in rows]


def triage_cases(con: duckdb.DuckDBPyConnection, period: str, triage: LoadedTriage, teams: LoadedTeams,
                 terms: Terms) -> Triaged:
    """Triage the cases of `period` into `case_triage` (one row per case; the month's rows are
    replaced, so triaging again gives the same rows)."""
    check_period(period)
    ensure_tables(con)
    if not con.execute("SELECT count(*) FROM case_matching WHERE period = ?", [period]).fetchone()[0]:  # type: ignore[index]
        raise MatchingError(f"no cases matched for {period}: match the month first")
    rules = triage.triage.rules
    for i, rule in enumerate(rules):  # the triage file was read without these terms
        if rule.term is not None and (msg := check_term(rule.term, terms)):
            raise ConfigError([Problem(str(triage.path), None, f"rules.{i}.term: {msg}")])
    team_of = team_of_buurten(teams, _buurten(con, teams.teams.gemeente, str(teams.path)))
    params: list = []
    conditions = ", ".join(f"{r.when.to_sql(params)} AS r{i}" for i, r in enumerate(rules))
    frame = con.execute(sql("triage_cases").format(conditions=conditions), params + [period]).df()

    bounds = period_bounds(period)
    deadlines = Deadlines(terms)
    out = []
    unmapped = 0
    for row in frame.itertuples(index=False):
        fired = [r.id for i, r in enumerate(rules) if getattr(row, f"r{i}")]
        rule = next(r for i, r in enumerate(rules) if getattr(row, f"r{i}"))  # the default always holds
        team = (team_of.get(row.buurtcode) if isinstance(row.buurtcode, str) else None) or teams.teams.fallback
        if team is None:  # no buurt, or a buurt outside the gemeente: every buurt of it has a team
            unmapped += 1
            continue
        start = row.eerste_signaaldatum if terms.count_from == "signal_date" else bounds["period_end"]
        start = start.date() if isinstance(start, pd.Timestamp) else start
        deadline: date | None = deadlines.deadline(start, rule.term) if rule.term is not None else None
        expires = (pd.Period(period, freq="M") + rule.expiry_months).end_time.date()
        out.append((row.case_id, period, team, rule.action, rule.priority, rule.term, deadline, expires,
                    rule.id, fired))
    if unmapped:
        raise ConfigError([Problem(str(teams.path), teams.doc.line_of(("teams",)),
                                   f"teams: {unmapped} case(s) of {period} are at an address without a buurt of "
                                   f"{teams.teams.gemeente} (no buurt, or one of another gemeente) and there is no "
                                   "`fallback` team for them")])
    result = pd.DataFrame(out, columns=["case_id", "period", "team", "action", "priority", "term", "deadline",
                                        "expires", "rule", "rules_fired"])
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM case_triage WHERE period = ?", [period])
        if len(result):
            con.register("outreach_triaged", result)
            con.execute(sql("triage_insert"))
            con.unregister("outreach_triaged")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return Triaged(period, len(result), dict(sorted(Counter(result.action).items())),
                   dict(sorted(Counter(result.team).items())), dict(sorted(Counter(result.rule).items())))


def json_schemas() -> dict[str, str]:
    """The JSON Schemas of triage.yaml and teams.yaml (config/*.schema.json), for editors."""
    out = {}
    for name, model, title in (("triage", Triage, "wijksignaal triage rules"), ("teams", Teams, "wijksignaal teams")):
        schema = model.model_json_schema(by_alias=True)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = title
        if model is Triage:  # the shipped code list of signal partners, for editors (checked on load as well)
            from pipelines.settings import CONFIG_DIR

            items = schema["$defs"]["When"]["properties"]["partner_in"]["anyOf"][0]["items"]
            items.update(enum=sorted(signal_partners(CONFIG_DIR)), type="string")
        out[name] = json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    return out
