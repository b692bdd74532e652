"""DDAS Uitwisselmodel files: which version a file follows, and whether it follows it.

Each file is checked against the JSON Schema of the DDAS version it follows, as vendored
in `config/reference/ddas/` (v0.9 at the top, v1.2 in `v1.2/`), with the `jsonschema`
library (Draft 2020-12, formats ``date``, ``date-time`` and ``email`` asserted).

* **Version.** Neither schema has a version field (both forbid properties they do not
  define), so the version is read from the shape: field names that only one version
  uses (v0.9 ``aanleverende_organisatie`` and ``client.Burgerservicenummer``, v1.2
  ``aanleverendeOrganisatie`` and ``client.burgerservicenummer``, ...), taken from the
  two schemas themselves. A file using names of both is refused; a file using neither
  is read as v0.9, the version `sources.yaml` names.
* **Where a problem is.** A problem inside one vroegsignaal makes that signal a
  rejected row (rule ``ddas-schema``); a problem anywhere else (the top level, a
  levering, the vroegsignalen list itself) makes the whole file unreadable.
* **What a message says.** The JSON path, the schema keyword that failed and what the
  schema asks (a type, the number of allowed values, a format, a required property).
  Never the value found: jsonschema's own ``error.message`` quotes it (a BSN, a name),
  so it is not used. A property name is only shown when it is a name of one of the DDAS
  schemas; any other name is data and is counted, not shown.

Speed: jsonschema descends object by object (~130 µs per signal, 9 s for a country
month of 70,000 signals). `_Fast` gives the same verdict per signal by splitting the
schema into the parts whose verdict depends on little (the set of keys of an object, the
JSON type of a value, a date or enum value) and asking jsonschema once per distinct
part; only a signal it finds invalid is validated again in full, for the message. The
tests check both agree on every signal of a hostile corpus.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from pipelines.settings import DDAS_BASE_VERSION, DDAS_SCHEMAS

SCHEMA_FILES = DDAS_SCHEMAS
# Which versions are *read* (mapped to the source's columns) is the source's declaration:
# sources.yaml `columns` (v0.9) and `columns_by_version` (Source.read_versions).

FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER
# jsonschema asserts a format only if its checker is installed (date-time needs
# rfc3339-validator): make a missing one an error here, not a silently skipped check
_MISSING = {"date", "date-time", "email"} - set(FORMAT_CHECKER.checkers)
if _MISSING:  # pragma: no cover - depends on the installation
    raise ImportError(f"jsonschema cannot check the format(s) {', '.join(sorted(_MISSING))}: "
                      "install rfc3339-validator (see pyproject.toml)")

ANNOTATIONS = {"description", "title", "$comment", "examples", "default", "deprecated", "readOnly", "writeOnly"}
JSON_TYPE = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
             type(None): "null"}


class DdasError(Exception):
    """The file is not a DDAS file this version of wijksignaal can check; the text names no value."""


@dataclass
class Findings:
    """What a file's schema check found, as safe text (paths and schema terms only)."""

    version: str
    file: list[str] = field(default_factory=list)  # problems outside the signals
    signals: dict[tuple[int, int], str] = field(default_factory=dict)  # (levering, signal) -> problem(s)


# -- version -----------------------------------------------------------------------------------------------------


def _props(schema: dict, *path: str) -> set[str]:
    """Property names of the object at `path` (through arrays' items) in a schema."""
    node = schema
    for part in path:
        node = node["properties"][part]
        if node.get("type") == "array":
            node = node["items"]
    return set(node.get("properties", {}))


@cache
def _markers() -> dict[str, dict[str, set[str]]]:
    """version -> where -> field names only that version uses there."""
    where = {"levering": ("leveringen",), "client": ("leveringen", "vroegsignalen", "client"),
             "vroegsignaalzaak": ("leveringen", "vroegsignaalzaken")}
    names = {v: {w: _props(schema(v).raw, *p) for w, p in where.items()} for v in SCHEMA_FILES}
    return {v: {w: names[v][w] - set().union(*(names[o][w] for o in names if o != v)) for w in where}
            for v in names}


def detect_version(doc: dict) -> tuple[str, str]:
    """(version, why) for a parsed DDAS file whose ``leveringen`` is a list."""
    first: dict[str, str] = {}

    markers = _markers()

    def look(kind: str, obj: Any, path: str) -> None:
        if isinstance(obj, dict):
            for version, by_kind in markers.items():
                hit = sorted(set(obj) & by_kind[kind])
                if hit and version not in first:
                    first[version] = f"{path}.{hit[0]}"

    for i, levering in enumerate(doc["leveringen"]):
        if not isinstance(levering, dict):
            continue
        look("levering", levering, f"leveringen[{i}]")
        for key, kind, sub in (("vroegsignalen", "client", "client"), ("vroegsignaalzaken", "vroegsignaalzaak", None)):
            items = levering.get(key)
            if isinstance(items, list) and items and isinstance(items[0], dict):
                obj = items[0].get(sub) if sub else items[0]
                look(kind, obj, f"leveringen[{i}].{key}[0]" + (f".{sub}" if sub else ""))
        if len(first) == len(markers):
            break
    if len(first) > 1:
        found = "; ".join(f"v{v} at {p}" for v, p in sorted(first.items()))
        raise DdasError(f"mixes field names of DDAS versions ({found}): a file follows one version")
    if first:
        (version, path), = first.items()
        return version, f"field {path}"
    return DDAS_BASE_VERSION, "no field name of a later version"


def unknown_paths(version: str, paths: dict[str, str]) -> list[tuple[str, str]]:
    """(column, path) of the mapped field paths that name no property of a vroegsignaal in
    the version's schema (a typo in sources.yaml would otherwise read as an empty column)."""
    root = schema(version).raw["properties"]["leveringen"]["items"]["properties"]["vroegsignalen"]["items"]
    out = []
    for column, path in paths.items():
        node = root
        for part in path.split("."):
            props = node.get("properties", {}) if isinstance(node, dict) else {}
            if part not in props:
                out.append((column, path))
                break
            node = props[part]
            while isinstance(node, dict) and "$ref" in node and "properties" not in node:
                node = schema(version).raw["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return out


# -- schema ------------------------------------------------------------------------------------------------------


@cache
def _vocabulary() -> frozenset[str]:
    """Every property name any vendored DDAS schema defines: schema terms, safe to show."""
    out: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("properties",):
                out.update(node.get(key, {}))
            out.update(n for n in node.get("required", []) if isinstance(n, str))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for version in SCHEMA_FILES:
        walk(schema(version).raw)
    return frozenset(out)


def _path(parts, vocabulary: frozenset[str], prefix: str = "") -> str:
    out = prefix
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            name = p if p in vocabulary else "•"  # a key the schemas do not know is data
            out += f".{name}" if out else name
    return out or "(top level)"


def _describe(error, vocabulary: frozenset[str]) -> str:
    """The failed keyword and what the schema asks; never the instance's value."""
    v, want, inst = error.validator, error.validator_value, error.instance
    found = JSON_TYPE.get(type(inst), "value")
    if v == "type":
        types = " or ".join(want) if isinstance(want, list) else want
        text = f"expected {types}, found {found}"
    elif v == "enum":
        text = f"not one of the {len(want)} values the schema allows"
    elif v == "const":
        text = "not the value the schema requires"
    elif v == "format":
        text = f"not a valid {want}" + (" (YYYY-MM-DD)" if want == "date" else "")
    elif v == "required":
        missing = [p for p in want if isinstance(inst, dict) and p not in inst]
        text = f"required propert{'y' if len(missing) == 1 else 'ies'} {', '.join(repr(p) for p in missing)} missing"
    elif v == "additionalProperties":
        defined = set(error.schema.get("properties", {}))
        extra = sorted(k for k in inst if k not in defined) if isinstance(inst, dict) else []
        shown = [k for k in extra if k in vocabulary]
        hidden = len(extra) - len(shown)
        text = f"{len(extra)} propert{'y' if len(extra) == 1 else 'ies'} the schema does not define"
        if shown:
            text += ": " + ", ".join(repr(k) for k in shown)
        if hidden:
            text += (f"{' and' if shown else ':'} {hidden} whose name{' is' if hidden == 1 else 's are'} not shown "
                     f"(not {'a DDAS field name' if hidden == 1 else 'DDAS field names'}: possibly data)")
    elif v in ("minLength", "maxLength"):
        text = f"{'shorter' if v == 'minLength' else 'longer'} than the schema allows ({v} {want})"
    elif v in ("minItems", "maxItems"):
        text = f"{'fewer' if v == 'minItems' else 'more'} items than the schema allows ({v} {want})"
    elif v == "uniqueItems":
        text = "holds the same item more than once"
    elif v == "oneOf":
        how = "none" if error.context else "more than one"
        text = f"matches {how} of the {len(want)} alternatives the schema gives"
    elif v == "anyOf":
        text = f"matches none of the {len(want)} alternatives the schema gives"
    elif v == "not":
        text = "has a form the schema rules out"
    elif v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
        text = f"outside what the schema allows ({v} {want})"
    elif v == "pattern":
        text = "does not match the pattern the schema gives"
    elif v is None or v is False:
        text = "not allowed here by the schema"
    else:
        text = "does not meet the schema"
    return f"{v}: {text}"


def _sorted(errors) -> list:
    return sorted(errors, key=lambda e: (tuple(str(p) for p in e.absolute_path), str(e.validator)))


def join_problems(problems: list[str], limit: int = 3) -> str:
    text = "; ".join(problems[:limit])
    if len(problems) > limit:
        text += f"; and {len(problems) - limit} more"
    return text


class Schema:
    """One DDAS version's schema, its validators and the fast per-signal check."""

    def __init__(self, version: str, raw: dict):
        Draft202012Validator.check_schema(raw)
        self.version, self.raw = version, raw
        signal = raw["properties"]["leveringen"]["items"]["properties"]["vroegsignalen"]
        # everything but the vroegsignalen lists: the schema with that list's schema replaced by `true`
        skeleton = json.loads(json.dumps(raw))
        skeleton["properties"]["leveringen"]["items"]["properties"]["vroegsignalen"] = True
        self.skeleton = Draft202012Validator(skeleton, format_checker=FORMAT_CHECKER)
        # the vroegsignalen list without its items: checked on the real list (type, length)
        self.signal_list = Draft202012Validator({k: v for k, v in signal.items() if k != "items"},
                                                format_checker=FORMAT_CHECKER)
        self.signal = Draft202012Validator({**signal["items"], "$defs": raw.get("$defs", {})},
                                           format_checker=FORMAT_CHECKER)
        self.fast = _Fast(signal["items"], raw.get("$defs", {}))

    def check(self, doc: Any) -> Findings:
        vocabulary = _vocabulary()
        found = Findings(self.version)
        # 1. everything but the signals: the document with every vroegsignalen list emptied
        # (and not checked: its schema is `true` in the skeleton schema)
        skeleton = doc
        lists: list[tuple[int, list]] = []
        if isinstance(doc, dict) and isinstance(doc.get("leveringen"), list):
            skeleton = dict(doc)
            skeleton["leveringen"] = []
            for i, lev in enumerate(doc["leveringen"]):
                if isinstance(lev, dict) and "vroegsignalen" in lev:
                    lists.append((i, lev["vroegsignalen"]))
                    lev = {**lev, "vroegsignalen": []}
                skeleton["leveringen"].append(lev)
        for e in _sorted(self.skeleton.iter_errors(skeleton)):
            if e.validator == "uniqueItems" and list(e.absolute_path) == ["leveringen"]:
                # emptied lists make leveringen that differ only in their signals look equal: ask again
                if Draft202012Validator({"uniqueItems": True}).is_valid(doc["leveringen"]):
                    continue
            found.file.append(f"{_path(e.absolute_path, vocabulary)}: {_describe(e, vocabulary)}")
        # 2. each vroegsignalen list as a list, then each signal in it
        for i, signals in lists:
            for e in _sorted(self.signal_list.iter_errors(signals)):
                found.file.append(f"{_path(e.absolute_path, vocabulary, f'leveringen[{i}].vroegsignalen')}: "
                                  f"{_describe(e, vocabulary)}")
            if not isinstance(signals, list):
                continue
            fast = self.fast
            for j, signal in enumerate(signals):
                if fast(signal):
                    continue
                where = f"leveringen[{i}].vroegsignalen[{j}]"
                problems = [f"{_path(e.absolute_path, vocabulary, where)}: {_describe(e, vocabulary)}"
                            for e in _sorted(self.signal.iter_errors(signal))]
                if problems:
                    found.signals[(i, j)] = join_problems(problems)
        return found


@cache
def schema(version: str) -> Schema:
    raw = json.loads(SCHEMA_FILES[version].read_text(encoding="utf-8"))
    return Schema(version, raw)


# -- the fast check ----------------------------------------------------------------------------------------------


def _type_key(x: Any):
    """What a jsonschema `type` keyword can see of a value: its Python type (and, for a
    float, whether it is integral: 1.0 is an "integer")."""
    return (type(x), x.is_integer()) if isinstance(x, float) else type(x)


def _value_key(x: Any):
    if isinstance(x, (dict, list)):
        return ("json", json.dumps(x, sort_keys=True, ensure_ascii=False))
    return (type(x), x)  # (bool, True) and (int, 1) stay apart


class _Fast:
    """Verdict of jsonschema on one signal, computed from cached verdicts of its parts.

    A schema node is split only where the split is exact:

    * an object node (`type`, `properties`, `required`, `additionalProperties` true or
      false, and `allOf`/`anyOf`/`oneOf`/`not` over the same instance) is valid iff its
      shell (the node with each property's schema replaced by ``true``; its verdict
      depends only on the value's type and set of keys) is valid, each present
      property's value is valid under its own node, and the combinators hold;
    * a node that only has `type` is decided by the value's type;
    * any other node is decided by jsonschema itself, once per distinct value.

    Every verdict comes from jsonschema; this class only decides what to cache it by.
    """

    def __init__(self, node: Any, defs: dict):
        self.defs = defs
        self.check: Callable[[Any], bool] = self._compile(node)

    def __call__(self, x: Any) -> bool:
        return self.check(x)

    def _validator(self, node: Any) -> Draft202012Validator:
        sub = {**node, "$defs": self.defs} if isinstance(node, dict) else node
        return Draft202012Validator(sub, format_checker=FORMAT_CHECKER)

    def _compile(self, node: Any) -> Callable[[Any], bool]:
        if node is True or node == {}:
            return lambda x: True
        if node is False:
            return lambda x: False
        keys = set(node) - ANNOTATIONS
        if keys == {"$ref"} and node["$ref"].startswith("#/$defs/"):
            return self._compile(self.defs[node["$ref"][len("#/$defs/"):]])
        if keys == {"type"}:
            return self._cached(self._validator({"type": node["type"]}).is_valid, _type_key)
        object_keys = {"type", "properties", "required", "additionalProperties"}
        combinators = {"allOf", "anyOf", "oneOf", "not"}
        if ("properties" in keys or "required" in keys) and keys <= object_keys | combinators and \
                isinstance(node.get("additionalProperties", True), bool) and node.get("type", "object") == "object":
            return self._object(node)
        return self._cached(self._validator(node).is_valid, _value_key)

    @staticmethod
    def _cached(judge: Callable[[Any], bool], key: Callable[[Any], Any]) -> Callable[[Any], bool]:
        cache: dict = {}

        def check(x: Any) -> bool:
            k = key(x)
            verdict = cache.get(k)
            if verdict is None:
                verdict = cache[k] = judge(x)
            return verdict

        return check

    def _object(self, node: dict) -> Callable[[Any], bool]:
        props = node.get("properties", {})
        shell = {k: node[k] for k in ("type", "required", "additionalProperties") if k in node}
        shell["properties"] = {p: True for p in props}
        judge = self._validator(shell).is_valid
        shell_cache: dict = {}
        children = {p: self._compile(s) for p, s in props.items()}
        all_of = [self._compile(s) for s in node.get("allOf", [])]
        any_of = [self._compile(s) for s in node.get("anyOf", [])]
        one_of = [self._compile(s) for s in node.get("oneOf", [])]
        not_ = self._compile(node["not"]) if "not" in node else None

        def check(x: Any) -> bool:
            k = (type(x), frozenset(x)) if isinstance(x, dict) else _type_key(x)
            ok = shell_cache.get(k)
            if ok is None:
                ok = shell_cache[k] = judge(x)
            if not ok:
                return False
            if isinstance(x, dict):
                for p, v in x.items():
                    child = children.get(p)
                    if child is not None and not child(v):
                        return False
            if all_of and not all(c(x) for c in all_of):
                return False
            if any_of and not any(c(x) for c in any_of):
                return False
            if one_of and sum(1 for c in one_of if c(x)) != 1:
                return False
            return not (not_ is not None and not_(x))

        return check

