"""Selections: YAML target groups, parsed strictly, checked against the DPIA rules and
compiled to SQL over a fixed whitelist of fields.

User text never becomes SQL: field names must be keys of `FIELDS` (which map to fixed,
quoted column names) and every value is a bound parameter.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional, Union

from pydantic import Field, model_validator

from privacy.dpia import Approval, DpiaRules, check_selection

from .configfile import ConfigError, Problem, Strict, YamlDoc, parse_model, read_yaml

# selection field -> (source, household_facts column, type). The only names SQL may see.
FIELDS: dict[str, tuple[str, str, type]] = {
    "brp.aantal_personen": ("brp", "n_personen", int),
    "brp.aantal_minderjarigen": ("brp", "n_minderjarigen", int),
    "brp.aantal_75plus": ("brp", "n_75plus", int),
    "uitkeringen.lopend": ("uitkeringen", "uitkering", bool),
    "uitkeringen.inhouding": ("uitkeringen", "inhouding", bool),
    "uitkeringen.budgetbeheer": ("uitkeringen", "budgetbeheer", bool),
    "vroegsignalen.achterstand": ("vroegsignalen", "achterstand", bool),
    "vroegsignalen.aantal": ("vroegsignalen", "n_signalen", int),
    "vroegsignalen.crisissignaal": ("vroegsignalen", "crisissignaal", bool),
    "wmo.lopend": ("wmo", "wmo", bool),
}
OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "in": "IN"}
Value = Union[bool, int, str, list[Union[bool, int, str]]]


class Criterion(Strict):
    """Either a comparison (field, op, value) or a group: all / any / not."""

    all: Optional[list["Criterion"]] = None
    any: Optional[list["Criterion"]] = None
    not_: Optional["Criterion"] = Field(default=None, alias="not")
    field: Optional[str] = None
    op: Optional[Literal["=", "!=", "<", "<=", ">", ">=", "in"]] = None
    value: Optional[Value] = None

    @model_validator(mode="after")
    def _one_form(self) -> "Criterion":
        groups = [k for k in ("all", "any", "not_") if getattr(self, k) is not None]
        if len(groups) > 1 or (groups and self.field is not None):
            raise ValueError("use exactly one of: all, any, not, or field/op/value")
        if not groups:
            if self.field is None or self.op is None or self.value is None:
                raise ValueError("a comparison needs field, op and value")
            if self.field not in FIELDS:
                raise ValueError(f"unknown field '{self.field}'; allowed: {', '.join(FIELDS)}")
            kind = FIELDS[self.field][2]
            values = self.value if isinstance(self.value, list) else [self.value]
            if (self.op == "in") != isinstance(self.value, list):
                raise ValueError("op 'in' takes a list; other ops take one value")
            for v in values:
                if type(v) is not kind:
                    raise ValueError(f"field '{self.field}' takes {kind.__name__} values, got {v!r}")
            if kind is bool and self.op not in ("=", "!="):
                raise ValueError(f"field '{self.field}' is yes/no: use = or !=")
        return self

    def reads(self, loc: tuple = ("criteria",)) -> list[tuple[str, str, tuple]]:
        """(source, field, key path of the comparison) for every field this criterion reads."""
        if self.field is not None:
            source, _, _ = FIELDS[self.field]
            return [(source, self.field.split(".", 1)[1], loc + ("field",))]
        out: list[tuple[str, str, tuple]] = []
        for key in ("all", "any"):
            for i, child in enumerate(getattr(self, key) or []):
                out.extend(child.reads(loc + (key, i)))
        if self.not_ is not None:
            out.extend(self.not_.reads(loc + ("not",)))
        return out

    def to_sql(self, params: list) -> str:
        if self.all is not None:
            return "(" + " AND ".join(c.to_sql(params) for c in self.all) + ")" if self.all else "TRUE"
        if self.any is not None:
            return "(" + " OR ".join(c.to_sql(params) for c in self.any) + ")" if self.any else "FALSE"
        if self.not_ is not None:
            return f"(NOT {self.not_.to_sql(params)})"
        column = FIELDS[self.field][1]  # whitelisted identifier
        if self.op == "in":
            params.extend(self.value)
            return f'("{column}" IN ({", ".join("?" for _ in self.value)}))'
        params.append(self.value)
        return f'("{column}" {OPS[self.op]} ?)'


class Selection(Strict):
    """A target group: who, why, under which approval, and which outputs it may feed."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,60}$")
    title: str
    description: str = Field(description="plain-Dutch description of the target group")
    purpose: str = Field(description="a purpose key in config/dpia.yaml")
    owner: str
    approval: Optional[Approval] = None
    unit: Literal["huishouden"] = "huishouden"
    outputs: list[Literal["buurt_tables", "signal_list"]] = Field(min_length=1)
    min_cell_size: Optional[int] = Field(default=None, ge=1)
    criteria: Criterion


@dataclass(frozen=True)
class LoadedSelection:
    selection: Selection
    path: Path
    version: str  # sha256 of the file

    def compile(self) -> tuple[str, list]:
        params: list = []
        where = self.selection.criteria.to_sql(params)
        query = (
            "SELECT buurtcode, count(*)::INTEGER AS n FROM household_facts "
            f"WHERE period = ? AND {where} GROUP BY buurtcode ORDER BY buurtcode"
        )
        return query, ["<period>"] + params


def load_selection(path: Path, rules: DpiaRules) -> LoadedSelection:
    doc = read_yaml(path)
    sel = parse_model(Selection, doc)
    problems = [
        Problem(str(path), doc.line_of(loc), msg)
        for loc, msg in check_selection(
            rules, purpose=sel.purpose, reads=sel.criteria.reads(), outputs=list(sel.outputs),
            min_cell_size=sel.min_cell_size, approval=sel.approval,
        )
    ]
    if sel.id != path.stem:
        problems.append(Problem(str(path), doc.line_of(("id",)), f"id '{sel.id}' must equal the file name '{path.stem}'"))
    if problems:
        raise ConfigError(problems)
    return LoadedSelection(sel, path, hashlib.sha256(path.read_bytes()).hexdigest())


def load_selections(folder: Path, rules: DpiaRules) -> list[LoadedSelection]:
    """All selections in `folder`; every problem in every file is reported together."""
    loaded, problems = [], []
    for path in sorted(folder.glob("*.yaml")):
        try:
            loaded.append(load_selection(path, rules))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return loaded


def json_schema() -> str:
    schema = Selection.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "wijksignaal selection"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def load_dpia(config_dir: Path) -> DpiaRules:
    from .configfile import load_model

    return load_model(DpiaRules, config_dir / "dpia.yaml")


__all__ = ["Selection", "LoadedSelection", "load_selection", "load_selections", "load_dpia", "json_schema", "FIELDS",
           "YamlDoc"]
