"""Models for the files in `config/`: municipality settings, sources and data contracts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from .configfile import Strict, load_model

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "config"
REFERENCE_DIR = CONFIG_DIR / "reference"
SELECTIONS_DIR = REPO_ROOT / "selections"

CANONICAL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
PERIOD = re.compile(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$")
GEMEENTE = re.compile(r"^GM\d{4}$")


class Source(Strict):
    """One source extract: where it is, how to read it, and which contract checks it."""

    title: str
    file: str = Field(description="file name or glob, relative to the sources directory")
    format: Literal["csv", "ddas-json"]
    encoding: Literal["utf-8", "cp1252"] = "utf-8"
    delimiter: Literal[",", ";", "\t", "|"] = ","
    decimal: Literal[".", ","] = "."
    date_format: Literal["%Y-%m-%d", "%d-%m-%Y", "%Y%m%d"] = "%Y-%m-%d"
    contract: str = Field(description="data contract file, relative to the config directory")
    columns: dict[str, str] = Field(
        description="canonical column name -> column header in the file (CSV) or field path (JSON)"
    )
    values: dict[str, dict[str, bool]] = Field(
        default_factory=dict,
        description="yes/no columns: canonical column name -> {value as written in the file: true or false}, e.g. "
                    "{Ja: true, Nee: false} or {J: true, N: false}; a value not listed is quarantined "
                    "(rule <column>-waarde)",
    )

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
        for name in value:
            if not CANONICAL_NAME.match(name):
                raise ValueError(f"column name '{name}' must match {CANONICAL_NAME.pattern}")
        return value

    @model_validator(mode="after")
    def _values_of_mapped_columns(self) -> Source:
        for column, mapping in self.values.items():
            if column not in self.columns:
                raise ValueError(f"values.{column}: '{column}' is not a column of this source; columns: "
                                 f"{', '.join(self.columns)}")
            if set(mapping.values()) != {True, False}:
                raise ValueError(f"values.{column}: map at least one value to true and one to false")
        return self


SOURCE_IDS = ("brp", "uitkeringen", "vroegsignalen", "wmo")


class SourcesFile(Strict):
    sources: dict[Literal["brp", "uitkeringen", "vroegsignalen", "wmo"], Source]

    @model_validator(mode="after")
    def _all_present(self) -> SourcesFile:
        missing = [s for s in SOURCE_IDS if s not in self.sources]
        if missing:
            raise ValueError(f"sources missing: {', '.join(missing)}")
        return self


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
    achterstand_lookback_months: int = Field(
        default=3, ge=1, le=12, description="a household counts as in arrears if a vroegsignaal arrived in this many months up to the period end"
    )
    validation_chunk_rows: int = Field(default=2_000_000, ge=10_000)
    quality_gates: dict[Literal["brp", "uitkeringen", "vroegsignalen", "wmo"], GatesOverride] = Field(
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
