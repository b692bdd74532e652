"""Compare two work directories' releases, period by period: which files are byte-identical,
and for the others exactly what differs once the release id is read as the same.

    python benchmarks/compare_releases.py BEFORE_WORK AFTER_WORK

A refactoring that changes a configuration file (sources.yaml, a contract) changes the
hashes audit.json records of it, and so the fingerprint and the release id, which every
file names. This script pairs the releases by period, replaces the after-release's id by
the before-release's, and then compares: tables.csv and the workbook's sheets byte for
byte, audit.json key by key (listing each differing key path), report.html line by line.
Exit 0 when nothing but the listed audit.json keys (and so ledger-entry.json, which holds the
hashes of the release's files) differs.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import zipfile
from pathlib import Path


def releases(work: Path) -> dict[str, Path]:
    return {"-".join(p.name.split("-")[1:3]): p for p in sorted((work / "releases").iterdir()) if p.is_dir()}


def _flat(x, path=()):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _flat(v, path + (k,))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _flat(v, path + (i,))
    else:
        yield path, x


def audit_diff(before: Path, after: Path, old_id: str, new_id: str) -> list[str]:
    a = dict(_flat(json.loads(before.read_text(encoding="utf-8"))))
    b = dict(_flat(json.loads(after.read_text(encoding="utf-8").replace(new_id, old_id))))
    out = []
    for k in sorted(set(a) | set(b), key=lambda p: [str(x) for x in p]):
        if a.get(k, "<absent>") != b.get(k, "<absent>"):
            out.append(f"{'.'.join(map(str, k))}: {a.get(k, '<absent>')!r} -> {b.get(k, '<absent>')!r}")
    return out


def xlsx_same(before: Path, after: Path, old_id: str, new_id: str) -> list[str]:
    with zipfile.ZipFile(before) as za, zipfile.ZipFile(after) as zb:
        names = sorted(set(za.namelist()) | set(zb.namelist()))
        return [n for n in names if n not in za.namelist() or n not in zb.namelist()
                or za.read(n) != zb.read(n).replace(new_id.encode(), old_id.encode())]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    args = ap.parse_args(argv)
    before, after = releases(args.before), releases(args.after)
    if set(before) != set(after):
        print(f"periods differ: {sorted(before)} / {sorted(after)}")
        return 1
    other = 0
    for period in sorted(before):
        b, a = before[period], after[period]
        old_id, new_id = b.name, a.name
        print(f"{period}: {old_id} / {new_id}")
        for name in sorted(p.name for p in b.iterdir()):
            x, y = b / name, a / name
            if x.read_bytes() == y.read_bytes():
                print(f"  {name}: byte-identical")
            elif x.read_bytes() == y.read_bytes().replace(new_id.encode(), old_id.encode()):
                print(f"  {name}: identical but for the release id")
            elif name == "audit.json":
                lines = audit_diff(x, y, old_id, new_id)
                print(f"  {name}: {len(lines)} key(s) differ:")
                for line in lines:
                    print(f"    {line}")
            elif name.endswith(".xlsx"):
                parts = xlsx_same(x, y, old_id, new_id)
                print(f"  {name}: parts that differ: {', '.join(parts) or 'none (only the zip container)'}")
                other += bool(parts)
            else:
                diff = list(difflib.unified_diff(
                    x.read_text(encoding="utf-8").splitlines(),
                    y.read_text(encoding="utf-8").replace(new_id, old_id).splitlines(), lineterm="", n=0))
                print(f"  {name}: {sum(1 for d in diff if d[:1] in '+-' and d[:3] not in ('+++', '---'))} line(s) "
                      "differ:")
                for d in diff[2:42]:
                    print(f"    {d[:200]}")
                other += name != "ledger-entry.json"  # it holds the hashes of the release's files
    return 1 if other else 0


if __name__ == "__main__":
    sys.exit(main())
