"""The Prefect flow: each stage of pipeline.py as a task, nothing more.

Flow and task parameters are paths, a period and a source name: never personal data.
Tasks do not cache (NO_CACHE): inputs are never hashed or stored by Prefect. While a
task runs, the pipeline's own loggers (`wijksignaal.*`) are forwarded to Prefect's run
logs; they carry counts and timings only.

The flow ends in a state whose name and message say what happened (pipelines/outcomes.py):
`Completed` "published <release-id>", `Warnings`, or, with nothing published, `Failed`
(data or configuration: the clean lines `wijksignaal run` prints), `Transient` (busy work
directory, lost connection: worth a retry) or `Internal` (a bug: only the exception's type).
Called in-process (`wijksignaal run`), a failed flow raises the original exception.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from pathlib import Path  # noqa: E402

from prefect import flow, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.logging.handlers import APILogHandler  # noqa: E402
from prefect.states import Completed, Failed  # noqa: E402

from pipelines import outcomes, pipeline  # noqa: E402
from pipelines.configfile import ConfigError, Problem, read_yaml  # noqa: E402
from pipelines.periods import scheduled_period  # noqa: E402


@contextmanager
def _to_prefect_logs():
    handler = APILogHandler()
    logger = logging.getLogger("wijksignaal")
    level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _run(settings_file: str, overrides: dict) -> pipeline.Run:
    return pipeline.prepare(settings_file, overrides)


@task(name="preflight", cache_policy=NO_CACHE)
def preflight_task(settings_file: str, overrides: dict) -> dict:
    with _to_prefect_logs():
        return pipeline.stage_preflight(_run(settings_file, overrides))


@task(name="ingest", task_run_name="ingest-{source}", cache_policy=NO_CACHE)
def ingest_task(settings_file: str, overrides: dict, source: str) -> dict:
    with _to_prefect_logs():
        return pipeline.stage_ingest(_run(settings_file, overrides), source)


@task(name="link", cache_policy=NO_CACHE)
def link_task(settings_file: str, overrides: dict) -> dict:
    with _to_prefect_logs():
        return pipeline.stage_link(_run(settings_file, overrides))


@task(name="retention", cache_policy=NO_CACHE)
def retention_task(settings_file: str, overrides: dict) -> dict:
    with _to_prefect_logs():
        return pipeline.stage_retention(_run(settings_file, overrides))


@task(name="tabulate", cache_policy=NO_CACHE)
def tabulate_task(settings_file: str, overrides: dict):
    with _to_prefect_logs():
        return pipeline.stage_tabulate(_run(settings_file, overrides))


@task(name="protect", cache_policy=NO_CACHE)
def protect_task(settings_file: str, overrides: dict, cells, accounts: dict):
    with _to_prefect_logs():
        return pipeline.stage_protect(_run(settings_file, overrides), cells, accounts)


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(settings_file: str, overrides: dict, cells, accounts: dict, linking: dict, protection: dict,
                 retention: dict | None = None, monitor: dict | None = None) -> dict:
    with _to_prefect_logs():
        release = pipeline.stage_publish(_run(settings_file, overrides), cells, accounts, linking, protection,
                                         retention, monitor)
    rows = "\n".join(
        f"| {s} | {a['rows_read']} | {a['rows_loaded']} | {a['rows_quarantined']} |" for s, a in accounts.items()
    )
    create_markdown_artifact(
        key=f"release-{release.release_id.split('-')[0].lower()}",  # one key per gemeente: the UI keeps its history
        description="wijksignaal release summary (counts only)",
        markdown=(
            f"# Release {release.release_id}\n\n| source | read | loaded | quarantined |\n|---|---|---|---|\n{rows}\n\n"
            f"Cells: {protection['cells']}, suppressed: {protection['suppressed']}. "
            f"Secondary suppressions: {protection['secondary_suppression']['cells']}. Audit passed: "
            f"{protection['audit']['passed']}.\n"
        ),
    )
    return {"release_id": release.release_id, "folder": str(release.folder), "files": release.files}


@task(name="outreach", cache_policy=NO_CACHE)
def outreach_task(settings_file: str, overrides: dict) -> dict:
    """Signal lists for wijkteams: counts come back, the lists stay in the work directory's outreach folder."""
    with _to_prefect_logs():
        return pipeline.stage_outreach(_run(settings_file, overrides))


@task(name="collect", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10,
      retry_condition_fn=lambda task, run, state: _is_oserror(state))
def collect_task(folder: str, collect_dir: str, period: str) -> str:
    """Copy the published release folder (its ledger's files only) to the region's collection."""
    from pipelines.region import collect_release

    return str(collect_release(Path(folder), Path(collect_dir) / period))


def _is_oserror(state) -> bool:
    try:
        state.result()
    except OSError:  # a share that is briefly unreachable
        return True
    except Exception:
        return False
    return False


def _release_run_name() -> str:
    """'GM0164-2026-10': the gemeente (from its settings file) and the period."""
    from prefect.runtime import flow_run

    p = flow_run.parameters
    period = p.get("period") or scheduled_period()
    gemeente = p.get("expect_gemeente")
    if not gemeente:
        try:
            gemeente = str(read_yaml(p["settings_file"]).data.get("gemeente"))
        except Exception:  # the flow itself reports a bad file
            gemeente = "release"
    return f"{gemeente}-{period}"


@flow(name="wijksignaal-release", flow_run_name=_release_run_name, log_prints=False)
def release_flow(settings_file: str, period: str | None = None, sources_dir: str | None = None,
                 work_dir: str | None = None, collect_dir: str | None = None, expect_gemeente: str | None = None,
                 monitor: bool = False):
    """One gemeente, one period: ingest -> publish. `period` YYYY-MM; without it, the last
    complete month before the run's scheduled start (Europe/Amsterdam: pipelines/periods.py).
    `collect_dir`: copy the release folder to <collect_dir>/<period>/<release-id>/ (a region's
    collection). `expect_gemeente`: refuse a settings file of another gemeente. `monitor`: publish
    the month's vroegsignalering monitor (monitor/indicators.py)."""
    try:
        result = _release(settings_file, period or scheduled_period(), sources_dir, work_dir, collect_dir,
                          expect_gemeente, monitor)
    except Exception as exc:
        outcome = outcomes.failure(exc)
        return Failed(name=outcomes.STATE_NAMES[outcome.kind], message=outcome.message, data=exc)
    outcome = outcomes.published(result["release_id"], result["warnings"])
    return Completed(name=outcomes.STATE_NAMES[outcome.kind], message=outcome.message, data=result)


def _release(settings_file: str, period: str, sources_dir: str | None, work_dir: str | None,
             collect_dir: str | None, expect_gemeente: str | None, monitor: bool = False) -> dict:
    overrides = {"period": period, "sources_dir": sources_dir, "work_dir": work_dir, **({"monitor": True} if monitor else {})}
    run = _run(settings_file, overrides)  # configuration and DPIA checks fail the flow before any data is read
    if expect_gemeente and run.settings.gemeente != expect_gemeente:
        path = Path(settings_file).resolve()
        raise ConfigError([Problem(str(path), read_yaml(path).line_of(("gemeente",)),
                                   f"gemeente: {run.settings.gemeente}, but the regional flow runs this file as "
                                   f"{expect_gemeente} (region.yaml)")])
    with pipeline.private_files(run.work_dir, run.sources_dir), pipeline.exclusive(run):  # one run per work directory (WorkDirBusy),
        # the ledger intact, for the whole flow; its files private
        result = _stages(settings_file, overrides)
    result["warnings"] = outcomes.gate_warnings(Path(result["folder"]))
    if collect_dir:
        from pipelines.region import NotCollected

        try:
            result["collected"] = collect_task(result["folder"], collect_dir, period)
        except Exception as exc:  # published all the same: say so
            raise NotCollected(result["release_id"], str(Path(collect_dir) / period), exc) from exc
    return result


def _stages(settings_file: str, overrides: dict) -> dict:
    preflight_task(settings_file, overrides)  # unreadable files fail it before the warehouse is touched
    accounts = {s: ingest_task(settings_file, overrides, s) for s in pipeline.source_ids(settings_file, overrides)}
    linking = link_task(settings_file, overrides)
    retention = retention_task(settings_file, overrides)  # past-term rows and files go before tabulate reads
    with pipeline.lists_even_if_refused(lambda: outreach_task(settings_file, overrides)):
        cells = tabulate_task(settings_file, overrides)
        protected, protection = protect_task(settings_file, overrides, cells, accounts)
    result = publish_task(settings_file, overrides, protected, accounts, linking, protection, retention, cells.monitor)
    outreach = outreach_task(settings_file, overrides)
    return {**result, "outreach": {"lists": [{k: v for k, v in x.items() if k != "files"} for x in outreach["lists"]]}}
