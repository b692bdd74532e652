"""The Prefect flow: each stage of pipeline.py as a task, nothing more.

Flow and task parameters are paths, a period and a source name: never personal data.
Tasks do not cache (NO_CACHE): inputs are never hashed or stored by Prefect. While a
task runs, the pipeline's own loggers (`wijksignaal.*`) are forwarded to Prefect's run
logs; they carry counts and timings only.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.logging.handlers import APILogHandler  # noqa: E402

from . import pipeline  # noqa: E402
from .settings import SOURCE_IDS  # noqa: E402


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


@task(name="tabulate", cache_policy=NO_CACHE)
def tabulate_task(settings_file: str, overrides: dict):
    with _to_prefect_logs():
        return pipeline.stage_tabulate(_run(settings_file, overrides))


@task(name="protect", cache_policy=NO_CACHE)
def protect_task(settings_file: str, overrides: dict, cells, accounts: dict):
    with _to_prefect_logs():
        return pipeline.stage_protect(_run(settings_file, overrides), cells, accounts)


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(settings_file: str, overrides: dict, cells, accounts: dict, linking: dict, protection: dict) -> dict:
    with _to_prefect_logs():
        release = pipeline.stage_publish(_run(settings_file, overrides), cells, accounts, linking, protection)
    rows = "\n".join(
        f"| {s} | {a['rows_read']} | {a['rows_loaded']} | {a['rows_quarantined']} |" for s, a in accounts.items()
    )
    create_markdown_artifact(
        key="release",
        description="wijksignaal release summary (counts only)",
        markdown=(
            f"# Release {release.release_id}\n\n| source | read | loaded | quarantined |\n|---|---|---|---|\n{rows}\n\n"
            f"Cells: {protection['cells']}, suppressed: {protection['suppressed']}. "
            f"Secondary suppressions: {protection['secondary_suppression']['cells']}. Audit passed: "
            f"{protection['audit']['passed']}.\n"
        ),
    )
    return {"release_id": release.release_id, "folder": str(release.folder), "files": release.files}


@flow(name="wijksignaal-release", flow_run_name="release-{period}", log_prints=False)
def release_flow(settings_file: str, period: str, sources_dir: str | None = None, work_dir: str | None = None) -> dict:
    overrides = {"period": period, "sources_dir": sources_dir, "work_dir": work_dir}
    run = _run(settings_file, overrides)  # configuration and DPIA checks fail the flow before any data is read
    with pipeline.private_files(run.work_dir, run.sources_dir), pipeline.exclusive(run):  # one run per work directory (WorkDirBusy),
        # the ledger intact, for the whole flow; its files private
        return _stages(settings_file, overrides)


def _stages(settings_file: str, overrides: dict) -> dict:
    preflight_task(settings_file, overrides)  # unreadable files fail it before the warehouse is touched
    accounts = {s: ingest_task(settings_file, overrides, s) for s in SOURCE_IDS}
    linking = link_task(settings_file, overrides)
    cells = tabulate_task(settings_file, overrides)
    protected, protection = protect_task(settings_file, overrides, cells, accounts)
    return publish_task(settings_file, overrides, protected, accounts, linking, protection)
