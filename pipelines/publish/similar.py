"""Similar buurten: per buurt and theme, the buurten of the gemeente with the nearest profile.

Transparent on purpose (the page shows this method):
  * profile, from the published tables only: number of households (log), and per 100
    households: with each problem domain (config/domains.yaml: uitkering, achterstand,
    wmo), with 2 or more domains;
  * per theme (each domain, stapeling) the theme's own figure is left out of the profile, so peers are buurten that look alike on everything else and a
    wijkteam can compare the theme between them;
  * every feature is standardised over the buurten of the gemeente (z-score: minus the
    mean, divided by the standard deviation);
  * distance: Euclidean over the standardised features; the 5 nearest are shown.
A suppressed cell counts as the middle of what it can be (threshold / 2) in the distance;
such a figure is marked as estimated, and the page shows it as hidden, never the estimate.
Buurten without a published number of households are left out.
"""

from __future__ import annotations

import numpy as np

from pipelines.link.domains import combinaties

PEERS = 5


def themes(domains: tuple[str, ...]) -> tuple[str, ...]:
    """The themes peers are found for: stapeling, then every domain."""
    return ("stapeling", *domains)


def features(domains: tuple[str, ...]) -> tuple[str, ...]:
    """The profile: households (log), every domain per 100, 2+ domains per 100."""
    return ("huishoudens", *domains, "stapeling")


def profiles(values: dict, buurten: list[str], threshold: int, domains: tuple[str, ...]) -> dict[str, dict]:
    """buurt -> {feature: value, "estimated": [features with a suppressed part]}."""
    out = {}
    stap, comb = values.get("stapeling", {}), values.get("combinaties", {})
    guess = threshold / 2
    for b in buurten:
        total = stap.get(b, {}).get("totaal")
        if not total:
            continue
        prof, estimated = {"huishoudens": float(np.log(total))}, []
        for d in domains:
            parts = [comb.get(b, {}).get(c) for c in combinaties(domains) if c != "totaal" and d in c.split("+")]
            if any(p is None for p in parts):
                estimated.append(d)
            prof[d] = 100.0 * sum(guess if p is None else p for p in parts) / total
        two = [stap.get(b, {}).get("2+")] if "2+" in stap.get(b, {}) else [stap.get(b, {}).get(c) for c in ("2", "3+")]
        if any(p is None for p in two):
            estimated.append("stapeling")
        prof["stapeling"] = 100.0 * sum(guess if p is None else p for p in two) / total
        prof["estimated"] = estimated
        out[b] = prof
    return out


def similar_buurten(values: dict, buurten: list[str], threshold: int, domains: tuple[str, ...]) -> dict:
    """{"method": text, "profiles": ..., "peers": {buurt: {theme: [[buurt, distance], ...]}}};
    `domains`: the ids of the problem domains, in order."""
    prof = profiles(values, buurten, threshold, domains)
    feats = features(domains)
    codes = sorted(prof)
    peers: dict[str, dict] = {b: {} for b in codes}
    if len(codes) >= 3:
        m = np.array([[prof[b][f] for f in feats] for b in codes])
        sd = m.std(axis=0)
        z = (m - m.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        for theme in themes(domains):
            keep = [i for i, f in enumerate(feats) if f != theme]
            zz = z[:, keep]
            dist = np.sqrt(((zz[:, None, :] - zz[None, :, :]) ** 2).sum(axis=2))
            for i, b in enumerate(codes):
                order = [j for j in np.lexsort((np.arange(len(codes)), dist[i])) if j != i][:PEERS]
                peers[b][theme] = [[codes[j], round(float(dist[i, j]), 2)] for j in order]
    return {
        "features": list(feats),
        "profiles": {b: {k: (round(v, 1) if isinstance(v, float) else v) for k, v in prof[b].items()} for b in codes},
        "peers": peers,
    }


__all__ = ["similar_buurten", "profiles", "themes", "features"]
