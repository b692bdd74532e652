"""A release of two gemeenten (the country's shape, small): the test release's tables of Hengelo
(GM0164), and the same rows again for the areas of Oldenzaal (GM0173), each of its areas taking
the rows of a Hengelo area of the same level (in code order, round). Not additive, which the
report does not need: it draws what tables.csv publishes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipelines import geography
from pipelines.publish.tablescsv import read_tables, tables_csv

OTHER = "GM0173"


def two_gemeenten(folder: Path) -> tuple[pd.DataFrame, dict]:
    """(tables, audit) of a release of GM0164 and GM0173, from the release `folder` of GM0164."""
    tables = read_tables(folder / "tables.csv")
    audit = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
    geo = geography.buurten(OTHER)
    parts = [tables]
    for level, areas in (("gemeente", geo[["gemeentecode", "gemeentenaam"]]), ("wijk", geo[["wijkcode", "wijknaam"]]),
                         ("buurt", geo[["buurtcode", "buurtnaam"]])):
        mine = sorted(tables.area_code[tables.level == level].unique())
        for i, (code, name) in enumerate(sorted(set(areas.itertuples(index=False, name=None)))):
            rows = tables[(tables.level == level) & (tables.area_code == mine[i % len(mine)])].copy()
            rows["area_code"], rows["area_name"] = code, name
            parts.append(rows)
    audit = {**audit, "gemeente": {"code": "NL", "name": "Nederland"}}
    audit.pop("leak_scan", None)
    return pd.concat(parts, ignore_index=True), audit


def write_release(folder: Path, out: Path) -> Path:
    """The two gemeenten as a release folder (tables.csv, audit.json) to publish again (crash_publish.py)."""
    tables, audit = two_gemeenten(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tables.csv").write_bytes(tables_csv(tables))
    (out / "audit.json").write_text(json.dumps(audit, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out
