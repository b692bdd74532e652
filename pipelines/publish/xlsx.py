"""tables.xlsx: the release's tables for teams that work in Excel (XlsxWriter).

Made from tables.csv only, like the report. One sheet per table, areas as rows and
categories as columns; a suppressed cell is the text "·" on grey, never a zero or an
empty cell. A first sheet "Uitleg" explains the marks and names the table behind every
sheet. The workbook's creation date is the period's first day, so the same release
gives the same bytes.
"""

from __future__ import annotations

import io
from datetime import datetime

import pandas as pd
import xlsxwriter

from pipelines.tabulate import LEVELS

SUPPRESSED = "·"


def _sheet_names(tables: list[str]) -> dict[str, str]:
    names, used = {}, {"Uitleg"}
    for i, t in enumerate(tables, start=1):
        base = t.split(":", 1)[1] if ":" in t else t
        name = (f"sel{i} " + base if t.startswith("selectie:") else
                f"monitor {base}" if t.startswith("monitor:") else base)[:31]
        while name in used:
            name = name[:28] + f"_{i}"
        used.add(name)
        names[t] = name
    return names


def workbook(tables: pd.DataFrame, titles: dict[str, str], period: str, gemeente: str,
             group_zeros: bool = False, categories: dict[str, list[str]] | None = None) -> bytes:
    """`group_zeros`: a suppressed stapeling '0' may be zero (group disclosure protected);
    `categories`: per table, its categories in order (audit.json `tables`; for a table not named
    there, the order of `tables`)."""
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    wb.set_properties({"title": f"wijksignaal {gemeente} {period}", "created": datetime.strptime(period, "%Y-%m")})
    bold = wb.add_format({"bold": True})
    hidden = wb.add_format({"bg_color": "#DDDDDD", "align": "center", "font_color": "#555555"})
    order = list(dict.fromkeys(tables.table))
    names = _sheet_names(order)

    info = wb.add_worksheet("Uitleg")
    info.set_column(0, 0, 34)
    info.set_column(1, 1, 90)
    lines = [
        ("wijksignaal", f"{gemeente}, peildatum {period}"),
        (SUPPRESSED, "afgeschermd: een klein aantal (1 tot de drempel) of afgeschermd om terugrekenen te voorkomen; "
                     + ("nooit nul, behalve bij 0 domeinen (daar kan het ook 0 zijn)" if group_zeros else "nooit nul")
                     + ("; in de monitortabellen kan het ook 0 zijn (daar is ook 0 afgeschermd)"
                        if any(t.startswith("monitor:") for t in order) else "")),
        ("leeg / ontbrekend", "de tabel wordt op dit niveau niet gepubliceerd"),
        ("", ""),
        ("tabblad", "tabel"),
    ] + [(names[t], f"{t}: {titles.get(t, t)}") for t in order]
    for r, (a, b) in enumerate(lines):
        info.write_string(r, 0, a, bold if r in (0, 4) else None)
        info.write_string(r, 1, b)

    level_rank = {lv: i for i, lv in enumerate(LEVELS)}
    for t in order:
        g = tables[tables.table == t]
        present = list(dict.fromkeys(g.category))  # in the order of tables.csv
        cats = [c for c in (categories or {}).get(t, present) if c in set(present)]
        ws = wb.add_worksheet(names[t])
        header = ["periode", "niveau", "code", "naam"] + cats
        for c, h in enumerate(header):
            ws.write_string(0, c, h, bold)
        ws.freeze_panes(1, 4)
        ws.set_column(3, 3, 28)
        keys = g[["period", "level", "area_code", "area_name"]].drop_duplicates()
        keys = keys.assign(_r=keys.level.map(level_rank)).sort_values(["period", "_r", "area_code"])
        cell = {(a, c): (v, s) for a, c, v, s in zip(g.area_code, g.category, g.value, g.status)}
        for r, k in enumerate(keys.itertuples(index=False), start=1):
            for c, text in enumerate([k.period, k.level, k.area_code, k.area_name]):
                ws.write_string(r, c, str(text))
            for c, cat in enumerate(cats, start=4):
                value, status = cell.get((k.area_code, cat), (None, None))
                if status == "published":
                    ws.write_number(r, c, int(value))
                elif status is not None:
                    ws.write_string(r, c, SUPPRESSED, hidden)
    wb.close()
    return out.getvalue()


__all__ = ["workbook", "SUPPRESSED"]
