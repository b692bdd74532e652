"""The report's data, read only from published tables (issue: the report cannot show
anything tables.csv does not publish).

Inputs: the release's own tables.csv; the tables.csv of earlier releases of the same
gemeente (other periods: the trends, at most `HISTORY_PERIODS` of them); the release's
audit.json for titles, thresholds and the disclosure method; and the public CBS geography
(names, label points). The result is one JSON-able dict that the report embeds and draws
in the browser; a release of more than one gemeente (the country) is split into one such
dict per gemeente and an overview of the gemeenten (`report_files`), so that no report
file grows with the number of gemeenten.

The counts are stored compactly, by position (`cells`): per period and table its
categories (`c`) and a row per area of `codes` (`v`), each row a value per category. In a
row a suppressed cell is `null`; a row that is `null` (or a value `false`) is a cell the
table does not publish at that level: the page shows "·" and "–" for them, never a zero.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.link.domains import combinaties
from pipelines.publish.geomap import voronoi_paths
from pipelines.publish.similar import similar_buurten
from pipelines.publish.tablescsv import read_tables
from privacy import ledger

HISTORY_PERIODS = 12
"""The report's trends: besides the release's own period, the 12 other published periods nearest
to it (by order; the earlier one first when two are as near). Monthly releases show the year
before; a month published after the next one (a monitor waits for its outcomes) shows that one
too. The report's size and render time so stay bounded however many periods a gemeente publishes."""

NOT_PUBLISHED = False
"""In a row of `cells`: a category the table does not publish for that area (JSON `false`)."""

OVERVIEW = "report.html"


def gemeente_file(gemeente: str) -> str:
    """The report file of one gemeente of a release of several (the country)."""
    return f"report-{gemeente}.html"


def nearest_periods(periods: list[str], period: str, keep: int = HISTORY_PERIODS) -> list[str]:
    """The `keep` periods of `periods` (other than `period`) nearest to it in order, oldest first."""
    order = sorted(set(periods) | {period})
    at = order.index(period)
    near = sorted((p for p in order if p != period), key=lambda p: (abs(order.index(p) - at), p))
    return sorted(near[:keep])


def earlier_tables(work_dir: Path, gemeente: str, period: str, keep: int = HISTORY_PERIODS) -> list[pd.DataFrame]:
    """tables.csv of the releases of `gemeente` for other periods than `period`: per period the
    last one the ledger records, of the `keep` periods nearest to `period`, oldest period first."""
    latest: dict[str, str] = {}
    path = work_dir / "ledger.jsonl"
    for entry in (ledger.entries(path) if path.exists() else []):
        if entry.get("gemeente") == gemeente and entry.get("period") != period:
            latest[entry["period"]] = entry["release_id"]
    out = []
    for p in nearest_periods(list(latest), period, keep):
        tables = work_dir / "releases" / latest[p] / "tables.csv"
        if tables.exists():
            out.append(read_tables(tables))
    return out


def _values(t: pd.DataFrame) -> dict:
    """table -> area -> category -> value (None = suppressed)."""
    out: dict = {}
    for table, area, cat, value, status in zip(t.table.tolist(), t.area_code.tolist(), t.category.tolist(),
                                               t.value.tolist(), t.status.tolist()):
        out.setdefault(table, {}).setdefault(area, {})[cat] = (
            None if status != "published" or pd.isna(value) else int(value))
    return out


def _cells(t: pd.DataFrame, index: dict[str, int]) -> dict:
    """table -> {"c": its categories, "v": a row per area of `index` (None: the table does not publish
    the area), each a value per category (None: suppressed, NOT_PUBLISHED: not published)}."""
    out: dict = {}
    at = pd.Index(list(index)).get_indexer(t.area_code)
    t, at = t[at >= 0], at[at >= 0]
    tables, _ = pd.factorize(t.table)  # in order of appearance, as the categories below
    for k, table in enumerate(dict.fromkeys(t.table.tolist())):
        mine = tables == k
        rows = at[mine]
        cols, cats = pd.factorize(t.category[mine])
        hidden = ((t.status[mine] != "published") | t.value[mine].isna()).to_numpy()
        values = np.array(t.value[mine].fillna(0).astype("int64").tolist(), dtype=object)
        values[hidden] = None
        grid = np.full((len(index), len(cats)), NOT_PUBLISHED, dtype=object)
        grid[rows, cols] = values
        have = np.zeros(len(index), dtype=bool)
        have[rows] = True
        out[table] = {"c": list(cats), "v": [r if h else None for r, h in zip(grid.tolist(), have.tolist())]}
    return out


def cell(model: dict, period: str, table: str, area: str, category: str):
    """A cell of the model as the page reads it (its `val`): the value, None when suppressed,
    NOT_PUBLISHED when the table does not publish it."""
    t = model["cells"].get(period, {}).get(table)
    if t is None or area not in model["codes"] or category not in t["c"]:
        return NOT_PUBLISHED
    row = t["v"][model["codes"].index(area)]
    return NOT_PUBLISHED if row is None else row[t["c"].index(category)]


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
    month's households with a case, the trend of each figure over the periods that published a monitor;
    {"withheld": True} for a gemeente whose monitor the release withholds (protect.withhold_monitor)."""
    now = values.get(period, {})
    if "monitor:signalen" not in now:
        return None
    gemeente = next(c for c, a in areas.items() if a["level"] == "gemeente")
    if gemeente in audit.get("disclosure", {}).get("monitor_withheld", {}).get("gemeenten", []):
        return {"withheld": True}  # none of its monitor cells is in the release: not a table of "·"

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


def _monitor_tables(t: pd.DataFrame) -> pd.DataFrame:
    """What monitor_model reads: the monitor's tables and the gemeenten's households."""
    return t[t.table.str.startswith("monitor:") | ((t.table == "stapeling") & (t.level == "gemeente"))]


def build_model(current: pd.DataFrame, history: list[pd.DataFrame], audit: dict, geography: pd.DataFrame) -> dict:
    """Everything the page draws. `geography`: CBS buurten (codes, names, label points) of the gemeente."""
    period = audit["period"]
    frames = [h for h in history if len(h) and h.period.iloc[0] != period] + [current]
    periods = sorted({f.period.iloc[0] for f in frames})

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
    codes = sorted(areas)
    index = {c: i for i, c in enumerate(codes)}

    labels = domain_labels(audit)
    domains = tuple(labels)
    described = audit.get("tables", {})
    tables = {"combinaties": {"categories": list(combinaties(domains))}}  # the UpSet chart's columns
    for t in current.table.unique().tolist():
        if t.startswith("selectie:"):
            tables[t] = {"title": described.get(t, {}).get("description", t),
                         "explanation": described.get(t, {}).get("explanation", ""),
                         "levels": sorted(set(current.level[current.table == t].tolist())),
                         "unit": described.get(t, {}).get("unit", "huishoudens")}
    threshold = audit.get("disclosure", {}).get("threshold_min", 10)
    monitor_values = {f.period.iloc[0]: _values(_monitor_tables(f)) for f in frames}
    return {  # only what the page's script reads; titles and notes come from audit.json in the template
        "period": period,
        "periods": periods,
        "areas": areas,
        "codes": codes,
        "tables": tables,
        "domains": labels,
        "cells": {f.period.iloc[0]: _cells(f, index) for f in frames},
        "threshold": threshold,
        "similar": _similar(_values(current), geo, threshold, domains),
        "monitor": monitor_model(monitor_values, periods, period, areas, audit),
        "map": voronoi_paths(geo),
        "_monitor_values": monitor_values,  # for report_files; not embedded
    }


def _part(model: dict, codes: list[str], pos: dict[str, int]) -> dict:
    """The model's cells of `codes` (sorted) only; `pos`: the position of each code in the model's."""
    at = [pos[c] for c in codes]
    return {p: {t: {"c": x["c"], "v": [x["v"][i] for i in at]} for t, x in by_table.items()}
            for p, by_table in model["cells"].items()}


def report_files(model: dict, audit: dict) -> dict[str, tuple[dict, dict]]:
    """The report's files: name -> (the model it embeds, the area it covers: code and name).

    A release of one gemeente has one file, report.html, with everything. A release of several
    (the country) has one file per gemeente (`gemeente_file`: its wijken and buurten, their
    trends, similar buurten and map, and its monitor) and report.html, an overview of the
    gemeenten (their own figures and trends) that links to each gemeente's file; each gemeente's
    file links back to it. So each file holds one gemeente's areas and at most `HISTORY_PERIODS`
    other periods, whatever the size of the release. (An area outside the CBS geography, which
    no page can navigate to, is in no gemeente's file.)"""
    embedded = {k: v for k, v in model.items() if not k.startswith("_")}
    whole = {"code": audit["gemeente"]["code"], "name": audit["gemeente"]["name"]}
    gms = sorted(c for c, a in model["areas"].items() if a["level"] == "gemeente")
    if len(gms) <= 1:
        return {OVERVIEW: (embedded, whole)}
    files = {gm: gemeente_file(gm) for gm in gms}
    pos = {c: i for i, c in enumerate(model["codes"])}
    areas = model["areas"]

    def gemeente(code: str | None) -> str | None:
        while code is not None and areas[code]["level"] != "gemeente":
            code = areas[code].get("parent")
        return code

    similar: dict[str | None, dict] = {gm: {"profiles": {}, "peers": {}} for gm in [*gms, None]}
    for kind in ("profiles", "peers"):
        for b, v in model["similar"][kind].items():
            similar[gemeente(b)][kind][b] = v
    overview = {**embedded, "codes": gms, "cells": _part(model, gms, pos), "similar": {"profiles": {}, "peers": {}},
                "monitor": None, "map": {}, "files": files,
                "areas": {gm: {**model["areas"][gm], "children": []} for gm in gms}}
    out = {OVERVIEW: (overview, whole)}
    for gm in gms:
        sub, todo = [], [gm]
        while todo:
            code = todo.pop()
            sub.append(code)
            todo.extend(model["areas"][code]["children"])
        codes = sorted(sub)
        own = {c: areas[c] for c in codes}
        part = {**embedded, "codes": codes, "cells": _part(model, codes, pos), "areas": own, "similar": similar[gm],
                "monitor": monitor_model(model["_monitor_values"], model["periods"], model["period"], own, audit),
                "map": {gm: model["map"][gm]} if gm in model["map"] else {},
                "overview": {"file": OVERVIEW, "name": whole["name"]}}
        out[files[gm]] = (part, {"code": gm, "name": own[gm]["name"]})
    return out


__all__ = ["HISTORY_PERIODS", "NOT_PUBLISHED", "OVERVIEW", "cell", "earlier_tables", "build_model",
           "domain_labels", "gemeente_file", "nearest_periods", "report_files"]
