"""Publish: the release folder of DESIGN.md (tables.csv, audit.json, report.html) and
one ledger entry. A release is written to a temporary folder, scanned for anything
that looks like a BSN, and only then moved into place; a failing scan publishes nothing.

Everything in the release is deterministic: same inputs, seed and rules give the same
bytes (the release id is a hash of inputs, rules and the earlier releases it was
protected against; wall-clock time lives only in the ledger). With a publication
register (`published_dir`), the release is placed there too, where every later run of
the gemeente, from any work directory, counts it as published.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from privacy import ledger
from privacy.leakscan import scan_files

from .report import render_report
from .tablescsv import read_tables, tables_csv
from .xlsx import workbook


class PublishRefused(Exception):
    pass


@dataclass(frozen=True)
class Release:
    release_id: str
    folder: Path
    files: dict[str, str]  # name -> sha256


def release_id(gemeente: str, period: str, fingerprint: dict) -> str:
    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode("utf-8")).hexdigest()
    return f"{gemeente}-{period}-{digest[:10]}"


def _into_place(staging: Path, final: Path) -> None:
    """Replace `final` by the complete folder `staging`."""
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)


def _place(folder: Path, register: Path) -> None:
    """A copy of the release folder in the publication register, moved into place whole."""
    register.mkdir(parents=True, exist_ok=True)
    staging = register / f".{folder.name}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(folder, staging)
    _into_place(staging, register / folder.name)


def publish(work_dir: Path, rid: str, cells: pd.DataFrame, audit: dict, report_context: dict,
            register: Path | None = None) -> Release:
    releases = work_dir / "releases"
    final = releases / rid
    staging = releases / f".{rid}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        table_bytes = tables_csv(cells)
        (staging / "tables.csv").write_bytes(table_bytes)
        published = read_tables(table_bytes)  # the report and the workbook see only what tables.csv publishes
        (staging / "report.html").write_text(render_report(published, audit, report_context), encoding="utf-8")
        titles = {t: d["description"] for t, d in audit.get("tables", {}).items()}
        (staging / "tables.xlsx").write_bytes(workbook(published, titles, audit["period"], audit["gemeente"]["code"]))
        pre = scan_files([staging / "tables.csv", staging / "report.html", staging / "tables.xlsx"])
        audit = {**audit, "leak_scan": {"rule": "no 9-digit number passing the 11-proef in any release file",
                                        "hits": pre}}
        (staging / "audit.json").write_text(json.dumps(audit, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        hits = {**pre, **scan_files([staging / "audit.json"])}
        if hits:
            raise PublishRefused(
                "refusing to publish: BSN-like numbers found in " + ", ".join(f"{k} ({v})" for k, v in sorted(hits.items()))
            )
        _into_place(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if register is not None:
        _place(final, register)
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(final.iterdir())}
    ledger.append(
        work_dir / "ledger.jsonl",
        {
            "release_id": rid, "gemeente": audit["gemeente"]["code"], "period": audit["period"], "files": files,
            "dpia": audit["rules"]["dpia"], "selections": audit["rules"]["selections"],
        },
    )
    return Release(rid, final, files)
