"""One run per work directory: a second run gets WorkDirBusy (CLI exit 75) naming the holder,
before it opens the warehouse or starts Prefect; a killed holder leaves no stale lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import PERIOD, write_settings

from pipelines import workdir
from pipelines.cli import main

REPO = Path(__file__).resolve().parents[1]
HOLD = """
import json, sys
from pipelines import workdir
with workdir.exclusive(sys.argv[1], "run", sys.argv[2]):
    print(json.dumps(workdir.holder(sys.argv[1])), flush=True)
    sys.stdin.read()  # until the test closes stdin
print("released", flush=True)
"""


class Holder:
    """Another process holding the work directory through the context manager."""

    def __init__(self, work: Path, period: str = PERIOD):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen([sys.executable, "-c", HOLD, str(work), period], env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.info = json.loads(self.proc.stdout.readline())

    def message(self, work: Path) -> str:
        i = self.info
        return (f"work directory {work} is in use by another wijksignaal run (pid {i['pid']} on host {i['host']}, "
                f"period {i['period']}, since {i['since']}); try again when it has finished")

    def finish(self) -> tuple[int, str]:
        out, _ = self.proc.communicate("", timeout=30)
        return self.proc.returncode, out


@pytest.fixture
def settings(sources, key_file, tmp_path) -> Path:
    return write_settings(tmp_path / "run", sources, key_file)


def test_a_second_cli_run_exits_75_naming_the_holder_before_prefect_starts(settings, tmp_path, monkeypatch, capsys):
    import pipelines.flow

    def not_to_be_called(*args, **kwargs):
        raise AssertionError("the flow started although the work directory is busy")

    monkeypatch.setattr(pipelines.flow, "release_flow", not_to_be_called)
    work = tmp_path / "run" / "work"
    holder = Holder(work)
    try:
        assert holder.info["pid"] == holder.proc.pid and holder.info["command"] == "run"
        assert main(["run", "--config", str(settings)]) == 75
        assert capsys.readouterr().err == f"error: {holder.message(work)}\n"
        assert not (work / "warehouse.duckdb").exists()
    finally:
        assert holder.finish() == (0, "released\n")  # the first run completes
    with workdir.exclusive(work):  # and the work directory is free again
        pass


def test_run_all_is_refused_before_it_opens_the_warehouse(settings, tmp_path):
    from pipelines.pipeline import run_all

    work = tmp_path / "run" / "work"
    holder = Holder(work, "2026-09")
    try:
        with pytest.raises(workdir.WorkDirBusy) as busy:
            run_all(settings)
        assert str(busy.value) == holder.message(work)
        assert "period 2026-09" in str(busy.value)
        assert not (work / "warehouse.duckdb").exists()
    finally:
        holder.finish()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    holder = Holder(tmp_path / "w")
    with pytest.raises(workdir.WorkDirBusy):
        with workdir.exclusive(tmp_path / "w"):
            pass
    os.kill(holder.proc.pid, signal.SIGKILL)
    holder.proc.wait(timeout=30)
    with workdir.exclusive(tmp_path / "w", "run", PERIOD):  # free at once: the OS released it
        assert workdir.holder(tmp_path / "w")["pid"] == os.getpid()
    assert workdir.holder(tmp_path / "w") is None  # released: the lock file is emptied


def test_one_run_may_take_its_lock_again_but_another_run_in_the_same_process_may_not(tmp_path):
    work = (tmp_path / "w").resolve()
    seen = []

    def other_run():
        try:
            with workdir.exclusive(work, "run", "2026-11"):
                seen.append("entered")
        except workdir.WorkDirBusy as exc:
            seen.append(str(exc))

    with workdir.exclusive(work, "run", PERIOD):
        with workdir.exclusive(work, "publish", PERIOD):  # nested: the CLI, then the flow, then publish
            t = threading.Thread(target=other_run)  # a thread starts with a context of its own: another run
            t.start()
            t.join()
    assert len(seen) == 1 and seen[0].startswith(f"work directory {work} is in use by another wijksignaal run "
                                                 f"(pid {os.getpid()} on host ")


def test_the_flow_itself_takes_the_lock(prefect_server, settings, tmp_path):
    from pipelines.flow import release_flow

    work = tmp_path / "run" / "work"
    holder = Holder(work)
    try:
        with pytest.raises(workdir.WorkDirBusy) as busy:
            release_flow(str(settings), PERIOD)
        assert str(busy.value) == holder.message(work)
        assert not (work / "warehouse.duckdb").exists()
    finally:
        holder.finish()
