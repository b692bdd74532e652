"""Benchmark (not a test) of disclosure control on the standard table of issue 4.

500 buurten in 50 wijken of one gemeente; 11 categories in a two-level hierarchy
(totaal = A + B; A = a1 + ... + a4, B = b1 + ... + b4); 551 areas x 11 = 6,061 cells,
most of them small. Prints cells, unsafe cells, secondary suppressions,
suppressed value, and seconds for protection and for the final audit.

    python benchmarks/bench_protection.py [--seed 1] [--threshold 10] [--range 30] [--buurten 500]

Rows, each a pattern on the identical table:
  * wijksignaal as released (suppression_milp.py: 0/1 program with cut generation), and
    its protection LPs alone (protection_lp.py, the fallback);
  * wijksignaal on weaker terms: suppressed cells may be 0; and tau-ARGUS's own rule (a
    small cell must be able to rise by `range` % of its value, cells >= 0);
  * where pytauargus is installed (`pip install -e ".[bench]"`): tau-ARGUS's modular (MOD)
    and optimal (OPT) methods with FREQ(threshold, range), and again with protection
    levels up to the threshold (an apriori file: lower 0, upper threshold - value), which
    is our rule in tau-ARGUS's terms.
Every pattern is audited three times by our LP audit (audit.py): small cells provably
below the threshold against this release's attacker (suppressed cells >= 1, because zeros
are published), the same with cells >= 0, and cells under-protected on tau-ARGUS's
percentage terms.
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


def standard_table(seed: int, n: int = 500) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The standard table with `n` buurten (10 to a wijk); n=500 is issue 4's table."""
    rng = np.random.default_rng(seed)
    buurten = pd.DataFrame({"buurtcode": [f"BU9999{i:04d}" for i in range(n)]})
    buurten["wijkcode"] = [f"WK9999{i // 10:02d}" for i in range(n)]
    buurten["gemeentecode"] = "GM9999"
    leaves = [c for cs in LEAVES.values() for c in cs]
    scale = rng.lognormal(np.log(6), 0.9, size=(n, 1))
    counts = rng.poisson(scale * rng.dirichlet(np.ones(len(leaves)) * 2, size=n) * len(leaves))
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
             workdir: Path, upto_threshold: bool = False) -> tuple[list[int], float]:
    """tau-ARGUS's secondary suppressions (cell ids of `cells`) and its seconds.

    upto_threshold: give every small cell (value v) the protection levels lower 0 and upper
    threshold - v through an apriori file (`PL` lines), i.e. ask tau-ARGUS for our rule in
    its own terms (it still lets a suppressed cell be 0)."""
    from pytauargus import protect
    from pytauargus.engine import run_batch
    from pytauargus.result import TableResult

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
    gemeente = cells.area_code[cells.level == "gemeente"].iloc[0]
    run_dir = workdir / (method + ("-pl" if upto_threshold else ""))
    res = protect(micro, ["buurt", "cat"], response="one", safety_rules=f"FREQ({threshold},{range_pct})",
                  suppress=f"{method}(1)", hierleadstring="@", totcode="Total", workdir=str(run_dir),
                  hrc={"buurt": str(workdir / "buurt.hrc"), "cat": str(workdir / "cat.hrc")}, run=False)
    arb = Path(res.files["arb"])
    if upto_threshold:
        small = cells[(cells.value > 0) & (cells.value < threshold)]
        with open(run_dir / "levels.hst", "w", encoding="utf-8") as f:
            # pytauargus checks the field count on the first line assuming one value after the
            # command: a cost line for a code that does not exist (skipped) passes that check
            f.write("none;none;C;1\n")
            for a, c, v in zip(small.area_code, small.category, small.value):
                f.write(f"{'Total' if a == gemeente else a};{'Total' if c == 'totaal' else c};PL;0;{threshold - v}\n")
        arb.write_text(arb.read_text().replace(
            "<SUPPRESS>", f'<APRIORI> "{run_dir / "levels.hst"}",1,";",1,0\n<SUPPRESS>'))
    here = os.getcwd()
    os.chdir(workdir)  # the engine writes its logs (HiTaS.log, cspSCIP.*) to the current directory
    try:
        t0 = time.perf_counter()
        run_batch(arb)
        seconds = time.perf_counter() - t0
    finally:
        os.chdir(here)
    df = TableResult(res.files["tab1"], ["buurt", "cat"], "one").dataframe()
    key = {(a, c): i for i, a, c in zip(cells.index, cells.area_code, cells.category)}
    ids = [key[(gemeente if b == "Total" else b, "totaal" if c == "Total" else c)] for b, c in zip(df.buurt, df.cat)]
    return sorted(i for i, st in zip(ids, df.status) if st == "M"), seconds


def pattern_row(name: str, primary: pd.DataFrame, rels, thr: dict, secondary: list[int], seconds: float,
                range_pct: int) -> dict:
    """Secondary suppressions of a pattern and three audits of it (see the module docstring)."""
    pattern = primary.copy()
    pattern.loc[secondary, "status"] = "suppressed"
    result = audit(pattern, rels, thr)
    small = pattern.target.notna()
    # the pattern on weaker terms: cells may be 0 (a suppressed cell as well), and each small
    # cell must reach the threshold, or (tau-ARGUS's rule) rise by range %
    at_zero = audit(pattern.assign(floor=0.0), rels, thr, both=False)
    weak = pattern.assign(target=np.where(small, pattern.value * (1 + range_pct / 100), np.nan), floor=0.0)
    under = audit(weak, rels, thr, both=False)
    return {"method": name, "secondary_suppressions": len(secondary),
            "secondary_suppressed_value": int(primary.value.loc[secondary].sum()), "seconds": round(seconds, 2),
            "provably_below_threshold": len(result.failing), "small_cells_audited": len(result.bounds),
            "below_threshold_with_cells_from_0": len(at_zero.failing),
            "under_protected_on_range_terms": len(under.failing)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threshold", type=int, default=10)
    ap.add_argument("--range", type=int, default=30, help="tau-ARGUS's safety range in percent")
    ap.add_argument("--work", default="/tmp/wijksignaal-bench-tauargus")
    ap.add_argument("--buurten", type=int, default=500, help="the table's size (10 buurten to a wijk; 500: issue 4's)")
    args = ap.parse_args()
    cells, buurten = standard_table(args.seed, args.buurten)
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
        "cut_rounds": stats["cut_rounds"],
        "cut_loop_converged": stats["not_converged"] == 0,
        "fix_rounds": stats["fix_rounds"],
        "provably_below_threshold": len(final.failing),
        "protect_seconds_incl_final_audit": round(t1 - t0, 2),
        "audit_seconds": round(t2 - t1, 2),
        "audit_lps": final.lps,
    }
    print(json.dumps(out, indent=2))

    ours = protected.index[(protected.status == "suppressed") & (primary.status == "published")].tolist()
    rows = [pattern_row("wijksignaal (threshold rule, cells >= 1)", primary, rels, thr, ours, t1 - t0, args.range)]
    value = primary.value.to_numpy(dtype=float)
    variants = [("wijksignaal, protection LPs only (no 0/1 program)", {"method": "greedy"}),
                ("wijksignaal (threshold rule, cells >= 0)", {"floor": 0.0}),
                (f"wijksignaal ({args.range} % range, cells >= 0)",
                 {"need": value * args.range / 100, "floor": 0.0})]  # as tau-ARGUS: a continuous interval
    for name, options in variants:
        t3 = time.perf_counter()
        chosen, _ = lp_secondary(primary, rels, thr, **options)
        rows.append(pattern_row(name, primary, rels, thr, chosen, time.perf_counter() - t3, args.range))
    try:
        import pytauargus  # noqa: F401  (is tau-ARGUS installed?)
    except ImportError:
        print("pytauargus is not installed: no tau-ARGUS figures (pip install -e '.[bench]')")
    else:
        for method, upto in (("MOD", False), ("OPT", False), ("MOD", True), ("OPT", True)):
            sec, seconds = tauargus(cells, buurten, method, args.threshold, args.range, Path(args.work), upto)
            terms = f"levels up to {args.threshold}" if upto else f"FREQ({args.threshold},{args.range})"
            rows.append(pattern_row(f"tau-ARGUS {method} ({terms})", primary, rels, thr, sec, seconds, args.range))
    print(f"\npytauargus {getattr(sys.modules.get('pytauargus'), '__version__', '-')}; audits of every pattern: small "
          f"cells provably below {args.threshold} (cells >= 1 | cells >= 0), under-protected at {args.range} %")
    print(f"{'method':<52} {'secondary':>9} {'value':>7} {'seconds':>8} {'< thr (>= 1)':>13} {'< thr (>= 0)':>13} "
          f"{'< ' + str(args.range) + ' %':>7}")
    for r in rows:
        print(f"{r['method']:<52} {r['secondary_suppressions']:>9} {r['secondary_suppressed_value']:>7} "
              f"{r['seconds']:>8.2f} {r['provably_below_threshold']:>13} {r['below_threshold_with_cells_from_0']:>13} "
              f"{r['under_protected_on_range_terms']:>7}")
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
