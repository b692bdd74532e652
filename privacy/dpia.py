"""The DPIA rules (`config/dpia.yaml`) and the checks every selection must pass.

A selection may run only when:
  * its purpose is a purpose in the DPIA rules;
  * every source and field it reads is allowed for that purpose (fields read by time
    rules, such as ingangsdatum and signaaldatum, count too);
  * every output it asks for is allowed for that purpose (and implemented: signal
    lists are reserved for a later version);
  * it asks for no geographic level below its purpose's lowest level;
  * it does not ask for a cell size below its purpose's (which is never below the
    global minimum);
  * it carries an approval (who, when).
`check_selection` returns every violation at once, each with the key it concerns, so
the caller can name the file and line.
"""

from __future__ import annotations

from datetime import date as Date
from typing import Literal, Optional

from pydantic import Field, model_validator

from pipelines.configfile import Strict

SourceId = Literal["brp", "uitkeringen", "vroegsignalen", "wmo"]
Output = Literal["buurt_tables", "signal_list"]
Level = Literal["buurt", "wijk", "gemeente"]
LEVELS = ("gemeente", "wijk", "buurt")  # from coarse to fine
IMPLEMENTED_OUTPUTS = ("buurt_tables",)


class Approval(Strict):
    by: str = Field(min_length=2)
    date: Date


class LegalBasis(Strict):
    text: str
    link: str = Field(pattern=r"^https://")


class Rounding(Strict):
    base: int = Field(ge=2, le=100, description="published counts are rounded to a multiple of this base")


class CellKey(Strict):
    max_noise: int = Field(default=2, ge=1, le=5, description="D: the largest noise added to or taken from a count")
    variance: float = Field(default=1.0, gt=0, le=4, description="V: the largest variance of the noise")


class Purpose(Strict):
    title: str
    description: str
    legal_basis: LegalBasis
    allowed_sources: dict[SourceId, list[str]]
    allowed_outputs: list[Output]
    lowest_level: Level = "buurt"
    min_cell_size: int = Field(ge=1)
    rounding: Optional[Rounding] = None
    cell_key: Optional[CellKey] = Field(
        default=None, description="consistent noise by the cell-key method instead of exact counts")
    retention_months: dict[SourceId, int] = Field(
        default_factory=dict, description="how long each source's data may be kept for this purpose")

    @model_validator(mode="after")
    def _one_way_to_blur(self) -> "Purpose":
        if self.rounding is not None and self.cell_key is not None:
            raise ValueError("choose rounding or cell_key, not both")
        return self

    @model_validator(mode="after")
    def _retention_for_read_sources(self) -> "Purpose":
        missing = [s for s in self.allowed_sources if s not in self.retention_months]
        if missing:
            raise ValueError(f"retention_months missing for source(s) {', '.join(missing)}")
        return self


class DpiaMeta(Strict):
    id: str
    version: str
    title: str
    organisation: str = Field(default="Gemeente (in te vullen)", description="organisation responsible")
    approval: Approval


class Disclosure(Strict):
    min_cell_size: int = Field(default=10, ge=1, description="global minimum: no purpose may go below it")
    zeros: Literal["publish"] = "publish"
    group_disclosure: Literal["protect", "publish"] = Field(
        default="protect", description="protect: hide and protect a zero that would show every household of an area "
                                       "has a problem domain (privacy/group.py); publish: publish it")


class DpiaRules(Strict):
    dpia: DpiaMeta
    disclosure: Disclosure = Disclosure()
    stapeling_purpose: str = Field(description="the purpose under which the standard stapeling tables are made")
    purposes: dict[str, Purpose]

    @model_validator(mode="after")
    def _consistent(self) -> "DpiaRules":
        low = [k for k, p in self.purposes.items() if p.min_cell_size < self.disclosure.min_cell_size]
        if low:
            raise ValueError(
                f"purpose(s) {', '.join(low)} set min_cell_size below the global minimum "
                f"{self.disclosure.min_cell_size}"
            )
        if self.stapeling_purpose not in self.purposes:
            raise ValueError(f"stapeling_purpose '{self.stapeling_purpose}' is not a purpose")
        return self

    def allowed_fields(self, source: str) -> set[str]:
        """The fields of a source that some purpose allows: all a run may load of it."""
        return {f for p in self.purposes.values() for f in p.allowed_sources.get(source, [])}

    def threshold(self, purpose: str, requested: int | None = None) -> int:
        base = max(self.disclosure.min_cell_size, self.purposes[purpose].min_cell_size)
        return max(base, requested or 0)


def check_selection(
    rules: DpiaRules, *, purpose: str, reads: list[tuple[str, str, tuple]], outputs: list[str],
    levels: list[str], min_cell_size: int | None, approval: object | None,
) -> list[tuple[tuple, str]]:
    """Every DPIA violation of a selection as (key path in the selection, message)."""
    problems: list[tuple[tuple, str]] = []
    if approval is None:
        problems.append((("approval",), "the selection has no approval (by whom, when); it may not run"))
    p = rules.purposes.get(purpose)
    if p is None:
        problems.append((("purpose",), f"purpose '{purpose}' is not in the DPIA rules; known purposes: "
                         f"{', '.join(sorted(rules.purposes))}"))
        return problems
    seen: set = set()
    for source, field, loc in reads:
        key = source if source not in p.allowed_sources else (source, field)
        if key in seen:
            continue
        seen.add(key)
        if source not in p.allowed_sources:
            problems.append((loc, f"reads source '{source}', which purpose '{purpose}' does not allow; "
                             f"allowed sources: {', '.join(sorted(p.allowed_sources))}"))
        elif field not in p.allowed_sources[source]:
            problems.append((loc, f"reads field '{source}.{field}', which purpose '{purpose}' does not "
                             f"allow; allowed fields of {source}: {', '.join(p.allowed_sources[source])}"))
    for i, out in enumerate(outputs):
        if out not in p.allowed_outputs:
            problems.append((("outputs", i), f"output '{out}' is not allowed for purpose '{purpose}'; allowed: "
                             f"{', '.join(p.allowed_outputs)}"))
        elif out not in IMPLEMENTED_OUTPUTS:
            problems.append((("outputs", i), f"output '{out}' is reserved for a later version of wijksignaal"))
    lowest = LEVELS.index(p.lowest_level)
    for i, level in enumerate(levels):
        if LEVELS.index(level) > lowest:
            problems.append((("levels", i), f"level '{level}' is below the lowest level '{p.lowest_level}' "
                             f"allowed for purpose '{purpose}'"))
    floor = rules.threshold(purpose)
    if min_cell_size is not None and min_cell_size < floor:
        problems.append((("min_cell_size",), f"min_cell_size {min_cell_size} is below the minimum {floor} for "
                         f"purpose '{purpose}'"))
    return problems
