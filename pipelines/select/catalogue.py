"""The field catalogue: every field a selection may name, per source, and nothing else.

This is the whitelist between user text and SQL. A field name in a selection must be a
key here; it maps to a fixed SQL expression over the warehouse table of its source.
The catalogue is derived from the sources' declarations (`catalogue` and `codes` in
config/sources.yaml): the DPIA rules (config/dpia.yaml) allow fields by these same
names, and `explain` and the register show the Dutch descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pipelines.settings import CONFIG_DIR, SourcesFile, load_sources

Kind = Literal["bool", "int", "number", "text"]


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    sql: str  # expression over alias t; `{year}` is replaced by a bound parameter
    description: str
    values: tuple[str, ...] = ()  # code list for text fields, when closed
    labels: tuple[tuple[str, str], ...] = ()  # code -> its meaning, for codes that are numbers

    def label(self, code: str) -> str:
        """'01 (Hulp bij het huishouden)' for a labelled code, else the code."""
        meaning = dict(self.labels).get(code)
        return f"{code} ({meaning})" if meaning else code


@dataclass(frozen=True)
class SourceFields:
    name: str
    table: str
    description: str
    person_column: str  # column holding the person pseudonym
    fields: dict[str, Field]
    dpia_source: str  # the source (sources.yaml, dpia.yaml) whose data it is
    # implicit fields read by time rules (DPIA must allow them too)
    period_fields: tuple[str, ...] = ()  # read by `active` / `duration_months`
    window_field: str | None = None  # read by `within_months`
    # the rows carry their household (`hid`, set by the link stage: a source with an address link, whose rows
    # may have no person); else a row's household is its person's
    placed_by_address: bool = False

    @property
    def population(self) -> bool:
        """Person rows that carry their household (the BRP's persons)."""
        return self.table == "persons"


Catalogue = dict[str, SourceFields]
HOUSEHOLD = "huishouden"  # the catalogue of household attributes (`field: huishouden.<name>`)


def catalogue_of(sources: SourcesFile) -> Catalogue:
    """The catalogue the sources declare, in their order."""
    out: Catalogue = {}
    for name, source in sources.sources.items():
        for entry, spec in source.catalogue.items():
            fields = {}
            for fname, f in spec.fields.items():
                values = tuple(sources.codelists()[f.codes]) if f.codes else ()
                labels = tuple(sources.codelist_labels(f.codes).items()) if f.codes else ()
                fields[fname] = Field(fname, f.kind, f.sql or f't."{fname}"', f.description, values, labels)
            table = spec.table or source.table
            out[entry] = SourceFields(entry, table, spec.description, spec.person_column, fields,
                                      name, tuple(spec.period_fields), spec.window_field,
                                      table == source.table and table != "persons"
                                      and "address" in source.link.values())
    return out


@lru_cache(maxsize=8)
def _load(config_dir: Path) -> Catalogue:
    return catalogue_of(load_sources(config_dir))


def shipped() -> Catalogue:
    """The catalogue of the shipped config/sources.yaml (the JSON Schema's and the tests')."""
    return _load(CONFIG_DIR)
