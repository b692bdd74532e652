"""The DPIA rule book for selections: every rule a selection must pass before it may run.

A rule has an id (`D1` ... for wijksignaal's own rules), a short name, a one-line Dutch
statement (what the register, `wijksignaal explain` and audit.json print) and its check.
The check sees a selection only as `SelectionFacts`: plain data (purpose, the fields it
reads, outputs, levels, cell size, approval, its definition as written), never data of
people. Every violation names its rule, so a privacy officer can cite "rule D4" and a
data team sees which rule a file breaks, at which line (the caller adds file and line).

wijksignaal's own rules:

| id | name | statement |
| --- | --- | --- |
| D1 | doel | De selectie dient een doel dat in de DPIA staat. |
| D2 | goedkeuring | De selectie vermeldt wie haar goedkeurde en wanneer. |
| D3 | bronnen | De selectie leest alleen bronnen die haar doel toestaat. |
| D4 | velden | De selectie leest alleen velden die haar doel toestaat, ook de velden die tijdregels lezen (zoals ingangsdatum en signaaldatum). |
| D5 | uitvoer | De selectie vraagt alleen uitvoer die haar doel toestaat en die wijksignaal levert. |
| D6 | niveau | De selectie publiceert op geen lager gebiedsniveau dan haar doel toestaat. |
| D7 | celgrootte | De selectie vraagt geen kleinere minimale celgrootte dan haar doel (en nooit minder dan het minimum van de DPIA). |

(`tests/privacy/test_rules.py` checks that this table is the rule book the code runs.)
D3 to D7 need the purpose: a selection whose purpose is not in the DPIA (D1) is checked
against D1 and D2 only.

**A gemeente's own rules.** `dpia.yaml` may name Python files next to it
(`rule_modules: [regels_hengelo.py]`); each defines `RULES`, a list of `Rule`, with ids
of its own (not `D` and a number). A rule's check is a function
`(facts, dpia) -> iterable of (key path in the selection, message)`. Example:

    from privacy.rules import Rule

    def _no_geboortedatum_for_monitoring(facts, dpia):
        for source, field, loc in facts.reads:
            if field == "geboortedatum" and facts.purpose == "stapelingsmonitor":
                yield loc, "the stapelingsmonitor may not select by date of birth"

    RULES = [Rule("G1", "geen-leeftijd", "Selecties voor de stapelingsmonitor selecteren niet op leeftijd.",
                  _no_geboortedatum_for_monitoring)]

Every rule runs on every selection; the selection runs only when none has a violation.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .dpia import DpiaRules

LEVELS = ("gemeente", "wijk", "buurt")  # from coarse to fine
IMPLEMENTED_OUTPUTS = ("buurt_tables", "signal_list", "monitor_tables")
OWN_ID = re.compile(r"^D\d+$")
KeyPath = tuple[str | int, ...]  # where in the selection's YAML: keys and list indices


@dataclass(frozen=True)
class SelectionFacts:
    """What a rule may know of a selection. `reads`: (DPIA source, field, key path) for every
    field it reads, implicit ones (time rules) included; `definition`: the selection as
    written (its YAML as data)."""

    id: str
    purpose: str
    unit: str
    reads: tuple[tuple[str, str, KeyPath], ...]
    outputs: tuple[str, ...]
    levels: tuple[str, ...]
    min_cell_size: int | None
    approved: bool
    definition: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Violation:
    rule: str  # the rule's id
    name: str
    loc: KeyPath
    message: str

    def __str__(self) -> str:
        return f"DPIA rule {self.rule} ({self.name}): {self.message}"


Check = Callable[[SelectionFacts, "DpiaRules"], Iterable[tuple[KeyPath, str]]]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    statement_nl: str
    check: Check
    needs_purpose: bool = True  # skipped when the purpose is unknown (D1 reports that)

    def citation(self) -> str:
        return f"{self.id} {self.name}"


def _purpose_known(facts: SelectionFacts, dpia: DpiaRules) -> Iterator[tuple[KeyPath, str]]:
    if facts.purpose not in dpia.purposes:
        yield ("purpose",), (f"purpose '{facts.purpose}' is not in the DPIA rules; known purposes: "
                             f"{', '.join(sorted(dpia.purposes))}")


def _approved(facts: SelectionFacts, dpia: DpiaRules) -> Iterator[tuple[KeyPath, str]]:
    if not facts.approved:
        yield ("approval",), "the selection has no approval (by whom, when); it may not run"


def _sources(facts: SelectionFacts, dpia: DpiaRules) -> Iterator[tuple[KeyPath, str]]:
    p = dpia.purposes[facts.purpose]
    seen: set[str] = set()
    for source, _, loc in facts.reads:
        if source not in p.allowed_sources and source not in seen:
            seen.add(source)
            yield loc, (f"reads source '{source}', which purpose '{facts.purpose}' does not allow; "
                        f"allowed sources: {', '.join(sorted(p.allowed_sources))}")


def _fields(facts: SelectionFacts, dpia: DpiaRules) -> Iterator[tuple[KeyPath, str]]:
    p = dpia.purposes[facts.purpose]
    seen: set[tuple[str, str]] = set()
    for source, name, loc in facts.reads:
        if source in p.allowed_sources and name not in p.allowed_sources[source] and (source, name) not in seen:
            seen.add((source, name))
            yield loc, (f"reads field '{source}.{name}', which purpose '{facts.purpose}' does not allow; "
                        f"allowed fields of {source}: {', '.join(p.allowed_sources[source])}")


def _outputs(facts: SelectionFacts, dpia: DpiaRules) -> Iterator[tuple[KeyPath, str]]:
    p = dpia.purposes[facts.purpose]
    for i, out in enumerate(facts.outputs):
        if out not in p.allowed_outputs:
            yield ("outputs", i), (f"output '{out}' is not allowed for purpose '{facts.purpose}'; allowed: "
                                   f"{', '.join(p.allowed_outputs)}")
        elif out not in IMPLEMENTED_OUTPUTS:
            yield ("outputs", i), f"output '{out}' is reserved for a later version of wijksignaal"


def _levels(facts: SelectionFacts, dpia: DpiaRules) -> Iterator[tuple[KeyPath, str]]:
    p = dpia.purposes[facts.purpose]
    lowest = LEVELS.index(p.lowest_level)
    for i, level in enumerate(facts.levels):
        if LEVELS.index(level) > lowest:
            yield ("levels", i), (f"level '{level}' is below the lowest level '{p.lowest_level}' allowed for "
                                  f"purpose '{facts.purpose}'")


def _cell_size(facts: SelectionFacts, dpia: DpiaRules) -> Iterator[tuple[KeyPath, str]]:
    floor = dpia.threshold(facts.purpose)
    if facts.min_cell_size is not None and facts.min_cell_size < floor:
        yield ("min_cell_size",), (f"min_cell_size {facts.min_cell_size} is below the minimum {floor} for purpose "
                                   f"'{facts.purpose}'")


OWN_RULES: tuple[Rule, ...] = (
    Rule("D1", "doel", "De selectie dient een doel dat in de DPIA staat.", _purpose_known, needs_purpose=False),
    Rule("D2", "goedkeuring", "De selectie vermeldt wie haar goedkeurde en wanneer.", _approved,
         needs_purpose=False),
    Rule("D3", "bronnen", "De selectie leest alleen bronnen die haar doel toestaat.", _sources),
    Rule("D4", "velden", "De selectie leest alleen velden die haar doel toestaat, ook de velden die tijdregels "
                         "lezen (zoals ingangsdatum en signaaldatum).", _fields),
    Rule("D5", "uitvoer", "De selectie vraagt alleen uitvoer die haar doel toestaat en die wijksignaal levert.",
         _outputs),
    Rule("D6", "niveau", "De selectie publiceert op geen lager gebiedsniveau dan haar doel toestaat.", _levels),
    Rule("D7", "celgrootte", "De selectie vraagt geen kleinere minimale celgrootte dan haar doel (en nooit minder "
                             "dan het minimum van de DPIA).", _cell_size),
)


class RuleModuleError(ValueError):
    """A gemeente's rule module cannot be used; `index` is its position in `rule_modules`."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index


def load_rule_modules(paths: list[Path]) -> tuple[Rule, ...]:
    """The rules of a gemeente's rule modules (see the module docstring), in order; raises
    RuleModuleError naming the module."""
    rules: list[Rule] = []
    taken = {r.id for r in OWN_RULES}
    for i, path in enumerate(paths):
        if not path.is_file():
            raise RuleModuleError(i, f"rule module {path.name} does not exist (next to dpia.yaml)")
        spec = importlib.util.spec_from_file_location(f"wijksignaal_rules_{i}_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise RuleModuleError(i, f"rule module {path.name} is not a Python file")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # the gemeente's code: report it, located, without a traceback
            raise RuleModuleError(i, f"rule module {path.name} fails to load: {type(exc).__name__}: {exc}") from None
        found = getattr(module, "RULES", None)
        if not isinstance(found, (list, tuple)) or not all(isinstance(r, Rule) for r in found):
            raise RuleModuleError(i, f"rule module {path.name} must define RULES, a list of privacy.rules.Rule")
        for r in found:
            if OWN_ID.match(r.id):
                raise RuleModuleError(i, f"rule module {path.name}: id '{r.id}' is reserved for wijksignaal's own "
                                         "rules (D and a number); choose another, for example G1")
            if r.id in taken:
                raise RuleModuleError(i, f"rule module {path.name}: rule id '{r.id}' is used twice")
            taken.add(r.id)
            rules.append(r)
    return tuple(rules)


def check(facts: SelectionFacts, dpia: DpiaRules, rules: Iterable[Rule]) -> list[Violation]:
    """Every violation of every rule, in rule order."""
    known = facts.purpose in dpia.purposes
    out: list[Violation] = []
    for rule in rules:
        if rule.needs_purpose and not known:
            continue
        out.extend(Violation(rule.id, rule.name, tuple(loc), msg) for loc, msg in rule.check(facts, dpia))
    return out


def rulebook_table(rules: Iterable[Rule]) -> list[dict[str, str]]:
    """The rules as records for the register and audit.json."""
    return [{"id": r.id, "name": r.name, "statement_nl": r.statement_nl} for r in rules]


__all__ = ["Rule", "SelectionFacts", "Violation", "OWN_RULES", "RuleModuleError", "load_rule_modules", "check",
           "rulebook_table", "LEVELS", "IMPLEMENTED_OUTPUTS"]
