"""The report's data, read only from published tables (issue: the report cannot show
anything tables.csv does not publish).

Inputs: the release's own tables.csv; the tables.csv of earlier releases of the same
gemeente (other periods: the trends); the release's audit.json for titles, thresholds
and the disclosure method; and the public CBS geography (names, label points). The
result is one JSON-able dict that the report embeds and draws in the browser.

In the dict a suppressed cell is `null`, a cell a table does not publish at that level
is absent: the page shows "·" and "–" for them, never a zero.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.link.domains import combinaties
from pipelines.publish.geomap import voronoi_paths
from pipelines.publish.similar import similar_buurten
from pipelines.publish.tablescsv import read_tables
from privacy import ledger


def earlier_tables(work_dir: Path, gemeente: str, period: str) -> list[pd.DataFrame]:
    """tables.csv of the releases of `gemeente` for other periods than `period`: per period the
    last one the ledger records, oldest period first."""
    latest: dict[str, str] = {}
    path = work_dir / "ledger.jsonl"
    for entry in (ledger.entries(path) if path.exists() else []):
        if entry.get("gemeente") == gemeente and entry.get("period") != period:
            latest[entry["period"]] = entry["release_id"]
    out = []
    for _, rid in sorted(latest.items()):
        tables = work_dir / "releases" / rid / "tables.csv"
        if tables.exists():
            out.append(read_tables(tables))
    return out


def _values(t: pd.DataFrame) -> dict:
    """table -> area -> category -> value (None = suppressed)."""
    out: dict = {}
    for table, area, cat, value, status in zip(t.table, t.area_code, t.category, t.value, t.status):
        out.setdefault(table, {}).setdefault(area, {})[cat] = (
            None if status != "published" or pd.isna(value) else int(value))
    return out


def domain_labels(audit: dict) -> dict[str, str]:
    """The problem domains of the release, in order: id -> Dutch label (audit.json `rules.domains`)."""
    return {d["id"]: d["label_nl"] for d in audit["rules"]["domains"]["declared"]}


def _similar(now: dict, geo: pd.DataFrame, threshold: int, domains: tuple[str, ...]) -> dict:
    """Similar buurten within each gemeente."""
    out: dict = {"profiles": {}, "peers": {}}
    for _, g in geo.groupby("gemeentecode", sort=True):
        s = similar_buurten(now, sorted(g.buurtcode), threshold, domains)
        out["profiles"].update(s["profiles"])
        out["peers"].update(s["peers"])
    return out


def build_model(current: pd.DataFrame, history: list[pd.DataFrame], audit: dict, geography: pd.DataFrame) -> dict:
    """Everything the page draws. `geography`: CBS buurten (codes, names, label points) of the gemeente."""
    period = audit["period"]
    frames = [h for h in history if len(h) and h.period.iloc[0] != period] + [current]
    periods = sorted({f.period.iloc[0] for f in frames})
    values = {f.period.iloc[0]: _values(f) for f in frames}

    areas: dict[str, dict] = {}
    for lv, code, name in current[["level", "area_code", "area_name"]].drop_duplicates().itertuples(index=False):
        areas[code] = {"name": name, "level": lv, "children": []}
    geo = geography[geography.buurtcode.isin(areas)]
    for b in geo.itertuples():
        areas[b.buurtcode]["parent"] = b.wijkcode
        areas[b.wijkcode]["parent"] = b.gemeentecode
    for code, a in areas.items():
        if "parent" in a and a["parent"] in areas:
            areas[a["parent"]]["children"].append(code)
    for a in areas.values():
        a["children"].sort(key=lambda c: areas[c]["name"])

    labels = domain_labels(audit)
    domains = tuple(labels)
    described = audit.get("tables", {})
    tables = {"combinaties": {"categories": list(combinaties(domains))}}  # the UpSet chart's columns
    for t in dict.fromkeys(current.table):
        if t.startswith("selectie:"):
            tables[t] = {"title": described.get(t, {}).get("description", t),
                         "explanation": described.get(t, {}).get("explanation", ""),
                         "levels": sorted(set(current.level[current.table == t])),
                         "unit": described.get(t, {}).get("unit", "huishoudens")}
    threshold = audit.get("disclosure", {}).get("threshold_min", 10)
    return {  # only what the page's script reads; titles and notes come from audit.json in the template
        "period": period,
        "periods": periods,
        "areas": areas,
        "tables": tables,
        "domains": labels,
        "values": values,
        "threshold": threshold,
        "similar": _similar(values.get(period, {}), geo, threshold, domains),
        "map": voronoi_paths(geo),
    }


__all__ = ["earlier_tables", "build_model", "domain_labels"]
