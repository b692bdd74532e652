"""The stages of a run as plain functions: prepare, ingest, link, tabulate, protect,
publish. The Prefect flow (flow.py) wraps each in a task; tests call them directly.

No stage takes or returns personal data: between stages pass paths, counts and
aggregated cells. Each stage opens the warehouse itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from importlib.metadata import version as pkg_version
from pathlib import Path

import duckdb
import pandas as pd

from privacy import disclosure
from privacy.dpia import DpiaRules
from privacy.earlier import published_before
from privacy.pseudonymise import load_or_create_key, pads

from . import geography
from .configfile import ConfigError
from .ingest import ingest_source, write_quarantine
from .ingest.readers import preflight
from .link import link, load_buurten, period_bounds
from .publish import Release, publish, release_id
from .reportdata import earlier_tables
from .selections import LoadedSelection, load_dpia, load_selections
from .settings import REPO_ROOT, SOURCE_IDS, Settings, SourcesFile, load_contract, load_settings, load_sources, resolve
from .tabulate import COMBINATIES, STAPELING, tabulate

log = logging.getLogger("wijksignaal")

TABLE_DESCRIPTIONS = {
    "stapeling": "households by number of problem domains (uitkering, achterstand, wmo): totaal, 0, 1, 2, 3+",
    "combinaties": "households by combination of problem domains; totaal = households with at least one domain",
}


@dataclass
class Run:
    settings: Settings
    base: Path
    sources: SourcesFile
    dpia: DpiaRules
    selections: list[LoadedSelection]
    overrides: dict = field(default_factory=dict)

    @property
    def period(self) -> str:
        return self.overrides.get("period") or self.settings.period

    def path(self, key: str) -> Path:
        return resolve(self.base, self.overrides.get(key) or getattr(self.settings, key))

    @property
    def config_dir(self) -> Path:
        return self.path("config_dir")

    @property
    def sources_dir(self) -> Path:
        return self.path("sources_dir")

    @property
    def work_dir(self) -> Path:
        return self.path("work_dir")

    @property
    def warehouse(self) -> Path:
        return self.work_dir / "warehouse.duckdb"

    def connect(self) -> duckdb.DuckDBPyConnection:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.warehouse))
        tmp = self.work_dir / "tmp"
        tmp.mkdir(exist_ok=True)
        con.execute("SET temp_directory = ?", [str(tmp)])
        return con

    def buurten(self) -> pd.DataFrame:
        return geography.buurten(self.settings.gemeente)

    def key(self) -> bytes:
        return load_or_create_key(
            resolve(self.base, self.settings.key_file), forbidden=[REPO_ROOT, self.work_dir, self.sources_dir]
        )


def prepare(settings_file: Path | str, overrides: dict | None = None) -> Run:
    """Load and check all configuration before any data is touched; raise ConfigError."""
    settings, base = load_settings(settings_file)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if "period" in overrides:
        settings.model_validate({**settings.model_dump(), "period": overrides["period"]})
    config_dir = resolve(base, overrides.get("config_dir") or settings.config_dir)
    problems = []
    try:
        sources = load_sources(config_dir)
        for src in sources.sources.values():
            load_contract(config_dir, src)
    except ConfigError as exc:
        problems.extend(exc.problems)
        sources = None
    try:
        dpia = load_dpia(config_dir)
        selections = load_selections(resolve(base, settings.selections_dir), dpia)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return Run(settings, base, sources, dpia, selections, overrides)


def stage_preflight(run: Run) -> dict[str, list[str]]:
    """Every source file exists and has its columns, checked before the warehouse is touched:
    a run that would stop halfway stops here instead."""
    return {s: [p.name for p in preflight(s, run.sources.sources[s], run.sources_dir)] for s in SOURCE_IDS}


def stage_ingest(run: Run, source: str) -> dict:
    con = run.connect()
    try:
        account, records = ingest_source(
            con, source, run.sources.sources[source], run.sources_dir, run.config_dir, pads(run.key()),
            {"buurten": run.buurten().buurtcode.tolist()}, run.settings.validation_chunk_rows,
        )
    finally:
        con.close()
    write_quarantine(run.work_dir / "quarantine" / run.period / f"{source}.csv", records)
    quality = run.work_dir / "quality" / run.period
    quality.mkdir(parents=True, exist_ok=True)
    (quality / f"{source}.json").write_text(json.dumps(account.contract, indent=2) + "\n", encoding="utf-8")
    return account.as_dict()


def stage_link(run: Run) -> dict:
    con = run.connect()
    try:
        load_buurten(con, run.buurten())
        return link(con, run.period, run.settings.achterstand_lookback_months)
    finally:
        con.close()


def stage_tabulate(run: Run) -> pd.DataFrame:
    con = run.connect()
    try:
        return tabulate(con, run.period, run.selections, cell_keys=any(
            p.cell_key is not None for p in run.dpia.purposes.values()))
    finally:
        con.close()


def _made_under(run: Run, cells: pd.DataFrame) -> dict[str, tuple[str, int | None]]:
    """table -> (the DPIA purpose it is made under, the cell size its selection asks for)."""
    selections = {f"selectie:{s.selection.id}": s.selection for s in run.selections}
    out = {}
    for table in cells.table.unique():
        sel = selections.get(table)
        out[table] = (sel.purpose, sel.min_cell_size) if sel else (run.dpia.stapeling_purpose, None)
    return out


def thresholds(run: Run, cells: pd.DataFrame) -> dict[str, int]:
    return {t: run.dpia.threshold(purpose, size) for t, (purpose, size) in _made_under(run, cells).items()}


def _purposes(run: Run, cells: pd.DataFrame) -> dict:
    """table -> the DPIA purpose it is made under."""
    return {t: run.dpia.purposes[purpose] for t, (purpose, _) in _made_under(run, cells).items()}


def rounding_bases(run: Run, cells: pd.DataFrame) -> dict[str, int]:
    """Per table, the base its purpose rounds published counts to (tables without rounding left out)."""
    return {t: p.rounding.base for t, p in _purposes(run, cells).items() if p.rounding is not None}


def cell_key_params(run: Run, cells: pd.DataFrame) -> dict[str, tuple[int, float]]:
    """Per table, the cell-key method's (D, V) of its purpose (tables without it left out)."""
    return {t: (p.cell_key.max_noise, p.cell_key.variance) for t, p in _purposes(run, cells).items()
            if p.cell_key is not None}


def stage_protect(run: Run, cells: pd.DataFrame, accounts: dict[str, dict] | None = None
                  ) -> tuple[pd.DataFrame, dict]:
    """Protect all tables; disclosure.protect refuses tables whose relations (categories to
    totaal, buurten to wijk to gemeente, ...) do not hold, so additivity is checked there.
    Earlier releases of the gemeente in the work directory count as published; the release
    these inputs make (known from `accounts`) is not earlier than itself."""
    t = thresholds(run, cells)
    persons = {f"selectie:{s.selection.id}" for s in run.selections if s.selection.unit == "persoon"}
    exclude = {this_release_id(run, accounts)} if accounts is not None else set()
    earlier = published_before(run.work_dir / "releases", run.settings.gemeente, exclude)
    protected, summary = disclosure.protect(cells, run.buurten(), t, persons, earlier, rounding_bases(run, cells),
                                            cell_key_params(run, cells),
                                            group=run.dpia.disclosure.group_disclosure == "protect")
    summary["additive_before_protection"] = True
    summary["threshold_min"] = min(t.values())
    summary["statement_nl"] = (
        "Daarnaast zijn andere vakjes afgeschermd, zodat een klein aantal niet is terug te rekenen uit "
        "totalen, andere niveaus of andere tabellen in deze publicatie (secundaire afscherming, "
        "rekenkundig gecontroleerd). Eerdere publicaties van deze gemeente tellen in die controle mee."
    )
    log.info("protected: %d of %d cells suppressed (%d secondary); audit: %d cell(s) provably below the threshold",
             summary["suppressed"], summary["cells"], summary["secondary_suppression"]["cells"],
             summary["audit"]["provably_below_threshold"])
    return protected, summary


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rules(run: Run) -> dict:
    cfg = run.config_dir
    return {
        "dpia": {"id": run.dpia.dpia.id, "version": run.dpia.dpia.version, "sha256": _sha(cfg / "dpia.yaml"),
                 "approval": {"by": run.dpia.dpia.approval.by, "date": str(run.dpia.dpia.approval.date)}},
        "sources_yaml_sha256": _sha(cfg / "sources.yaml"),
        "contracts": {s: _sha(cfg / run.sources.sources[s].contract) for s in SOURCE_IDS},
        "selections": [
            {"id": s.selection.id, "title": s.selection.title, "version": s.version, "purpose": s.selection.purpose,
             "threshold": run.dpia.threshold(s.selection.purpose, s.selection.min_cell_size)}
            for s in sorted(run.selections, key=lambda s: s.selection.id)
        ],
    }


def _inputs(accounts: dict[str, dict]) -> list[dict]:
    return [dict(source=s, **f) for s, a in accounts.items() for f in a["files"]]


def this_release_id(run: Run, accounts: dict[str, dict], rules: dict | None = None) -> str:
    """The id of the release these inputs and rules make (a hash of both)."""
    fingerprint = {"inputs": [(i["source"], i["name"], i["sha256"]) for i in _inputs(accounts)],
                   "rules": rules or _rules(run),
                   "settings": {"gemeente": run.settings.gemeente, "period": run.period,
                                "lookback": run.settings.achterstand_lookback_months},
                   "software": pkg_version("wijksignaal")}
    return release_id(run.settings.gemeente, run.period, fingerprint)


def build_audit(run: Run, accounts: dict[str, dict], linking: dict, protection: dict) -> dict:
    b = run.buurten()
    rules = _rules(run)
    accounting = {
        s: {"rows_read": a["rows_read"], "rows_loaded": a["rows_loaded"], "rows_quarantined": a["rows_quarantined"],
            "holds": a["rows_read"] == a["rows_loaded"] + a["rows_quarantined"],
            "quarantined_by_rule": a["quarantined_by_rule"]}
        for s, a in accounts.items()
    }
    inputs = _inputs(accounts)
    bounds = period_bounds(run.period, run.settings.achterstand_lookback_months)
    synthetic = (run.sources_dir / "synth_manifest.json").exists()
    gemeente = run.settings.gemeente
    return {
        "format": "wijksignaal-audit/1",
        "release_id": this_release_id(run, accounts, rules),
        "gemeente": {"code": gemeente, "name": geography.gemeente_name(gemeente), "buurten": int(len(b)),
                     "wijken": int(b.wijkcode.nunique())},
        "period": run.period,
        "synthetic": synthetic,
        "software": {p: pkg_version(p) for p in ("wijksignaal", "duckdb", "great_expectations", "prefect", "pandas")},
        "inputs": inputs,
        "rules": rules,
        "row_accounting": accounting,
        "data_quality": {s: a["contract"] for s, a in accounts.items()},
        "linking": {k: v for k, v in linking.items() if k != "seconds"},
        "definitions": {
            "unit": "huishouden (BRP household / address)",
            "period_end": str(bounds["period_end"]),
            "uitkering": "an uitkering (Participatiewet, IOAW, IOAZ, Bbz) runs on at least one day of the period",
            "achterstand": f"a vroegsignaal with signaaldatum from {bounds['lookback_start']} to {bounds['period_end']}",
            "wmo": "a Wmo allocation runs on at least one day of the period",
            "achterstand_lookback_months": run.settings.achterstand_lookback_months,
        },
        "tables": {
            **{t: {"description": d, "categories": list(STAPELING if t == "stapeling" else COMBINATIES)}
               for t, d in TABLE_DESCRIPTIONS.items()},
            **{f"selectie:{s.selection.id}": {"description": s.selection.title, "categories": ["totaal"],
                                              "unit": "personen" if s.selection.unit == "persoon" else "huishoudens"}
               for s in sorted(run.selections, key=lambda s: s.selection.id)},
        },
        "disclosure": protection,
    }


def stage_publish(run: Run, cells: pd.DataFrame, accounts: dict[str, dict], linking: dict, protection: dict) -> Release:
    audit = build_audit(run, accounts, linking, protection)
    history = earlier_tables(run.work_dir, run.settings.gemeente, run.period)
    release = publish(run.work_dir, audit["release_id"], cells, audit, {"buurten": run.buurten(), "history": history})
    log.info("published release %s in %s", release.release_id, release.folder)
    return release


def run_all(settings_file: Path | str, overrides: dict | None = None) -> Release:
    """The whole run without Prefect (tests, benchmarks)."""
    run = prepare(settings_file, overrides)
    stage_preflight(run)
    accounts = {s: stage_ingest(run, s) for s in SOURCE_IDS}
    linking = stage_link(run)
    cells = stage_tabulate(run)
    protected, protection = stage_protect(run, cells, accounts)
    return stage_publish(run, protected, accounts, linking, protection)
