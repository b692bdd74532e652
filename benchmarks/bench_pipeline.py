"""Benchmark (not a test): time each stage and peak memory, for one gemeente or the country.

    python benchmarks/bench_pipeline.py --gemeente GM0164
    python benchmarks/bench_pipeline.py --country

Runs the plain stage functions (no Prefect server start-up in the figures), in one
process, and samples the process's resident memory every 50 ms. Prints a table and
writes the figures as JSON next to the work directory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines import pipeline  # noqa: E402
from pipelines.synth import synthesize  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


class Peak:
    """Peak resident set size of this process, sampled, resettable per stage."""

    def __init__(self):
        self.peak = 0
        self._stop = False
        threading.Thread(target=self._loop, daemon=True).start()

    def rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * PAGE

    def _loop(self):
        while not self._stop:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.05)

    def reset(self) -> None:
        self.peak = self.rss()


def main() -> None:
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logging.getLogger("wijksignaal").addHandler(handler)
    logging.getLogger("wijksignaal").setLevel(logging.INFO)
    ap = argparse.ArgumentParser()
    ap.add_argument("--gemeente", default="GM0164")
    ap.add_argument("--country", action="store_true", help="all 12,005 buurten")
    ap.add_argument("--work", help="work directory (default: a temporary one)")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--reuse-sources", action="store_true", help="skip generation when the work dir has sources")
    args = ap.parse_args()
    gemeente = "NL" if args.country else args.gemeente
    work = Path(args.work or tempfile.mkdtemp(prefix=f"wijksignaal-bench-{gemeente}-"))
    work.mkdir(parents=True, exist_ok=True)
    keydir = Path(tempfile.mkdtemp(prefix="wijksignaal-benchkey-"))
    (work / "gemeente.yaml").write_text(
        f"gemeente: {gemeente}\nperiod: '2026-10'\nsources_dir: sources\nwork_dir: out\n"
        f"key_file: {keydir / 'bench.key'}\n", encoding="utf-8")
    if (work / "out" / "warehouse.duckdb").exists():
        (work / "out" / "warehouse.duckdb").unlink()
    # one release measured on its own: earlier benchmark releases of the same period would count as published
    shutil.rmtree(work / "out" / "releases", ignore_errors=True)
    (work / "out" / "ledger.jsonl").unlink(missing_ok=True)

    peak = Peak()
    figures: dict[str, dict] = {}

    def stage(name, fn, *a):
        peak.reset()
        t = time.perf_counter()
        out = fn(*a)
        figures[name] = {"seconds": round(time.perf_counter() - t, 1), "peak_rss_gb": round(peak.peak / 1e9, 2)}
        print(f"{name:<10} {figures[name]['seconds']:>7.1f} s   peak RSS {figures[name]['peak_rss_gb']:.2f} GB", flush=True)
        return out

    if args.reuse_sources and (work / "sources" / "synth_manifest.json").exists():
        manifest = json.loads((work / "sources" / "synth_manifest.json").read_text(encoding="utf-8"))
        figures["generate"] = {"seconds": None, "peak_rss_gb": None, "note": "reused"}
    else:
        manifest = stage("generate", synthesize, work / "sources", gemeente, "2026-10", 20261001, args.scale)
    run = pipeline.prepare(work / "gemeente.yaml")
    t0 = time.perf_counter()
    accounts = stage("ingest", lambda: {s: pipeline.stage_ingest(run, s) for s in run.source_ids})
    linking = stage("link", pipeline.stage_link, run)
    cells = stage("tabulate", pipeline.stage_tabulate, run)
    protected, protection = stage("protect", pipeline.stage_protect, run, cells, accounts)
    release = stage("publish", pipeline.stage_publish, run, protected, accounts, linking, protection)
    outreach = stage("outreach", pipeline.stage_outreach, run)  # signal lists: match, triage, vault, HTML + XLSX
    end_to_end = time.perf_counter() - t0 - (figures["outreach"]["seconds"] or 0)  # the target is ingest -> publish
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = {
        "gemeente": gemeente,
        "households": manifest["households"],
        "persons": manifest["persons"],
        "vroegsignalen": manifest["vroegsignalen"],
        "uitkeringen": manifest["uitkeringen"],
        "wmo": manifest["wmo"],
        "cells": protection["cells"],
        "stages": figures,
        "ingest_detail": {s: a["seconds"] for s, a in accounts.items()},
        "ingest_to_publish_seconds": round(end_to_end, 1),
        "generate_plus_run_seconds": round(end_to_end + (figures["generate"]["seconds"] or 0), 1),
        "peak_rss_gb": round(maxrss / 1e9, 2),
        "warehouse_gb": round(run.warehouse.stat().st_size / 1e9, 2),
        "release": release.release_id,
        "outreach": {"seconds": figures["outreach"]["seconds"],
                     "lists": [{k: x[k] for k in ("selection", "cases", "by_team")} for x in outreach["lists"]],
                     "matching": outreach.get("matching"), "triage": outreach.get("triage")},
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    (work / "benchmark.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
