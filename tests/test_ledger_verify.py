"""`wijksignaal ledger verify`: a torn, edited, reordered or truncated ledger, and release
folders that differ from it, each reported as one line; exit 0 intact, 1 problems found."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import GEMEENTE, PERIOD

from pipelines import geography
from pipelines.cli import main
from pipelines.publish import publish, read_record, recover
from pipelines.publish.tablescsv import read_tables
from privacy import ledger
from privacy.published_counts import RECORDS, VERSION, record_name

RIDS = [f"{GEMEENTE}-{PERIOD}-verify000{i}" for i in (1, 2, 3)]


@pytest.fixture(scope="module")
def three(release, tmp_path_factory) -> Path:
    """A work directory with three releases, published one after the other."""
    work = tmp_path_factory.mktemp("ledger") / "work"
    folder = release["release"].folder
    cells = read_tables(folder / "tables.csv")
    record = {k: v for k, v in read_record(folder).items() if k not in ("published_as", "leak_scan")}
    context = {"buurten": geography.buurten(GEMEENTE), "history": []}
    for rid in RIDS:
        publish(work, rid, cells, record, context)
    return work


@pytest.fixture
def work(three, tmp_path) -> Path:
    shutil.copytree(three, tmp_path / "work")
    return tmp_path / "work"


def _verify(work: Path, capsys) -> tuple[int, list[str], str]:
    code = main(["ledger", "verify", "--work", str(work)])
    out = capsys.readouterr()
    return code, out.err.splitlines(), out.out


def _lines(work: Path) -> list[bytes]:
    return (work / ledger.LEDGER).read_bytes().splitlines(keepends=True)


def test_an_intact_ledger_verifies(work, capsys):
    assert _verify(work, capsys) == (0, [], "ledger intact: 3 entries, 3 release folder(s) match it\n")
    entries = ledger.entries(work)
    assert [e["release_id"] for e in entries] == RIDS
    assert [e["previous_sha256"] for e in entries] == [ledger.GENESIS] + [e["entry_sha256"] for e in entries[:2]]
    for e in entries:  # every release folder carries its own entry, byte for byte the ledger's line
        assert (work / "releases" / e["release_id"] / ledger.ENTRY).read_bytes() == ledger.line(e)


def test_a_torn_last_line_is_reported(work, capsys):
    with (work / ledger.LEDGER).open("ab") as fh:
        fh.write(b'{"dpia": {"id": "DPIA-WIJ')  # not the start of any staged entry: not ours to drop
    assert _verify(work, capsys)[:2] == (1, [
        f"{work / ledger.LEDGER}: line 4: torn: the last line is incomplete (an interrupted write)",
        "1 problem(s) found"])
    assert [e["release_id"] for e in ledger.entries(work)] == RIDS  # the complete lines still read: no JSONDecodeError


def test_an_edited_entry_is_reported(work, capsys):
    lines = _lines(work)
    entry = json.loads(lines[1])
    entry["published_at"] = "2020-01-01T00:00:00Z"
    lines[1] = ledger.line(entry)
    (work / ledger.LEDGER).write_bytes(b"".join(lines))
    assert _verify(work, capsys)[:2] == (1, [
        f"{work / ledger.LEDGER}: line 2 ({RIDS[1]}): edited: its content does not match its entry_sha256",
        "1 problem(s) found"])


def test_an_entry_edited_with_a_new_hash_breaks_the_chain_and_leaves_its_release_without_an_entry(work, capsys):
    lines = _lines(work)
    entry = json.loads(lines[1])
    entry["published_at"] = "2020-01-01T00:00:00Z"
    entry["entry_sha256"] = ledger._entry_hash(entry)
    lines[1] = ledger.line(entry)
    (work / ledger.LEDGER).write_bytes(b"".join(lines))
    assert _verify(work, capsys)[:2] == (1, [
        f"{work / ledger.LEDGER}: line 3 ({RIDS[2]}): its previous_sha256 matches no entry: the entry before it was "
        "removed or changed",
        f"{work / 'releases' / RIDS[1]}: a release without an entry in the ledger: its entry (ledger-entry.json) was "
        f"removed from {work / ledger.LEDGER}",
        "2 problem(s) found"])


def test_a_reordered_ledger_is_reported(work, capsys):
    lines = _lines(work)
    (work / ledger.LEDGER).write_bytes(lines[0] + lines[2] + lines[1])
    assert _verify(work, capsys)[:2] == (1, [
        f"{work / ledger.LEDGER}: line 2 ({RIDS[2]}): out of order: it follows line 3, not line 1",
        f"{work / ledger.LEDGER}: line 3 ({RIDS[1]}): out of order: it follows line 1, not line 2",
        "2 problem(s) found"])


def test_a_truncated_ledger_is_reported_from_the_release_folders(work, capsys):
    lines = _lines(work)
    (work / ledger.LEDGER).write_bytes(b"".join(lines[:2]))  # the last line removed: the chain itself still holds
    assert ledger.verify(work / ledger.LEDGER) == []
    assert _verify(work, capsys)[:2] == (1, [
        f"{work / ledger.LEDGER}: truncated: the entry of release {RIDS[2]}, which follows its last line, is missing "
        f"(it is in {work / 'releases' / RIDS[2] / ledger.ENTRY})",
        "1 problem(s) found"])
    assert _lines(work) == lines[:2]  # reported, not rolled forward


def test_a_removed_entry_and_an_edited_or_removed_release_are_reported(work, capsys):
    lines = _lines(work)
    (work / ledger.LEDGER).write_bytes(lines[0] + lines[2])
    tables = work / "releases" / RIDS[0] / "tables.csv"
    tables.write_bytes(tables.read_bytes().replace(b",published\n", b",suppressed\n", 1))
    shutil.rmtree(work / "releases" / RIDS[2])
    assert _verify(work, capsys)[:2] == (1, [
        f"{work / ledger.LEDGER}: line 2 ({RIDS[2]}): its previous_sha256 matches no entry: the entry before it was "
        "removed or changed",
        f"{tables}: edited: it does not match line 1 of the ledger",
        f"{work / 'releases' / RIDS[1]}: a release without an entry in the ledger: its entry (ledger-entry.json) was "
        f"removed from {work / ledger.LEDGER}",
        f"{work / 'releases' / RIDS[2]}: missing: line 2 of the ledger records this release",
        "4 problem(s) found"])


def test_verify_takes_the_work_directory_from_the_settings_and_refuses_a_missing_one(work, tmp_path, capsys):
    settings = tmp_path / "gemeente.yaml"
    settings.write_text(f"gemeente: {GEMEENTE}\nperiod: '{PERIOD}'\nsources_dir: s\nwork_dir: work\n", encoding="utf-8")
    assert main(["ledger", "verify", "--config", str(settings)]) == 0
    assert capsys.readouterr().out == "ledger intact: 3 entries, 3 release folder(s) match it\n"
    assert _verify(tmp_path / "nowhere", capsys)[:2] == (1, [f"error: {tmp_path / 'nowhere'}: no such work directory"])
    assert not (tmp_path / "nowhere").exists()


def _record(work: Path, rid: str) -> Path:
    return work / RECORDS / record_name(rid, ledger.read_entry(work / "releases" / rid)["files"]["audit.json"])


def test_a_run_record_that_is_missing_edited_or_open_to_others_is_reported(work, capsys):
    """Rule C1: audit.json is its run record with the withheld counts left out; verify rebuilds it."""
    first, second, third = (_record(work, rid) for rid in RIDS)
    assert oct(first.stat().st_mode & 0o777) == "0o600" and oct(first.parent.stat().st_mode & 0o777) == "0o700"
    body = json.loads(second.read_text(encoding="utf-8"))
    body["row_accounting"]["wmo"]["holds"] = False  # a count audit.json shows, changed in the record only
    second.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    third.chmod(0o644)
    first.unlink()
    code, err, _ = _verify(work, capsys)
    assert code == 1
    assert err == [f"{first}: missing: the run record of release {RIDS[0]} (rule C1)",
                   f"{second}: does not rebuild the audit.json of release {RIDS[1]}: the two differ beyond the counts "
                   f"rule C1 withholds (version {VERSION})",
                   f"{third}: readable by others than its owner (mode 644)", "3 problem(s) found"]


def test_a_record_no_ledger_entry_names_is_removed_by_the_next_run_unless_the_ledger_is_damaged(work):
    """A publication cut off before its commit point leaves its run record behind; it names no release."""
    stray = work / RECORDS / record_name(RIDS[0], "f" * 64)
    stray.write_bytes(_record(work, RIDS[0]).read_bytes())
    with (work / ledger.LEDGER).open("ab") as fh:
        fh.write(b'{"torn')  # an unreadable line: nothing is cleaned up by what the ledger names
    assert recover(work)["stray_records_removed"] == 0 and stray.exists()
    lines = (work / ledger.LEDGER).read_bytes().splitlines(keepends=True)
    (work / ledger.LEDGER).write_bytes(b"".join(lines[:-1]) if not lines[-1].endswith(b"\n") else b"".join(lines))
    assert ledger.intact_entries(work) is not None
    assert recover(work)["stray_records_removed"] == 1 and not stray.exists()
    assert all(_record(work, rid).exists() for rid in RIDS)
