"""Shared fixtures: one small synthetic gemeente and one release built from it.

Hengelo (GM0164, 62 buurten) at a quarter of its households keeps the suite fast while
every buurt, wijk and table is present. Keys live in pytest's temporary folders,
outside the repository and the work directories.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

GEMEENTE = "GM0164"
PERIOD = "2026-10"
SEED = 424242
SCALE = 0.25


def write_settings(folder: Path, sources: Path, key_file: Path, **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"gemeente: {GEMEENTE}", f"period: '{PERIOD}'", f"sources_dir: {sources}", f"work_dir: {folder / 'work'}",
             f"key_file: {key_file}"] + [f"{k}: {v}" for k, v in extra.items()]
    path = folder / "gemeente.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ingest_and_link(settings: Path):
    """The stages up to link (no Prefect), for tests that need a warehouse but no release: the run."""
    from pipelines.pipeline import prepare, stage_ingest, stage_link, stage_preflight

    run = prepare(settings)
    stage_preflight(run)
    for s in run.source_ids:
        stage_ingest(run, s)
    stage_link(run)
    return run


@pytest.fixture(scope="session")
def sources(tmp_path_factory) -> Path:
    from pipelines.synth import synthesize

    out = tmp_path_factory.mktemp("sources")
    synthesize(out, gemeente=GEMEENTE, period=PERIOD, seed=SEED, scale=SCALE)
    return out


@pytest.fixture(scope="session")
def key_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("keys") / "pseudonym.key"


@pytest.fixture
def sources_copy(sources, tmp_path) -> Path:
    """A private copy of the sources that a test may corrupt."""
    dst = tmp_path / "sources"
    shutil.copytree(sources, dst)
    return dst


@pytest.fixture(scope="session")
def release(sources, key_file, tmp_path_factory):
    """A full run (without Prefect) on the session's sources, with the logs it wrote."""
    import logging

    from pipelines.pipeline import run_all

    folder = tmp_path_factory.mktemp("run")
    settings = write_settings(folder, sources, key_file)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    ours = logging.getLogger("wijksignaal")  # a CLI test before may have stopped it propagating to the root
    old, propagate = root.level, ours.propagate
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    ours.propagate = True
    try:
        rel = run_all(settings)
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
        ours.propagate = propagate
    fmt = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return {"release": rel, "settings": settings, "work": folder / "work", "logs": [fmt.format(r) for r in records]}


@pytest.fixture(scope="session")
def source_bsns(sources) -> set[str]:
    import csv

    with (sources / "brp.csv").open(encoding="utf-8") as fh:
        return {row["BSN"] for row in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server for the whole session (it takes 7-16 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


TREND_PERIODS = ("2026-08", "2026-09", "2026-10")


@pytest.fixture(scope="session")
def trend_release(sources, key_file, tmp_path_factory):
    """Three monthly releases in one work directory (without Prefect): the last one's report
    has trends. Returns the last release and the work directory."""
    from pipelines.pipeline import run_all

    folder = tmp_path_factory.mktemp("trend")
    settings = write_settings(folder, sources, key_file)
    for period in TREND_PERIODS:
        rel = run_all(settings, {"period": period})
    return {"release": rel, "work": folder / "work", "settings": settings}
