"""Synthetic municipality generator: `wijksignaal synth`."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from pipelines.geography import buurten as load_buurten
from pipelines.synth.population import generate
from pipelines.synth.writers import write_brp, write_ddas, write_uitkeringen, write_wmo

log = logging.getLogger("wijksignaal.synth")


def synthesize(
    out: Path, gemeente: str = "GM0164", period: str = "2026-10", seed: int = 20261001,
    scale: float = 1.0, months: int = 12, ddas_v12_from: str | None = None, address_share: float = 0.3,
) -> dict:
    """Generate a synthetic gemeente (or "NL") and write its source extracts into `out`.

    `ddas_v12_from` (YYYY-MM): the vroegsignalen deliveries of that month and later follow
    DDAS v1.2, with `address_share` of the clients identified by postcode + huisnummer
    instead of BSN; without it every delivery is DDAS v0.9 (the output is as it always was).

    Returns a manifest of counts (no personal data), also written as `synth_manifest.json`.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    b = load_buurten(gemeente)
    log.info("generating %s: %d buurten, period %s, seed %d", gemeente, len(b), period, seed)
    pop = generate(b, period=period, seed=seed, scale=scale, months=months)
    t1 = time.perf_counter()
    log.info("population: %d households, %d persons (%.1f s)", len(pop.households), len(pop.persons), t1 - t0)
    rng = np.random.default_rng(seed + 1)
    files = [write_brp(pop, out, rng)]
    log.info("wrote brp.csv (%.1f s)", time.perf_counter() - t1)
    files.append(write_uitkeringen(pop, out))
    files.append(write_wmo(pop, out))
    files.extend(write_ddas(pop, out, rng, v12_from=ddas_v12_from, address_share=address_share))
    log.info("wrote uitkeringen, wmo and %d DDAS deliveries (%.1f s)", len(pop.months), time.perf_counter() - t1)
    manifest = {
        "gemeente": gemeente,
        "period": period,
        "seed": seed,
        "scale": scale,
        "months": pop.months,
        "buurten": len(b),
        "households": int(len(pop.households)),
        "persons": int(len(pop.persons)),
        "uitkeringen": int(len(pop.uitkeringen)),
        "vroegsignalen": int(len(pop.vroegsignalen)),
        "wmo": int(len(pop.wmo)),
        "files": sorted(f.name for f in files),
    }
    if ddas_v12_from is not None:  # only then: the default manifest stays as it was
        manifest["ddas_v12_from"] = ddas_v12_from
        manifest["address_share"] = address_share
    (out / "synth_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
