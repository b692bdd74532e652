"""CBS wijk- en buurtindeling: the reference geography (bundled in config/reference/)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from pipelines.settings import REFERENCE_DIR

BUURTEN_CSV = REFERENCE_DIR / "cbs_buurten_2014.csv"
@lru_cache(maxsize=4)
def _all_buurten(path: Path = BUURTEN_CSV) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False).assign(
        lon=lambda d: d.lon.astype(float), lat=lambda d: d.lat.astype(float)
    )


def buurten(gemeente: str = "NL", path: Path = BUURTEN_CSV) -> pd.DataFrame:
    """All buurten of one gemeente (GM....), or of the whole country ("NL"), sorted by code."""
    df = _all_buurten(path)
    if gemeente != "NL":
        df = df[df.gemeentecode == gemeente]
        if df.empty:
            raise ValueError(f"gemeente {gemeente} is not in {path.name}")
    return df.sort_values("buurtcode").reset_index(drop=True)


def gemeente_name(gemeente: str) -> str:
    if gemeente == "NL":
        return "Nederland"
    return str(buurten(gemeente).gemeentenaam.iloc[0])


def known(gemeente: str) -> bool:
    return bool((_all_buurten().gemeentecode == gemeente).any())


def gemeenten() -> int:
    return int(_all_buurten().gemeentecode.nunique())
