"""The problem domains of the standard tables, declared once in `config/domains.yaml`.

A domain is an id (a column of household_facts and a part of every `combinaties`
category), its texts (audit.json in English, the register and the report in Dutch),
the sources and fields it reads, and one SELECT in a .sql file next to domains.yaml that
returns the `hid` of every household with the domain in the period. Everything else
follows from the list: household_facts is composed here (one BOOLEAN per domain and
n_domeinen), the tables' categories in tabulate.py, the relations between stapeling and
combinaties in privacy/relations.py (from the categories), the texts of audit.json, the
register and the report.

Identifiers in the composed SQL come only from validated ids; values are bound as
parameters ($period, $period_start, $period_end, $lookback_start).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import string
from dataclasses import dataclass
from pathlib import Path

import duckdb
from pydantic import Field, field_validator

from pipelines.configfile import ConfigError, Problem, Strict, YamlDoc, file_sha256, parse_model, read_yaml
from privacy.dpia import DpiaRules, SourceId

DOMAINS_FILE = "domains.yaml"
ID = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_ID = 40
MAX_DOMAINS = 6  # 63 combinaties per area; more would make the tables (and their protection) unreadable
MAX_SQL_BYTES = 64 * 1024
FIXED_COLUMNS = ("period", "hid", "buurtcode", "n_personen", "n_minderjarigen", "n_75plus")
COUNT_COLUMN = "n_domeinen"
# names a domain id may not take: the other columns of household_facts; the columns tabulate.py
# puts next to the domains in its atoms (n, rk, unit, household); the category `totaal`; the
# features of similar.py (huishoudens, stapeling, estimated); the other keys of audit.json's
# `definitions` (unit, period_end, achterstand_lookback_months)
RESERVED = frozenset(FIXED_COLUMNS + (COUNT_COLUMN, "pid", "n", "rk", "unit", "household", "totaal", "stapeling",
                                      "combinaties", "huishoudens", "estimated", "period_end",
                                      "achterstand_lookback_months"))
PARAMETERS = ("period", "period_start", "period_end", "lookback_start")
# placeholders of the texts: audit.json's English definition is per period; the Dutch texts also
# go into the register, which has no period
DEFINITION_PLACEHOLDERS = ("period_start", "period_end", "lookback_start", "lookback_months")
DUTCH_PLACEHOLDERS = ("lookback_months",)
FIELD = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def _placeholders(text: str, allowed: tuple[str, ...]) -> str:
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"{exc} (write a literal brace as {{{{ or }}}})") from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in allowed or spec or conversion:
            choice = ", ".join(f"{{{a}}}" for a in allowed)
            raise ValueError(f"unknown placeholder {{{name}{'!' + conversion if conversion else ''}"
                             f"{':' + spec if spec else ''}}}; allowed here: {choice}")
    return text


class Domain(Strict):
    """One problem domain of the standard tables."""

    id: str = Field(description="the domain's key: a column of household_facts, a part of the combinaties categories")
    label_nl: str = Field(min_length=1, description="its name in the report")
    definition: str = Field(min_length=1, description="what it means, in English, as audit.json states it")
    definition_nl: str = Field(min_length=1, description="the same in Dutch, for the algorithm register")
    explanation_nl: str | None = Field(default=None, description="the report's explanation (default: definition_nl)")
    with_nl: str | None = Field(default=None, description="'per 100 huishoudens het aantal <with_nl>' in the report "
                                                          "(default: 'met <label_nl>')")
    reads: dict[SourceId, list[str]] = Field(min_length=1, description="the sources and fields its SQL reads")
    sql: str = Field(description="the .sql file (relative to domains.yaml's folder) holding its SELECT")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not ID.match(v) or len(v) > MAX_ID:
            raise ValueError(f"'{v}' must match {ID.pattern} (lower-case letters, digits and _, at most {MAX_ID}; "
                             "it is a column name)")
        if v in RESERVED:
            raise ValueError(f"'{v}' is a name the tables use themselves; reserved: {', '.join(sorted(RESERVED))}")
        return v

    @field_validator("label_nl", "with_nl")
    @classmethod
    def _label(cls, v: str | None) -> str | None:
        return None if v is None else _placeholders(v, ())

    @field_validator("definition")
    @classmethod
    def _definition(cls, v: str) -> str:
        return _placeholders(v, DEFINITION_PLACEHOLDERS)

    @field_validator("definition_nl", "explanation_nl")
    @classmethod
    def _dutch(cls, v: str | None) -> str | None:
        return None if v is None else _placeholders(v, DUTCH_PLACEHOLDERS)

    @field_validator("reads")
    @classmethod
    def _fields(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for source, fields in v.items():
            if not fields:
                raise ValueError(f"{source}: name the fields the SQL reads")
            for f in fields:
                if not FIELD.match(f):
                    raise ValueError(f"{source}: field name '{f}' must match {FIELD.pattern}")
        return v

    @field_validator("sql")
    @classmethod
    def _sql_file(cls, v: str) -> str:
        parts = re.split(r"[\\/]+", v)
        if v.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", v) or ".." in parts:
            raise ValueError("must be a file next to domains.yaml (a relative path without '..')")
        if not v.endswith(".sql"):
            raise ValueError("must name a .sql file")
        return v


class DomainsFile(Strict):
    domains: list[Domain] = Field(min_length=1, max_length=MAX_DOMAINS)


def _body(text: str) -> str:
    """The statement without its closing semicolon (and what only comments after it)."""
    return re.sub(r";(\s|--[^\n]*)*\Z", "", text.rstrip())


@dataclass(frozen=True)
class DeclaredDomain:
    spec: Domain
    sql_path: Path
    query: str  # the SELECT, without a closing semicolon
    parameters: frozenset[str]
    sql_sha256: str

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass(frozen=True)
class Domains:
    """The loaded domains, in declaration order."""

    file: Path
    sha256: str
    declared: tuple[DeclaredDomain, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.declared)

    @property
    def columns(self) -> list[str]:
        """household_facts' columns, in order."""
        return [*FIXED_COLUMNS, *self.ids, COUNT_COLUMN]

    @property
    def definition_sha256(self) -> str:
        """What makes the standard tables' counts: the ids, in order, and each one's SQL (not the texts).
        Earlier releases with another one published other stapeling and combinaties definitions."""
        return hashlib.sha256(json.dumps([[d.id, d.query] for d in self.declared]).encode("utf-8")).hexdigest()

    def files(self) -> list[Path]:
        """domains.yaml and the SQL files: what defines the standard tables, with dpia.yaml."""
        return [self.file, *(d.sql_path for d in self.declared)]

    # --- household_facts ---------------------------------------------------------------------------
    def schema_sql(self) -> str:
        cols = ["period VARCHAR NOT NULL", "hid UUID NOT NULL", "buurtcode VARCHAR NOT NULL",
                "n_personen INTEGER NOT NULL", "n_minderjarigen INTEGER NOT NULL", "n_75plus INTEGER NOT NULL",
                *(f'"{i}" BOOLEAN NOT NULL' for i in self.ids), f"{COUNT_COLUMN} INTEGER NOT NULL"]
        return "CREATE TABLE IF NOT EXISTS household_facts (\n    " + ",\n    ".join(cols) + "\n)"

    def insert_sql(self) -> str:
        """Per period, one row per household with one flag per domain and the number of domains."""
        ctes = ",\n".join(f'"domain__{d.id}" AS (\n    SELECT DISTINCT q.hid FROM (\n{d.query}\n    ) q '
                          "WHERE q.hid IS NOT NULL\n)" for d in self.declared)
        flags = ",\n        ".join(f'h.hid IN (SELECT hid FROM "domain__{i}") AS "{i}"' for i in self.ids)
        count = " + ".join(f'"{i}"::INTEGER' for i in self.ids)
        fixed = ", ".join(FIXED_COLUMNS)
        return (f"INSERT INTO household_facts\nWITH\n{ctes}\n"
                f"SELECT {fixed}, {', '.join(chr(34) + i + chr(34) for i in self.ids)}, {count} AS {COUNT_COLUMN}\n"
                f"FROM (\n    SELECT $period AS period, h.hid, h.buurtcode, h.n_personen, h.n_minderjarigen, "
                f"h.n_75plus,\n        {flags}\n    FROM households h\n) facts")

    def parameters(self, bounds: dict) -> dict:
        """The parameters the composed SQL uses, from `bounds` (periods.period_bounds)."""
        used = {"period"}.union(*(d.parameters for d in self.declared))
        return {k: bounds[k] for k in PARAMETERS if k in used}

    def check_queries(self, con: duckdb.DuckDBPyConnection, bounds: dict) -> None:
        """Every domain's SELECT binds against the warehouse and returns a `hid`; ConfigError naming
        the .sql file otherwise. Only errors about the query itself are shown (parser, binder,
        catalog): an error while reading data could quote a value, so it is named by its kind only."""
        problems = []
        for d in self.declared:
            params = {k: bounds[k] for k in PARAMETERS if k in d.parameters}
            try:
                con.execute(f"SELECT q.hid FROM (\n{d.query}\n) q LIMIT 0", params)
            except (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException) as exc:
                first = str(exc).splitlines()[0]
                problems.append(Problem(str(d.sql_path), None, f"domain '{d.id}': the SELECT does not run: {first}"))
            except duckdb.Error as exc:
                problems.append(Problem(str(d.sql_path), None,
                                        f"domain '{d.id}': the SELECT does not run ({type(exc).__name__})"))
        if problems:
            raise ConfigError(problems)

    # --- texts -------------------------------------------------------------------------------------
    def combinaties(self) -> tuple[str, ...]:
        return combinaties(self.ids)

    def definitions(self, bounds: dict, lookback_months: int) -> dict[str, str]:
        """audit.json `definitions`: domain id -> the English definition for this period."""
        values = {"period_start": bounds["period_start"], "period_end": bounds["period_end"],
                  "lookback_start": bounds["lookback_start"], "lookback_months": lookback_months}
        return {d.id: d.spec.definition.format(**values) for d in self.declared}

    def texts_nl(self, lookback_months: int) -> list[dict]:
        """The Dutch texts of every domain, in order (the register and the report)."""
        out = []
        for d in self.declared:
            s = d.spec
            definition = s.definition_nl.format(lookback_months=lookback_months)
            out.append({"id": s.id, "label_nl": s.label_nl, "definition_nl": definition,
                        "explanation_nl": s.explanation_nl.format(lookback_months=lookback_months)
                        if s.explanation_nl is not None else definition,
                        "with_nl": s.with_nl if s.with_nl is not None else f"met {s.label_nl}"})
        return out

    def reads(self) -> dict[str, list[str]]:
        """source -> the fields the domains read, in order of first mention."""
        out: dict[str, list[str]] = {}
        for d in self.declared:
            for source, fields in d.spec.reads.items():
                out.setdefault(source, [])
                out[source] += [f for f in fields if f not in out[source]]
        return out

    def audit_rules(self, lookback_months: int) -> dict:
        """audit.json `rules.domains`: what defines the standard tables' domains (part of the fingerprint)."""
        texts = {t["id"]: t for t in self.texts_nl(lookback_months)}
        return {"sha256": self.sha256, "definition_sha256": self.definition_sha256,
                "declared": [{**texts[d.id], "reads": d.spec.reads, "sql": d.spec.sql, "sql_sha256": d.sql_sha256}
                             for d in self.declared]}


def combinaties(ids: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The combinaties categories: totaal, then every combination of domains by size, then in domain order."""
    return ("totaal",) + tuple("+".join(c) for k in range(1, len(ids) + 1) for c in itertools.combinations(ids, k))



def _statement(path: Path, loc: str, line: int | None, file: str) -> tuple[str, frozenset[str]] | Problem:
    """The one SELECT of a domain's .sql file, or the problem with it."""
    def problem(what: str) -> Problem:
        return Problem(file, line, f"{loc}: {what}")

    if not path.is_file():
        return problem(f"file '{path.name}' not found in {path.parent}")
    if path.stat().st_size > MAX_SQL_BYTES:
        return problem(f"'{path.name}' is larger than {MAX_SQL_BYTES // 1024} KiB; refused")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return problem(f"'{path.name}' is not UTF-8 ({exc.reason})")
    def invalid(exc: duckdb.Error) -> Problem:
        return problem(f"'{path.name}' is not valid SQL: {str(exc).splitlines()[0]}")

    try:
        statements = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        return invalid(exc)
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        return problem(f"'{path.name}' must hold exactly one SELECT statement (found {len(statements)} statement(s))")
    body = _body(text)
    try:  # as household_facts composes it: still one SELECT (nothing closes the parenthesis early)
        wrapped = duckdb.extract_statements(f"SELECT q.hid FROM (\n{body}\n) q")
    except duckdb.Error as exc:
        return invalid(exc)
    if len(wrapped) != 1:
        return problem(f"'{path.name}' must hold exactly one SELECT statement")
    unknown = sorted(set(statements[0].named_parameters) - set(PARAMETERS))
    if unknown:
        return problem(f"'{path.name}' uses parameter(s) {', '.join('$' + u for u in unknown)}; allowed: "
                       f"{', '.join('$' + p for p in PARAMETERS)}")
    return body, frozenset(statements[0].named_parameters)


def _located(doc: YamlDoc, loc: tuple, message: str) -> Problem:
    return Problem(str(doc.path), doc.line_of(loc), f"{'.'.join(str(p) for p in loc)}: {message}")


def load_domains(config_dir: Path, dpia: DpiaRules | None = None) -> Domains:
    """config/domains.yaml and the SQL it names; ConfigError listing every problem, each with file
    and line. With `dpia`: every field a domain reads must be allowed by the stapeling purpose."""
    path = Path(config_dir) / DOMAINS_FILE
    doc = read_yaml(path)
    spec = parse_model(DomainsFile, doc)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, d in enumerate(spec.domains):
        if d.id in seen:
            problems.append(_located(doc, ("domains", i, "id"), f"domain '{d.id}' is declared twice (first as "
                                                                 f"domains.{seen[d.id]}); keep one"))
        seen.setdefault(d.id, i)
    if dpia is not None:
        purpose = dpia.purposes[dpia.stapeling_purpose]
        for i, d in enumerate(spec.domains):
            for source, fields in d.reads.items():
                allowed = purpose.allowed_sources.get(source, [])
                refused = [f for f in fields if f not in allowed]
                if refused:
                    problems.append(_located(doc, ("domains", i, "reads", source), (
                        f"{', '.join(refused)}: not allowed by the stapeling purpose '{dpia.stapeling_purpose}' "
                        f"(dpia.yaml allows {source}: {', '.join(allowed) or 'nothing'})")))
    declared = []
    for i, d in enumerate(spec.domains):
        sql_path = path.parent / d.sql
        found = _statement(sql_path, f"domains.{i}.sql", doc.line_of(("domains", i, "sql")), str(path))
        if isinstance(found, Problem):
            problems.append(found)
            continue
        query, params = found
        declared.append(DeclaredDomain(d, sql_path, query, params, file_sha256(sql_path)))
    if problems:
        raise ConfigError(problems)
    return Domains(path, file_sha256(path), tuple(declared))


__all__ = ["Domain", "Domains", "DomainsFile", "load_domains", "combinaties", "DOMAINS_FILE", "RESERVED"]
