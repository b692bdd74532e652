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
from pipelines.publish import publish
from pipelines.publish.tablescsv import read_tables
from privacy import ledger

RIDS = [f"{GEMEENTE}-{PERIOD}-verify000{i}" for i in (1, 2, 3)]


@pytest.fixture(scope="module")
def three(release, tmp_path_factory) -> Path:
    """A work directory with three releases, published one after the other."""
    work = tmp_path_factory.mktemp("ledger") / "work"
    folder = release["release"].folder
    cells = read_tables(folder / "tables.csv")
    audit = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
    context = {"buurten": geography.buurten(GEMEENTE), "history": []}
    for rid in RIDS:
        publish(work, rid, cells, audit, context)
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
