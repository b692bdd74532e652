"""A release and its ledger entry are committed together: kill -9 at any step of publish
leaves either nothing published or a complete, recorded release, in the work directory and
in the publication register, once the next run (or `wijksignaal ledger verify`) has
finished what the killed one left."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GEMEENTE, PERIOD

from pipelines.cli import main
from privacy import ledger

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("crash_publish.py")
RID = f"{GEMEENTE}-{PERIOD}-crashtest0"

NOTHING = ["staged", "before register copy", "after register copy", "torn ledger line"]
RECORDED = ["committed", "placed", "done"]
REPLACING = ["set aside", "register set aside"]  # a re-publication of the same release id, killed halfway
SPARE = {"run start": "after register copy", "refusal": "done", "register edit": "done"}  # for the tests after the parametrized one


def _settings(folder: Path) -> Path:
    path = folder / "gemeente.yaml"
    path.write_text(f"gemeente: {GEMEENTE}\nperiod: '{PERIOD}'\nsources_dir: sources\nwork_dir: work\n"
                    "published_dir: register\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def crashed(release, tmp_path_factory):
    """Every kill point, each in its own work directory and register, run side by side."""
    return _kill(release["release"].folder, RID, {**{p: p for p in NOTHING + RECORDED + REPLACING}, **SPARE},
                 tmp_path_factory)


def _kill(source: Path, rid: str, points: dict[str, str], tmp_path_factory) -> dict[str, dict]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    runs = {}
    for name, point in points.items():
        folder = tmp_path_factory.mktemp("crash")
        args = [sys.executable, str(SCRIPT), str(folder / "work"), str(folder / "register"),
                str(source), rid, point] + (["--twice"] if point in REPLACING else [])
        runs[name] = (folder, subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    out = {}
    for point, (folder, proc) in runs.items():
        stdout, stderr = proc.communicate(timeout=120)
        out[point] = {"folder": folder, "returncode": proc.returncode, "stderr": stderr.decode(),
                      "leftovers": _leftovers(folder)}
    return out


def _leftovers(folder: Path) -> list[str]:
    return sorted(f"{d}/{p.name}" for d in ("work/releases", "register") if (folder / d).is_dir()
                  for p in (folder / d).iterdir() if p.name.startswith("."))


def _visible_and_recorded(folder: Path) -> None:
    """Every release folder in place, in <work>/releases or in the register, has its entry in the ledger."""
    recorded = {e["entry_sha256"] for e in ledger.entries(folder / "work")}
    for d in ("work/releases", "register"):
        for p in (folder / d).iterdir() if (folder / d).is_dir() else []:
            if not p.name.startswith("."):
                assert ledger.read_entry(p)["entry_sha256"] in recorded, p


@pytest.mark.parametrize("point", NOTHING + RECORDED + REPLACING)
def test_a_kill_at_any_step_of_publish_leaves_nothing_or_a_complete_recorded_release(crashed, point, capsys):
    c = crashed[point]
    folder, work, register = c["folder"], c["folder"] / "work", c["folder"] / "register"
    assert c["returncode"] == -signal.SIGKILL, c["stderr"]
    _visible_and_recorded(folder)  # at the moment of the kill already
    if point != "done":
        assert c["leftovers"], "the kill left nothing to finish: the test would prove nothing"

    assert main(["ledger", "verify", "--config", str(_settings(folder))]) == 0  # finishes what the kill left
    entries = ledger.entries(work)
    intact = ("0 entries, 0" if point in NOTHING else "2 entries, 1" if point in REPLACING else "1 entry, 1")
    assert capsys.readouterr().out == f"ledger intact: {intact} release folder(s) match it\n"
    assert _leftovers(folder) == []
    if point in NOTHING:
        assert entries == [] and not (work / "releases" / RID).exists() and not (register / RID).exists()
        if point == "torn ledger line":
            assert (work / ledger.LEDGER).read_bytes() == b""  # dropped whole: the commit point was not reached
        else:
            assert not (work / ledger.LEDGER).exists()
    else:
        assert len(entries) == (2 if point in REPLACING else 1)
        for place in (work / "releases" / RID, register / RID):
            assert ledger.read_entry(place) == entries[-1]
            assert {p.name: p.read_bytes() for p in place.iterdir() if p.name != ledger.ENTRY} == {
                p.name: p.read_bytes() for p in (work / "releases" / RID).iterdir() if p.name != ledger.ENTRY}
        assert ledger.verify(work) == []


def test_the_next_run_removes_what_a_killed_run_left_and_logs_the_counts(crashed, caplog):
    """The start of every run (pipeline.exclusive, taken by run_all and by the flow) does the same."""
    from pipelines.pipeline import exclusive, prepare

    folder = crashed["run start"]["folder"]
    assert _leftovers(folder) == [f"register/.{RID}.{_token(folder / 'work')}.partial", f"work/releases/.{RID}.partial"]
    run = prepare(_settings(folder))
    with caplog.at_level(logging.INFO, logger="wijksignaal"):
        with exclusive(run):
            assert _leftovers(folder) == []
    assert [r.getMessage() for r in caplog.records if r.name == "wijksignaal.publish"] == [
        "finished what an interrupted run left: staging removed 2, stray records removed 1"]  # rule C1's record


def _token(work: Path) -> str:
    from pipelines.publish import _token

    return _token(work)


def test_a_run_refuses_to_publish_on_a_ledger_that_does_not_verify_before_it_reads_data(crashed, capsys):
    from pipelines.pipeline import run_all
    from pipelines.publish import LedgerProblems

    folder = crashed["refusal"]["folder"]
    path = folder / "work" / ledger.LEDGER
    path.write_bytes(b"")  # the ledger lost its only line
    settings = _settings(folder)
    problem = (f"{path}: truncated: the entry of release {RID}, which follows its last line, is missing (it is in "
               f"{folder}/work/releases/{RID}/{ledger.ENTRY})")
    with pytest.raises(LedgerProblems) as e:
        run_all(settings)
    assert str(e.value) == (f"the ledger of {folder / 'work'} does not verify (1 problem(s); first: {problem}); nothing "
                            f"is published until it does: see `wijksignaal ledger verify --work {folder / 'work'}`")
    assert not (folder / "work" / "warehouse.duckdb").exists()
    assert main(["run", "--config", str(settings)]) == 1
    assert capsys.readouterr().err == f"error: {e.value}\nnothing was published\n"


def test_an_edited_copy_in_the_register_is_reported(crashed, capsys):
    folder = crashed["register edit"]["folder"]
    report = folder / "register" / RID / "report.html"
    report.write_bytes(report.read_bytes().replace(b"<html", b"<html data-x", 1))
    assert main(["ledger", "verify", "--config", str(_settings(folder))]) == 1
    assert capsys.readouterr().err.splitlines()[-2:] == [
        f"{report}: edited: it does not match line 1 of the ledger", "1 problem(s) found"]
    assert main(["ledger", "verify", "--work", str(folder / "work")]) == 0  # the work directory alone is intact


SPLIT_RID = f"NL-{PERIOD}-crashtest0"


@pytest.fixture(scope="module")
def crashed_split(release, tmp_path_factory):
    """A release of two gemeenten (a report file each and the overview), killed while its reports are
    written and after its commit point."""
    from twogemeenten import write_release

    source = write_release(release["release"].folder, tmp_path_factory.mktemp("two") / "release")
    return _kill(source, SPLIT_RID, {p: p for p in ("between reports", "committed")}, tmp_path_factory)


@pytest.mark.parametrize("point", ["between reports", "committed"])
def test_a_kill_while_a_release_of_several_gemeenten_is_written_leaves_nothing_or_all_its_reports(
        crashed_split, point, capsys):
    c = crashed_split[point]
    folder, work, register = c["folder"], c["folder"] / "work", c["folder"] / "register"
    assert c["returncode"] == -signal.SIGKILL, c["stderr"]
    assert c["leftovers"]
    staged = folder / "work" / "releases" / f".{SPLIT_RID}.partial"
    if point == "between reports":  # killed with one gemeente's report written, not the other's
        assert {p.name for p in staged.iterdir()} == {"tables.csv", "report-GM0164.html"}
    assert main(["ledger", "verify", "--config", str(_settings(folder))]) == 0  # finishes what the kill left
    capsys.readouterr()
    assert _leftovers(folder) == []
    if point == "between reports":
        assert ledger.entries(work) == [] and not (work / "releases" / SPLIT_RID).exists()
        assert not (register / SPLIT_RID).exists()
    else:
        names = {"audit.json", "ledger-entry.json", "tables.csv", "tables.xlsx", "report.html", "report-GM0164.html",
                 "report-GM0173.html"}
        for place in (work / "releases" / SPLIT_RID, register / SPLIT_RID):
            assert {p.name for p in place.iterdir()} == names
        assert set(ledger.entries(work)[-1]["files"]) == names - {ledger.ENTRY}
        assert ledger.verify(work, registers=[register]) == []
