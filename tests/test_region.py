"""Many gemeenten on a real Prefect server (a `prefect server start` subprocess with its own
database) and two real process workers standing in for two machines, each with its own
folders, keys and work pool: three small gemeenten, one with a broken source, one whose work
directory is busy at first. Two releases are published and collected, one gemeente fails
with its clean message visible in Prefect, the busy one is retried, the broken one is not.

Slow (a server, two workers, five flow runs): the rest of the regional logic is tested
without Prefect in test_outcomes.py and test_region_config.py.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from pipelines.cli import main

REPO = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).with_name("prefect"))
PERIOD = "2026-10"
SCALE = 0.2
MACHINES = {"machine-a": ["GM0003", "GM0010"], "machine-b": ["GM0024"]}
BROKEN, BUSY = "GM0024", "GM0010"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    """This environment without any PREFECT_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONPATH=os.pathsep.join(
        [str(REPO), os.environ.get("PYTHONPATH", "")]), **extra)
    return env


class Process:
    """A subprocess in its own process group, stopped by its own id (never by name)."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.log = log
        self._fh = log.open("wb")
        self.proc = subprocess.Popen(args, env=env, stdout=self._fh, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)
        self._fh.close()


@pytest.fixture(scope="session")
def prefect_server_process(tmp_path_factory):
    """`prefect server start` on a free loopback port, its database in a temporary PREFECT_HOME;
    started once for the session (10-20 s)."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    server = Process([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                     _env(PREFECT_HOME=str(home), PREFECT_SERVER_UI_ENABLED="false",
                          PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2"), home / "server.log")
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.proc.poll() is not None:
                pytest.fail(f"prefect server exited: {server.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prefect server did not answer within 120 s: {server.log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield {"url": url, "home": home}
    finally:
        server.stop()


@contextlib.contextmanager
def api(url: str):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: url}):
        yield


def _write_gemeente(root: Path, keys: Path, code: str) -> Path:
    from pipelines.synth import synthesize

    folder = root / code
    synthesize(folder / "sources", gemeente=code, period=PERIOD, seed=20261001, scale=SCALE)
    (folder / "gemeente.yaml").write_text(
        f"gemeente: {code}\nperiod: '{PERIOD}'\nsources_dir: sources\nwork_dir: work\n"
        f"key_file: {keys / (code + '.key')}\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def region(prefect_server_process, tmp_path_factory):
    """Two machines (folders, keys, pools, workers), three gemeenten, deployed; then the
    regional run, while GM0010's work directory is held by another run until its first
    attempt has failed."""
    from test_workdir import Holder

    url = prefect_server_process["url"]
    base = tmp_path_factory.mktemp("region")
    folders, keys = {}, {}
    for machine, codes in MACHINES.items():
        keys[machine] = tmp_path_factory.mktemp(f"keys-{machine}")  # outside the machine's folder and the repository
        for code in codes:
            folders[code] = _write_gemeente(base / machine, keys[machine], code)
    (folders[BROKEN] / "sources" / "wmo.csv").unlink()
    region_file = base / "region.yaml"
    region_file.write_text(
        "region: test\ncollect_dir: collected\nconcurrency: 3\nretries: 2\nretry_delay_seconds: 3\n"
        "timeout_minutes: 10\npool: central\n"
        "gemeenten:\n" + "".join(
            f"  - {{gemeente: {code}, settings: {machine}/{code}/gemeente.yaml, pool: {machine}}}\n"
            for machine, codes in MACHINES.items() for code in codes), encoding="utf-8")

    def cli(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with api(url), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
        return code, out.getvalue(), err.getvalue()

    deployed = cli("deploy", "--region", str(region_file))
    workers = [Process([PREFECT, "worker", "start", "--pool", machine, "--type", "process", "--limit", "2"],
                       _env(PREFECT_API_URL=url, PREFECT_HOME=str(base / machine / ".prefect"),
                            PREFECT_WORKER_QUERY_SECONDS="1"), base / f"worker-{machine}.log")
               for machine in MACHINES]
    holder = Holder(folders[BUSY] / "work")
    released = threading.Event()

    def release_when_retried():  # the other run ends once the first attempt has failed as transient
        query = {"flow_runs": {"name": {"any_": [f"{BUSY}-{PERIOD}"]}, "state": {"name": {"any_": ["Transient"]}}}}
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.post(f"{url}/flow_runs/filter", json=query, timeout=10).json():
                    break
            except httpx.HTTPError:  # a busy server (SQLite) answers late: ask again, never let the watcher die
                pass
            time.sleep(0.3)
        holder.finish()
        released.set()

    watcher = threading.Thread(target=release_when_retried, daemon=True)
    watcher.start()
    try:
        t0 = time.monotonic()
        ran = cli("region", "--region", str(region_file), "--period", PERIOD)
        seconds = time.monotonic() - t0
        yield {"url": url, "base": base, "folders": folders, "keys": keys, "region_file": region_file, "deployed": deployed,
               "ran": ran, "seconds": seconds, "holder": holder, "released": released.is_set(), "cli": cli,
               "workers": workers}
    finally:
        if not released.is_set():
            holder.finish()
        for w in workers:
            w.stop()


def _runs(url: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterTags
    from prefect.client.schemas.sorting import FlowRunSort

    with api(url), get_client(sync_client=True) as client:  # the release flow runs the region started
        return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["wijksignaal-release"])),
                                     flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=["region:test"])),
                                     sort=FlowRunSort.ID_DESC, limit=200)  # this client sends null for them


def test_deploy_makes_a_deployment_per_gemeente_and_one_for_the_region(region):
    from prefect.client.orchestration import get_client
    from prefect.flows import load_flow_from_entrypoint

    code, out, err = region["deployed"]
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "deployed wijksignaal-release/GM0003 (pool machine-a; no schedule)",
        "deployed wijksignaal-release/GM0010 (pool machine-a; no schedule)",
        "deployed wijksignaal-release/GM0024 (pool machine-b; no schedule)",
        "deployed wijksignaal-region/test (pool central; schedule 0 2 3 * * (Europe/Amsterdam))",
    ]
    with api(region["url"]), get_client(sync_client=True) as client:
        release = client.read_deployment_by_name("wijksignaal-release/GM0024")
        regional = client.read_deployment_by_name("wijksignaal-region/test")
        pools = {p.name: p.type for p in client.read_work_pools(limit=10, offset=0)}
    assert pools == {"machine-a": "process", "machine-b": "process", "central": "process"}
    assert (release.work_pool_name, release.parameters) == ("machine-b", {
        "settings_file": str(region["folders"]["GM0024"] / "gemeente.yaml"), "expect_gemeente": "GM0024"})
    # flows named by module: a worker loads the wijksignaal installed on its own machine, nothing is downloaded
    assert (release.entrypoint, regional.entrypoint) == ("pipelines.flow.release_flow",
                                                         "pipelines.region_flow.region_flow")
    assert not release.pull_steps and release.storage_document_id is None
    assert [load_flow_from_entrypoint(d.entrypoint).name for d in (release, regional)] == [
        "wijksignaal-release", "wijksignaal-region"]


def test_two_published_and_collected_one_failed_with_its_clean_message_in_prefect(region):
    code, out, err = region["ran"]
    folders, base = region["folders"], region["base"]
    wmo = folders[BROKEN] / "sources" / "wmo.csv"
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"GM0003 Appingedam: published GM0003-{PERIOD}-")
    assert lines[1].startswith(f"GM0010 Delfzijl: published GM0010-{PERIOD}-") and lines[1].endswith(
        " (after 2 attempts)")
    assert lines[2:] == ["GM0024 Loppersum: failed, nothing published",
                         f"collected in {base / 'collected' / PERIOD}"]
    assert err == f"error: GM0024 Loppersum: source 'wmo', file {wmo}: file not found\n"

    runs = {}
    for r in _runs(region["url"]):
        runs.setdefault(r.name, []).append(r)
    assert sorted(runs) == [f"GM0003-{PERIOD}", f"GM0010-{PERIOD}", f"GM0024-{PERIOD}"]
    (broken,) = runs[f"GM0024-{PERIOD}"]  # a data problem: not retried
    assert (broken.state.type.value, broken.state.name, broken.state.message) == (
        "FAILED", "Failed", f"source 'wmo', file {wmo}: file not found")
    (ok,) = runs[f"GM0003-{PERIOD}"]
    rid = lines[0].split()[3]
    assert (ok.state.type.value, ok.state.name, ok.state.message) == ("COMPLETED", "Completed", f"published {rid}")
    # each gemeente ran on the worker of the machine that holds its data
    assert {r.name: r.work_pool_name for rs in runs.values() for r in rs} == {
        f"GM0003-{PERIOD}": "machine-a", f"GM0010-{PERIOD}": "machine-a", f"GM0024-{PERIOD}": "machine-b"}
    assert all(r.parameters == {"settings_file": str(folders[r.name[:6]] / "gemeente.yaml"), "period": PERIOD,
                                "collect_dir": str(base / "collected"), "expect_gemeente": r.name[:6]}
               for rs in runs.values() for r in rs)  # paths and a period only

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    with api(region["url"]), get_client(sync_client=True) as client:
        (parent,) = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"test-{PERIOD}"])),
                                          sort=FlowRunSort.ID_DESC, limit=10)
        # (a task_runs filter, even empty, would leave out the region's own artifact: it has no task run)
        artifacts = client._client.post("/artifacts/filter", json={"sort": "CREATED_DESC", "limit": 50}).json()
    assert (parent.state.type.value, parent.state.message) == ("FAILED", "2 of 3 gemeenten published; failed: GM0024")
    by_key = {a["key"]: a["data"] for a in artifacts}
    assert by_key["release-gm0003"].startswith(f"# Release {rid}\n\n| source | read | loaded | quarantined |")
    assert by_key["release-gm0010"].startswith(f"# Release GM0010-{PERIOD}-")
    assert "release-gm0024" not in by_key
    assert f"| GM0024 | Loppersum | problem |  | 1 | source 'wmo', file {wmo}: file not found |" in by_key["region-test"]


def test_a_busy_work_directory_is_retried_until_it_is_free(region):
    assert region["released"]
    runs = sorted((r for r in _runs(region["url"]) if r.name == f"{BUSY}-{PERIOD}"), key=lambda r: r.created)
    assert [(r.state.type.value, r.state.name) for r in runs] == [("FAILED", "Transient"), ("COMPLETED", "Completed")]
    assert runs[0].state.message == region["holder"].message(region["folders"][BUSY] / "work")


def test_only_release_folders_are_collected_and_source_data_stays_with_its_machine(region):
    from privacy.leakscan import bsn_like, nine_digit_numbers

    folders, collected = region["folders"], region["base"] / "collected" / PERIOD
    releases = sorted(p.name for p in collected.iterdir() if p.is_dir())
    assert [r[:6] for r in releases] == ["GM0003", "GM0010"]
    assert sorted(p.name for p in collected.iterdir() if p.is_file()) == ["region-test.json"]
    bsns = set()
    for code in MACHINES["machine-a"] + MACHINES["machine-b"]:
        with (folders[code] / "sources" / "brp.csv").open(encoding="utf-8") as fh:
            bsns |= {row["BSN"] for row in csv.DictReader(fh)}
    for rid in releases:
        own = folders[rid[:6]] / "work" / "releases" / rid
        assert sorted(p.name for p in (collected / rid).iterdir()) == sorted(p.name for p in own.iterdir()) == [
            "audit.json", "ledger-entry.json", "report.html", "tables.csv", "tables.xlsx"]
        for p in (collected / rid).iterdir():
            assert p.read_bytes() == (own / p.name).read_bytes()
    every_byte = b"".join(p.read_bytes() for p in collected.rglob("*") if p.is_file())
    every_text = every_byte.decode("utf-8", "replace")
    assert bsn_like(every_text) == [] and not nine_digit_numbers(every_text) & bsns  # not digit runs inside a hash
    summary = json.loads((collected / "region-test.json").read_text(encoding="utf-8"))
    assert [(g["gemeente"], g["outcome"], g["attempts"]) for g in summary["gemeenten"]] == [
        ("GM0003", "published", 1), ("GM0010", "published", 2), ("GM0024", "problem", 1)]
    # a key per gemeente, in its machine's key folder (outside its data folder), none alike
    made = {p.name: p.read_bytes() for k in region["keys"].values() for p in k.iterdir()}
    # with the identity vault's key beside each (a shipped selection asks for signal lists)
    assert sorted(made) == ["GM0003.key", "GM0003.vault.key", "GM0010.key", "GM0010.vault.key"]  # not GM0024: it
    assert len(set(made.values())) == 4                                                           # stopped before


def test_a_scheduled_run_publishes_the_last_complete_month_before_its_scheduled_start(region):
    """A run of the deployment without a period, scheduled (in the past, so it starts now) for
    1 December 00:30 Amsterdam time = 30 November 23:30 UTC: its period is November."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    with api(region["url"]):
        run = run_deployment("wijksignaal-release/GM0003", scheduled_time=datetime(2026, 11, 30, 23, 30,
                                                                                    tzinfo=UTC),
                             timeout=300, poll_interval=1, as_subflow=False)
        with get_client(sync_client=True) as client:
            d = client.read_deployment_by_name("wijksignaal-region/test")
    assert run.name == "GM0003-2026-11"
    assert run.parameters == {"settings_file": str(region["folders"]["GM0003"] / "gemeente.yaml"),
                              "expect_gemeente": "GM0003"}
    # the extracts end in October: the period-coverage gate refuses November, naming it
    assert (run.state.type.value, run.state.name) == ("FAILED", "Failed")
    assert run.state.message.endswith("the deliveries do not reach the end of the reference period 2026-11")
    (schedule,) = d.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == (
        "0 2 3 * *", "Europe/Amsterdam", True)
    assert d.parameters == {"region_file": str(region["region_file"])}


def _sqlalchemy_breaks_the_scheduler() -> bool:
    import sqlalchemy

    return tuple(int(x) for x in sqlalchemy.__version__.split(".")[:2]) >= (2, 1)


@pytest.mark.skipif(_sqlalchemy_breaks_the_scheduler(), reason="Prefect 3.8's scheduler creates no runs with "
                    "SQLAlchemy 2.1 (pyproject.toml pins <2.1: pip install -e . to get it)")
def test_the_server_schedules_the_regional_run_at_02_00_on_the_3rd_amsterdam_time(region):
    from zoneinfo import ZoneInfo

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    deadline = time.monotonic() + 60
    with api(region["url"]), get_client(sync_client=True) as client:
        while True:  # the server's scheduler (every 2 s here) creates the coming runs
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["test"])),
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=["SCHEDULED"]))),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=10)
            if runs or time.monotonic() > deadline:
                break
            time.sleep(1)
    assert runs
    for r in runs:
        local = r.expected_start_time.astimezone(ZoneInfo("Europe/Amsterdam"))
        assert (local.day, local.hour, local.minute) == (3, 2, 0)


def test_a_single_gemeente_deployment_with_its_own_schedule(region):
    code, out, err = region["cli"]("deploy", "--config", str(region["folders"]["GM0003"] / "gemeente.yaml"),
                                   "--pool", "machine-a", "--cron", "0 6 5 * *")
    assert (code, err) == (0, "")
    assert out == "deployed wijksignaal-release/GM0003 (pool machine-a; schedule 0 6 5 * * (Europe/Amsterdam))\n"
    from prefect.client.orchestration import get_client

    with api(region["url"]), get_client(sync_client=True) as client:
        d = client.read_deployment_by_name("wijksignaal-release/GM0003")
        (schedule,) = d.schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 6 5 * *", "Europe/Amsterdam")
        assert d.entrypoint == "pipelines.flow.release_flow"  # the code installed on the worker's machine
    code, out, _ = region["cli"]("deploy", "--config", str(region["folders"]["GM0003"] / "gemeente.yaml"),
                                 "--pool", "machine-a", "--no-schedule")
    assert out == "deployed wijksignaal-release/GM0003 (pool machine-a; no schedule)\n"
    with api(region["url"]), get_client(sync_client=True) as client:
        assert client.read_deployment_by_name("wijksignaal-release/GM0003").schedules == []
