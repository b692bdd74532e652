"""Benchmark (not a test) of disclosure control on the standard table of issue 4.

500 buurten in 50 wijken of one gemeente; 11 categories in a two-level hierarchy
(totaal = A + B; A = a1 + ... + a4, B = b1 + ... + b4); 551 areas x 11 = 6,061 cells,
most of them small. Prints cells, unsafe cells, secondary suppressions,
suppressed value, and seconds for protection and for the final audit.

    python benchmarks/bench_protection.py [--seed 1] [--threshold 10] [--range 30]

Where pytauargus is installed (`pip install -e ".[bench]"`), the identical table also
goes through tau-ARGUS's modular (MOD) and optimal (OPT) methods with the rule
FREQ(threshold, range): a cell below the threshold is unsafe and needs a protection
interval of `range` % of its value. Side by side, for every pattern:
  * secondary suppressions and their total value, and seconds;
  * "provably below threshold": our LP audit of that pattern against the attacker of
    this release (every published cell, all relations, suppressed cells >= 1 because
    zeros are published): the small cells whose maximum stays under the threshold.
A fourth row runs our protection LPs on tau-ARGUS's own terms (the percentage range
and cells >= 0), to compare the two methods' choices for the same requirement.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from privacy.audit import audit  # noqa: E402
from privacy.disclosure import primary_suppression  # noqa: E402
from privacy.relations import build  # noqa: E402
from privacy.secondary import lp_secondary, secondary_suppression  # noqa: E402

LEAVES = {"A": ["a1", "a2", "a3", "a4"], "B": ["b1", "b2", "b3", "b4"]}
TREE = {"totaal": ["A", "B"], **LEAVES}


def standard_table(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    buurten = pd.DataFrame({"buurtcode": [f"BU9999{i:04d}" for i in range(500)]})
    buurten["wijkcode"] = [f"WK9999{i // 10:02d}" for i in range(500)]
    buurten["gemeentecode"] = "GM9999"
    leaves = [c for cs in LEAVES.values() for c in cs]
    scale = rng.lognormal(np.log(6), 0.9, size=(500, 1))
    counts = rng.poisson(scale * rng.dirichlet(np.ones(len(leaves)) * 2, size=500) * len(leaves))
    leaf = pd.DataFrame(counts, columns=leaves, index=buurten.buurtcode)
    for parent, children in LEAVES.items():
        leaf[parent] = leaf[children].sum(axis=1)
    leaf["totaal"] = leaf[list(LEAVES)].sum(axis=1)
    rows = []
    levels = [("buurt", leaf), ("wijk", leaf.groupby(buurten.set_index("buurtcode").wijkcode).sum()),
              ("gemeente", leaf.sum().to_frame("GM9999").T)]
    cats = ["totaal", "A", "a1", "a2", "a3", "a4", "B", "b1", "b2", "b3", "b4"]
    for level, frame in levels:
        for area, row in frame.iterrows():
            for c in cats:
                rows.append(dict(table="t", period="2026-10", level=level, area_code=area, area_name=area,
                                 category=c, value=int(row[c])))
    return pd.DataFrame(rows), buurten


def tauargus(cells: pd.DataFrame, buurten: pd.DataFrame, method: str, threshold: int, range_pct: int,
             workdir: Path) -> tuple[list[int], float]:
    """tau-ARGUS's secondary suppressions (cell ids of `cells`) and its seconds."""
    from pytauargus import protect

    leaves = [c for cs in LEAVES.values() for c in cs]
    leaf = cells[(cells.level == "buurt") & cells.category.isin(leaves)]
    rows = leaf.loc[leaf.index.repeat(leaf.value)]  # one microdata record per counted unit
    micro = pd.DataFrame({"buurt": rows.area_code.to_numpy(), "cat": rows.category.to_numpy(), "one": 1.0})
    workdir.mkdir(parents=True, exist_ok=True)
    with open(workdir / "buurt.hrc", "w", encoding="utf-8") as f:
        for w, g in buurten.groupby("wijkcode"):
            f.write(w + "\n" + "".join(f"@{b}\n" for b in g.buurtcode))
    with open(workdir / "cat.hrc", "w", encoding="utf-8") as f:
        for parent, children in LEAVES.items():
            f.write(parent + "\n" + "".join(f"@{c}\n" for c in children))
    here = os.getcwd()
    os.chdir(workdir)  # the engine writes its logs (HiTaS.log, cspSCIP.*) to the current directory
    try:
        t0 = time.perf_counter()
        res = protect(micro, ["buurt", "cat"], response="one", safety_rules=f"FREQ({threshold},{range_pct})",
                      suppress=f"{method}(1)", hierleadstring="@", totcode="Total", workdir=str(workdir / method),
                      hrc={"buurt": str(workdir / "buurt.hrc"), "cat": str(workdir / "cat.hrc")})
        seconds = time.perf_counter() - t0
    finally:
        os.chdir(here)
    df = res.tables[0].dataframe()
    key = {(a, c): i for i, a, c in zip(cells.index, cells.area_code, cells.category)}
    gemeente = cells.area_code[cells.level == "gemeente"].iloc[0]
    ids = [key[(gemeente if b == "Total" else b, "totaal" if c == "Total" else c)] for b, c in zip(df.buurt, df.cat)]
    return sorted(i for i, st in zip(ids, df.status) if st == "M"), seconds


def pattern_row(name: str, primary: pd.DataFrame, rels, thr: dict, secondary: list[int], seconds: float,
                range_pct: int) -> dict:
    pattern = primary.copy()
    pattern.loc[secondary, "status"] = "suppressed"
    result = audit(pattern, rels, thr)
    # the same pattern on tau-ARGUS's own terms: each small cell must be able to rise by range %,
    # and the attacker allows any suppressed cell to be 0
    small = pattern.target.notna()
    weak = pattern.assign(target=np.where(small, pattern.value * (1 + range_pct / 100), np.nan), floor=0.0)
    under = audit(weak, rels, thr, both=False)
    return {"method": name, "secondary_suppressions": len(secondary),
            "secondary_suppressed_value": int(primary.value.loc[secondary].sum()), "seconds": round(seconds, 2),
            "provably_below_threshold": len(result.failing), "small_cells_audited": len(result.bounds),
            "under_protected_on_range_terms": len(under.failing)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threshold", type=int, default=10)
    ap.add_argument("--range", type=int, default=30, help="tau-ARGUS's safety range in percent")
    ap.add_argument("--work", default="/tmp/wijksignaal-bench-tauargus")
    args = ap.parse_args()
    cells, buurten = standard_table(args.seed)
    thr = {"t": args.threshold}
    t0 = time.perf_counter()
    primary = primary_suppression(cells, thr)
    rels = build(primary, buurten, categories={"t": TREE})
    protected, result, stats = secondary_suppression(primary, rels, thr)
    t1 = time.perf_counter()
    final = audit(protected, rels, thr)  # an independent second run of the full audit, timed on its own
    t2 = time.perf_counter()
    out = {
        "cells": len(cells),
        "unsafe_cells": int(((cells.value > 0) & (cells.value < args.threshold)).sum()),
        "zero_cells": int((cells.value == 0).sum()),
        "relations": len(rels),
        "secondary_suppressions": stats["secondary"],
        "secondary_suppressed_value": stats["suppressed_total_value"],
        "protection_lps": stats["lps"],
        "fix_rounds": stats["fix_rounds"],
        "provably_below_threshold": len(final.failing),
        "protect_seconds_incl_final_audit": round(t1 - t0, 2),
        "audit_seconds": round(t2 - t1, 2),
        "audit_lps": final.lps,
    }
    print(json.dumps(out, indent=2))

    ours = protected.index[(protected.status == "suppressed") & (primary.status == "published")].tolist()
    rows = [pattern_row("wijksignaal (threshold)", primary, rels, thr, ours, t1 - t0, args.range)]
    t3 = time.perf_counter()
    need = primary.value.to_numpy(dtype=float) * args.range / 100  # as tau-ARGUS: a continuous interval
    weak, _ = lp_secondary(primary, rels, thr, need=need, floor=0.0)
    rows.append(pattern_row(f"wijksignaal ({args.range} % range, cells >= 0)", primary, rels, thr, weak,
                            time.perf_counter() - t3, args.range))
    try:
        import pytauargus
    except ImportError:
        print("pytauargus is not installed: no tau-ARGUS figures (pip install -e '.[bench]')")
    else:
        for method in ("MOD", "OPT"):
            sec, seconds = tauargus(cells, buurten, method, args.threshold, args.range, Path(args.work))
            rows.append(pattern_row(f"tau-ARGUS {method} (pytauargus {pytauargus.__version__}, FREQ({args.threshold},"
                                    f"{args.range}))", primary, rels, thr, sec, seconds, args.range))
    print(f"\n{'method':<52} {'secondary':>9} {'value':>7} {'seconds':>8} {'provably < threshold':>21} "
          f"{'under-protected at ' + str(args.range) + ' %':>24}")
    for r in rows:
        print(f"{r['method']:<52} {r['secondary_suppressions']:>9} {r['secondary_suppressed_value']:>7} "
              f"{r['seconds']:>8.2f} {r['provably_below_threshold']:>10} of {r['small_cells_audited']:<7} "
              f"{r['under_protected_on_range_terms']:>24}")
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
