"""The stages of a run as plain functions: prepare, ingest, link, tabulate, protect,
publish. The Prefect flow (flow.py) wraps each in a task; tests call them directly.

No stage takes or returns personal data: between stages pass paths, counts and
aggregated cells. Each stage opens the warehouse itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import version as pkg_version
from pathlib import Path

import duckdb
import pandas as pd
from pydantic import ValidationError

from privacy import disclosure
from privacy.dpia import DpiaRules
from privacy.earlier import KEY, EarlierRelease, protect_against, releases
from privacy.pseudonymise import load_or_create_key, pads
from privacy.redact import mask_file_name
from privacy.rules import rulebook_table

from . import geography, workdir
from .catalogue import Catalogue, catalogue_of
from .configfile import ConfigError, Problem, did_you_mean, file_sha256, read_yaml
from .domains import Domains, load_domains
from .ingest import ingest_source, write_quarantine
from .ingest.contracts import peildatum
from .ingest.gates import QualityGateFailed
from .ingest.gates import evaluate as evaluate_gates
from .ingest.readers import preflight
from .link import link, load_buurten
from .periods import period_bounds
from .publish import Release, publish, recover_and_verify, release_id
from .reportdata import earlier_tables
from .selections import LoadedSelection, load_dpia, load_selections, parse_selection
from .settings import (
    DELIVERY_PERIOD,
    REPO_ROOT,
    Gates,
    Settings,
    SourcesFile,
    load_contract,
    load_settings,
    load_sources,
    resolve,
)
from .tabulate import STAPELING, Tabulation, category_order, category_tree, tabulate

log = logging.getLogger("wijksignaal")


def table_descriptions(domains: Domains) -> dict[str, str]:
    """audit.json's descriptions of the standard tables."""
    return {
        "stapeling": f"households by number of problem domains ({', '.join(domains.ids)}): "
                     f"{', '.join(STAPELING)} (2+ = 2 + 3+)",
        "combinaties": "households by combination of problem domains; totaal = households with at least one domain",
    }


# the definition (domains.Domains.definition_sha256) of the three domains of household_facts.sql, before
# the domains were declared in config/domains.yaml: an earlier release whose audit.json names none was
# made with it (the declaration shipped with config/ gives the same)
BUILT_IN_DOMAINS = "91c4f9297f4a8c035ee2e2cd199bb32a57b9b01b11479b9b4145c155b667b8cf"


# the figure wijkteams ask for first ("how many households in my buurt have two or more problem domains"): its
# cells weigh this many times more in secondary suppression and are kept published from the start wherever that can
# be safe (privacy/atoms.showable). Where one must yield after all, the wijk's goes first, then a buurt's; the
# gemeente's, the report's first figure, last (on the demo, a gemeente 2+ given up for a buurt's also took the
# gemeente's "1" with it)
PRIORITY = {("stapeling", "2+", "buurt"): 10.0, ("stapeling", "2+", "wijk"): 5.0, ("stapeling", "2+", "gemeente"): 20.0}


@dataclass
class Run:
    settings: Settings
    base: Path
    sources: SourcesFile
    dpia: DpiaRules
    selections: list[LoadedSelection]
    domains: Domains
    overrides: dict = field(default_factory=dict)

    @property
    def source_ids(self) -> tuple[str, ...]:
        """The sources config/sources.yaml declares, in its order."""
        return self.sources.ids

    @cached_property
    def catalogue(self) -> Catalogue:
        return catalogue_of(self.sources)

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

    @property
    def release_dirs(self) -> list[Path]:
        """Where this gemeente's releases are: the work directory's, and the publication register."""
        dirs = [self.work_dir / "releases"]
        if self.settings.published_dir:
            dirs.append(resolve(self.base, self.settings.published_dir))
        return dirs

    @property
    def register(self) -> Path | None:
        """The publication register (`published_dir`), if there is one."""
        return resolve(self.base, self.settings.published_dir) if self.settings.published_dir else None

    def earlier(self) -> list[EarlierRelease]:
        """Every release of this gemeente and period, wherever it was made."""
        return releases(self.release_dirs, self.settings.gemeente, self.period)

    def buurten(self) -> pd.DataFrame:
        return geography.buurten(self.settings.gemeente)

    def key(self) -> bytes:
        return load_or_create_key(
            resolve(self.base, self.settings.key_file),
            forbidden=[REPO_ROOT, self.work_dir, self.sources_dir, *([self.register] if self.register else [])]
        )


def unknown_gates(path: Path, settings: Settings, sources: SourcesFile) -> list[Problem]:
    """A `quality_gates` entry for a source that sources.yaml does not declare, located."""
    known = sources.ids
    return [Problem(str(path), read_yaml(path).line_of(("quality_gates", name)),
                    f"quality_gates.{name}: unknown source '{name}'{did_you_mean(name, known)}; sources.yaml declares "
                    f"{', '.join(known)}") for name in settings.quality_gates if name not in known]


def prepare(settings_file: Path | str, overrides: dict | None = None) -> Run:
    """Load and check all configuration before any data is touched; raise ConfigError."""
    settings, base = load_settings(settings_file)
    if settings.gemeente != "NL" and not geography.known(settings.gemeente):
        path = Path(settings_file).resolve()
        raise ConfigError([Problem(str(path), read_yaml(path).line_of(("gemeente",)),
                                   f"gemeente: '{settings.gemeente}' is not a gemeente of the CBS indeling "
                                   f"({geography.BUURTEN_CSV.name}, {geography.gemeenten()} gemeenten)")])
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
    if sources is not None:
        problems.extend(unknown_gates(Path(settings_file).resolve(), settings, sources))
    dpia = None
    try:
        dpia = load_dpia(config_dir)
        selections = load_selections(resolve(base, settings.selections_dir), dpia,
                                     catalogue_of(sources) if sources else None)
    except ConfigError as exc:
        problems.extend(exc.problems)
    try:
        domains = load_domains(config_dir, dpia)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    run = Run(settings, base, sources, dpia, selections, domains, overrides)
    work, src = run.work_dir, run.sources_dir
    if work.is_relative_to(src):  # (the demo keeps its sources inside its work directory: that is fine)
        path = Path(settings_file).resolve()
        raise ConfigError([Problem(str(path), read_yaml(path).line_of(("work_dir",)),
                                   "work_dir may not be the sources folder or lie inside it: the work directory is "
                                   "made private and cleaned, the extracts are the gemeente's own")])
    return run


@contextmanager
def exclusive(run: Run, command: str = "run"):
    """The run holds its work directory (workdir.py; WorkDirBusy if another run does), finishes
    what an interrupted publication left, and checks the ledger (publish.LedgerProblems),
    before any data is read."""
    with workdir.exclusive(run.work_dir, command, run.period):
        recover_and_verify(run.work_dir, run.register)
        yield


def source_ids(settings_file: Path | str, overrides: dict | None = None) -> tuple[str, ...]:
    """The sources a run ingests (config/sources.yaml of its configuration), in order."""
    settings, base = load_settings(settings_file)
    return load_sources(resolve(base, (overrides or {}).get("config_dir") or settings.config_dir)).ids


def stage_preflight(run: Run) -> dict[str, list[str]]:
    """Every source file exists and has its columns, checked before the warehouse is touched:
    a run that would stop halfway stops here instead."""
    return {s: [mask_file_name(p.name) for p in preflight(s, run.sources.sources[s], run.sources_dir)]
            for s in run.source_ids}  # a Prefect task result: file names with BSN-like digit runs masked


def allowed_fields(run: Run, source: str) -> set[str]:
    """The fields of a source that some DPIA purpose allows: only these (and the columns that
    place a row) are read from its file."""
    return run.dpia.allowed_fields(source)


def gates_of(run: Run, source: str) -> Gates:
    """The source's quality gates: its contract's, changed by the gemeente's `quality_gates`."""
    gates = load_contract(run.config_dir, run.sources.sources[source]).gates
    override = run.settings.quality_gates.get(source)
    return override.apply(gates) if override else gates


def stage_ingest(run: Run, source: str) -> dict:
    """Ingest one source and evaluate its quality gates. Quarantine and quality files are
    written either way; a gate at level `error` then stops the run (QualityGateFailed),
    gates at level `warning` travel in the account (`gates`) to audit.json and the report."""
    gates = gates_of(run, source)
    con = run.connect()
    try:
        account, records = ingest_source(
            con, source, run.sources.sources[source], run.sources_dir, run.config_dir, pads(run.key()),
            {"buurten": run.buurten().buurtcode.tolist(), "peildatum": peildatum(run.period, run.settings.period)},
            run.settings.validation_chunk_rows, allowed=allowed_fields(run, source),
            newest_of=gates.period_coverage.column if gates.period_coverage
            and gates.period_coverage.column != DELIVERY_PERIOD else None,
        )
    finally:
        con.close()
    write_quarantine(run.work_dir / "quarantine" / run.period / f"{source}.csv", records)
    quality = run.work_dir / "quality" / run.period
    quality.mkdir(parents=True, exist_ok=True)
    (quality / f"{source}.json").write_text(json.dumps(account.contract, indent=2) + "\n", encoding="utf-8")
    result = account.as_dict()
    tripped = evaluate_gates(source, result, gates, run.period)
    for g in tripped:
        if g.level == "warning":  # an error is raised below, and shown once by whoever catches it
            log.warning("%s", g)
    failed = [g for g in tripped if g.level == "error"]
    if failed:
        raise QualityGateFailed(failed)
    result["gates"] = [g.as_dict() for g in tripped]
    return result


def check_source(run: Run, source: str, sample: int) -> dict:
    """`wijksignaal check --config`: read a source's real files (columns, encoding, every row's
    structure) and check its first `sample` rows against the contract and the gates that a
    sample can judge, without a warehouse, a key or Prefect. Counts and rule ids only."""
    from .ingest import only_allowed
    from .ingest.contracts import validate
    from .ingest.readers import read_source

    spec = run.sources.sources[source]
    spec, contract, unread = only_allowed(source, spec, load_contract(run.config_dir, spec),
                                          allowed_fields(run, source))
    raw = read_source(source, spec, run.sources_dir)
    table = raw.table.slice(0, sample)
    outcome = validate(source, table, contract, spec, {"buurten": run.buurten().buurtcode.tolist(),
                                                        "peildatum": peildatum(run.period, run.settings.period)},
                       run.settings.validation_chunk_rows)
    failed = {r.rule: r.failed for r in outcome.rules if r.failed}
    for r in raw.rejected:
        failed[r.rule] = failed.get(r.rule, 0) + 1
    checked = table.num_rows + len(raw.rejected)
    quarantined = len(outcome.failures) + len(raw.rejected)
    account = {"rows_read": checked, "rows_loaded": checked - quarantined, "rows_quarantined": quarantined,
               "files": [{"name": f.name} for f in raw.files], "values_seen": {}}
    gates = gates_of(run, source).model_copy(update={"period_coverage": None})  # needs every row: ingest judges it
    return {"source": source, "files": [f.name for f in raw.files], "rows": raw.rows_read, "checked": checked,
            "quarantined": quarantined, "by_rule": dict(sorted(failed.items())), "columns_not_read": unread,
            "gates": evaluate_gates(source, account, gates, run.period)}


def stage_link(run: Run) -> dict:
    con = run.connect()
    try:
        load_buurten(con, run.buurten())
        return link(con, run.period, run.settings.achterstand_lookback_months, run.domains)
    finally:
        con.close()


def other_definitions(run: Run, earlier: list[EarlierRelease]) -> dict[str, LoadedSelection]:
    """Selections that earlier releases of this period published with a definition this run
    does not publish (dropped, or changed): table name `selectie:<id>@<version>` -> the
    selection, rebuilt from the definition the earlier audit.json carries."""
    current = {(s.selection.id, s.version) for s in run.selections}
    out = {}
    for r in earlier:
        for entry in r.audit.get("rules", {}).get("selections", []):
            if (entry["id"], entry["version"]) in current or "definition" not in entry:
                continue
            try:
                sel = parse_selection(entry["definition"], run.catalogue)
            except ValidationError:  # a definition this version cannot read: its cells stay unrelated (counted)
                continue
            out[f"selectie:{entry['id']}@{entry['version'][:12]}"] = LoadedSelection(sel, r.folder, entry["version"],
                                                                                   run.catalogue)
    return out


def stage_tabulate(run: Run) -> Tabulation:
    con = run.connect()
    try:
        return tabulate(con, run.period, run.selections, run.domains.ids, cell_keys=any(
            p.cell_key is not None for p in run.dpia.purposes.values()), other=other_definitions(run, run.earlier()))
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


def _what_earlier_published(run: Run, tab: Tabulation, earlier: list[EarlierRelease]
                            ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(cells of this release's definitions that earlier releases published, cells of other
    definitions they published as this data gives them, counts for audit.json)."""
    versions = {f"selectie:{s.selection.id}": s.version for s in run.selections}
    # the standard tables of an earlier release have this release's definition when the look-back and
    # the domains (ids and SQL) are the same
    standard = (run.settings.achterstand_lookback_months, run.domains.definition_sha256)
    same, other, unknown = [], [], 0
    recompiled = set(tab.other_definitions.table)
    for r in earlier:
        cells = r.published().assign(release=r.release_id)
        theirs = {f"selectie:{e['id']}": e["version"] for e in r.audit.get("rules", {}).get("selections", [])}
        r_standard = (r.audit.get("definitions", {}).get("achterstand_lookback_months"),
                      r.audit.get("rules", {}).get("domains", {}).get("definition_sha256", BUILT_IN_DOMAINS))
        for table, g in cells.groupby("table", sort=True):
            if table in ("stapeling", "combinaties"):
                if r_standard == standard:
                    same.append(g)
                else:
                    unknown += len(g)
            elif table in versions and theirs.get(table) == versions[table]:
                same.append(g)
            elif f"{table}@{theirs.get(table, '')[:12]}" in recompiled:
                other.append(g.assign(table=f"{table}@{theirs[table][:12]}"))
            else:
                unknown += len(g)
    same_cells = pd.concat(same, ignore_index=True) if same else pd.DataFrame(columns=KEY + ["value", "release"])
    elsewhere = pd.DataFrame(columns=list(tab.other_definitions.columns))
    revised = 0
    if other:
        o = pd.concat(other, ignore_index=True).drop_duplicates(KEY + ["value"])
        both = tab.other_definitions.merge(o[KEY + ["value"]].rename(columns={"value": "earlier"}), on=KEY)
        ok = both.earlier.astype(float) == both.value.astype(float)
        elsewhere = both[ok].drop(columns=["earlier"]).drop_duplicates(KEY).reset_index(drop=True)
        revised = int((~ok).sum())
    return same_cells, elsewhere, {"cells_of_other_definitions_revised_since": revised,
                                   "cells_without_a_definition_to_relate": unknown}


def stage_protect(run: Run, tab: Tabulation, accounts: dict[str, dict] | None = None
                  ) -> tuple[pd.DataFrame, dict]:
    """Protect all tables over their atoms; disclosure.protect refuses tables whose relations
    do not hold, so additivity is checked there. Every release of this gemeente and period,
    in the work directory or the publication register, counts as published; a run with the
    same inputs and rules as an earlier release (known from `accounts`) is protected as that
    one was, and reproduces it (privacy/earlier.py)."""
    cells = tab.cells
    t = thresholds(run, cells)
    persons = {f"selectie:{s.selection.id}" for s in run.selections if s.selection.unit == "persoon"}
    base = base_fingerprint(run, accounts) if accounts is not None else None
    against = protect_against(run.earlier(), base)
    earlier, elsewhere, unmatched = _what_earlier_published(run, tab, against)
    protected, summary = disclosure.protect(cells, run.buurten(), t, persons, earlier, rounding_bases(run, cells),
                                            cell_key_params(run, cells),
                                            group=run.dpia.disclosure.group_disclosure == "protect",
                                            atoms=tab.atoms, known_elsewhere=elsewhere, priority=PRIORITY)
    summary["earlier_releases"]["releases"] = sorted(r.release_id for r in against)
    summary["earlier_releases"].update(unmatched)
    summary["earlier_releases"]["read_from"] = ["<work>/releases"] + (
        ["published_dir (the publication register)"] if run.settings.published_dir else [])
    summary["additive_before_protection"] = True
    summary["threshold_min"] = min(t.values())
    summary["statement_nl"] = (
        "Daarnaast zijn andere vakjes afgeschermd, zodat een klein aantal niet is terug te rekenen uit "
        "totalen, andere niveaus, andere tabellen of selecties in deze publicatie (secundaire afscherming, "
        "rekenkundig gecontroleerd). Eerdere publicaties van deze gemeente over deze maand tellen in die "
        "controle mee."
    )
    log.info("protected: %d of %d cells suppressed (%d secondary); audit: %d cell(s) provably below the threshold",
             summary["suppressed"], summary["cells"], summary["secondary_suppression"]["cells"],
             summary["audit"]["provably_below_threshold"])
    return protected, summary



def _rules(run: Run) -> dict:
    cfg = run.config_dir
    return {
        "dpia": {"id": run.dpia.dpia.id, "version": run.dpia.dpia.version, "sha256": file_sha256(cfg / "dpia.yaml"),
                 "approval": {"by": run.dpia.dpia.approval.by, "date": str(run.dpia.dpia.approval.date)},
                 "rulebook": rulebook_table(run.dpia.rulebook),
                 "rule_modules": {m: file_sha256(cfg / m) for m in run.dpia.rule_modules}},
        "sources_yaml_sha256": file_sha256(cfg / "sources.yaml"),
        "contracts": {s: file_sha256(cfg / run.sources.sources[s].contract) for s in run.source_ids},
        "domains": run.domains.audit_rules(run.settings.achterstand_lookback_months),
        "selections": [
            {"id": s.selection.id, "title": s.selection.title, "version": s.version, "purpose": s.selection.purpose,
             "owner": s.selection.owner,
             "approval": {"by": s.selection.approval.by, "date": str(s.selection.approval.date)},
             "threshold": run.dpia.threshold(s.selection.purpose, s.selection.min_cell_size),
             "dpia_rules_passed": [r.id for r in run.dpia.rulebook],
             "definition": s.selection.model_dump(mode="json", by_alias=True, exclude_none=True)}
            for s in sorted(run.selections, key=lambda s: s.selection.id)
        ],
    }


def _inputs(accounts: dict[str, dict]) -> list[dict]:
    return [dict(source=s, **f) for s, a in accounts.items() for f in a["files"]]


def base_fingerprint(run: Run, accounts: dict[str, dict], rules: dict | None = None) -> str:
    """A hash of everything that shapes a release except the earlier releases it is protected
    against: inputs, rules, settings, software."""
    fingerprint = {"inputs": [(i["source"], i["name"], i["sha256"]) for i in _inputs(accounts)],
                   "rules": rules or _rules(run),
                   "settings": {"gemeente": run.settings.gemeente, "period": run.period,
                                "lookback": run.settings.achterstand_lookback_months},
                   "software": pkg_version("wijksignaal")}
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode("utf-8")).hexdigest()


def this_release_id(run: Run, base: str, protected_against: list[str]) -> str:
    """The id of the release: a hash of its base fingerprint and of the earlier releases it was
    protected against, so anything that shapes its tables changes it."""
    return release_id(run.settings.gemeente, run.period, {"base": base, "protected_against": sorted(protected_against)})


def quality_gates(run: Run, accounts: dict[str, dict]) -> dict:
    """audit.json's `quality_gates`: the gates of every source and the warnings they gave (a gate
    at level error stops the run before anything is published, so none appears here)."""
    warnings = [g for a in accounts.values() for g in a.get("gates", [])]
    return {
        "rule": "error: the run is refused; warning: published with the warning here, in the report and exit code 3",
        "gates": {s: gates_of(run, s).model_dump(mode="json") for s in accounts},
        "warnings": warnings,
        "passed": not warnings,
    }


def build_audit(run: Run, accounts: dict[str, dict], linking: dict, protection: dict) -> dict:
    b = run.buurten()
    rules = _rules(run)
    accounting = {
        s: {"rows_read": a["rows_read"], "rows_loaded": a["rows_loaded"], "rows_quarantined": a["rows_quarantined"],
            "holds": a["rows_read"] == a["rows_loaded"] + a["rows_quarantined"],
            "quarantined_by_rule": a["quarantined_by_rule"], "columns_not_read": a["columns_not_read"]}
        for s, a in accounts.items()
    }
    inputs = _inputs(accounts)
    bounds = period_bounds(run.period, run.settings.achterstand_lookback_months)
    synthetic = (run.sources_dir / "synth_manifest.json").exists()
    gemeente = run.settings.gemeente
    base = base_fingerprint(run, accounts, rules)
    against = protection["earlier_releases"]["releases"]
    return {
        "format": "wijksignaal-audit/1",
        "release_id": this_release_id(run, base, against),
        "fingerprint": {"base": base, "protected_against": against,
                        "rule": "release_id = gemeente-period-hash(base, protected_against); base = hash(inputs, rules, "
                                "settings, software)"},
        "gemeente": {"code": gemeente, "name": geography.gemeente_name(gemeente), "buurten": int(len(b)),
                     "wijken": int(b.wijkcode.nunique())},
        "period": run.period,
        "synthetic": synthetic,
        "software": {p: pkg_version(p) for p in ("wijksignaal", "duckdb", "great_expectations", "prefect", "pandas")},
        "inputs": inputs,
        "rules": rules,
        "row_accounting": accounting,
        "data_quality": {s: a["contract"] for s, a in accounts.items()},
        "quality_gates": quality_gates(run, accounts),
        "linking": {k: v for k, v in linking.items() if k != "seconds"},
        "definitions": {
            "unit": "huishouden (BRP household / address)",
            "period_end": str(bounds["period_end"]),
            **run.domains.definitions(bounds, run.settings.achterstand_lookback_months),
            "achterstand_lookback_months": run.settings.achterstand_lookback_months,
        },
        "tables": {
            **{t: {"description": d, "categories": list(category_order(t, run.domains.ids)),
                   "sums": category_tree(t, run.domains.ids)}
               for t, d in table_descriptions(run.domains).items()},
            **{f"selectie:{s.selection.id}": {"description": s.selection.title, "categories": ["totaal"],
                                              "explanation": " ".join(s.selection.description.split()),
                                              "unit": "personen" if s.selection.unit == "persoon" else "huishoudens"}
               for s in sorted(run.selections, key=lambda s: s.selection.id)},
        },
        "disclosure": protection,
    }


def stage_publish(run: Run, cells: pd.DataFrame, accounts: dict[str, dict], linking: dict, protection: dict) -> Release:
    audit = build_audit(run, accounts, linking, protection)
    history = earlier_tables(run.work_dir, run.settings.gemeente, run.period)
    register = resolve(run.base, run.settings.published_dir) if run.settings.published_dir else None
    release = publish(run.work_dir, audit["release_id"], cells, audit, {"buurten": run.buurten(), "history": history},
                      register=register)
    log.info("published release %s in %s", release.release_id, release.folder)
    return release


@contextmanager
def private_files(work_dir: Path, leave: Path | None = None):
    """Everything a run writes in its work directory (warehouse and its WAL, temporary files,
    quarantine, quality results, releases, ledger) is readable by its owner only: files 0600,
    folders 0700 (umask 077 while the run lasts); what an earlier run left is tightened too,
    except inside `leave` (a sources folder kept in the work directory, as the demo does)."""
    old = os.umask(0o077)
    try:
        if work_dir.exists():
            work_dir.chmod(0o700)
            for p in work_dir.rglob("*"):
                if not p.is_symlink() and not (leave is not None and p.is_relative_to(leave)):
                    p.chmod(0o700 if p.is_dir() else 0o600)
        yield
    finally:
        os.umask(old)


def run_all(settings_file: Path | str, overrides: dict | None = None) -> Release:
    """The whole run without Prefect (tests, benchmarks)."""
    run = prepare(settings_file, overrides)
    with private_files(run.work_dir, run.sources_dir), exclusive(run):
        return _stages(run)


def _stages(run: Run) -> Release:
    stage_preflight(run)
    accounts = {s: stage_ingest(run, s) for s in run.source_ids}
    linking = stage_link(run)
    tab = stage_tabulate(run)
    protected, protection = stage_protect(run, tab, accounts)
    return stage_publish(run, protected, accounts, linking, protection)
