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


MONITOR_ROWS = [  # (table, category, label): the report's monitor figures, shares of the month's cases
    ("monitor:signalen", "nieuw", "nieuwe zaak deze maand"),
    ("monitor:signalen", "meervoudig", "meervoudig: 2 of meer signalen in de maand"),
    ("monitor:signalen", "opeenvolgend", "opeenvolgend: ook een signaal in de 6 maanden ervoor"),
    ("monitor:signalen", "crisis", "met een crisissignaal"),
    ("monitor:opvolging", "op een signaallijst", "op een signaallijst van een wijkteam"),
    ("monitor:opvolging", "opgepakt", "opgepakt"),
    ("monitor:opvolging", "contactpoging", "minstens één contactpoging"),
    ("monitor:opvolging", "bereikt", "inwoner bereikt"),
    ("monitor:opvolging", "hulp geaccepteerd", "hulp geaccepteerd"),
    ("monitor:opvolging", "eerste contactpoging binnen termijn", "eerste contactpoging binnen de termijn"),
]
WIJK_COLUMNS = ["opgepakt", "bereikt", "hulp geaccepteerd", "eerste contactpoging binnen termijn"]


def _share(part, whole):
    return None if part is None or not whole else round(100 * part / whole, 1)


def monitor_model(values: dict, periods: list[str], period: str, areas: dict, audit: dict) -> dict | None:
    """The report's "Monitor vroegsignalering": only published cells (None = suppressed), shares of the
    month's households with a case, the trend of each figure over the periods that published a monitor."""
    now = values.get(period, {})
    if "monitor:signalen" not in now:
        return None
    gemeente = next(c for c, a in areas.items() if a["level"] == "gemeente")

    def cell(p, table, area, cat):
        return values.get(p, {}).get(table, {}).get(area, {}).get(cat)

    with_monitor = [p for p in periods if "monitor:signalen" in values.get(p, {})]
    cases_in = {p: cell(p, "monitor:signalen", gemeente, "totaal") for p in with_monitor}
    households = cell(period, "stapeling", gemeente, "totaal")
    cases = cases_in[period]

    def per_1000(p: str):
        whole = cell(p, "stapeling", gemeente, "totaal")
        return None if cases_in[p] is None or not whole else round(1000 * cases_in[p] / whole, 1)

    trend = [{"period": p, "cases": cases_in[p], "per_1000": per_1000(p)} for p in with_monitor]
    rows = [{"label": label, "value": cell(period, table, gemeente, cat),
             "share": _share(cell(period, table, gemeente, cat), cases),
             "trend": [_share(cell(p, table, gemeente, cat), cases_in[p]) for p in with_monitor]}
            for table, cat, label in MONITOR_ROWS]
    described = audit.get("tables", {})

    def table_rows(table):
        cats = [c for c in described.get(table, {}).get("categories", []) if c != "totaal"]
        return [{"label": c, "value": cell(period, table, gemeente, c), "share": _share(cell(period, table, gemeente, c),
                                                                                     cases)} for c in cats]

    wijken = sorted((c for c, a in areas.items() if a["level"] == "wijk" and c in now.get("monitor:opvolging", {})),
                    key=lambda c: areas[c]["name"])
    per_wijk = [{"name": areas[w]["name"], "code": w, "cases": cell(period, "monitor:opvolging", w, "totaal"),
                 "cells": [cell(period, "monitor:opvolging", w, c) for c in WIJK_COLUMNS]} for w in wijken]
    return {"cases": cases, "households": households, "per_1000": per_1000(period), "trend": trend, "rows": rows,
            "partners": table_rows("monitor:signaalpartners"), "contacts": table_rows("monitor:contactpogingen"),
            "results": table_rows("monitor:eindresultaat"), "wijk_columns": WIJK_COLUMNS, "per_wijk": per_wijk,
            "fixed_by": audit.get("monitor", {}).get("fixed_by")}


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
        "monitor": monitor_model(values, periods, period, areas, audit),
        "map": voronoi_paths(geo),
    }


__all__ = ["earlier_tables", "build_model", "domain_labels"]
