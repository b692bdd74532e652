"""Hand-made tables for disclosure-control tests."""

import pandas as pd

BUURTEN = pd.DataFrame({"buurtcode": ["BU1", "BU2", "BU3"], "wijkcode": ["WK1"] * 3, "gemeentecode": ["GM1"] * 3})


def table(values: dict, buurten: pd.DataFrame = BUURTEN) -> pd.DataFrame:
    """One table `t` with categories a, b and totaal over the buurten (values: buurt -> (a, b)),
    their wijken and their gemeente."""
    rows = []
    areas = [(b, "buurt", [b]) for b in buurten.buurtcode]
    areas += [(w, "wijk", list(g.buurtcode)) for w, g in buurten.groupby("wijkcode")]
    areas += [(buurten.gemeentecode.iloc[0], "gemeente", list(buurten.buurtcode))]
    for area, level, members in areas:
        a, b = sum(values[m][0] for m in members), sum(values[m][1] for m in members)
        for cat, v in (("totaal", a + b), ("a", a), ("b", b)):
            rows.append(dict(table="t", period="2026-10", level=level, area_code=area, area_name=area, category=cat,
                             value=v))
    return pd.DataFrame(rows)
