"""tables.csv, the release's public contract (DESIGN.md): written once here, read back here.

Everything that reads a release (the report, the workbook, the audit's view of earlier
releases) goes through `read_tables`, so they all see exactly what tables.csv publishes.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from pipelines.tabulate import CELL_COLUMNS

TABLES_COLUMNS = CELL_COLUMNS + ["status"]


def tables_csv(cells: pd.DataFrame) -> bytes:
    """tables.csv exactly as DESIGN.md specifies: value empty when suppressed."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(TABLES_COLUMNS)
    for row in cells[TABLES_COLUMNS].itertuples(index=False):
        value = "" if row.status == "suppressed" else str(int(row.value))
        w.writerow([row.table, row.period, row.level, row.area_code, row.area_name, row.category, value, row.status])
    return out.getvalue().encode("utf-8")


def read_tables(data: bytes | str | Path) -> pd.DataFrame:
    """tables.csv (path or bytes) with `value` as nullable integers (empty = suppressed)."""
    src = io.BytesIO(data) if isinstance(data, bytes) else data
    return pd.read_csv(src, dtype={"value": "Int64", "period": str, "area_code": str}, keep_default_na=False,
                       na_values={"value": [""]})


__all__ = ["TABLES_COLUMNS", "tables_csv", "read_tables"]
