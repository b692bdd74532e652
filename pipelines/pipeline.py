"""The stages of a run as plain functions: prepare, ingest, link, tabulate, protect,
publish. The Prefect flow (flow.py) wraps each in a task; tests call them directly.

No stage takes or returns personal data: between stages pass paths, counts and
aggregated cells. Each stage opens the warehouse itself.
"""

from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import duckdb
import pandas as pd

from pipelines import geography, workdir
from pipelines.configfile import ConfigError, Problem, did_you_mean, read_yaml
from pipelines.ingest import ingest_source, with_identity, write_quarantine
from pipelines.ingest.contracts import peildatum
from pipelines.ingest.gates import QualityGateFailed
from pipelines.ingest.gates import evaluate as evaluate_gates
from pipelines.ingest.readers import SourceFileError, SourceFilesError, preflight, raise_all
from pipelines.link import link, load_buurten
from pipelines.link.domains import Domains, load_domains
from pipelines.monitor.indicators import no_cases, prepare_monitor, store_snapshot
from pipelines.outreach.lists import NO_LISTS, SIGNAL_LIST, run_outreach
from pipelines.protect import protect, tabulate_release
from pipelines.publish import Release, publish, recover_and_verify
from pipelines.publish.audit import build_audit
from pipelines.publish.reportdata import earlier_tables
from pipelines.select.catalogue import Catalogue, catalogue_of
from pipelines.select.selections import LoadedSelection, load_dpia, load_selections
from pipelines.settings import (
    DELIVERY_PERIOD,
    REPO_ROOT,
    Gates,
    Settings,
    Source,
    SourcesFile,
    load_contract,
    load_settings,
    load_sources,
    resolve,
)
from pipelines.tabulate import Tabulation
from privacy.dpia import DpiaRules
from privacy.earlier import EarlierRelease, releases
from privacy.pseudonymise import load_or_create_key, pads
from privacy.redact import mask_file_name
from privacy.secondary import ProtectionFailed
from privacy.vault import ensure_vault_key, log_access, read_vault_key, who, write_vault

log = logging.getLogger("wijksignaal")


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

    def gates(self, source: str) -> Gates:
        """The source's quality gates: its contract's, changed by the gemeente's `quality_gates`."""
        gates = load_contract(self.config_dir, self.sources.sources[source]).gates
        override = self.settings.quality_gates.get(source)
        return override.apply(gates) if override else gates

    @property
    def signal_lists(self) -> list[LoadedSelection]:
        """The selections that ask for signal lists (the DPIA rules allowed each: rule D5)."""
        return [s for s in self.selections if SIGNAL_LIST in s.selection.outputs]

    @property
    def vault_file(self) -> Path:
        """The identity vault: names and addresses for signal lists, encrypted (privacy/vault.py)."""
        return self.work_dir / "vault" / "identiteiten.duckdb"

    @property
    def vault_log(self) -> Path:
        return self.work_dir / "vault" / "toegang.jsonl"

    def vault_key(self, create: bool = True) -> bytes:
        """The vault's own key: never the pseudonymisation key, outside the repository and the work directory."""
        pseudonym_key = resolve(self.base, self.settings.key_file)
        path = (resolve(self.base, self.settings.vault_key_file) if self.settings.vault_key_file
                else pseudonym_key.with_name(pseudonym_key.stem + ".vault.key"))
        where = dict(pseudonym_key_file=pseudonym_key, forbidden=[REPO_ROOT, self.work_dir])
        return ensure_vault_key(path, **where) if create else read_vault_key(path, **where)

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
    files, errors = {}, []
    for s in run.source_ids:  # every source checked, every problem named (SourceFilesError)
        try:
            files[s] = [mask_file_name(p.name) for p in preflight(s, read_as(run, s), run.sources_dir)]
        except SourceFileError as exc:
            errors.append(exc)
        except SourceFilesError as exc:
            errors.extend(exc.errors)
    raise_all(errors)
    return files  # a Prefect task result: file names with BSN-like digit runs masked


def read_as(run: Run, source: str) -> Source:
    """The source as this run reads it: with its identity columns when a selection asks for signal lists."""
    spec = run.sources.sources[source]
    return with_identity(spec)[0] if spec.identity and run.signal_lists else spec


def allowed_fields(run: Run, source: str) -> set[str]:
    """The fields of a source that some DPIA purpose allows: only these (and the columns that
    place a row) are read from its file."""
    return run.dpia.allowed_fields(source)




def stage_ingest(run: Run, source: str) -> dict:
    """Ingest one source and evaluate its quality gates. Quarantine and quality files are
    written either way; a gate at level `error` then stops the run (QualityGateFailed),
    gates at level `warning` travel in the account (`gates`) to audit.json and the report."""
    gates = run.gates(source)
    con = run.connect()
    try:
        spec = run.sources.sources[source]
        account, records = ingest_source(
            con, source, spec, run.sources_dir, run.config_dir, pads(run.key()),
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
    from pipelines.ingest import only_allowed
    from pipelines.ingest.contracts import validate
    from pipelines.ingest.readers import read_source

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
    gates = run.gates(source).model_copy(update={"period_coverage": None})  # needs every row: ingest judges it
    return {"source": source, "files": [f.name for f in raw.files], "rows": raw.rows_read, "checked": checked,
            "quarantined": quarantined, "by_rule": dict(sorted(failed.items())), "columns_not_read": unread,
            "gates": evaluate_gates(source, account, gates, run.period)}


def stage_link(run: Run) -> dict:
    con = run.connect()
    try:
        load_buurten(con, run.buurten())
        linking = link(con, run.period, run.settings.achterstand_lookback_months, run.domains, run.sources)
    finally:
        con.close()
    if run.signal_lists:  # names and addresses are read only for signal lists, once it is known who has a signal
        write_identity_vault(run)
    return linking


def write_identity_vault(run: Run) -> dict:
    """The identity vault for this month's signal lists (pipelines/ingest/identities.py): the names
    and addresses of the persons of the households with a vroegsignaal in the month, read again
    from the BRP extract in batches, written whole and encrypted (privacy/vault.py), and one
    `written` line in the access log. Counts only come back."""
    from pipelines.ingest.identities import quarantined_rows, vault_records, wanted_persons
    from pipelines.periods import period_bounds

    key = run.vault_key()
    run.vault_file.parent.mkdir(mode=0o700, exist_ok=True)
    run.vault_file.parent.chmod(0o700)  # also a folder an earlier run or a person made
    bounds = period_bounds(run.period, run.settings.achterstand_lookback_months)
    con = run.connect()
    try:
        wanted = wanted_persons(con, bounds)
    finally:
        con.close()
    counts: dict = {}
    for source in [s for s in run.source_ids if run.sources.sources[s].identity]:
        quarantine = run.work_dir / "quarantine" / run.period / f"{source}.csv"
        if wanted.num_rows and not quarantine.is_file():
            raise FileNotFoundError(f"identity vault: {quarantine} is missing: the vault takes only the rows the "
                                    f"contract passed, so {source} is ingested first (wijksignaal run)")
        found = vault_records(source, run.sources.sources[source], run.sources_dir, run.config_dir, pads(run.key()),
                              wanted, quarantined_rows(quarantine) if wanted.num_rows else set(),
                              allowed_fields(run, source))
        written = write_vault(run.vault_file, key, found.records)
        counts = {**found.counts(), "records": written}
        purposes = sorted({s.selection.purpose for s in run.signal_lists})
        log_access(run.vault_log, {**who(), "vault": str(run.vault_file), "action": "written", "records": written,
                                   "households": found.households, "period": run.period, "source": source,
                                   "purposes": purposes, "selections": sorted(s.selection.id for s in run.signal_lists),
                                   "dpia": f"{run.dpia.dpia.id} {run.dpia.dpia.version}",
                                   "fields": sorted({f for p in purposes
                                                     for f in run.dpia.purposes[p].signal_list_fields})})
        log.info("%s: %d record(s) of %d household(s) with a vroegsignaal in %s written to the identity vault "
                 "(%d rows read again; %d quarantined, %d not a person of the warehouse) in %.1f s", source,
                 written, found.households, run.period, found.rows_read, found.quarantined,
                 found.not_loaded, found.seconds)
    return counts


def check_monitor(run: Run) -> None:
    """--monitor can be honoured (MonitorError else), checked before Prefect starts: a monitor purpose,
    and cases for the month (or a monitor fixed by an earlier release)."""
    if not run.warehouse.exists():
        raise no_cases(run.period)
    con = run.connect()
    try:
        prepare_monitor(run, con)
    finally:
        con.close()


def stage_tabulate(run: Run) -> Tabulation:
    """The release's tables; with the month's monitor (monitor/indicators.py) when it has one."""
    return tabulate_release(run)


def stage_protect(run: Run, tab: Tabulation, accounts: dict[str, dict] | None = None
                  ) -> tuple[pd.DataFrame, dict]:
    """Protect all tables over their atoms (protect.py)."""
    return protect(run, tab, accounts)


def stage_retention(run: Run) -> dict:
    """Delete what is past its term (pipelines/retention.py, rule R1) and compact the warehouse:
    after ingest and link (they replace the source tables from the extracts and write this
    month's facts, so what they bring in past its term goes at once), before anything reads
    the warehouse for this release. Counts only come back (audit.json `retention`)."""
    from pipelines.retention import for_run

    return for_run(run)


def stage_publish(run: Run, cells: pd.DataFrame, accounts: dict[str, dict], linking: dict, protection: dict,
                  retention: dict | None = None, monitor: dict | None = None) -> Release:
    """Write the release; a month's monitor published for the first time is fixed first (its facts
    stored under the release's id before the release is committed: monitor/indicators.py)."""
    audit = build_audit(run, accounts, linking, protection, retention, monitor)  # the full audit: the run record
    if monitor is not None and monitor["frozen_by"] is None:
        con = run.connect()
        try:
            store_snapshot(con, run.period, audit["release_id"], monitor["facts_sha256"])
        finally:
            con.close()
    history = earlier_tables(run.work_dir, run.settings.gemeente, run.period)
    register = resolve(run.base, run.settings.published_dir) if run.settings.published_dir else None
    release = publish(run.work_dir, audit["release_id"], cells, audit, {"buurten": run.buurten(), "history": history},
                      register=register)
    log.info("published release %s in %s", release.release_id, release.folder)
    return release


def stage_outreach(run: Run) -> dict:
    """Signal lists for wijkteams (outreach/lists.py), after the release: counts only come back."""
    return run_outreach(run)


LISTS_MADE = "the signal lists of "  # how the line on lists made after a refusal begins


def is_lists_line(line: str) -> bool:
    """Whether a line of a refusal's message says what became of the lists (RefusedListsMade.lists_line:
    made, or why none were): what was done, not an error (the CLI's and the region's lines)."""
    return line.startswith((LISTS_MADE, NO_LISTS))


class RefusedListsMade(ProtectionFailed):
    """Nothing published (tabulation or protection refused the release), and the month's signal
    lists made all the same: they serve the vroeg-eropaf purpose, are no publication, and do not
    wait for tables that can be published."""

    def __init__(self, refused: ProtectionFailed, outreach: dict):
        super().__init__(str(refused))
        self.refused, self.outreach = refused, outreach

    def __reduce__(self):  # a Prefect state may carry it (pickled)
        return RefusedListsMade, (self.refused, self.outreach)

    @property
    def lists_line(self) -> str | None:
        """One line on the lists made (counts and the folder; no identity), or None when no selection asks
        for a list."""
        lists, period = self.outreach.get("lists", []), self.outreach.get("period")
        if lists:
            made = "; ".join(f"{x['selection']}: {x['cases']} case(s) on {len(x['files']) // 2} list(s)" for x in lists)
            return f"{LISTS_MADE}{period} were made all the same (outreach/{period} in the work directory): {made}"
        if period:  # the stage said why it made none
            return self.outreach.get("reason")
        return None


@contextmanager
def lists_even_if_refused(make_lists):
    """A release refused by tabulation or protection still gets its month's signal lists
    (`make_lists()`, the outreach stage): the wijkteams' work does not wait for the public tables."""
    try:
        yield
    except ProtectionFailed as exc:
        log.warning("release refused (%s); making the month's signal lists all the same", exc)
        try:
            made = make_lists()
        except Exception as failed:  # its own failure: never read as the refusal it follows (failures.cause)
            raise failed from None
        raise RefusedListsMade(exc, made) from exc


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
    retention = stage_retention(run)
    with lists_even_if_refused(lambda: stage_outreach(run)):
        tab = stage_tabulate(run)
        protected, protection = stage_protect(run, tab, accounts)
    release = stage_publish(run, protected, accounts, linking, protection, retention, tab.monitor)
    stage_outreach(run)
    return release
