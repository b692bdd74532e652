"""What became of a gemeente's run, whether to retry it, and what the regional run reports:
plain functions, no Prefect server (except the last tests, on the session's temporary one)."""

from __future__ import annotations

import errno
import json
import stat
from pathlib import Path

import httpx
import pytest

from pipelines import outcomes
from pipelines.configfile import ConfigError, Problem
from pipelines.ingest.gates import GateResult, QualityGateFailed
from pipelines.ingest.readers import SourceFileError
from pipelines.outcomes import failure, from_state
from pipelines.publish import PublishRefused
from pipelines.region import CollectRefused, GemeenteResult, collect_release, exit_code, lines, supervise
from pipelines.workdir import WorkDirBusy
from privacy.secondary import ProtectionFailed

BUSY = WorkDirBusy(Path("/w"), {"pid": 7, "host": "h", "command": "run", "period": "2026-10", "since": "T"})
GATE = GateResult("period-coverage", "vroegsignalen", "error", "the newest signaaldatum is 2026-09-30")


@pytest.mark.parametrize("exc, kind, lines_", [
    (ConfigError([Problem("/g.yaml", 3, "period: bad"), Problem("/g.yaml", 4, "x: y")]), "problem",
     ("/g.yaml:3: period: bad", "/g.yaml:4: x: y")),
    (SourceFileError("wmo", "/s/wmo.csv", "file not found"), "problem", ("source 'wmo', file /s/wmo.csv: file not found",)),
    (QualityGateFailed([GATE]), "problem",
     ("quality gate period-coverage (error): the newest signaaldatum is 2026-09-30",)),
    (ProtectionFailed("3 cells provably below the threshold"), "problem", ("3 cells provably below the threshold",)),
    (PublishRefused("refusing to publish: BSN-like numbers found in tables.csv (1)"), "problem",
     ("refusing to publish: BSN-like numbers found in tables.csv (1)",)),
    (CollectRefused("/c/GM0003-2026-10-0123456789: already collected with other contents"), "problem",
     ("/c/GM0003-2026-10-0123456789: already collected with other contents",)),
    (BUSY, "transient", (str(BUSY),)),
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "transient",
     ("ConnectionResetError: Connection reset by peer",)),
    (OSError(errno.ESTALE, "Stale file handle", "/mnt/share/work"), "transient",
     ("OSError: /mnt/share/work: Stale file handle",)),
    (httpx.ConnectError("[Errno 111] Connection refused"), "transient", ("lost connection (ConnectError)",)),
    (TimeoutError(), "transient", ("lost connection (TimeoutError)",)),
])
def test_data_and_configuration_problems_are_not_retried_transient_failures_are(exc, kind, lines_):
    o = failure(exc)
    assert (o.kind, o.lines) == (kind, lines_)
    assert o.retry == (kind == "transient")
    assert not o.published


def test_an_internal_error_names_only_its_type_never_its_text():
    o = failure(KeyError("123456782 Jansen"))  # a bug whose text quotes a value
    assert o.kind == "internal" and not o.retry
    assert o.lines == ("internal error (KeyError); nothing was published. Run `wijksignaal run --config <its "
                       "settings> -v` on its machine for the traceback",)
    assert "123456782" not in o.message and "Jansen" not in o.message
    full = failure(OSError(errno.ENOSPC, "No space left on device"))  # a full disk stays full: not retried
    assert full.kind == "problem" and not full.retry and full.lines[0].startswith("cannot write to disk: no space left")


def test_the_exception_we_raised_is_found_behind_a_wrapper():
    try:
        try:
            raise BUSY
        except WorkDirBusy as inner:
            raise RuntimeError("task failed") from inner
    except RuntimeError as outer:
        assert failure(outer).kind == "transient"


@pytest.mark.parametrize("outcome", [
    outcomes.published("GM0003-2026-10-0123456789", []),
    outcomes.published("GM0003-2026-10-0123456789", ["quality gate unmatched-value: 'Ja' never occurs"]),
    failure(ConfigError([Problem("/g.yaml", 3, "period: bad"), Problem("/g.yaml", 4, "x: y")])),
    failure(BUSY),
    failure(KeyError("x")),
])
def test_an_outcome_survives_the_trip_through_a_prefect_state(outcome):
    state_type = "COMPLETED" if outcome.published else "FAILED"
    back = from_state(state_type, outcomes.STATE_NAMES[outcome.kind], outcome.message)
    assert (back.kind, back.lines, back.release_id) == (outcome.kind, outcome.lines, outcome.release_id)


def test_states_we_did_not_set():
    crashed = from_state("CRASHED", "Crashed", "Flow run infrastructure exited with non-zero status code -9.")
    assert crashed.kind == "crashed" and crashed.retry
    assert crashed.lines == ("crashed: Flow run infrastructure exited with non-zero status code -9.",)
    prefect_failed = from_state("FAILED", "Failed", "Validation of flow parameters failed with error: ...")
    assert prefect_failed.kind == "problem" and not prefect_failed.retry
    assert from_state("CANCELLED", "Cancelled", None).lines == ("ended cancelled",)


def test_supervise_retries_only_transient_outcomes():
    busy, ok, bad = failure(BUSY), outcomes.published("GM0003-2026-10-0123456789", []), failure(
        SourceFileError("wmo", "/s/wmo.csv", "file not found"))
    crashed = from_state("CRASHED", "Crashed", "killed")

    def run(script, retries):
        calls, slept, retried = [], [], []

        def launch(attempt):
            calls.append(attempt)
            return script[attempt - 1]
        attempts = supervise(launch, retries, 30, sleep=slept.append, on_retry=lambda a, o: retried.append(a))
        return attempts, calls, slept, retried

    assert run([busy, crashed, ok], 2) == ((busy, crashed, ok), [1, 2, 3], [30, 30], [1, 2])
    assert run([bad, ok], 2) == ((bad,), [1], [], [])  # a data problem is not tried again
    assert run([busy, busy, busy, ok], 2) == ((busy, busy, busy), [1, 2, 3], [30, 30], [1, 2])  # no sleep after the last
    assert run([busy, ok], 0) == ((busy,), [1], [], [])


def test_exit_code_and_lines_of_a_regional_run():
    ok = GemeenteResult("GM0003", "Appingedam", (outcomes.published("GM0003-2026-10-0123456789", []),))
    warned = GemeenteResult("GM0010", "Delfzijl", (failure(BUSY), outcomes.published(
        "GM0010-2026-10-0123456789", ["quality gate unmatched-value: 'Ja' never occurs"])))
    bad = GemeenteResult("GM0024", "Loppersum", (failure(SourceFileError("wmo", "/s/wmo.csv", "file not found")),))
    from pipelines.region import NotCollected

    lost = GemeenteResult("GM0040", "Slochteren", (failure(NotCollected(
        "GM0040-2026-10-0123456789", "/c/2026-10", PermissionError(13, "Permission denied", "/c/2026-10"))),))
    assert exit_code([ok]) == 0
    assert exit_code([ok, warned]) == 3
    assert exit_code([ok, warned, bad]) == 1
    assert exit_code([ok, lost]) == 1
    assert lines([ok, warned, bad, lost]) == ([
        "GM0003 Appingedam: published GM0003-2026-10-0123456789",
        "GM0010 Delfzijl: published GM0010-2026-10-0123456789 (after 2 attempts)",
        "GM0024 Loppersum: failed, nothing published",
        "GM0040 Slochteren: published GM0040-2026-10-0123456789, not collected",
    ], [
        "warning: GM0010 Delfzijl: quality gate unmatched-value: 'Ja' never occurs",
        "error: GM0024 Loppersum: source 'wmo', file /s/wmo.csv: file not found",
        "error: GM0040 Slochteren: published GM0040-2026-10-0123456789, but not collected into /c/2026-10: "
        "/c/2026-10: Permission denied",
    ])


def test_a_refused_gemeente_of_a_regional_run_says_its_lists_were_made_but_not_as_an_error():
    from pipelines.pipeline import RefusedListsMade

    made = {"period": "2026-10", "lists": [{"selection": "verse-achterstand-zorg-energie", "cases": 35,
                                            "files": ["a.html", "a.xlsx"]}]}
    refused = RefusedListsMade(ProtectionFailed("2 small cell(s) are already shown to be below the threshold"), made)
    o = failure(refused)
    assert o.kind == "problem" and not o.retry
    assert lines([GemeenteResult("GM0164", "Hengelo", (o,))]) == (["GM0164 Hengelo: failed, nothing published"], [
        "error: GM0164 Hengelo: 2 small cell(s) are already shown to be below the threshold",
        "GM0164 Hengelo: the signal lists of 2026-10 were made all the same (outreach/2026-10 in the work directory): "
        "verse-achterstand-zorg-energie: 35 case(s) on 1 list(s)"])
    why = "no signal lists for 2026-09: the cases of 2026-10 are matched already"  # an earlier month: none made, and why
    later = failure(RefusedListsMade(ProtectionFailed("pinned"), {"period": "2026-09", "lists": [], "reason": why}))
    assert lines([GemeenteResult("GM0164", "Hengelo", (later,))])[1] == [
        "error: GM0164 Hengelo: pinned", f"GM0164 Hengelo: {why}"]


# --- collecting release folders -------------------------------------------------------------


def test_collect_copies_exactly_the_release_files_readable_by_all(release, tmp_path):
    folder = release["release"].folder
    (folder / "notes.txt").write_text("not part of the release")  # something else in the folder
    try:
        target = collect_release(folder, tmp_path / "collected" / "2026-10")
    finally:
        (folder / "notes.txt").unlink()
    entry = json.loads((folder / "ledger-entry.json").read_text())
    assert target == tmp_path / "collected" / "2026-10" / entry["release_id"]
    assert sorted(p.name for p in target.iterdir()) == sorted([*entry["files"], "ledger-entry.json"])
    for p in target.iterdir():
        assert p.read_bytes() == (folder / p.name).read_bytes()
        assert stat.S_IMODE(p.stat().st_mode) == 0o644
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no staging folder left
    assert collect_release(folder, tmp_path / "collected" / "2026-10") == target  # again: nothing changes


def test_collect_refuses_a_file_that_differs_from_its_ledger_entry(release, tmp_path):
    import shutil

    copy = tmp_path / "work" / release["release"].release_id
    shutil.copytree(release["release"].folder, copy)
    with (copy / "tables.csv").open("a") as fh:
        fh.write("stapeling,2026-10,buurt,BU01640000,X,totaal,1,published\n")
    with pytest.raises(CollectRefused, match=r"tables.csv: differs from the hash in its ledger entry; not collected"):
        collect_release(copy, tmp_path / "collected")
    assert list((tmp_path / "collected").iterdir()) == []


def test_collect_refuses_other_contents_under_the_same_id(release, tmp_path):
    target = collect_release(release["release"].folder, tmp_path / "c")
    (target / "report.html").write_text("changed")
    with pytest.raises(CollectRefused, match="already collected with other contents"):
        collect_release(release["release"].folder, tmp_path / "c")


# --- the release flow's final state (the session's temporary Prefect server) -------------------


def test_the_release_flow_ends_in_a_state_that_says_what_happened(prefect_server, sources_copy, key_file, tmp_path):
    from conftest import write_settings

    from pipelines.flow import release_flow

    settings = write_settings(tmp_path / "run", sources_copy, key_file)
    state = release_flow(str(settings), "2026-10", collect_dir=str(tmp_path / "collected"), return_state=True)
    result = state.result()
    assert (state.type.value, state.name, state.message) == ("COMPLETED", "Completed",
                                                            f"published {result['release_id']}")
    assert result["collected"] == str(tmp_path / "collected" / "2026-10" / result["release_id"])
    assert (Path(result["collected"]) / "tables.csv").read_bytes() == (Path(result["folder"]) / "tables.csv").read_bytes()

    # published again (the same release), but its collected copy was changed meanwhile: published, not collected
    (Path(result["collected"]) / "report.html").write_text("changed")
    state = release_flow(str(settings), "2026-10", collect_dir=str(tmp_path / "collected"), return_state=True)
    assert (state.type.value, state.name, state.message) == (
        "FAILED", "NotCollected", f"published {result['release_id']}, but not collected into "
        f"{tmp_path / 'collected' / '2026-10'}: {result['collected']}: already collected with other contents; the "
        f"release's own folder is {result['folder']}")
    back = from_state("FAILED", state.name, state.message)
    assert (back.kind, back.release_id, back.retry, back.published) == ("uncollected", result["release_id"], False,
                                                                        False)

    (sources_copy / "wmo.csv").unlink()
    state = release_flow(str(settings), "2026-09", return_state=True)
    assert (state.type.value, state.name, state.message) == (
        "FAILED", "Failed", f"source 'wmo', file {sources_copy / 'wmo.csv'}: file not found")
    with pytest.raises(SourceFileError):  # in-process (wijksignaal run), the exception itself
        state.result()

    state = release_flow(str(settings), "2026-10", expect_gemeente="GM0003", return_state=True)
    assert (state.name, state.message) == ("Failed", f"{settings}:1: gemeente: GM0164, but the regional flow runs "
                                                     "this file as GM0003 (region.yaml)")


def test_a_busy_work_directory_ends_the_flow_as_transient(prefect_server, sources, key_file, tmp_path):
    from conftest import write_settings
    from test_workdir import Holder

    from pipelines.flow import release_flow

    settings = write_settings(tmp_path / "run", sources, key_file)
    holder = Holder(tmp_path / "run" / "work")
    try:
        state = release_flow(str(settings), "2026-10", return_state=True)
    finally:
        holder.finish()
    assert (state.type.value, state.name, state.message) == ("FAILED", "Transient",
                                                            holder.message(tmp_path / "run" / "work"))
    assert from_state("FAILED", state.name, state.message).retry


def test_collecting_is_retried_on_an_unreachable_share_only():
    from prefect.states import Failed

    from pipelines.flow import _is_oserror, collect_task

    assert collect_task.retries == 2
    assert _is_oserror(Failed(data=OSError(errno.EHOSTDOWN, "Host is down", "/mnt/regio")))
    assert not _is_oserror(Failed(data=CollectRefused("already collected with other contents")))


def test_the_exceptions_a_state_may_carry_survive_pickling():
    """Prefect may pickle a failed state's exception: ours come back whole, with their problems."""
    import pickle

    from pipelines import failures
    from pipelines.ingest.readers import SourceFilesError
    from pipelines.pipeline import RefusedListsMade
    from privacy.disclosure import PinnedByEarlier

    made = {"period": "2026-10", "lists": [{"selection": "s", "cases": 3, "files": ["a.html", "a.xlsx"]}]}
    for exc in (PinnedByEarlier("1 small cell(s) are already shown to be below the threshold", ["BU01640200"]),
                RefusedListsMade(PinnedByEarlier("pinned", ["BU01640200"]), made),
                SourceFilesError([SourceFileError("wmo", "/s/wmo.csv", "file not found"),
                                  SourceFileError("brp", "/s/brp.csv", "file not found")])):
        again = pickle.loads(pickle.dumps(exc))
        assert type(again) is type(exc) and failures.problems(again) == failures.problems(exc) != []
    assert pickle.loads(pickle.dumps(RefusedListsMade(PinnedByEarlier("pinned", ["B"]), made))).refused.areas == ["B"]
