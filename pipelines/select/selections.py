"""Selections: YAML target groups, parsed strictly, checked against the DPIA rules and
compiled to SQL over the field catalogue (catalogue.py).

A criterion is one of:
  * a group:      ``all: [...]``, ``any: [...]`` or ``not: {...}``
  * a source:     ``source: vroegsignalen`` with ``where`` (field comparisons on its rows),
                  time rules (``active``, ``within_months``, ``duration_months``) and a
                  ``count`` (default: at least 1), optionally of ``distinct`` values;
  * an attribute: ``field: huishouden.aantal_minderjarigen``, ``op``, ``value``.

User text never becomes SQL: sources and fields must be catalogue keys (fixed, quoted
expressions), every value is a bound parameter, and text values that look like SQL
(quotes, semicolons, comment markers) are refused outright.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, model_validator

from pipelines.configfile import (
    ConfigError,
    Problem,
    Strict,
    did_you_mean,
    file_sha256,
    load_model,
    parse_model,
    read_yaml,
)
from pipelines.periods import month_start, period_bounds
from pipelines.select.catalogue import HOUSEHOLD, Catalogue, shipped
from pipelines.settings import load_sources
from privacy.dpia import LEVELS, Approval, DpiaRules
from privacy.rules import RuleModuleError, SelectionFacts, load_rule_modules
from privacy.rules import check as check_rules

Op = Literal["=", "!=", "<", "<=", ">", ">=", "in", "between", "is_set"]
SQL_OP = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
Scalar = bool | int | float | str
SAFE_TEXT = re.compile(r"^[\w .,+()/&-]{1,80}$", re.UNICODE)
SQL_LIKE = re.compile(r"(--|;|'|\"|/\*|\*/|\b(select|drop|insert|update|delete|union|alter)\b)", re.IGNORECASE)


def _check_text(value: str) -> None:
    if SQL_LIKE.search(value) or not SAFE_TEXT.match(value):
        raise ValueError(f"value {value!r} is refused: values are data, not SQL (no quotes, semicolons, "
                         "comment markers or SQL keywords)")


class Comparison(Strict):
    field: str
    op: Op
    value: Scalar | list[Scalar] | None = None

    def check(self, source: str, cat: Catalogue) -> None:
        fields = cat[source].fields
        if self.field not in fields:
            raise ValueError(f"unknown field '{self.field}' for source '{source}'; allowed: {', '.join(fields)}")
        f = fields[self.field]
        if self.op == "is_set":
            if self.value not in (None, True, False):
                raise ValueError("op 'is_set' takes true, false or no value")
            return
        values = self.value if isinstance(self.value, list) else [self.value]
        if self.op == "in" and not (isinstance(self.value, list) and self.value):
            raise ValueError("op 'in' takes a non-empty list")
        if self.op == "between" and not (isinstance(self.value, list) and len(self.value) == 2):
            raise ValueError("op 'between' takes a list of two values [low, high]")
        if self.op not in ("in", "between") and isinstance(self.value, list):
            raise ValueError(f"op '{self.op}' takes one value, not a list")
        for v in values:
            if v is None:
                raise ValueError(f"op '{self.op}' needs a value")
            ok = {"bool": isinstance(v, bool), "int": isinstance(v, int) and not isinstance(v, bool),
                  "number": isinstance(v, (int, float)) and not isinstance(v, bool), "text": isinstance(v, str)}[f.kind]
            if not ok:
                raise ValueError(f"field '{self.field}' takes {f.kind} values, got {v!r}")
            if isinstance(v, str):
                _check_text(v)
                if f.values and v not in f.values:
                    raise ValueError(f"{v!r} is not a value of '{self.field}'; allowed: "
                                     f"{', '.join(f.label(x) for x in f.values)}")
        if f.kind == "bool" and self.op not in ("=", "!="):
            raise ValueError(f"field '{self.field}' is yes/no: use = or !=")
        if f.kind == "text" and self.op in ("<", "<=", ">", ">=", "between"):
            raise ValueError(f"field '{self.field}' is text: use =, !=, in or is_set")

    def to_sql(self, expr: str, params: list) -> str:
        if self.op == "is_set":
            return f"({expr} IS {'NOT ' if self.value in (None, True) else ''}NULL)"
        if self.op == "in":
            params.extend(self.value)
            return f"({expr} IN ({', '.join('?' for _ in self.value)}))"
        if self.op == "between":
            params.extend(self.value)
            return f"({expr} BETWEEN ? AND ?)"
        params.append(self.value)
        return f"({expr} {SQL_OP[self.op]} ?)"


class CountRule(Strict):
    op: Literal["=", ">=", ">"]
    value: int = Field(ge=1)


class Criterion(Strict):
    """One of: all / any / not (groups), source (+ where, time rules, count), field (attribute)."""

    all: list[Criterion] | None = None
    any: list[Criterion] | None = None
    not_: Criterion | None = Field(default=None, alias="not")
    source: str | None = None  # a catalogue source of config/sources.yaml (the JSON Schema lists them)
    where: list[Comparison] = Field(default_factory=list)
    active: bool | None = Field(default=None, description="the row runs during the reference period")
    within_months: int | None = Field(default=None, ge=1, le=60, description="signal date within N months")
    duration_months: CountRule | None = Field(default=None, description="months since ingangsdatum")
    count: CountRule | None = None
    distinct: str | None = None
    field: str | None = None
    op: Op | None = None
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _one_form(self, info: ValidationInfo) -> Criterion:
        cat = catalogue_in(info)
        forms = [k for k in ("all", "any", "not_", "source", "field") if getattr(self, k) is not None]
        if len(forms) != 1:
            raise ValueError("a criterion is exactly one of: all, any, not, source (with where/count/...), "
                             "or field/op/value")
        form = forms[0]
        source_keys = ("where", "active", "within_months", "duration_months", "count", "distinct")
        if form != "source" and any(getattr(self, k) not in (None, []) for k in source_keys):
            raise ValueError(f"{', '.join(source_keys)} belong with 'source'")
        if form != "field" and (self.op is not None or self.value is not None):
            raise ValueError("op and value belong with 'field' (or inside 'where')")
        if form == "field":
            src, _, name = (self.field or "").partition(".")
            if src != "huishouden":
                raise ValueError(f"unknown field '{self.field}'; attributes are "
                                 f"{', '.join('huishouden.' + f for f in cat[HOUSEHOLD].fields)}; "
                                 "other fields go inside 'where' of a source")
            Comparison(field=name, op=self.op, value=self.value).check(HOUSEHOLD, cat)
        if form == "source":
            assert self.source is not None
            if self.source not in cat or self.source == HOUSEHOLD:
                known = [c for c in cat if c != HOUSEHOLD]
                raise ValueError(f"unknown source '{self.source}'{did_you_mean(self.source, known)}; sources: "
                                 f"{', '.join(known)}")
            spec = cat[self.source]
            for c in self.where:
                c.check(self.source, cat)
            if self.distinct is not None and self.distinct not in spec.fields:
                raise ValueError(f"distinct: unknown field '{self.distinct}' for source '{self.source}'; "
                                 f"allowed: {', '.join(spec.fields)}")
            if (self.active is not None or self.duration_months is not None) and not spec.period_fields:
                raise ValueError(f"source '{self.source}' has no start and end date (period_fields): active and "
                                 "duration_months do not apply")
            if self.within_months is not None and spec.window_field is None:
                raise ValueError(f"source '{self.source}' has no signal date: within_months does not apply")
        return self

    # -- what it reads -------------------------------------------------------------
    def reads(self, cat: Catalogue, loc: tuple = ("criteria",), lookback: int = 3) -> list[tuple[str, str, tuple]]:
        """(DPIA source, field, key path) for every field this criterion reads, implicit ones included."""
        out: list[tuple[str, str, tuple]] = []
        for key in ("all", "any"):
            for i, child in enumerate(getattr(self, key) or []):
                out.extend(child.reads(cat, loc + (key, i), lookback))
        if self.not_ is not None:
            out.extend(self.not_.reads(cat, loc + ("not",), lookback))
        if self.field is not None:
            out.append((cat[HOUSEHOLD].dpia_source, self.field.split(".", 1)[1], loc + ("field",)))
        if self.source is not None:
            spec = cat[self.source]
            dpia_src = spec.dpia_source
            for i, c in enumerate(self.where):
                out.append((dpia_src, c.field, loc + ("where", i, "field")))
            if self.distinct:
                out.append((dpia_src, self.distinct, loc + ("distinct",)))
            if spec.period_fields and self._active():
                out.extend((dpia_src, f, loc + ("source",)) for f in spec.period_fields)
            if self.duration_months is not None:
                out.append((dpia_src, spec.period_fields[0], loc + ("duration_months",)))
            if spec.window_field:
                out.append((dpia_src, spec.window_field, loc + ("source",)))
        return out

    def windows(self, cat: Catalogue, lookback: int = 3) -> set[int]:
        """The months of every time window this criterion puts on a source with a date (its
        window_field: the signals), as `_source_sql` applies them (`within_months`, else the look-back)."""
        out: set[int] = set()
        for child in (self.all or []) + (self.any or []) + ([self.not_] if self.not_ is not None else []):
            out |= child.windows(cat, lookback)
        if self.source is not None and cat[self.source].window_field:
            out.add(self.within_months or lookback)
        return out

    def _active(self) -> bool:
        return self.active is not False  # running in the period unless `active: false`

    # -- SQL --------------------------------------------------------------------------
    def to_sql(self, cat: Catalogue, unit: str, period: dict, lookback: int, params: list) -> str:
        if self.all is not None:
            return "(" + " AND ".join(c.to_sql(cat, unit, period, lookback, params) for c in self.all) + ")" \
                if self.all else "TRUE"
        if self.any is not None:
            return "(" + " OR ".join(c.to_sql(cat, unit, period, lookback, params) for c in self.any) + ")" \
                if self.any else "FALSE"
        if self.not_ is not None:
            return f"(NOT {self.not_.to_sql(cat, unit, period, lookback, params)})"
        if self.field is not None:
            name = self.field.split(".", 1)[1]
            return Comparison(field=name, op=self.op, value=self.value).to_sql(
                cat[HOUSEHOLD].fields[name].sql, params)
        return self._source_sql(cat, unit, period, lookback, params)

    def _source_sql(self, cat: Catalogue, unit: str, period: dict, lookback: int, params: list) -> str:
        assert self.source is not None
        spec = cat[self.source]
        conds: list[str] = []
        for c in self.where:
            expr = spec.fields[c.field].sql
            if "{year}" in expr:
                params.append(period["year"])
                expr = expr.replace("{year}", "?")
            conds.append(c.to_sql(expr, params))
        if spec.period_fields and self._active():
            params.extend([period["period_end"], period["period_start"]])
            start, end = spec.period_fields
            conds.append(f'(t."{start}" <= ? AND (t."{end}" IS NULL OR t."{end}" >= ?))')
        if self.duration_months is not None:
            params.extend([period["period_end"], self.duration_months.value])
            conds.append(f"(date_diff('month', t.\"{spec.period_fields[0]}\", ?::DATE) {self.duration_months.op} ?)")
        if spec.window_field:
            months = self.within_months or lookback
            params.extend([month_start(period["period"], months - 1), period["period_end"]])
            conds.append(f't."{spec.window_field}" BETWEEN ? AND ?')
        count = self.count or CountRule(op=">=", value=1)
        counted = f'count(DISTINCT {spec.fields[self.distinct].sql})' if self.distinct else "count(*)"
        where = " AND ".join(conds) or "TRUE"
        if spec.population:  # person rows carry their household
            key, inner, frm = ("t.hid", "h.hid", "persons t") if unit == "huishouden" else ("t.pid", "p.pid", "persons t")
        elif unit == "huishouden" and spec.placed_by_address:  # rows carry their household (link stage)
            key, inner, frm = "t.hid", "h.hid", f'"{spec.table}" t'
        elif unit == "huishouden":
            key, inner, frm = "pp.hid", "h.hid", f'"{spec.table}" t JOIN persons pp ON pp.pid = t.pid'
        else:  # a row without a person (a client identified by address only) counts for no person
            key, inner, frm = "t.pid", "p.pid", f'"{spec.table}" t'
        if spec.placed_by_address:  # a NULL key in the IN list would make a NOT around it unknown for everyone
            where = f"{key} IS NOT NULL AND {where}"
        params.append(count.value)
        return f"({inner} IN (SELECT {key} FROM {frm} WHERE {where} GROUP BY {key} HAVING {counted} {count.op} ?))"


class Selection(Strict):
    """A target group: who, why, under which approval, and which outputs it may feed."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,60}$")
    title: str
    description: str = Field(description="plain-Dutch description of the target group")
    purpose: str = Field(description="a purpose key in config/dpia.yaml")
    owner: str
    approval: Approval | None = None
    unit: Literal["huishouden", "persoon"] = "huishouden"
    lookback_months: int = Field(default=3, ge=1, le=60, description="default window for vroegsignalen")
    outputs: list[Literal["buurt_tables", "signal_list"]] = Field(min_length=1)
    levels: list[Literal["gemeente", "wijk", "buurt"]] = Field(default_factory=lambda: list(LEVELS))
    min_cell_size: int | None = Field(default=None, ge=1)
    criteria: Criterion


@dataclass(frozen=True)
class LoadedSelection:
    selection: Selection
    path: Path
    version: str  # sha256 of the file
    catalogue: Catalogue = dataclass_field(default_factory=shipped)  # the run's (config/sources.yaml)

    def reads(self) -> list[tuple[str, str, tuple]]:
        return self.selection.criteria.reads(self.catalogue, lookback=self.selection.lookback_months)

    def from_where(self, period: str) -> tuple[str, str, list, str]:
        """(FROM clause, WHERE condition over it, bound parameters, the unit's key column)."""
        s = self.selection
        params: list = []
        where = s.criteria.to_sql(self.catalogue, s.unit, period_bounds(period), s.lookback_months, params)
        base = "households h" if s.unit == "huishouden" else "persons p JOIN households h ON h.hid = p.hid"
        unit_key = "h.hid" if s.unit == "huishouden" else "p.pid"
        return base, where, params, unit_key

    def compile(self, period: str) -> tuple[str, list]:
        """Counts per buurt, as `explain` shows them (tabulation evaluates the same condition per
        household in one query for all selections: tabulate.atoms)."""
        base, where, params, _ = self.from_where(period)
        query = (f'SELECT h."buurtcode" AS buurtcode, count(*)::INTEGER AS n FROM {base} '
                 f"WHERE {where} GROUP BY 1 ORDER BY 1")
        return query, params

    def members(self, period: str) -> tuple[str, list]:
        """The selected households (or persons) themselves: for tests and explain, never published."""
        base, where, params, unit_key = self.from_where(period)
        return f"SELECT {unit_key} FROM {base} WHERE {where}", params


MAX_CRITERIA_DEPTH = 8  # groups (all / any / not) within groups


def _deepest_group(criterion, loc: tuple = ("criteria",), depth: int = 0) -> tuple[int, tuple]:
    """(deepest nesting of all/any/not groups, the key path where it is) in raw YAML data."""
    if not isinstance(criterion, dict):
        return depth, loc
    children = [((key, i), c) for key in ("all", "any") if isinstance(criterion.get(key), list)
                for i, c in enumerate(criterion[key])]
    if isinstance(criterion.get("not"), dict):
        children.append((("not",), criterion["not"]))
    return max([(depth, loc)] + [_deepest_group(c, loc + at, depth + 1) for at, c in children], key=lambda b: b[0])


def catalogue_in(info: ValidationInfo) -> Catalogue:
    """The catalogue a selection is checked against: the run's (validation context
    `catalogue`), else the shipped one."""
    return (info.context or {}).get("catalogue") or shipped()


def parse_selection(data: dict, cat: Catalogue) -> Selection:
    """A selection definition (from a file or an earlier release's audit.json)."""
    return Selection.model_validate(data, context={"catalogue": cat})


def load_selection(path: Path, rules: DpiaRules, cat: Catalogue | None = None) -> LoadedSelection:
    cat = cat or shipped()
    doc = read_yaml(path)
    if isinstance(doc.data, dict):
        depth, loc = _deepest_group(doc.data.get("criteria"))
        if depth > MAX_CRITERIA_DEPTH:
            raise ConfigError([Problem(str(path), doc.line_of(loc), f"criteria: groups (all/any/not) nested {depth} "
                                       f"levels deep; at most {MAX_CRITERIA_DEPTH} are allowed")])
    sel = parse_model(Selection, doc, context={"catalogue": cat})
    loaded = LoadedSelection(sel, path, file_sha256(path), cat)
    problems = [Problem(str(path), doc.line_of(v.loc), str(v)) for v in check_rules(facts(loaded), rules, rules.rulebook)]
    if sel.id != path.stem:
        problems.append(Problem(str(path), doc.line_of(("id",)), f"id '{sel.id}' must equal the file name '{path.stem}'"))
    if problems:
        raise ConfigError(problems)
    return loaded


def facts(loaded: LoadedSelection) -> SelectionFacts:
    """What the DPIA rules (privacy/rules.py) see of a selection."""
    s = loaded.selection
    return SelectionFacts(id=s.id, purpose=s.purpose, unit=s.unit, reads=tuple(loaded.reads()), outputs=tuple(s.outputs),
                          levels=tuple(s.levels), min_cell_size=s.min_cell_size, approved=s.approval is not None,
                          definition=s.model_dump(mode="json", by_alias=True, exclude_none=True))


def load_selections(folder: Path, rules: DpiaRules, cat: Catalogue | None = None) -> list[LoadedSelection]:
    """All selections in `folder`, and for each that asks for signal lists its derived list
    selection (list_selection); every problem in every file is reported together."""
    loaded, problems = [], []
    for path in sorted(folder.glob("*.yaml")):
        try:
            loaded.append(load_selection(path, rules, cat))
        except ConfigError as exc:
            problems.extend(exc.problems)
    for s in list(loaded):
        if SIGNAL_LIST in s.selection.outputs:
            try:
                loaded.append(list_selection(s, rules))
            except ConfigError as exc:
                problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return loaded


SIGNAL_LIST = "signal_list"
LIST_SUFFIX = "-signaallijst"


def list_selection(loaded: LoadedSelection, rules: DpiaRules) -> LoadedSelection:
    """The public count of a signal list: the households of `loaded` that have a case this month,
    i.e. a vroegsignaal dated in the reference month (outreach/cases.py groups exactly those into
    cases, one per household). Written in the selection language, so that its definition is
    published in audit.json and the register, its tables are protected with every other table
    (privacy/relations.py relates it to the selection it narrows), and it is checked by the same
    DPIA rules (it also reads vroegsignalen.signaaldatum)."""
    s = loaded.selection
    definition = s.model_dump(mode="json", by_alias=True, exclude_none=True)
    definition.update(
        id=f"{s.id}{LIST_SUFFIX}"[:61], title=f"{s.title}: op de signaallijst van deze maand",
        description=(f"De huishoudens van de selectie '{s.id}' met een vroegsignaal met een signaaldatum in de "
                     "peilmaand: de zaken op de signaallijsten van de wijkteams (één zaak per huishouden)."),
        outputs=["buurt_tables"],
        criteria={"all": [definition["criteria"], {"source": "vroegsignalen", "within_months": 1}]})
    if s.approval is not None:  # approved with its selection, and audit.json and the register say so
        definition["approval"] = {"by": f"{s.approval.by} (met de selectie '{s.id}')", "date": str(s.approval.date)}
    derived = parse_selection(definition, loaded.catalogue)
    version = hashlib.sha256((loaded.version + LIST_SUFFIX).encode("utf-8")).hexdigest()
    out = LoadedSelection(derived, loaded.path, version, loaded.catalogue)
    broken = check_rules(facts(out), rules, rules.rulebook)
    if broken:
        doc = read_yaml(loaded.path)
        line = doc.line_of(("outputs", s.outputs.index(SIGNAL_LIST)))
        raise ConfigError([Problem(str(loaded.path), line, f"signal_list: the public count of the list (cases per area) "
                                   f"{v}") for v in broken])
    return out


def json_schema(cat: Catalogue | None = None) -> str:
    """The JSON Schema editors use; `source` lists the sources of the catalogue (the shipped one)."""
    schema = Selection.model_json_schema(by_alias=True)
    names = [name for name in (cat or shipped()) if name != HOUSEHOLD]
    schema["$defs"]["Criterion"]["properties"]["source"]["anyOf"][0]["enum"] = names
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "wijksignaal selection"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def undeclared(path: Path, references: list[tuple[tuple, str]], config_dir: Path) -> None:
    """ConfigError naming file:line for each source name that config/sources.yaml does not declare."""
    try:
        known = load_sources(config_dir).ids
    except ConfigError:  # reported where sources.yaml is loaded
        return
    bad = [(loc, name) for loc, name in references if name not in known]
    if bad:
        doc = read_yaml(path)
        raise ConfigError([Problem(str(path), doc.line_of(loc), f"{'.'.join(map(str, loc))}: unknown source '{name}'"
                                   f"{did_you_mean(name, known)}; sources.yaml declares {', '.join(known)}")
                           for loc, name in bad])


def load_dpia(config_dir: Path) -> DpiaRules:
    """The DPIA rules, with the gemeente's own rules from the `rule_modules` it names."""
    path = config_dir / "dpia.yaml"
    dpia = load_model(DpiaRules, path)
    undeclared(path, dpia.source_references(), config_dir)
    if not dpia.rule_modules:
        return dpia
    try:
        return dpia.with_gemeente_rules(load_rule_modules([config_dir / m for m in dpia.rule_modules]))
    except RuleModuleError as exc:
        raise ConfigError([Problem(str(path), read_yaml(path).line_of(("rule_modules", exc.index)), str(exc))]) from None
