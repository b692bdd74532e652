"""Declarative YAML config parsed into pydantic models, with errors that name file and line.

Every problem found in a file is reported at once, one `Problem` each, as
``<file>:<line>: <where>: <what>`` so a data team can jump straight to it.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from privacy.model import Strict  # noqa: F401  (the base of every config model; privacy/ needs it too)

M = TypeVar("M", bound=BaseModel)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, hex: the version of a selection or configuration file (and
    of a release's files)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


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


# Limits on a configuration file, checked before anything is built from it: a YAML alias
# "bomb" (nested anchors that expand to billions of nodes from a few hundred bytes) or a
# deeply nested document is refused, not expanded.
MAX_BYTES = 1 << 20
MAX_ALIASES = 100
MAX_NODES = 100_000  # after expanding aliases
MAX_DEPTH = 50


def _expanded_size(node: yaml.Node) -> tuple[int, int, int]:
    """(nodes after expanding aliases, aliases, depth) of a composed document, without
    expanding it: a node shared by aliases is counted once per use, computed once."""
    sizes: dict[int, int] = {}
    seen: set[int] = set()
    aliases = 0
    depth = 0
    stack = [(node, 1, False)]
    while stack:  # post-order, iterative: a deep document cannot exhaust Python's stack
        n, d, done = stack.pop()
        children = [v for pair in n.value for v in pair] if isinstance(n, yaml.MappingNode) else \
            (n.value if isinstance(n, yaml.SequenceNode) else [])
        if done:
            # a child not finished yet is an alias back to an ancestor: a cycle, endless when expanded
            sizes[id(n)] = 1 + sum(sizes.get(id(c), MAX_NODES + 1) for c in children)
            continue
        depth = max(depth, d)
        if id(n) in seen:  # an alias: the same node object again
            aliases += 1
            continue
        seen.add(id(n))
        stack.append((n, d, True))
        stack.extend((c, d + 1, False) for c in children)
        if aliases > MAX_ALIASES or depth > MAX_DEPTH:
            break
    return sizes.get(id(node), 0), aliases, depth


def _duplicate_keys(path: Path, node: yaml.Node) -> list[Problem]:
    """A key given twice in one mapping: YAML keeps the last silently; here it is an error."""
    problems, seen, stack = [], set(), [node]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, yaml.MappingNode):
            first: dict = {}
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in first:
                        problems.append(Problem(str(path), k.start_mark.line + 1,
                                                f"key '{k.value}' given twice (first on line {first[k.value]}); "
                                                "keep one"))
                    first.setdefault(k.value, k.start_mark.line + 1)
                stack.extend((k, v))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return sorted(problems, key=lambda p: p.line or 0)


def _compose(path: Path, text: str) -> tuple[yaml.Node | None, yaml.SafeLoader]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except RecursionError:
        raise ConfigError([Problem(str(path), None, f"nested more than {MAX_DEPTH} levels deep; refused")]) from None
    if node is None:
        return None, loader
    nodes, aliases, depth = _expanded_size(node)
    if aliases > MAX_ALIASES:
        raise ConfigError([Problem(str(path), None, f"more than {MAX_ALIASES} YAML aliases (*name); refused "
                                   "(configuration files need few or none)")])
    if depth > MAX_DEPTH:
        raise ConfigError([Problem(str(path), None, f"nested more than {MAX_DEPTH} levels deep; refused")])
    if nodes > MAX_NODES:
        raise ConfigError([Problem(str(path), None, f"expands to more than {MAX_NODES:,} YAML nodes (through its "
                                   "aliases); refused")])
    duplicates = _duplicate_keys(path, node)
    if duplicates:
        raise ConfigError(duplicates)
    return node, loader


def read_yaml(path: Path | str) -> YamlDoc:
    """The file as a YamlDoc (data and the line of every key), or ConfigError naming file and line.
    A file read before with the same text is not parsed again (a run reads its configuration
    in every stage): the document comes from a small cache keyed by the path and the text
    itself, so an edited file is always parsed anew; each caller gets its own copy of the data."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ConfigError([Problem(str(path), None, f"larger than {MAX_BYTES // 1024} KiB; refused")])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(str(path), None, "file not found")]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(str(path), None, "is a folder, not a file")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(str(path), None, f"not UTF-8 ({exc.reason})")]) from None
    data, lines = _parse(str(path), text)
    return YamlDoc(path, copy.deepcopy(data), dict(lines))


@functools.lru_cache(maxsize=64)
def _parse(name: str, text: str) -> tuple[Any, dict[tuple, int]]:
    """(data, lines) of a document's text; ConfigError (not cached) when it is not valid YAML."""
    path = Path(name)
    try:
        node, loader = _compose(path, text)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([Problem(str(path), line, f"invalid YAML: {getattr(exc, 'problem', exc)}")]) from None
    finally:
        if "loader" in locals():
            loader.dispose()
    lines = _line_map(node) if node is not None else {(): 1}
    return (data if data is not None else {}), lines


def did_you_mean(name: str, known: list[str] | tuple[str, ...]) -> str:
    """"; did you mean 'x'?" for the closest known name, or ''."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _loc_text(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) if loc else "(top level)"


def _describe(err: dict, model_cls: type[BaseModel]) -> str:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model_cls, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hints = ([f"did you mean '{close[0]}'?"] if close else []) + ([f"allowed: {', '.join(allowed)}"] if allowed else [])
        return f"{_loc_text(loc)}: unknown key '{loc[-1]}'" + "".join(f"; {h}" for h in hints)
    if kind == "missing":
        return f"{_loc_text(loc)}: required key is missing"
    if kind == "recursion_loop":
        return f"{_loc_text(loc[:3])}: nested too deeply"
    return f"{_loc_text(loc)}: {err['msg']}"


def _yaml_name(name: str, field: Any) -> str:
    """The key as written in YAML (a field's alias, such as `not` for `not_`)."""
    return field.alias or name


def _allowed_keys(model_cls: type[BaseModel], loc: tuple) -> list[str]:
    """Best-effort: the YAML keys of the model found at `loc`."""
    cls: Any = model_cls
    mapping_key = False  # the next part is a key of a dict field (a source name), not a field
    for part in loc:
        if isinstance(part, int) or cls is None:
            continue
        if mapping_key:
            mapping_key = False
            continue
        fields = {_yaml_name(n, f): f for n, f in getattr(cls, "model_fields", {}).items()}
        field = fields.get(part)
        if field is None:
            return []
        cls = _model_in(field.annotation)
        mapping_key = _is_dict(field.annotation)
    return sorted(_yaml_name(n, f) for n, f in getattr(cls, "model_fields", {}).items()) if cls else []


def _is_dict(annotation: Any) -> bool:
    origin = getattr(annotation, "__origin__", None)
    return origin is dict or any(_is_dict(a) for a in getattr(annotation, "__args__", ()) or ()
                                 if getattr(a, "__origin__", None) is not None)


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
