"""Tabulate: the stacking tables and selection counts per buurt, wijk and gemeente.

Every table is built at buurt level over *all* buurten of the run (a buurt without
households gets zeros) and summed upwards, so before protection the tables are
additive: categories sum to `totaal`, buurten to their wijk, wijken to their gemeente.
"""

from __future__ import annotations

import itertools
import logging
import time

import duckdb
import pandas as pd

from .selections import LoadedSelection
from .sql import sql

log = logging.getLogger("wijksignaal.tabulate")

DOMAINS = ("uitkering", "achterstand", "wmo")
STAPELING = ("totaal", "0", "1", "2", "3+")
COMBINATIES = ("totaal",) + tuple(
    "+".join(c) for k in range(1, len(DOMAINS) + 1) for c in itertools.combinations(DOMAINS, k)
)
LEVELS = ("gemeente", "wijk", "buurt")
CELL_COLUMNS = ["table", "period", "level", "area_code", "area_name", "category", "value"]


def _grid(buurten: pd.DataFrame, counts: pd.DataFrame, categories: tuple[str, ...], column: str = "n"
          ) -> pd.DataFrame:
    """buurt x category matrix of counts (or record-key sums), zeros where nothing was counted."""
    wide = counts.pivot_table(index="buurtcode", columns="category", values=column, aggfunc="sum", fill_value=0)
    return wide.reindex(index=buurten.buurtcode, columns=list(categories), fill_value=0).fillna(0).astype("int64")


def _long(table: str, period: str, buurten: pd.DataFrame, grid: pd.DataFrame, keys: pd.DataFrame | None = None
          ) -> pd.DataFrame:
    """Long cells at every level; with `keys` (a grid of record-key sums) also the column rk."""
    b = buurten.set_index("buurtcode")
    frames = []
    for level, code, name in (("buurt", "buurtcode", "buurtnaam"), ("wijk", "wijkcode", "wijknaam"),
                              ("gemeente", "gemeentecode", "gemeentenaam")):
        if level == "buurt":
            g = grid
            names = b.buurtnaam
        else:
            g = grid.groupby(b[code].reindex(grid.index).to_numpy()).sum()
            names = b.drop_duplicates(code).set_index(code)[name]
        stacked = g.stack().reset_index()
        stacked.columns = ["area_code", "category", "value"]
        if keys is not None:
            k = keys if level == "buurt" else keys.groupby(b[code].reindex(keys.index).to_numpy()).sum()
            stacked["rk"] = k.stack().to_numpy()
        stacked["area_name"] = stacked.area_code.map(names)
        stacked["level"] = level
        frames.append(stacked)
    out = pd.concat(frames, ignore_index=True)
    out["table"] = table
    out["period"] = period
    return out[CELL_COLUMNS + (["rk"] if keys is not None else [])]


def tabulate(con: duckdb.DuckDBPyConnection, period: str, selections: list[LoadedSelection],
             cell_keys: bool = False) -> pd.DataFrame:
    """All tables of a period; cell_keys=True adds `rk`, each cell's sum of record keys
    (privacy/cellkey.py), which is never published."""
    t0 = time.perf_counter()
    buurten = con.execute("SELECT * FROM buurten ORDER BY buurtcode").df()
    counts = con.execute(sql("stapeling_counts"), {"period": period, "record_keys": cell_keys}).df()
    flags = counts[list(DOMAINS)].astype(bool)
    n_domains = flags.sum(axis=1)

    cols = ["buurtcode", "category", "n", "rk"]
    stap = pd.concat([
        counts.assign(category=n_domains.map(lambda k: "3+" if k >= 3 else str(k)))[cols],
        counts.assign(category="totaal")[cols],
    ])
    combo_name = flags.apply(lambda r: "+".join(d for d in DOMAINS if r[d]), axis=1) if len(counts) else pd.Series(dtype=str)
    some = counts[n_domains > 0]
    comb = pd.concat([
        some.assign(category=combo_name[n_domains > 0])[cols],
        some.assign(category="totaal")[cols],
    ])

    def long(table: str, counted: pd.DataFrame, categories: tuple[str, ...]) -> pd.DataFrame:
        keys = _grid(buurten, counted, categories, "rk") if cell_keys else None
        return _long(table, period, buurten, _grid(buurten, counted, categories), keys)

    tables = [long("stapeling", stap, STAPELING), long("combinaties", comb, COMBINATIES)]
    for s in sorted(selections, key=lambda s: s.selection.id):
        query, params = s.compile(period, record_keys=cell_keys)
        sel = con.execute(query, params).df().assign(category="totaal")
        long_sel = long(f"selectie:{s.selection.id}", sel, ("totaal",))
        tables.append(long_sel[long_sel.level.isin(s.selection.levels)])
    cells = pd.concat(tables, ignore_index=True)
    cells = sort_cells(cells)
    log.info("tabulated %d cells in %d tables (%.1f s)", len(cells), len(tables), time.perf_counter() - t0)
    return cells


def category_order(table: str) -> tuple[str, ...]:
    return {"stapeling": STAPELING, "combinaties": COMBINATIES}.get(table, ("totaal",))


def sort_cells(cells: pd.DataFrame) -> pd.DataFrame:
    tables = list(dict.fromkeys(["stapeling", "combinaties"] + sorted(t for t in cells.table.unique()
                                                                       if t.startswith("selectie:"))))
    key_table = cells.table.map({t: i for i, t in enumerate(tables)})
    key_level = cells.level.map({lv: i for i, lv in enumerate(LEVELS)})
    key_cat = [category_order(t).index(c) for t, c in zip(cells.table, cells.category)]
    return (
        cells.assign(_t=key_table, _l=key_level, _c=key_cat)
        .sort_values(["_t", "period", "_l", "area_code", "_c"], kind="stable")
        .drop(columns=["_t", "_l", "_c"])
        .reset_index(drop=True)
    )


def additivity_violations(cells: pd.DataFrame) -> list[str]:
    """Checks the additivity contract of DESIGN.md on unprotected cells; [] when it holds."""
    problems = []
    for (table, period, level, area), g in cells.groupby(["table", "period", "level", "area_code"]):
        v = dict(zip(g.category, g.value))
        parts = sum(val for cat, val in v.items() if cat != "totaal")
        if len(v) > 1 and parts != v["totaal"]:
            problems.append(f"{table} {period} {area}: categories sum to {parts}, totaal is {v['totaal']}")
    return problems
