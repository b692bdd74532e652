"""Benchmark (not a test) of disclosure control on the standard table of issue 4.

500 buurten in 50 wijken of one gemeente; 11 categories in a two-level hierarchy
(totaal = A + B; A = a1 + ... + a4, B = b1 + ... + b4); 551 areas x 11 = 6,061 cells,
most of them small. Prints cells, unsafe cells, secondary suppressions,
suppressed value, and seconds for protection and for the final audit.

    python benchmarks/bench_protection.py [--seed 1] [--threshold 10]

(pytauargus, where installed, is the reference to compare with; it is not on PyPI's
default path here, so its figures are not produced by this script yet.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from privacy.audit import audit  # noqa: E402
from privacy.disclosure import primary_suppression  # noqa: E402
from privacy.relations import build  # noqa: E402
from privacy.secondary import secondary_suppression  # noqa: E402

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threshold", type=int, default=10)
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


if __name__ == "__main__":
    main()
