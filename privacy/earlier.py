"""Earlier releases: what an attacker already holds before this release comes out.

Every release of a gemeente stays in the work directory (`releases/<id>/`). Whatever one
of them published is public for good, so the audit of a new release must count it as
known, or a new release could undo an earlier one's protection (publish a cell that
an earlier release suppressed as a partner, while the earlier release published the
total around it).

For every cell of the new release (same table, period, level, area and category):
  * published earlier with the same value: *known*. The attacker has it whatever this
    release does; it is no use as a secondary suppression, and the audit treats it as
    published;
  * published earlier with another value (the data were corrected since): not a
    relation the LP can use; counted in audit.json, and left alone;
  * a small cell (below the threshold) published earlier: nothing this release can do
    hides it; protection refuses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipelines.tablescsv import read_tables

KEY = ["table", "period", "level", "area_code", "category"]


def published_before(releases_dir: Path, gemeente: str, exclude: set[str] = frozenset()) -> pd.DataFrame:
    """Every cell published by an earlier release of `gemeente`: KEY columns, value, release."""
    frames = []
    if releases_dir.is_dir():
        for folder in sorted(p for p in releases_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            audit_file, tables_file = folder / "audit.json", folder / "tables.csv"
            if folder.name in exclude or not (audit_file.exists() and tables_file.exists()):
                continue
            audit = json.loads(audit_file.read_text(encoding="utf-8"))
            if audit.get("gemeente", {}).get("code") != gemeente:
                continue
            t = read_tables(tables_file)
            t = t[t.status == "published"][KEY + ["value"]]
            frames.append(t.assign(release=folder.name))
    if not frames:
        return pd.DataFrame(columns=KEY + ["value", "release"])
    return pd.concat(frames, ignore_index=True)


def match(cells: pd.DataFrame, earlier: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(known, revised): per cell of `cells`, whether an earlier release published it with the
    same value, and whether only with other values."""
    if earlier.empty:
        false = pd.Series(False, index=cells.index)
        return false, false.copy()
    keyed = cells[KEY].reset_index().merge(earlier[KEY + ["value"]].rename(columns={"value": "earlier"}),
                                           on=KEY, how="inner")
    keyed = keyed.merge(cells[["value"]], left_on=keyed.columns[0], right_index=True)
    same = keyed[keyed.earlier.astype(float) == keyed.value.astype(float)].iloc[:, 0]
    other = keyed[keyed.earlier.astype(float) != keyed.value.astype(float)].iloc[:, 0]
    known = pd.Series(cells.index.isin(same), index=cells.index)
    revised = pd.Series(cells.index.isin(other) & ~known.to_numpy(), index=cells.index)
    return known, revised


__all__ = ["KEY", "published_before", "match"]
