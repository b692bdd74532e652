"""Models for the files in `config/`: municipality settings, sources and data contracts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from pipelines.configfile import Strict, load_model
from privacy.vault import FIELDS as VAULT_FIELDS

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "config"
REFERENCE_DIR = CONFIG_DIR / "reference"
SELECTIONS_DIR = REPO_ROOT / "selections"
DDAS_SCHEMAS = {  # the DDAS versions wijksignaal knows, with their vendored JSON Schema
    "0.9": REFERENCE_DIR / "ddas" / "json_schema_Uitwisselmodel.json",
    "1.2": REFERENCE_DIR / "ddas" / "v1.2" / "json_schema_Uitwisselmodel.json",
}
DDAS_BASE_VERSION = "0.9"  # the version a DDAS source's `columns` map (and a file without later field names follows)

CANONICAL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
PERIOD = re.compile(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$")
GEMEENTE = re.compile(r"^GM\d{4}$")


LINK_KINDS = {
    "pseudonym": "gepseudonimiseerd (HMAC-SHA256 met de sleutel buiten het datapakhuis)",
    "household": "gepseudonimiseerd (het huishouden, zonder adres)",
    "signal": "gepseudonimiseerd",
    "year": "alleen het geboortejaar wordt bewaard",
    "buurt": "bewaard (de buurt van het adres)",
    "address": "gepseudonimiseerd (het adres als geheel: postcode, huisnummer en toevoeging samen; alleen als er "
               "geen BSN is)",
}
"""What a source's load SQL keeps of a link column (the register shows the text)."""


def canonical(value: dict, what: str) -> dict:
    """`value` if every key is a canonical name (a column or table name), else a ValueError."""
    for name in value:
        if not CANONICAL_NAME.match(name):
            raise ValueError(f"{what} '{name}' must match {CANONICAL_NAME.pattern}")
    return value


class CatalogueField(Strict):
    """A field a selection may name: a fixed SQL expression over the source's table (alias t)."""

    kind: Literal["bool", "int", "number", "text"]
    description: str = Field(description="plain-Dutch meaning, shown by explain and the register")
    sql: str | None = Field(default=None, description='SQL expression over alias t (the catalogue table) or h '
                                                      '(households); `{year}` is the reference year, bound as a '
                                                      'parameter; default t."<field name>"')
    codes: str | None = Field(default=None, description="the code list (a key of some source's `codes`) a text "
                                                        "field's values come from")


class CatalogueEntry(Strict):
    """What selections may read of a source, under one name (a source may offer more than one:
    the BRP offers `brp`, its persons, and `huishouden`, their households)."""

    description: str
    table: str | None = Field(default=None, description="warehouse table; default the source's `table`")
    person_column: str = Field(default="pid", description="column holding the person pseudonym; '' for households")
    fields: dict[str, CatalogueField] = Field(default_factory=dict)
    period_fields: list[str] = Field(default_factory=list, max_length=2, description="read by `active` and "
                                     "`duration_months`: the start and the end date column, or none")

    window_field: str | None = Field(default=None, description="read by `within_months`: the date column")

    @field_validator("period_fields")
    @classmethod
    def _start_and_end(cls, value: list[str]) -> list[str]:
        if len(value) == 1:
            raise ValueError("give the start and the end date column, or none")
        return value


class Source(Strict):
    """One source, declared once: where its extract is, how to read it, which contract checks it,
    how it is loaded, and what selections may read of it. Everything else (ingest, the field
    catalogue, the DPIA checks, the register, audit.json) is derived from this declaration."""

    title: str
    file: str = Field(description="file name or glob, relative to the sources directory")
    format: Literal["csv", "ddas-json"]
    encoding: Literal["utf-8", "cp1252"] = "utf-8"
    delimiter: Literal[",", ";", "\t", "|"] = ","
    decimal: Literal[".", ","] = "."
    date_format: Literal["%Y-%m-%d", "%d-%m-%Y", "%Y%m%d"] = "%Y-%m-%d"
    contract: str = Field(description="data contract file, relative to the config directory")
    table: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$", description="the warehouse table the source is loaded into")
    load: str = Field(description="the load SQL (pseudonymises; reads the staged rows as `staging`), relative to "
                                  "the config directory")
    link: dict[str, Literal["pseudonym", "household", "signal", "year", "buurt", "address"]] = Field(
        description="the columns read whatever the DPIA allows, because they place a row (person, household, buurt, "
                    "signal), and what the load SQL keeps of each: " + "; ".join(f"{k}: {v}" for k, v in LINK_KINDS.items()))
    columns: dict[str, str] = Field(
        description="canonical column name -> column header in the file (CSV) or field path (JSON; for DDAS: "
                    f"the field paths of DDAS v{DDAS_BASE_VERSION})"
    )
    columns_by_version: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="DDAS only: per later DDAS version that is read, canonical column name -> field path in that "
                    "version; the same names as `columns`, and optionally more (columns that only that version "
                    "gives: empty in the rows of the other versions). A version not listed is recognised and "
                    "checked against its schema, but not read")
    values: dict[str, dict[str, bool]] = Field(
        default_factory=dict,
        description="yes/no columns: canonical column name -> {value as written in the file: true or false}, e.g. "
                    "{Ja: true, Nee: false} or {J: true, N: false}; a value not listed is quarantined "
                    "(rule <column>-waarde)",
    )
    codes: dict[str, list[str] | dict[str, str]] = Field(
        default_factory=dict,
        description="code lists: name -> the codes (a list), or code -> meaning; the contract checks a column "
                    "against one (expect_column_values_to_be_in_codelist) and a catalogue field offers its values")
    catalogue: dict[str, CatalogueEntry] = Field(
        default_factory=dict, description="what selections may read of this source, under which name")
    identity: dict[str, str] = Field(
        default_factory=dict,
        description="names, address and contact details for the identity vault: vault field -> column header. Read "
                    "only when some DPIA purpose allows signal_list; written only to the encrypted vault (privacy/"
                    f"vault.py), never to the warehouse. Fields: {', '.join(VAULT_FIELDS)}")

    @field_validator("identity")
    @classmethod
    def _vault_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = [k for k in value if k not in VAULT_FIELDS]
        if unknown:
            raise ValueError(f"identity: unknown vault field(s) {', '.join(unknown)}; fields: {', '.join(VAULT_FIELDS)}")
        return value

    @field_validator("file")
    @classmethod
    def _inside_sources_dir(cls, value: str) -> str:
        """Source files lie in the sources folder: no absolute path, no '..' (the reader also
        refuses a symbolic link that leads out)."""
        if value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value):
            raise ValueError("must be relative to the sources folder, not an absolute path")
        if ".." in re.split(r"[\\/]+", value):
            raise ValueError("must not contain '..': source files lie inside the sources folder")
        return value

    @field_validator("columns")
    @classmethod
    def _canonical_names(cls, value: dict[str, str]) -> dict[str, str]:
        return canonical(value, "column name")

    @model_validator(mode="after")
    def _versions(self) -> Source:
        if self.columns_by_version and self.format != "ddas-json":
            raise ValueError("columns_by_version: only a ddas-json source has versions")
        for version, mapping in self.columns_by_version.items():
            if version == DDAS_BASE_VERSION or version not in DDAS_SCHEMAS:
                known = ", ".join(v for v in DDAS_SCHEMAS if v != DDAS_BASE_VERSION)
                raise ValueError(f"columns_by_version: '{version}' is not a later DDAS version wijksignaal has the "
                                 f"schema of ({known}; v{DDAS_BASE_VERSION} is what `columns` maps)")
            missing = [c for c in self.columns if c not in mapping]
            if missing:
                raise ValueError(f"columns_by_version.{version}: map every column of `columns`; missing: "
                                 f"{', '.join(missing)}")
            for name in mapping:
                if not CANONICAL_NAME.match(name):
                    raise ValueError(f"columns_by_version.{version}: column name '{name}' must match "
                                     f"{CANONICAL_NAME.pattern}")
        return self

    @property
    def fields(self) -> list[str]:
        """Every canonical column: those of `columns`, then those only a later DDAS version maps."""
        out = list(self.columns)
        for mapping in self.columns_by_version.values():
            out += [c for c in mapping if c not in out]
        return out

    @property
    def read_versions(self) -> tuple[str, ...]:
        """The DDAS versions whose signals are read: the base version and those `columns_by_version` maps."""
        return (DDAS_BASE_VERSION, *self.columns_by_version) if self.format == "ddas-json" else ()

    def paths(self, version: str) -> dict[str, str]:
        """Canonical column -> field path in a DDAS file of `version` (one of `read_versions`)."""
        return dict(self.columns) if version == DDAS_BASE_VERSION else dict(self.columns_by_version[version])

    @model_validator(mode="after")
    def _values_of_mapped_columns(self) -> Source:
        for column, mapping in self.values.items():
            if column not in self.fields:
                raise ValueError(f"values.{column}: '{column}' is not a column of this source; columns: "
                                 f"{', '.join(self.fields)}")
            if set(mapping.values()) != {True, False}:
                raise ValueError(f"values.{column}: map at least one value to true and one to false")
        for column in self.link:
            if column not in self.fields:
                raise ValueError(f"link.{column}: '{column}' is not a column of this source; columns: "
                                 f"{', '.join(self.fields)}")
        if "bsn" not in self.link and "huishouden_id" not in self.link:
            raise ValueError("link: a source must be linked to persons (bsn) or households (huishouden_id)")
        return self

    def code_values(self, name: str) -> list[str]:
        codes = self.codes[name]
        return list(codes) if isinstance(codes, dict) else codes


POPULATION_TABLE = "persons"  # the BRP's persons: link_households.sql makes households of them


class SourcesFile(Strict):
    sources: dict[str, Source]

    @field_validator("sources")
    @classmethod
    def _names(cls, value: dict[str, Source]) -> dict[str, Source]:
        return canonical(value, "source name")

    @model_validator(mode="after")
    def _one_of_each(self) -> SourcesFile:
        seen: dict[str, dict[str, str]] = {"table": {}, "catalogue": {}, "code list": {}}
        for name, s in self.sources.items():
            for kind, keys in (("table", [s.table]), ("catalogue", list(s.catalogue)), ("code list", list(s.codes))):
                for key in keys:
                    if key in seen[kind]:
                        raise ValueError(f"{kind} '{key}' is declared by both '{seen[kind][key]}' and '{name}'")
                    seen[kind][key] = name
        if POPULATION_TABLE not in seen["table"]:
            raise ValueError(f"one source (the BRP) must be loaded into table '{POPULATION_TABLE}': the population "
                             "that every other source is linked to")
        for name, s in self.sources.items():
            for entry, spec in s.catalogue.items():
                for field, f in spec.fields.items():
                    if f.codes is not None and f.codes not in seen["code list"]:
                        raise ValueError(f"{name}.catalogue.{entry}.fields.{field}.codes: unknown code list "
                                         f"'{f.codes}'; declared: {', '.join(seen['code list']) or 'none'}")
        return self

    @property
    def ids(self) -> tuple[str, ...]:
        """The sources in their declared order (the order of ingest and of audit.json)."""
        return tuple(self.sources)

    def codelists(self) -> dict[str, list[str]]:
        return {name: s.code_values(name) for s in self.sources.values() for name in s.codes}

    def codelist_labels(self, name: str) -> dict[str, str]:
        for s in self.sources.values():
            if name in s.codes:
                codes = s.codes[name]
                return dict(codes) if isinstance(codes, dict) else {}
        raise KeyError(name)


class Expectation(Strict):
    """One rule of a data contract, run as a Great Expectations expectation."""

    rule: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,60}$", description="stable rule id, shown in quarantine")
    expect: str = Field(description="Great Expectations expectation type, e.g. expect_column_values_to_not_be_null")
    column: str
    description: str
    kwargs: dict[str, Any] = Field(default_factory=dict)


def _off(value: Any) -> Any:
    """YAML 1.1 reads an unquoted `off` as false: that is what the writer meant."""
    return "off" if value is False else value


Level = Annotated[Literal["error", "warning", "off"], BeforeValidator(_off)]


class ShareLimits(Strict):
    warning_above: float = Field(default=0.01, ge=0, le=1, description="warn when more than this share of the rows "
                                                                       "is quarantined")
    error_above: float = Field(default=0.10, ge=0, le=1, description="refuse when more than this share is quarantined")


DELIVERY_PERIOD = "einddatumLevering"


class Coverage(Strict):
    column: str = Field(description="a date column of the source (canonical name): its newest date must lie on or "
                                    "after the start of the reference period (minus within_months); or "
                                    f"'{DELIVERY_PERIOD}': the newest delivery period a DDAS file declares must "
                                    "reach the end of the reference period (minus within_months)")
    within_months: int = Field(default=0, ge=0, le=24, description="months of slack before the reference period")
    level: Level = "error"


class Gates(Strict):
    """Quality gates of a source: checks of the source as a whole, after its rows are checked.
    An `error` refuses the run (nothing is published); a `warning` publishes, with the warning
    in audit.json, a banner in report.html and exit code 3."""

    empty_source: Level = Field(default="error", description="no row of the source could be loaded")
    empty_file: Level = Field(default="warning", description="a file of a source with rows holds none itself (a DDAS "
                                                             "delivery without signals)")
    quarantined_share: ShareLimits = Field(default_factory=ShareLimits)
    unmatched_value: Level = Field(default="warning", description="a value of `values` that no row has (the export "
                                                                  "may write it differently)")
    period_coverage: Coverage | None = Field(default=None, description="the delivery reaches the reference period")


class GatesOverride(Strict):
    """A gemeente's changes to a source's quality gates (gemeente.yaml `quality_gates`)."""

    empty_source: Level | None = None
    empty_file: Level | None = None
    quarantined_share: ShareLimits | None = None
    unmatched_value: Level | None = None
    period_coverage: Coverage | None = None

    def apply(self, gates: Gates) -> Gates:
        return Gates.model_validate({**gates.model_dump(), **self.model_dump(exclude_none=True)})


class Contract(Strict):
    source: str
    description: str
    expectations: list[Expectation]
    gates: Gates = Field(default_factory=Gates)


class Settings(Strict):
    """Municipality settings for one run (`config/gemeente.yaml` or a work directory's copy)."""

    gemeente: str = Field(description="CBS gemeentecode, GM + 4 digits; or NL for every gemeente")
    period: str = Field(description="reference period, YYYY-MM")
    sources_dir: str = Field(description="directory holding the source extracts, relative to this file")
    work_dir: str = Field(description="work directory: warehouse, quarantine, releases; relative to this file")
    config_dir: str = Field(default=str(CONFIG_DIR), description="directory with sources.yaml, dpia.yaml, contracts")
    selections_dir: str = Field(default=str(SELECTIONS_DIR))
    published_dir: str | None = Field(
        default=None,
        description="the gemeente's publication register: the folder releases go out from, shared by every work "
                    "directory that publishes for this gemeente; every run reads the releases in it (and in its own "
                    "work directory) as published, and places its own release there too; relative to this file",
    )
    key_file: str = Field(
        default="~/.config/wijksignaal/pseudonym.key",
        description="pseudonymisation key; created on first use; must lie outside the repository and work dir",
    )
    vault_key_file: str | None = Field(
        default=None,
        description="key of the identity vault (names and addresses for signal lists); created on first use; never "
                    "the pseudonymisation key, outside the repository and the work directory; default: next to the "
                    "pseudonymisation key, <its name>.vault.key",
    )
    achterstand_lookback_months: int = Field(
        default=3, ge=1, le=12, description="a household counts as in arrears if a vroegsignaal arrived in this many months up to the period end"
    )
    validation_chunk_rows: int = Field(default=2_000_000, ge=10_000, description="rows of a source validated "
                                       "by Great Expectations at a time (memory against speed)")
    quality_gates: dict[str, GatesOverride] = Field(
        default_factory=dict, description="per source, changes to the quality gates its contract declares")

    @field_validator("gemeente")
    @classmethod
    def _gemeente(cls, v: str) -> str:
        if v != "NL" and not GEMEENTE.match(v):
            raise ValueError("must be GM followed by 4 digits (e.g. GM0164), or NL")
        return v

    @field_validator("period")
    @classmethod
    def _period(cls, v: str) -> str:
        if not PERIOD.match(v):
            raise ValueError("must be YYYY-MM, e.g. 2026-10")
        return v


def load_settings(path: Path | str) -> tuple[Settings, Path]:
    path = Path(path).resolve()
    return load_model(Settings, path), path.parent


def resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return (p if p.is_absolute() else base / p).resolve()


def load_sources(config_dir: Path) -> SourcesFile:
    return load_model(SourcesFile, config_dir / "sources.yaml")


def load_contract(config_dir: Path, source: Source) -> Contract:
    return load_model(Contract, config_dir / source.contract)
