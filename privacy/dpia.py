"""The DPIA rules (`config/dpia.yaml`): purposes, what each may read and publish, the
disclosure settings, and the rule book every selection must pass (rules.py: ids D1-D7
and the gemeente's own rules from `rule_modules`)."""

from __future__ import annotations

from datetime import date as Date
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, model_validator

from .model import Strict
from .rules import IMPLEMENTED_OUTPUTS, LEVELS, OWN_RULES, Rule  # noqa: F401  (LEVELS, IMPLEMENTED_OUTPUTS: re-exported)

SourceId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")]
"""A source's name as config/sources.yaml declares it (DpiaRules.source_references lists every
place this file names one, for the pipeline to check against the declared sources)."""
Output = Literal["buurt_tables", "signal_list", "monitor_tables", "ddas_delivery", "partner_feedback"]
"""What a purpose lets wijksignaal make: buurt tables and signal lists come from selections; the
monitor's tables (`wijksignaal run --monitor`) are made under the DPIA's monitor_purpose; the
DDAS v1.2 delivery (`wijksignaal delivery`) and the feedback to signal partners (`wijksignaal
feedback`) are made per gemeente and month, and read the signals' own IDs (the delivery also
their clients) again from the source files only under a purpose that allows them."""
Level = Literal["buurt", "wijk", "gemeente"]
IdentityField = Literal["voornamen", "geslachtsnaam", "straat", "huisnummer", "postcode", "woonplaats"]


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
    signal_list_fields: list[IdentityField] = Field(
        default_factory=list, description="what a signal list may show of a person, from the identity vault "
                                          "(privacy/vault.py): only with signal_list in allowed_outputs")
    lowest_level: Level = "buurt"
    min_cell_size: int = Field(ge=1)
    rounding: Rounding | None = None
    cell_key: CellKey | None = Field(
        default=None, description="consistent noise by the cell-key method instead of exact counts")
    retention_months: dict[SourceId, int] = Field(
        default_factory=dict, description="how long each source's data may be kept for this purpose")

    @model_validator(mode="after")
    def _one_way_to_blur(self) -> Purpose:
        if self.rounding is not None and self.cell_key is not None:
            raise ValueError("choose rounding or cell_key, not both")
        return self

    @model_validator(mode="after")
    def _list_fields_with_lists(self) -> Purpose:
        if "signal_list" in self.allowed_outputs and not self.signal_list_fields:
            raise ValueError("signal_list_fields: name what a signal list of this purpose may show (e.g. geslachtsnaam, "
                             "straat, huisnummer, postcode, woonplaats)")
        if self.signal_list_fields and "signal_list" not in self.allowed_outputs:
            raise ValueError("signal_list_fields are for a purpose whose allowed_outputs include signal_list")
        return self

    @model_validator(mode="after")
    def _retention_for_read_sources(self) -> Purpose:
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
    earlier_months_parts: Literal["empty_as_in_the_data", "possible_elsewhere"] = Field(
        default="empty_as_in_the_data",
        description="a monitor release beside earlier months' monitors: empty_as_in_the_data: the attacker is taken to "
                    "know which combinations of this month's and the earlier months' facts are empty; "
                    "possible_elsewhere: not those that a household elsewhere in the gemeente has (only where no "
                    "definition names a place; privacy/atoms.py, Parts: possible, not empty)")


class DpiaRules(Strict):
    dpia: DpiaMeta
    disclosure: Disclosure = Disclosure()
    stapeling_purpose: str = Field(description="the purpose under which the standard stapeling tables are made")
    monitor_purpose: str | None = Field(
        default=None, description="the purpose under which the vroegsignalering monitor's tables (monitor:*) are made "
                                  "from the signal lists' cases and their outcomes; it must allow monitor_tables. "
                                  "Without it no monitor is tabulated")
    purposes: dict[str, Purpose]
    rule_modules: list[str] = Field(
        default_factory=list, description="Python files next to dpia.yaml that add the gemeente's own rules for "
                                          "selections: each defines RULES, a list of privacy.rules.Rule")
    _gemeente_rules: tuple[Rule, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _consistent(self) -> DpiaRules:
        low = [k for k, p in self.purposes.items() if p.min_cell_size < self.disclosure.min_cell_size]
        if low:
            raise ValueError(
                f"purpose(s) {', '.join(low)} set min_cell_size below the global minimum "
                f"{self.disclosure.min_cell_size}"
            )
        if self.stapeling_purpose not in self.purposes:
            raise ValueError(f"stapeling_purpose '{self.stapeling_purpose}' is not a purpose")
        if self.monitor_purpose is not None:
            if self.monitor_purpose not in self.purposes:
                raise ValueError(f"monitor_purpose '{self.monitor_purpose}' is not a purpose")
            if "monitor_tables" not in self.purposes[self.monitor_purpose].allowed_outputs:
                raise ValueError(f"monitor_purpose '{self.monitor_purpose}' does not allow monitor_tables")
        return self

    @property
    def rulebook(self) -> tuple[Rule, ...]:
        """Every rule a selection must pass: wijksignaal's own (D1-D7), then the gemeente's."""
        return OWN_RULES + self._gemeente_rules

    def with_gemeente_rules(self, rules: tuple[Rule, ...]) -> DpiaRules:
        """These DPIA rules with the rules loaded from `rule_modules` (rules.load_rule_modules)."""
        self._gemeente_rules = tuple(rules)
        return self

    def allowed_fields(self, source: str) -> set[str]:
        """The fields of a source that some purpose allows: all a run may load of it."""
        return {f for p in self.purposes.values() for f in p.allowed_sources.get(source, [])}

    def source_references(self) -> list[tuple[tuple[str | int, ...], str]]:
        """(key path, source name) for every source this file names: each must be declared."""
        return [(("purposes", k, key, src), src) for k, p in self.purposes.items()
                for key in ("allowed_sources", "retention_months") for src in getattr(p, key)]

    def threshold(self, purpose: str, requested: int | None = None) -> int:
        base = max(self.disclosure.min_cell_size, self.purposes[purpose].min_cell_size)
        return max(base, requested or 0)
