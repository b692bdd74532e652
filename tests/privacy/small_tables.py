"""A hand-made table for disclosure-control tests."""

import pandas as pd

BUURTEN = pd.DataFrame({"buurtcode": ["BU1", "BU2", "BU3"], "wijkcode": ["WK1"] * 3, "gemeentecode": ["GM1"] * 3})


def table(values: dict) -> pd.DataFrame:
    """One table `t` with categories a, b and totaal over 3 buurten, their wijk and gemeente."""
    rows = []
    for area, level in [("BU1", "buurt"), ("BU2", "buurt"), ("BU3", "buurt"), ("WK1", "wijk"), ("GM1", "gemeente")]:
        if level == "buurt":
            a, b = values[area]
        else:
            a, b = sum(v[0] for v in values.values()), sum(v[1] for v in values.values())
        for cat, v in (("totaal", a + b), ("a", a), ("b", b)):
            rows.append(dict(table="t", period="2026-10", level=level, area_code=area, area_name=area, category=cat,
                             value=v))
    return pd.DataFrame(rows)
