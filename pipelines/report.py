"""The wijkteam report (report.html): Dutch, self-contained, opens offline.

It is rendered from the protected cells only: a suppressed cell reaches the template
as `None` and is shown as suppressed, never as zero.
"""

from __future__ import annotations

from importlib import resources

import jinja2
import pandas as pd

from .tabulate import COMBINATIES, STAPELING

SUPPRESSED_MARK = "·"
NOT_PUBLISHED = object()  # the table has no cell for this area (its purpose stops at a higher level)


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("pipelines").joinpath("templates", name).read_text(encoding="utf-8")
        ),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["n"] = lambda v: "–" if v is NOT_PUBLISHED else (
        SUPPRESSED_MARK if v is None else f"{int(v):,}".replace(",", "."))
    env.tests["not_published"] = lambda v: v is NOT_PUBLISHED
    env.filters["pct"] = lambda v: "" if v is None else f"{v:.1f}".replace(".", ",") + "%"
    return env


def _published(cells: pd.DataFrame) -> dict:
    """(table, area_code, category) -> value, or None when suppressed."""
    vals = cells.value.where(cells.status == "published", None)
    return {(t, a, c): (None if pd.isna(v) else int(v)) for t, a, c, v in zip(cells.table, cells.area_code, cells.category, vals)}


def _share(part, total):
    if part is None or total in (None, 0):
        return None
    return 100.0 * part / total


def render_report(cells: pd.DataFrame, audit: dict, context: dict) -> str:
    v = _published(cells)
    areas = cells[["level", "area_code", "area_name"]].drop_duplicates()
    buurten: pd.DataFrame = context["buurten"]
    selections = [t for t in dict.fromkeys(cells.table) if t.startswith("selectie:")]
    sel_titles = {f"selectie:{s['id']}": s["title"] for s in audit["rules"]["selections"]}

    def row(code, name, level):
        stap = {c: v.get(("stapeling", code, c)) for c in STAPELING}
        two_plus = None if stap["2"] is None or stap["3+"] is None else stap["2"] + stap["3+"]
        return {
            "code": code, "name": name, "level": level, "stap": stap, "two_plus": two_plus,
            "two_plus_pct": _share(two_plus, stap["totaal"]),
            "sel": [v.get((s, code, "totaal"), NOT_PUBLISHED) for s in selections],
        }

    gemeenten = []
    for gm in areas[areas.level == "gemeente"].itertuples():
        wijken = []
        gb = buurten[buurten.gemeentecode == gm.area_code]
        for wk_code, wk in gb.groupby("wijkcode", sort=True):
            wijken.append({
                "row": row(wk_code, wk.wijknaam.iloc[0], "wijk"),
                "buurten": [row(b.buurtcode, b.buurtnaam, "buurt") for b in wk.itertuples()],
            })
        gemeenten.append({
            "row": row(gm.area_code, gm.area_name, "gemeente"),
            "combinaties": [(c, v.get(("combinaties", gm.area_code, c))) for c in COMBINATIES],
            "wijken": wijken,
        })
    return _env().get_template("report.html.j2").render(
        audit=audit,
        gemeenten=gemeenten,
        selections=[(s, sel_titles.get(s, s)) for s in selections],
        mark=SUPPRESSED_MARK,
        stapeling=STAPELING,
    )
