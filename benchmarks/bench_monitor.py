"""Benchmark (not a test): the vroegsignalering monitor over several months of one gemeente.

    python benchmarks/bench_monitor.py --gemeente GM0164 --months 6 [--scale 1.0] [--work DIR]
    python benchmarks/bench_monitor.py --gemeente NL --months 1 --sources DIR   (the country, sources made before)

Per month, oldest first, as a gemeente would work: the month's release with its signal lists
(`run`), the lists filled in (pipelines/synth/outcomes.py, synthetic), the outcomes imported
(`wijksignaal outcomes`), then the month's monitor release (`run --monitor`; a refused one is
reported, and the month keeps its first release; a refused first release is reported too, and its
lists are made all the same, filled in and imported, and its monitor tried). Plain stage functions, no Prefect. Prints seconds per step and the gemeente's published monitor figures (for the country, also in how many gemeenten each is published and their sum);
writes them as JSON next to the work directory.
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

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402

from pipelines.monitor.indicators import MonitorError  # noqa: E402
from pipelines.monitor.intake import import_files  # noqa: E402
from pipelines.pipeline import prepare  # noqa: E402
from pipelines.publish import read_record  # noqa: E402
from pipelines.publish.tablescsv import read_tables  # noqa: E402
from pipelines.synth import synthesize  # noqa: E402
from pipelines.synth.outcomes import fill_lists  # noqa: E402
from privacy.secondary import ProtectionFailed  # noqa: E402

SELECTION = "verse-achterstand-zorg-energie"
FIGURES = [("monitor:signalen", "totaal"), ("monitor:signalen", "meervoudig"), ("monitor:signalen", "opeenvolgend"),
           ("monitor:opvolging", "opgepakt"), ("monitor:opvolging", "bereikt"), ("monitor:opvolging", "hulp geaccepteerd"),
           ("monitor:opvolging", "eerste contactpoging binnen termijn")]


def timed_release(settings: Path, overrides: dict) -> tuple[object, dict]:
    """pipeline._stages with each stage timed (seconds, wall clock)."""
    from pipelines import pipeline as p

    run = p.prepare(settings, overrides)
    seconds: dict[str, float] = {}

    def stage(name, fn, *a):
        t = time.perf_counter()
        out = fn(*a)
        seconds[name] = round(time.perf_counter() - t, 1)
        return out

    with p.private_files(run.work_dir, run.sources_dir), p.exclusive(run):
        stage("preflight", p.stage_preflight, run)
        accounts = stage("ingest", lambda: {s: p.stage_ingest(run, s) for s in run.source_ids})
        linking = stage("link", p.stage_link, run)
        retention = stage("retention", p.stage_retention, run)
        with p.lists_even_if_refused(lambda: stage("outreach", p.stage_outreach, run)):
            tab = stage("tabulate", p.stage_tabulate, run)
            protected, protection = stage("protect", p.stage_protect, run, tab, accounts)
        release = stage("publish", p.stage_publish, run, protected, accounts, linking, protection, retention,
                        tab.monitor)
        stage("outreach", p.stage_outreach, run)
    return release, seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gemeente", default="GM0164")
    ap.add_argument("--period", default="2026-10", help="the last month")
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=20261001)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--sources", type=Path, help="source extracts made before (synth): not generated again")
    ap.add_argument("--config-dir", type=Path, help="a config folder other than the shipped one (another dpia.yaml, say)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    shutil.rmtree(work, ignore_errors=True)
    (work / "keys").mkdir(parents=True)
    t0 = time.perf_counter()
    sources = args.sources or work / "sources"
    if args.sources is None:
        synthesize(sources, gemeente=args.gemeente, period=args.period, seed=args.seed, scale=args.scale)
    synth_s = time.perf_counter() - t0
    settings = work / "gemeente.yaml"
    settings.write_text(f"gemeente: {args.gemeente}\nperiod: '{args.period}'\nsources_dir: {sources}\n"
                        f"work_dir: {work / 'work'}\nkey_file: {work / 'keys' / 'pseudonym.key'}\n"
                        + (f"config_dir: {args.config_dir.resolve()}\n" if args.config_dir else ""), encoding="utf-8")
    months = list(pd.period_range(end=args.period, periods=args.months, freq="M").strftime("%Y-%m"))
    rows = []
    for period in months:
        step = {"period": period}
        t = time.perf_counter()
        try:
            _, step["run_stages_s"] = timed_release(settings, {"period": period})
        except ProtectionFailed as exc:  # no release; its lists are made all the same (pipeline.RefusedListsMade)
            step["run_refused"] = str(exc)
        step["run_s"] = round(time.perf_counter() - t, 1)
        run = prepare(settings, {"period": period})
        t = time.perf_counter()
        filled = fill_lists(run.work_dir / "outreach" / period / SELECTION, period, seed=args.seed,
                            out=work / "filled" / period)
        con = duckdb.connect(str(run.warehouse))
        try:
            results = import_files(con, run.work_dir, filled, None, run.vault_key(create=False))
        finally:
            con.close()
        step["outcomes_s"] = round(time.perf_counter() - t, 2)
        step["outcomes_imported"] = sum(r.imported for r in results)
        t = time.perf_counter()
        try:
            rel, step["monitor_stages_s"] = timed_release(settings, {"period": period, "monitor": True})
        except (MonitorError, ProtectionFailed) as exc:  # the month keeps its first release
            step["monitor_refused"] = str(exc)
            rows.append(step)
            print(json.dumps(step, ensure_ascii=False), flush=True)
            continue
        step["monitor_run_s"] = round(time.perf_counter() - t, 1)
        tables = read_tables((rel.folder / "tables.csv").read_bytes())
        # per (table, category) over the release's gemeenten (the country has 403): the sum where every
        # gemeente's cell is published, else None
        gem = tables[tables.level == "gemeente"]
        g = gem.groupby(["table", "category"]).agg(
            value=("value", "sum"), status=("status", lambda x: "published" if (x == "published").all() else "suppressed"))
        d = read_record(rel.folder)["disclosure"]  # the run record: audit.json withholds the counts (rule C1)
        mon = tables.table.str.startswith("monitor:")
        shown = gem[gem.status == "published"].groupby(["table", "category"]).value.agg(["size", "sum"])
        rows_of = gem.groupby(["table", "category"]).size()  # the gemeenten a figure has a row for
        n_gem = gem.area_code.nunique()
        step.update({
            "households": int(g.value[("stapeling", "totaal")]),
            **{f"{t.split(':')[1]}:{c}": (None if g.status[(t, c)] != "published" else int(g.value[(t, c)]))
               for t, c in FIGURES},
            # several gemeenten (the country): in how many a figure is published, and the sum of those
            **({f"{t.split(':')[1]}:{c} published in": f"{int(shown['size'].get((t, c), 0))} of {int(rows_of.get((t, c), 0))} gemeenten, "
                f"sum {int(shown['sum'].get((t, c), 0))}" for t, c in FIGURES} if n_gem > 1 else {}),
            "monitor_cells": int(mon.sum()), "monitor_suppressed": int((mon & (tables.status == "suppressed")).sum()),
            "secondary": d["secondary_suppression"]["cells"], "provable": d["audit"]["provably_below_threshold"],
        })
        rows.append(step)
        print(json.dumps(step, ensure_ascii=False), flush=True)
    out = {"gemeente": args.gemeente, "scale": args.scale, "synth_s": round(synth_s, 1), "months": rows}
    figures = work / "bench_monitor.json"  # counts a release withholds (rule C1): owner only, like the run records
    figures.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    figures.chmod(0o600)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
