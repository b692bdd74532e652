"""The release ledger: one JSON line per published release, hash-chained.

Each entry records what was published (the hashes of the release's files), under which
rules (DPIA and selection versions), when, and the hash of the previous entry; its own
hash (`entry_sha256`) covers all of that. Every release folder carries its own entry as
`ledger-entry.json`, so the ledger and the folders vouch for each other.

How a release is committed (pipelines/publish/__init__.py writes it; this module checks it):

1. the release folder is written complete, its entry included, under a hidden staging
   name (`releases/.<id>.partial`), and flushed to disk;
2. the entry is appended to `<work>/ledger.jsonl` as one line and flushed to disk. The
   complete line, newline included, is the commit point: before it nothing is published,
   after it the release is;
3. only then is the folder renamed into place (and copied to the publication register).

So a release folder in place always has its entry in the ledger. A folder whose entry is
not in the ledger was therefore not left by a crash: the ledger lost entries (removed
lines, a truncated end), and `verify` says so. What a crash can leave is finished or
undone by the next run (`pipelines.publish.recover`): a committed entry whose folder is
still in staging is rolled forward; an incomplete last line that is the start of a staged
entry is an uncommitted write and is dropped (`repair_torn_tail`). Anything else is
reported, never repaired.

`verify` reports, one line each: torn, unreadable, edited and reordered lines, entries
whose predecessors are gone, release folders without an entry (a truncated ledger),
release files that differ from their entry, and recorded releases whose folder is gone;
in a work directory also each release's run record that is missing, readable by others, or
does not rebuild its audit.json (published_counts.check_records, rule C1).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .published_counts import RECORDS, check_records

GENESIS = "0" * 64
LEDGER = "ledger.jsonl"  # in the work directory
ENTRY = "ledger-entry.json"  # in every release folder

LedgerEntry = dict[str, Any]  # a ledger entry, as JSON data


class LedgerError(Exception):
    """The ledger cannot take a new entry (its last line is incomplete)."""


def _entry_hash(entry: LedgerEntry) -> str:
    body = {k: v for k, v in entry.items() if k != "entry_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def line(entry: LedgerEntry) -> bytes:
    """An entry as its ledger line (and as the bytes of `ledger-entry.json`): its hash first, so
    that the first bytes of a line already tell one entry from another; then the rest, keys sorted."""
    rest = json.dumps({k: v for k, v in entry.items() if k != "entry_sha256"}, ensure_ascii=False, sort_keys=True)
    head = json.dumps({"entry_sha256": entry.get("entry_sha256")})[:-1]
    return (head + (", " + rest[1:] if rest != "{}" else "}") + "\n").encode("utf-8")


def _ledger_path(where: Path) -> Path:
    where = Path(where)
    return where / LEDGER if where.is_dir() else where


def _split(path: Path) -> tuple[list[bytes], bytes]:
    """(complete lines without their newline, the bytes after the last newline)."""
    if not path.exists():
        return [], b""
    data = path.read_bytes()
    *lines, tail = data.split(b"\n")
    return lines, tail


def _parse(raw: bytes) -> LedgerEntry | None:
    try:
        entry = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return entry if isinstance(entry, dict) else None


def entries(path: Path) -> list[LedgerEntry]:
    """The entries of the ledger's complete, readable lines (`verify` reports the others)."""
    lines, _ = _split(_ledger_path(path))
    return [e for e in map(_parse, lines) if e is not None]


def intact_entries(path: Path) -> list[LedgerEntry] | None:
    """Every entry, if every line of the ledger is complete and readable; else None (then nothing may
    be cleaned up by what the ledger names: `verify` reports the damage)."""
    lines, tail = _split(_ledger_path(path))
    parsed = [_parse(raw) for raw in lines]
    if tail or any(e is None for e in parsed):
        return None
    return [e for e in parsed if e is not None]


def last(path: Path) -> LedgerEntry | None:
    """The entry of the ledger's last complete line, if it is readable."""
    lines, _ = _split(_ledger_path(path))
    return _parse(lines[-1]) if lines else None


def read_entry(folder: Path) -> LedgerEntry | None:
    """A release folder's own entry (`ledger-entry.json`), if it has a readable one."""
    f = folder / ENTRY
    return _parse(f.read_bytes().rstrip(b"\n")) if f.is_file() else None


def new_entry(path: Path, release: dict[str, Any], published_at: str | None = None) -> LedgerEntry:
    """The entry that would follow the ledger's last line for `release` (release_id, gemeente,
    period, files, dpia, selections)."""
    lines, tail = _split(path)
    if tail:
        raise LedgerError(f"{path}: line {len(lines) + 1}: torn: the last line is incomplete (an interrupted write); "
                          "no entry can follow it")
    previous = _parse(lines[-1]) if lines else None
    if lines and previous is None:
        raise LedgerError(f"{path}: line {len(lines)}: not a ledger entry (not valid JSON); no entry can follow it")
    entry = {
        "release_id": release["release_id"],
        "gemeente": release["gemeente"],
        "period": release["period"],
        "published_at": published_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": release["files"],
        "dpia": release["dpia"],
        "selections": release["selections"],
        "previous_sha256": previous.get("entry_sha256", "") if previous else GENESIS,
    }
    entry["entry_sha256"] = _entry_hash(entry)
    return entry


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` (os.write may write less than it is given)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def append_durable(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Append `data` to `path` and flush it to disk (and the folder's entry, for a new file)
    before returning: the ledger's commit point, the vault's access log."""
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        fsync_dir(path.parent)


def append_entry(path: Path, entry: LedgerEntry) -> None:
    """Append `entry` as one line and flush it to disk: the commit point of a release."""
    path.parent.mkdir(parents=True, exist_ok=True)
    append_durable(path, line(entry))


def append(path: Path, release: dict[str, Any]) -> LedgerEntry:
    entry = new_entry(path, release)
    append_entry(path, entry)
    return entry


def repair_torn_tail(path: Path, staged: list[LedgerEntry]) -> bool:
    """Drop an incomplete last line that is the start of the line of one of the `staged`
    entries (a publication that did not reach its commit point). True if dropped."""
    lines, tail = _split(path)
    if not tail or not any(line(e).startswith(tail) for e in staged):
        return False
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, os.fstat(fd).st_size - len(tail))
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file() and p.name != ENTRY}


def verify(where: Path, releases_dir: Path | None = None, registers: Sequence[Path] = ()) -> list[str]:
    """Problems of a ledger and of the release folders it records, one line each; [] when intact.

    `where`: a work directory (its `ledger.jsonl`, checked against its `releases/`), or a
    ledger file (checked alone, or against `releases_dir`). In each publication register
    (`registers`), the copies of this ledger's releases are checked too. The register is
    shared with other work directories: only copies whose `ledger-entry.json` is a line of
    this ledger are checked, and a release missing there is not reported (it may have been
    published before the register was set up)."""
    path = _ledger_path(where)
    if releases_dir is None and Path(where).is_dir():
        releases_dir = Path(where) / "releases"
    problems: list[str] = []
    lines, tail = _split(path)
    parsed = [(n, _parse(raw)) for n, raw in enumerate(lines, start=1)]
    hashes: dict[str | None, int] = {e.get("entry_sha256"): n for n, e in parsed if e is not None}

    prev: str | None
    prev, prev_n = GENESIS, 0
    for n, e in parsed:
        if e is None:
            problems.append(f"{path}: line {n}: not a ledger entry (not valid JSON)")
            prev, prev_n = None, n
            continue
        rid = e.get("release_id")
        if _entry_hash(e) != e.get("entry_sha256"):
            problems.append(f"{path}: line {n} ({rid}): edited: its content does not match its entry_sha256")
        p = e.get("previous_sha256")
        if prev is not None and p != prev:
            if p in hashes:
                problems.append(f"{path}: line {n} ({rid}): out of order: it follows line {hashes[p]}, "
                                + (f"not line {prev_n}" if prev_n else "but it is the first line"))
            elif p == GENESIS:
                problems.append(f"{path}: line {n} ({rid}): out of order: it is a first entry, but follows line {prev_n}")
            else:
                problems.append(f"{path}: line {n} ({rid}): its previous_sha256 matches no entry: the entry before it "
                                "was removed or changed")
        prev, prev_n = e.get("entry_sha256"), n
    if tail:
        problems.append(f"{path}: line {len(lines) + 1}: torn: the last line is incomplete (an interrupted write)")
    if releases_dir is not None:
        problems += _check_folders(path, Path(releases_dir), parsed, hashes)
    if Path(where).is_dir():  # a work directory: its run records (published_counts.py, rule C1)
        newest = {rid: e for rid, (_, e) in _newest(parsed).items()}
        problems += check_records(Path(where) / RECORDS, Path(releases_dir or Path(where) / "releases"), newest)
    for register in registers:
        problems += _check_register(Path(register), parsed)
    return problems


def _newest(parsed: list[tuple[int, LedgerEntry | None]]) -> dict[str, tuple[int, LedgerEntry]]:
    """Release id -> (line number, entry) of its last entry."""
    return {str(e.get("release_id")): (n, e) for n, e in parsed if e is not None}


def _check_folders(path: Path, releases_dir: Path, parsed: list[tuple[int, LedgerEntry | None]],
                   hashes: dict[str | None, int]) -> list[str]:
    """Every release folder has its entry in the ledger and the files it records; every
    release the ledger records has its folder."""
    problems: list[str] = []
    newest = _newest(parsed)
    n: int | None  # a line number; below, that of a folder's entry (None: not in the ledger)
    end = parsed[-1][1].get("entry_sha256") if parsed and parsed[-1][1] is not None else (None if parsed else GENESIS)
    folders = sorted(p for p in releases_dir.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if releases_dir.is_dir() else []
    for folder in folders:
        own = read_entry(folder)
        if own is None and (folder / ENTRY).exists():
            problems.append(f"{folder / ENTRY}: not a ledger entry (not valid JSON)")
            continue
        if own is not None:
            if _entry_hash(own) != own.get("entry_sha256"):
                problems.append(f"{folder / ENTRY}: edited: its content does not match its entry_sha256")
                continue
            if own.get("release_id") != folder.name:
                problems.append(f"{folder / ENTRY}: the entry of release {own.get('release_id')}, not of {folder.name}")
                continue
            n = hashes.get(own["entry_sha256"])
            if n is None:
                if own.get("previous_sha256") == end:
                    problems.append(f"{path}: truncated: the entry of release {folder.name}, which follows its last "
                                    f"line, is missing (it is in {folder / ENTRY})")
                else:
                    problems.append(f"{folder}: a release without an entry in the ledger: its entry "
                                    f"({ENTRY}) was removed from {path}")
                continue
            if newest[folder.name][0] != n:
                problems.append(f"{folder}: holds the publication of line {n}, but line {newest[folder.name][0]} "
                                "records a later one")
                continue
        elif folder.name not in newest:
            problems.append(f"{folder}: a release without an entry in the ledger")
            continue
        problems += _compare_files(folder, *newest[folder.name])
    for rid, (n, _) in sorted(newest.items()):
        if not (releases_dir / rid).is_dir():
            problems.append(f"{releases_dir / rid}: missing: line {n} of the ledger records this release")
    return problems


def _compare_files(folder: Path, n: int, recorded: LedgerEntry) -> list[str]:
    problems = []
    actual, expected = _files(folder), recorded.get("files", {})
    for name in sorted(set(actual) | set(expected)):
        if name not in actual:
            problems.append(f"{folder / name}: missing: line {n} of the ledger records it")
        elif name not in expected:
            problems.append(f"{folder / name}: not in the release's entry (line {n} of the ledger)")
        elif actual[name] != expected[name]:
            problems.append(f"{folder / name}: edited: it does not match line {n} of the ledger")
    return problems


def _check_register(register: Path, parsed: list[tuple[int, LedgerEntry | None]]) -> list[str]:
    """The register holds the releases of every work directory of the gemeente; of those this
    ledger published (their `ledger-entry.json` is one of its lines), the files must be the ones
    it records."""
    lines = {e.get("entry_sha256"): (n, e) for n, e in parsed if e is not None}
    problems = []
    for folder in sorted(p for p in register.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if register.is_dir() else []:
        own = read_entry(folder)
        if own is not None and own.get("entry_sha256") in lines:
            problems += _compare_files(folder, *lines[own["entry_sha256"]])
    return problems
