"""The report and the workbook: made from tables.csv only, with trends, peers, a map."""

import json
import re

import openpyxl
from conftest import TREND_PERIODS

from pipelines import geography
from pipelines.publish.geomap import ATTRIBUTION, voronoi_paths
from pipelines.publish.reportdata import NOT_PUBLISHED, build_model, cell
from pipelines.publish.similar import similar_buurten
from pipelines.publish.tablescsv import read_tables
from pipelines.publish.xlsx import SUPPRESSED, workbook


def embedded(html: str) -> dict:
    return json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>', html, re.S).group(1))


def test_the_report_carries_exactly_what_tables_csv_publishes(release):
    folder = release["release"].folder
    tables = read_tables(folder / "tables.csv")
    model = embedded((folder / "report.html").read_text(encoding="utf-8"))
    period = model["period"]
    for t, a, c, v, s in zip(tables.table, tables.area_code, tables.category, tables.value, tables.status):
        assert cell(model, period, t, a, c) == (int(v) if s == "published" else None), (t, a, c)
    assert model["codes"] == sorted(set(tables.area_code))
    cells = model["cells"][period]
    assert set(cells) == set(tables.table)
    held = sum(v is not NOT_PUBLISHED for x in cells.values() for row in x["v"] if row is not None for v in row)
    assert held == len(tables)  # nothing else: a cell the table does not publish there is marked as such
    assert cell(model, period, "stapeling", "GM0164", "no such category") is NOT_PUBLISHED


def test_the_report_is_built_from_the_csv_it_is_given(release):
    folder = release["release"].folder
    audit = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
    tables = read_tables(folder / "tables.csv")
    row = tables.index[(tables.status == "published") & (tables.level == "buurt")][0]
    tables.loc[row, "value"] = 987654
    model = build_model(tables, [], audit, geography.buurten("GM0164"))
    assert cell(model, "2026-10", tables.table[row], tables.area_code[row], tables.category[row]) == 987654


def test_trends_span_every_earlier_period_of_the_gemeente(trend_release):
    html = (trend_release["release"].folder / "report.html").read_text(encoding="utf-8")
    model = embedded(html)
    assert model["periods"] == list(TREND_PERIODS)
    gm = "GM0164"
    totals = [cell(model, p, "stapeling", gm, "totaal") for p in TREND_PERIODS]
    ones = [cell(model, p, "stapeling", gm, "1") for p in TREND_PERIODS]
    assert len(set(totals)) == 1 and len(set(ones)) > 1  # same households, a changing number with problems


def test_similar_buurten_leave_the_theme_out_and_never_list_the_buurt_itself():
    values = {"stapeling": {}, "combinaties": {}}
    combos = {"uitkering": 0, "achterstand": 0, "wmo": 0, "uitkering+achterstand": 0, "uitkering+wmo": 0,
              "achterstand+wmo": 0, "uitkering+achterstand+wmo": 0}
    for i, (n, uit, wmo) in enumerate([(100, 10, 5), (100, 40, 5), (400, 10, 30), (120, 12, 6), (90, 30, 20)]):
        b = f"BU{i}"
        values["stapeling"][b] = {"totaal": n, "0": n - uit - wmo, "1": uit + wmo, "2": 0, "3+": 0}
        values["combinaties"][b] = {**combos, "uitkering": uit, "wmo": wmo}
    s = similar_buurten(values, [f"BU{i}" for i in range(5)], 10, ("uitkering", "achterstand", "wmo"))
    assert all(b not in [p for p, _ in s["peers"][b][t]] for b in s["peers"] for t in s["peers"][b])
    # BU0 and BU1 differ only in uitkering: on the uitkering theme they are twins (distance 0)
    assert s["peers"]["BU0"]["uitkering"][0] == ["BU1", 0.0]
    assert s["peers"]["BU0"]["wmo"][0][0] == "BU3"
    dists = [d for _, d in s["peers"]["BU0"]["stapeling"]]
    assert dists == sorted(dists)


def test_the_map_gives_every_buurt_a_cell_and_the_attribution():
    geo = geography.buurten("GM0164")
    m = voronoi_paths(geo)["GM0164"]
    assert set(m["paths"]) == set(geo.buurtcode) and all(p.startswith("M") for p in m["paths"].values())
    assert m["attribution"] == ATTRIBUTION == "Bron: CBS, Kadaster"


def test_the_workbook_has_a_sheet_per_table_and_marks_suppressed_cells(release, tmp_path):
    folder = release["release"].folder
    tables = read_tables(folder / "tables.csv")
    wb = openpyxl.load_workbook(folder / "tables.xlsx")
    assert wb.sheetnames[0] == "Uitleg" and len(wb.sheetnames) == 1 + tables.table.nunique()
    ws = wb["stapeling"]
    header = [c.value for c in ws[1]]
    assert header == ["periode", "niveau", "code", "naam", "totaal", "0", "1", "2+", "2", "3+"]
    rows = {(r[1], r[2]): r for r in ws.iter_rows(min_row=2, values_only=True)}
    stap = tables[tables.table == "stapeling"]
    for lv, a, c, v, s in zip(stap.level, stap.area_code, stap.category, stap.value, stap.status):
        cell = rows[(lv, a)][header.index(c)]
        assert cell == (int(v) if s == "published" else SUPPRESSED)
    again = workbook(tables, {}, "2026-10", "GM0164")
    assert again == workbook(tables, {}, "2026-10", "GM0164")  # same tables, same bytes
