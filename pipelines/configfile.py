"""Declarative YAML config parsed into pydantic models, with errors that name file and line.

Every problem found in a file is reported at once, one `Problem` each, as
``<file>:<line>: <where>: <what>`` so a data team can jump straight to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base for every config model: unknown keys are an error, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """One or more problems in configuration files; `problems` lists each one."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _line_map(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map each key path in a composed YAML document to its 1-based line."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _line_map(value_node, path + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = item.start_mark.line + 1
            _line_map(item, path + (i,), out)
    return out


@dataclass(frozen=True)
class YamlDoc:
    path: Path
    data: Any
    lines: dict[tuple, int]

    def line_of(self, loc: tuple) -> int | None:
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)


def read_yaml(path: Path | str) -> YamlDoc:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(str(path), None, "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(str(path), None, f"not UTF-8 ({exc.reason})")]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([Problem(str(path), line, f"invalid YAML: {getattr(exc, 'problem', exc)}")]) from None
    lines = _line_map(node) if node is not None else {(): 1}
    return YamlDoc(path, data if data is not None else {}, lines)


def _loc_text(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) if loc else "(top level)"


def _describe(err: dict, model_cls: type[BaseModel]) -> str:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model_cls, loc[:-1])
        hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"{_loc_text(loc)}: unknown key '{loc[-1]}'{hint}"
    if kind == "missing":
        return f"{_loc_text(loc)}: required key is missing"
    return f"{_loc_text(loc)}: {err['msg']}"


def _allowed_keys(model_cls: type[BaseModel], loc: tuple) -> list[str]:
    """Best-effort: the field names of the model found at `loc`."""
    cls: Any = model_cls
    for part in loc:
        if isinstance(part, int) or cls is None:
            continue
        field = getattr(cls, "model_fields", {}).get(part)
        if field is None:
            return []
        cls = _model_in(field.annotation)
    return sorted(getattr(cls, "model_fields", {}).keys()) if cls else []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def parse_model(model_cls: type[M], doc: YamlDoc, context: dict | None = None) -> M:
    """Validate a YAML document into `model_cls`; raise ConfigError listing every problem."""
    try:
        return model_cls.model_validate(doc.data, context=context)
    except ValidationError as exc:
        problems = [
            Problem(str(doc.path), doc.line_of(tuple(e["loc"])), _describe(e, model_cls))
            for e in exc.errors()
        ]
        raise ConfigError(problems) from None


def load_model(model_cls: type[M], path: Path | str, context: dict | None = None) -> M:
    return parse_model(model_cls, read_yaml(path), context)
