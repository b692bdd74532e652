"""The release ledger: one JSON line per published release, hash-chained.

Each entry records what was published (file hashes), under which rules, and the hash
of the previous entry, so a privacy officer can verify that no entry was changed or
removed afterwards (`verify`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

GENESIS = "0" * 64


def _entry_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "entry_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def entries(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def append(path: Path, release: dict) -> dict:
    previous = entries(path)
    entry = {
        "release_id": release["release_id"],
        "gemeente": release["gemeente"],
        "period": release["period"],
        "published_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": release["files"],
        "dpia": release["dpia"],
        "selections": release["selections"],
        "previous_sha256": previous[-1]["entry_sha256"] if previous else GENESIS,
    }
    entry["entry_sha256"] = _entry_hash(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
    return entry


def verify(path: Path) -> list[str]:
    """Problems in the ledger's hash chain; [] when intact."""
    problems, prev = [], GENESIS
    for i, e in enumerate(entries(path), start=1):
        if e.get("previous_sha256") != prev:
            problems.append(f"entry {i} ({e.get('release_id')}): previous_sha256 does not match entry {i - 1}")
        if _entry_hash(e) != e.get("entry_sha256"):
            problems.append(f"entry {i} ({e.get('release_id')}): content does not match its entry_sha256")
        prev = e.get("entry_sha256")
    return problems
