"""Publish: the release folder of DESIGN.md (tables.csv, tables.xlsx, audit.json,
report.html; for a release of several gemeenten also one report-<GM....>.html per gemeente,
report.py) and its ledger entry, committed together or not at all.

A release is written complete to a hidden staging folder (`releases/.<id>.partial`),
scanned for anything that looks like a BSN (a hit publishes nothing), given its ledger
entry (`ledger-entry.json`), and flushed to disk. Appending that entry to
`<work>/ledger.jsonl` is the commit point (privacy/ledger.py); only then is the folder
renamed into place and, with a publication register (`published_dir`), copied there,
where every later run of the gemeente, from any work directory, counts it as published.
A crash before the commit point leaves nothing published; after it, the next run (or
`wijksignaal ledger verify`) finishes the placement (`recover`). At no moment is a
release folder in place without its entry in the ledger.

The release's files are deterministic: same inputs, seed and rules give the same bytes
(the release id is a hash of inputs, rules and the earlier releases it was protected
against). Wall-clock time, and the hash of the previous ledger entry, live only in the
ledger entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines import workdir
from pipelines.publish.report import render_reports
from pipelines.publish.tablescsv import read_tables, tables_csv
from pipelines.publish.xlsx import workbook
from privacy import ledger
from privacy.leakscan import scan_files
from privacy.published_counts import RECORDS, record_name, withhold
from privacy.published_counts import RULE as COUNTS_RULE
from privacy.published_counts import RULE_TEXT as COUNTS_RULE_TEXT

log = logging.getLogger("wijksignaal.publish")

PARTIAL, REPLACED = ".partial", ".replaced"


class PublishRefused(Exception):
    pass


class LedgerProblems(PublishRefused):
    """The work directory's ledger does not verify: no run publishes until it does."""

    def __init__(self, work_dir: Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"the ledger of {work_dir} does not verify ({len(problems)} problem(s); first: {problems[0]}); "
                         f"nothing is published until it does: see `wijksignaal ledger verify --work {work_dir}`")


@dataclass(frozen=True)
class Release:
    release_id: str
    folder: Path
    files: dict[str, str]  # name -> sha256 (the files its ledger entry records)


def release_id(gemeente: str, period: str, fingerprint: dict) -> str:
    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode("utf-8")).hexdigest()
    return f"{gemeente}-{period}-{digest[:10]}"


def _write(path: Path, data: bytes) -> None:
    """Write a file and flush it to disk."""
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _mkdir(folder: Path) -> None:
    """Create a folder (and its parents), flushing each new entry to disk."""
    if folder.is_dir():
        return
    _mkdir(folder.parent)
    folder.mkdir(exist_ok=True)
    ledger.fsync_dir(folder.parent)


def _token(work_dir: Path) -> str:
    """Which work directory a leftover in the (shared) publication register belongs to."""
    return hashlib.sha256(str(work_dir.resolve()).encode("utf-8")).hexdigest()[:8]


def _names(folder: Path, rid: str, token: str | None = None) -> tuple[Path, Path]:
    """(staging folder, the folder an earlier publication of `rid` is set aside to while it is replaced)."""
    mark = f".{rid}.{token}" if token else f".{rid}"
    return folder / f"{mark}{PARTIAL}", folder / f"{mark}{REPLACED}"


def _into_place(staging: Path, final: Path, aside: Path) -> None:
    """Rename the complete folder `staging` to `final`; an earlier publication there is set aside
    first and removed after (so a crash in between leaves both, and `recover` finishes the move)."""
    if final.exists():
        if aside.exists():
            shutil.rmtree(aside)
        os.rename(final, aside)
    os.rename(staging, final)
    ledger.fsync_dir(final.parent)
    if aside.exists():
        shutil.rmtree(aside)


def _copy_folder(folder: Path, staging: Path) -> None:
    """The register's copy of a release folder. Unlike the work directory (owner only), the
    register is where releases go out from: its copies are readable by all (0644, folder 0755)."""
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    for p in sorted(folder.iterdir()):
        _write(staging / p.name, p.read_bytes())
        (staging / p.name).chmod(0o644)
    staging.chmod(0o755)
    ledger.fsync_dir(staging)
    ledger.fsync_dir(staging.parent)


def _leftovers(folder: Path, token: str | None = None) -> list[tuple[Path, str, str]]:
    """(folder, release id, kind) of what interrupted publications left in `folder`; in the
    register only this work directory's (`token`)."""
    out = []
    if not folder.is_dir():
        return out
    for p in sorted(folder.iterdir()):
        for kind in (PARTIAL, REPLACED):
            if p.is_dir() and p.name.startswith(".") and p.name.endswith(kind):
                mark = p.name[1:-len(kind)]
                if token is not None:
                    if not mark.endswith(f".{token}"):
                        continue
                    mark = mark[:-len(token) - 1]
                out.append((p, mark, kind))
    return out


def _committed(folder: Path, entry: dict) -> bool:
    own = ledger.read_entry(folder)
    return own is not None and own.get("entry_sha256") == entry.get("entry_sha256")


def recover(work_dir: Path, register: Path | None = None) -> dict[str, int]:
    """Finish or undo what an interrupted publication left in the work directory and the
    register; to be called under the work directory's lock, before anything else. Returns
    (and logs) counts:

    * `torn_line_dropped`: the ledger's incomplete last line was the start of a staged entry
      (the publication did not reach its commit point): dropped;
    * `rolled_forward`, `placed_in_register`: the ledger's last entry was committed while its
      folder was still in staging, in the work directory or in the register: renamed into place;
    * `staging_removed`: staging folders of publications that were not committed;
    * `set_aside_removed`, `set_aside_restored`: earlier publications set aside while replaced;
    * `stray_records_removed`: run records (rule C1) that no ledger entry names.

    An incomplete line that is not such a start, and every other problem, stays for
    `ledger.verify` to report."""
    releases, path = work_dir / "releases", work_dir / ledger.LEDGER
    token = _token(work_dir)
    counts = dict.fromkeys(["torn_line_dropped", "rolled_forward", "placed_in_register", "staging_removed",
                            "set_aside_removed", "set_aside_restored", "stray_records_removed"], 0)
    staged = [e for p, _, kind in _leftovers(releases) if kind == PARTIAL and (e := ledger.read_entry(p))]
    if ledger.repair_torn_tail(path, staged):
        counts["torn_line_dropped"] += 1
    last = ledger.last(path)
    if last is not None and isinstance(last.get("release_id"), str):
        rid = last["release_id"]
        for folder, mine, key in ((releases, None, "rolled_forward"), (register, token, "placed_in_register")):
            if folder is None:
                continue
            staging, aside = _names(folder, rid, mine)
            if not _committed(folder / rid, last) and staging.is_dir() and _committed(staging, last):
                _into_place(staging, folder / rid, aside)
                counts[key] += 1
    for folder, mine in ((releases, None), (register, token)):
        if folder is None:
            continue
        for p, rid, kind in _leftovers(folder, mine):
            if kind == PARTIAL:
                shutil.rmtree(p)
                counts["staging_removed"] += 1
            elif (folder / rid).exists():
                shutil.rmtree(p)
                counts["set_aside_removed"] += 1
            else:  # nothing replaced it: it stays what is published
                os.rename(p, folder / rid)
                counts["set_aside_restored"] += 1
        if folder.is_dir():
            ledger.fsync_dir(folder)
    counts["stray_records_removed"] = _stray_records(work_dir)
    done = {k: v for k, v in counts.items() if v}
    if done:
        log.info("finished what an interrupted run left: %s", ", ".join(f"{k.replace('_', ' ')} {v}"
                                                                          for k, v in done.items()))
    return counts


def recover_and_verify(work_dir: Path, register: Path | None = None) -> dict[str, int]:
    """`recover`, then the ledger must verify (LedgerProblems otherwise)."""
    counts = recover(work_dir, register)
    problems = ledger.verify(work_dir, registers=[register] if register is not None else [])
    if problems:
        raise LedgerProblems(work_dir, problems)
    return counts


def publish(work_dir: Path, rid: str, cells: pd.DataFrame, record: dict, report_context: dict,
            register: Path | None = None) -> Release:
    """`record`: the release's full audit. audit.json is it with the counts of rule C1 withheld
    (privacy/published_counts.py); the record itself goes to the work directory's `records/` before the
    commit point (one that no ledger entry names belongs to a release that was never published)."""
    with workdir.exclusive(work_dir, "publish", record.get("period")):
        return _publish(work_dir, rid, cells, withhold(record), report_context, register, record)


def read_record(release_folder: Path) -> dict:
    """The run record of a published release folder (`<work>/releases/<rid>`): the one named by the SHA-256
    of the audit.json its ledger entry records (privacy/published_counts.py, rule C1)."""
    entry = ledger.read_entry(release_folder)
    if entry is None:
        raise FileNotFoundError(f"{release_folder / ledger.ENTRY}: no ledger entry, so no run record")
    path = release_folder.parent.parent / RECORDS / record_name(release_folder.name, entry["files"]["audit.json"])
    return json.loads(path.read_text(encoding="utf-8"))


def _write_record(work_dir: Path, rid: str, record: dict, audit_sha256: str) -> None:
    """The run record (rule C1): the full audit, with the sha256 of the audit.json it was published as, under
    a name of its own (release id and that sha256), so that writing it never replaces the record of a
    publication still in place; one the commit does not follow is removed by the next run's `recover`."""
    folder = work_dir / RECORDS
    _mkdir(folder)
    folder.chmod(0o700)
    body = {**record, "published_as": {"file": "audit.json", "sha256": audit_sha256,
                                       "rule": f"{COUNTS_RULE}: {COUNTS_RULE_TEXT}"}}
    tmp = folder / f".{rid}.json.tmp"
    _write(tmp, (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    tmp.chmod(0o600)
    os.replace(tmp, folder / record_name(rid, audit_sha256))
    ledger.fsync_dir(folder)


def _stray_records(work_dir: Path) -> int:
    """Remove the run records that neither a ledger entry nor a release folder in place names (a
    publication that did not reach its commit point, or the temporary file of one); returns how many.
    Nothing is removed while a ledger line is torn or unreadable: the record may be that line's. (A
    folder whose entry the ledger lost keeps its record: `ledger verify` reports the loss.)"""
    folder = work_dir / RECORDS
    entries = ledger.intact_entries(work_dir / ledger.LEDGER)
    if not folder.is_dir() or entries is None:
        return 0
    releases = work_dir / "releases"
    if releases.is_dir():
        entries += [e for p in sorted(releases.iterdir()) if p.is_dir() and (e := ledger.read_entry(p)) is not None]
    named = {record_name(str(e.get("release_id")), str(e.get("files", {}).get("audit.json", ""))) for e in entries}
    stray = [p for p in sorted(folder.iterdir()) if p.is_file() and p.name not in named]
    for p in stray:
        p.unlink()
    if stray:
        ledger.fsync_dir(folder)
    return len(stray)


def _publish(work_dir: Path, rid: str, cells: pd.DataFrame, audit: dict, report_context: dict,
             register: Path | None, record: dict) -> Release:
    releases = work_dir / "releases"
    final = releases / rid
    staging, aside = _names(releases, rid)
    token = _token(work_dir)
    _mkdir(releases)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        table_bytes = tables_csv(cells)
        _write(staging / "tables.csv", table_bytes)
        published = read_tables(table_bytes)  # the report and the workbook see only what tables.csv publishes
        reports = render_reports(published, audit, report_context)
        for name, html in sorted(reports.items()):
            _write(staging / name, html.encode("utf-8"))
        titles = {t: d["description"] for t, d in audit.get("tables", {}).items()}
        _write(staging / "tables.xlsx", workbook(published, titles, audit["period"], audit["gemeente"]["code"],
                                                        audit["disclosure"].get("group_disclosure", {}).get("applied", False),
                                                        {t: d["categories"] for t, d in audit.get("tables", {}).items()}))
        pre = scan_files([staging / "tables.csv", *(staging / name for name in sorted(reports)), staging / "tables.xlsx"])
        audit = {**audit, "leak_scan": {"rule": "no 9-digit number passing the 11-proef in any release file",
                                        "hits": pre}}
        _write(staging / "audit.json", (json.dumps(audit, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(staging.iterdir())}
        entry = ledger.new_entry(work_dir / ledger.LEDGER, {
            "release_id": rid, "gemeente": audit["gemeente"]["code"], "period": audit["period"], "files": files,
            "dpia": audit["rules"]["dpia"], "selections": audit["rules"]["selections"],
        })
        _write(staging / ledger.ENTRY, ledger.line(entry))
        hits = {**pre, **scan_files([staging / "audit.json", staging / ledger.ENTRY])}
        if hits:
            raise PublishRefused(
                "refusing to publish: BSN-like numbers found in " + ", ".join(f"{k} ({v})" for k, v in sorted(hits.items()))
            )
        ledger.fsync_dir(staging)
        ledger.fsync_dir(releases)
        _write_record(work_dir, rid, {**record, "leak_scan": audit["leak_scan"]}, files["audit.json"])
        if register is not None:  # the register's copy is staged before the commit point too
            created = not register.exists()
            _mkdir(register)
            if created:  # the folder releases go out from: readable by all, like its copies
                register.chmod(0o755)
            _copy_folder(staging, _names(register, rid, token)[0])
    except BaseException:
        _discard(staging, register, rid, token)
        raise
    path = work_dir / ledger.LEDGER
    try:
        ledger.append_entry(path, entry)  # the commit point
    except BaseException:
        if ledger.last(path) != entry:  # the line did not get written whole: not committed
            ledger.repair_torn_tail(path, [entry])
            _discard(staging, register, rid, token)
        raise
    # committed: from here on a crash is finished by the next run's `recover`
    _into_place(staging, final, aside)
    if register is not None:
        reg_staging, reg_aside = _names(register, rid, token)
        _into_place(reg_staging, register / rid, reg_aside)
    return Release(rid, final, files)


def _discard(staging: Path, register: Path | None, rid: str, token: str) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    if register is not None:
        shutil.rmtree(_names(register, rid, token)[0], ignore_errors=True)
