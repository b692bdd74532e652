"""Benchmark (not a test): the report's size and render time against the number of earlier periods.

    python benchmarks/bench_report.py --release DIR --earlier 0 5 11 [--work DIR]

`--release`: a published release folder (its tables.csv and audit.json), e.g. the one
`bench_pipeline.py --country` writes. For each count of earlier periods, a work directory
gets that many earlier releases of the same gemeente, made from the release's own tables
(the period relabelled, each published count shifted by the period's index modulo 3, so
the earlier periods are not byte copies), recorded in a ledger as publish does; then the
publish stage's report step runs as in `pipeline.stage_publish`: the earlier tables read
from the ledger and the release folders, and the report rendered. Prints, per count, the
seconds of each step (wall clock and this process's CPU time: on a shared machine the CPU
time is the steadier figure) and the bytes of the report files (the largest, and their total).

Earlier periods made this way stand in for monthly runs of the whole pipeline (a country
run takes minutes a period); what the report holds of a period depends only on its
tables.csv, so its size and render time are those of real history with the same areas.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines import geography  # noqa: E402
from pipelines.publish import report  # noqa: E402
from pipelines.publish.reportdata import earlier_tables  # noqa: E402
from pipelines.publish.tablescsv import read_tables, tables_csv  # noqa: E402
from privacy import ledger  # noqa: E402


def months_before(period: str, n: int) -> list[str]:
    y, m = map(int, period.split("-"))
    out = []
    for _ in range(n):
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        out.append(f"{y:04d}-{m:02d}")
    return sorted(out)


def earlier_releases(work: Path, tables, gemeente: str, periods: list[str]) -> None:
    path = work / ledger.LEDGER
    for k, p in enumerate(periods):
        t = tables.copy()
        t["period"] = p
        shift = k % 3
        t.loc[(t.status == "published") & (t.value > 0), "value"] += shift
        rid = f"{gemeente}-{p}-bench{k:05d}"
        folder = work / "releases" / rid
        folder.mkdir(parents=True)
        data = tables_csv(t)
        (folder / "tables.csv").write_bytes(data)
        ledger.append(path, {"release_id": rid, "gemeente": gemeente, "period": p, "files": {},
                                     "dpia": "bench", "selections": {}})


def render(tables, audit: dict, context: dict) -> dict[str, bytes]:
    """The report file(s) of a release: name -> bytes (one report.html before the split)."""
    if hasattr(report, "render_reports"):
        return {n: s.encode("utf-8") for n, s in report.render_reports(tables, audit, context).items()}
    return {"report.html": report.render_report(tables, audit, context).encode("utf-8")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--release", required=True, type=Path)
    ap.add_argument("--earlier", type=int, nargs="+", default=[0, 5, 11])
    ap.add_argument("--work", type=Path, help="where to write the earlier releases and the reports (default: temporary)")
    ap.add_argument("--keep", action="store_true", help="keep the report files (in --work)")
    args = ap.parse_args()
    audit = json.loads((args.release / "audit.json").read_text(encoding="utf-8"))
    gemeente, period = audit["release_id"].split("-")[0], audit["period"]
    tables = read_tables(args.release / "tables.csv")
    geo = geography.buurten(gemeente)
    base = args.work or Path(tempfile.mkdtemp(prefix="wijksignaal-benchreport-"))
    results = []
    for n in args.earlier:
        work = base / f"earlier-{n}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        earlier_releases(work, tables, gemeente, months_before(period, n))
        t0, c0 = time.perf_counter(), time.process_time()
        history = earlier_tables(work, gemeente, period)
        t1, c1 = time.perf_counter(), time.process_time()
        files = render(tables, audit, {"buurten": geo, "history": history})
        t2, c2 = time.perf_counter(), time.process_time()
        sizes = {name: len(data) for name, data in sorted(files.items())}
        if args.keep:
            out = work / "report"
            out.mkdir()
            for name, data in files.items():
                (out / name).write_bytes(data)
        largest = max(sizes, key=lambda k: sizes[k])
        row = {"earlier_periods": n, "read_history_s": round(t1 - t0, 1), "render_s": round(t2 - t1, 1),
               "read_history_cpu_s": round(c1 - c0, 1), "render_cpu_s": round(c2 - c1, 1),
               "files": len(sizes), "largest": largest, "largest_bytes": sizes[largest],
               "index_bytes": sizes.get("report.html"),
               "largest_gemeente_bytes": max((v for k, v in sizes.items() if k != "report.html"), default=None),
               "total_bytes": sum(sizes.values())}
        results.append(row)
        print(json.dumps(row), flush=True)
        shutil.rmtree(work / "releases", ignore_errors=True)
    if not args.work:
        shutil.rmtree(base)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
