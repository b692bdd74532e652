"""Earlier releases: what an attacker already holds before this release comes out.

Whatever a release of a gemeente published is public for good, wherever it was made:
in this work directory (`<work>/releases/`) or in another one, with other selections or
another threshold. The gemeente's *publication register* (`published_dir` in the
municipality settings: the folder releases go out from; every run also places its
release there) makes them all visible to protection. A new release must count them as
known, or it could undo an earlier one's protection (publish a cell that an earlier
release suppressed as a partner, while the earlier release published the total around
it; or publish a selection's cells while an earlier release published another
selection that differs from it by a few households).

For every cell of the new release (same table and definition, period, level, area and
category):
  * published earlier with the same value: *known*. The attacker has it whatever this
    release does; it is no use as a secondary suppression, and the audit treats it as
    published;
  * published earlier with another value (the data were corrected since): not a
    relation the LP can use; counted in audit.json, and left alone;
  * a small cell (below the threshold) published earlier: nothing this release can do
    hides it; protection refuses, and says what can be done instead.

Cells an earlier release published from a definition this release does not publish (a
selection it dropped or changed) enter the audit as *known cells of other definitions*:
the pipeline recomputes them from the stored definition (audit.json carries every
selection's definition) as sums of atoms (atoms.py), so their relations to this
release's cells are exact.

Re-runs. A release whose inputs and rules equal an earlier release's (the same *base*
fingerprint) is protected against exactly the releases that one was protected against,
so it reproduces that release byte for byte; anything else is protected against every
release of the period, its own earlier versions included. The release id is a hash of
the base fingerprint and of the releases it was protected against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd

KEY = ["table", "period", "level", "area_code", "category"]


@dataclass(frozen=True)
class EarlierRelease:
    release_id: str
    folder: Path
    audit: dict[str, Any] = field(repr=False)

    @property
    def base(self) -> str | None:
        return cast("str | None", self.audit.get("fingerprint", {}).get("base"))

    @property
    def protected_against(self) -> list[str]:
        return list(self.audit.get("fingerprint", {}).get("protected_against", []))

    def published(self) -> pd.DataFrame:
        """Its published cells: KEY columns and value."""
        t = pd.read_csv(self.folder / "tables.csv", dtype={"value": "Int64", "period": str, "area_code": str},
                        keep_default_na=False, na_values={"value": [""]})
        return t[t.status == "published"][KEY + ["value"]]


def releases(folders: list[Path], gemeente: str, period: str | None = None) -> list[EarlierRelease]:
    """Every release of `gemeente` (for `period`, if given) in `folders`, once per id, by id."""
    found: dict[str, EarlierRelease] = {}
    for releases_dir in folders:
        if not releases_dir.is_dir():
            continue
        for folder in sorted(p for p in releases_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            audit_file, tables_file = folder / "audit.json", folder / "tables.csv"
            if folder.name in found or not (audit_file.exists() and tables_file.exists()):
                continue
            audit = json.loads(audit_file.read_text(encoding="utf-8"))
            if audit.get("gemeente", {}).get("code") != gemeente:
                continue
            if period is not None and audit.get("period", period) != period:
                continue
            found[folder.name] = EarlierRelease(folder.name, folder, audit)
    return [found[k] for k in sorted(found)]


def by_earlier_month(folders: list[Path], gemeente: str, period: str) -> dict[str, list[EarlierRelease]]:
    """The releases of `gemeente` in `folders` for the months before `period`, per month, oldest first."""
    out: dict[str, list[EarlierRelease]] = {}
    for r in releases(folders, gemeente):
        month = r.audit.get("period")
        if month is not None and month < period:
            out.setdefault(month, []).append(r)
    return dict(sorted(out.items()))


def protect_against(candidates: list[EarlierRelease], base: str | None) -> list[EarlierRelease]:
    """The releases a release with base fingerprint `base` is protected against (module docstring)."""
    ids = {r.release_id for r in candidates}
    for r in candidates:
        if base is not None and r.base == base and set(r.protected_against) <= ids:
            return [c for c in candidates if c.release_id in r.protected_against]
    return list(candidates)


def published_before(releases_dir: Path | list[Path], gemeente: str) -> pd.DataFrame:
    """Every cell published by an earlier release of `gemeente`: KEY columns, value, release."""
    folders = releases_dir if isinstance(releases_dir, list) else [releases_dir]
    frames = [r.published().assign(release=r.release_id) for r in releases(folders, gemeente)]
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


__all__ = ["KEY", "EarlierRelease", "releases", "protect_against", "published_before", "match"]
