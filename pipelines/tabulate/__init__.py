"""Tabulate: the stacking tables and selection counts per buurt, wijk and gemeente.

Every table is built at buurt level over *all* buurten of the run (a buurt without
households gets zeros) and summed upwards, so before protection the tables are
additive: categories sum to `totaal` (stapeling `2+` is a subtotal: `2` + `3+`),
buurten to their wijk, wijken to their gemeente.

The buurt cells are sums of *atoms* (privacy/atoms.py): per buurt, the households
grouped by problem domains and membership of every selection (and the persons of
person selections). Counting every cell from the atoms makes every relation the audit
uses between cells true by construction.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from pipelines.link.domains import combinaties
from pipelines.monitor import indicators
from pipelines.monitor.indicators import Monitor
from pipelines.select.selections import LoadedSelection
from privacy.atoms import ATOM_FLOOR, MONITOR_FLOOR, Atoms
from privacy.relations import SUBTOTALS  # categories that are sums of other categories (stapeling 2+)
from privacy.secondary import ProtectionFailed

log = logging.getLogger("wijksignaal.tabulate")

STAPELING = ("totaal", "0", "1", "2+", "2", "3+")  # 2+ = 2 + 3+: what wijkteams ask first
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


@dataclass
class Tabulation:
    """The tables of a period (`cells`) and what they are made of (`atoms`, privacy/atoms.py):
    every cell is computed here as a sum of atoms, so the relations the audit uses hold by
    construction. `other_definitions`: cells, under the current data, of selections that
    earlier releases of this period published with another definition (table names
    `selectie:<id>@<version>`), to be matched against what those releases published."""

    cells: pd.DataFrame
    atoms: Atoms
    other_definitions: pd.DataFrame
    monitor: dict | None = None  # the monitor's summary (Monitor.summary) when the release has one
    # the cells of earlier months' monitors (Monitor.before) over this month's households: known to the audit
    before: pd.DataFrame = field(default_factory=pd.DataFrame)


def _flag_sql(selections: list[tuple[str, LoadedSelection]], period: str, params: list) -> str:
    cols = []
    for name, s in selections:
        _, where, p, _ = s.from_where(period)
        params.extend(p)
        cols.append(f'({where}) AS "{name}"')
    return "".join(f", {c}" for c in cols)


def atoms(con: duckdb.DuckDBPyConnection, period: str, selections: list[tuple[str, LoadedSelection]],
          domains: tuple[str, ...], record_keys: bool = False, monitor: Monitor | None = None
          ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(household atoms, person atoms, members per household) of a period: per buurt, the households grouped by their
    problem domains (the ids of config/domains.yaml, columns of household_facts), membership
    of every household selection in `selections` (name -> selection) and, with a `monitor`
    (monitor/indicators.py; its facts registered as monitor_households), every predicate of its
    cells; the persons of every household atom that holds a member of a person selection,
    grouped further by membership of every person selection. Columns: buurtcode, the domains,
    one bool per selection name and monitor flag, n, rk (sum of record keys, 0 unless asked). Members
    per household: for the households of person groups with a person-selection member, their
    members by person-selection membership (hid, the group's key, the person flags, n)."""
    house = [(n, s) for n, s in selections if s.selection.unit == "huishouden"]
    person = [(n, s) for n, s in selections if s.selection.unit == "persoon"]
    params: list = []
    hflags = _flag_sql(house, period, params)
    flags = [*monitor.flags(), *monitor.before_flags()] if monitor is not None else []
    for name, expr, p in flags:
        hflags += f', ({expr}) AS "{name}"'
        params.extend(p)
    join = " LEFT JOIN monitor_households m ON m.hid = h.hid" if monitor is not None else ""
    join_params: list = []
    if monitor is not None and monitor.before:  # the earlier months' facts (Monitor.before_flags)
        before_sql, join_params = monitor.before_joins()
        join += before_sql
    if monitor is not None and monitor.withheld:  # the household's gemeente (Monitor.flags)
        join += " JOIN buurten b ON b.buurtcode = h.buurtcode"
    dom = ", ".join(f'f."{d}"' for d in domains)
    rk = "md5_number_lower({}::VARCHAR) % 4294967296" if record_keys else "0"
    # every household once, with its domains and selections (the person query joins this instead of
    # evaluating the household selections again for every person)
    con.execute(f"CREATE OR REPLACE TEMP TABLE atom_households AS SELECT h.hid, h.buurtcode, {dom}{hflags}, "
                f"{rk.format('h.hid')} AS rk FROM households h JOIN household_facts f ON f.hid = h.hid AND f.period = ?"
                f"{join}", params + [period] + join_params)
    key = ", ".join(["buurtcode", *(f'"{d}"' for d in domains), *(f'"{n}"' for n, _ in house),
                     *(f'"{n}"' for n, _, _ in flags)])
    hh = con.execute(f"SELECT {key}, count(*)::INTEGER AS n, sum(rk)::BIGINT AS rk FROM atom_households "
                     "GROUP BY ALL ORDER BY ALL").df()
    if not person:
        con.execute("DROP TABLE atom_households")
        empty = pd.DataFrame(columns=list(hh.columns))
        return hh, empty, empty
    params = []
    pflags = _flag_sql(person, period, params)
    pkey = person_key(domains, [n for n, _ in house], monitor)
    akey = ", ".join(f'a."{c}"' for c in pkey)
    pnames = [n for n, _ in person]
    # every household's members by their person-selection pattern, once (grouped by household and pattern,
    # then given the household's group key): the person atoms and the members' counts per household
    # (Atoms.person_bounds) both come from it
    flags = ", ".join(f'x."{n}"' for n in pnames)
    con.execute(f"CREATE OR REPLACE TEMP TABLE atom_persons AS SELECT x.hid, {akey}, {flags}, x.n, x.rk FROM "
                f"(SELECT p.hid{pflags}, count(*)::INTEGER AS n, sum({rk.format('p.pid')})::BIGINT AS rk "
                "FROM persons p JOIN households h ON h.hid = p.hid GROUP BY ALL) x "
                "JOIN atom_households a ON a.hid = x.hid", params)
    cols = ", ".join(f'"{c}"' for c in [*pkey, *pnames])
    pp = con.execute(f"SELECT {cols}, sum(n)::INTEGER AS n, sum(rk)::BIGINT AS rk FROM atom_persons "
                     "GROUP BY ALL ORDER BY ALL").df()
    any_member = " OR ".join(f'coalesce("{n}", false)' for n in pnames)
    group = ", ".join(f'"{c}"' for c in pkey)
    # the households of the person groups that hold a person-selection member: their members per pattern
    per_household = con.execute(
        f"SELECT hid, {cols}, n FROM (SELECT *, bool_or({any_member}) OVER (PARTITION BY {group}) AS wanted "
        "FROM atom_persons) WHERE wanted ORDER BY ALL").df()
    con.execute("DROP TABLE atom_persons")
    con.execute("DROP TABLE atom_households")
    wanted = pp[pp[pnames].any(axis=1)][pkey].drop_duplicates()
    pp = pp.merge(wanted, on=pkey)  # the persons of the person groups that hold a person-selection member
    return hh, pp, per_household


def person_key(domains: tuple[str, ...], house: list[str], monitor: Monitor | None) -> list[str]:
    """The columns a person group shares (privacy/atoms.py, "Persons"): the household atom's key
    without the monitor's registered facts, which no selection can name."""
    flags = [*monitor.person_flags(), *monitor.before_person_flags()] if monitor is not None else []
    return ["buurtcode", *domains, *house, *flags]


def _members(frame: pd.DataFrame, domains: tuple[str, ...], house: list[str], person: list[str]) -> dict:
    """(table, category) -> bool per atom: the stapeling and combinaties categories and the selections."""
    hh = (frame.unit == "huishouden").to_numpy()
    flags = frame[list(domains)].fillna(False).astype(bool).to_numpy()
    k = flags.sum(axis=1)
    out = {("stapeling", "totaal"): hh, ("stapeling", "0"): hh & (k == 0), ("stapeling", "1"): hh & (k == 1),
           ("stapeling", "2+"): hh & (k >= 2), ("stapeling", "2"): hh & (k == 2), ("stapeling", "3+"): hh & (k >= 3),
           ("combinaties", "totaal"): hh & (k >= 1)}
    for combo in combinaties(domains)[1:]:
        want = np.array([d in combo.split("+") for d in domains])
        out[("combinaties", combo)] = hh & (flags == want).all(axis=1)
    for name in house:
        out[(name, "totaal")] = hh & frame[name].fillna(False).astype(bool).to_numpy()
    for name in person:
        out[(name, "totaal")] = ~hh & frame[name].fillna(False).astype(bool).to_numpy()
    return out


def tabulate(con: duckdb.DuckDBPyConnection, period: str, selections: list[LoadedSelection],
             domains: tuple[str, ...], cell_keys: bool = False, other: dict[str, LoadedSelection] | None = None,
             monitor: Monitor | None = None, possible_elsewhere: bool = False) -> Tabulation:
    """All tables of a period from their atoms; `domains`: the ids of the problem domains, in
    order (domains.py). cell_keys=True adds `rk`, each cell's sum of record keys
    (privacy/cellkey.py), which is never published. `other`: selections of earlier releases of
    this period with other definitions (table name -> selection), tabulated into
    `other_definitions` and part of the atoms. `monitor` (monitor/indicators.py, its facts
    registered as monitor_households): the month's monitor tables `monitor:*`, at its levels.
    `possible_elsewhere`: no definition names a place, so a part that a household elsewhere in the
    gemeente shows possible is added where the data leave it empty (possible_parts)."""
    t0 = time.perf_counter()
    buurten = con.execute("SELECT * FROM buurten ORDER BY buurtcode").df()
    named = [(f"selectie:{s.selection.id}", s) for s in sorted(selections, key=lambda s: s.selection.id)]
    named += sorted((other or {}).items())
    hh, pp, per_household = atoms(con, period, named, domains, record_keys=cell_keys, monitor=monitor)
    house = [n for n, s in named if s.selection.unit == "huishouden"]
    person = [n for n, s in named if s.selection.unit == "persoon"]
    pkey = person_key(domains, house, monitor)
    hh = hh.reset_index(drop=True)
    # a person group is named by the position of its first household atom; its persons are modelled where
    # one of them is in a person selection (atoms.py, "Persons")
    code = hh.groupby(pkey, sort=False, dropna=False).ngroup().to_numpy()
    first = pd.Series(hh.index).groupby(code).min().to_numpy()[code]  # per household atom: its group's name
    groups = hh[pkey].assign(group=first).drop_duplicates(pkey)
    group_p = pp[pkey].merge(groups, on=pkey, how="left")["group"].to_numpy(dtype=np.int64)
    group_h = np.where(np.isin(first, group_p), first, -1)
    added = 0
    if monitor is not None and monitor.before and possible_elsewhere:
        extra, extra_group = possible_parts(hh, group_h, monitor, buurten, pkey, groups, group_p)
        hh, group_h = pd.concat([hh, extra], ignore_index=True), np.concatenate([group_h, extra_group])
        added = len(extra)
    frame = pd.concat([hh.assign(unit="huishouden", group=group_h), pp.assign(unit="persoon", group=group_p)],
                      ignore_index=True)
    possible = None  # the parts of 0 just added: after the household atoms the data hold, before the person atoms
    if added:
        possible = np.zeros(len(frame), dtype=bool)
        possible[len(hh) - added:len(hh)] = True
    members = _members(frame, domains, house, person)
    hh_unit = (frame.unit == "huishouden").to_numpy()
    for key, col in (monitor.column_of().items() if monitor is not None else ()):
        members[key] = hh_unit & frame[col].fillna(False).astype(bool).to_numpy()
    for key, col in (monitor.before_column_of().items() if monitor is not None else ()):
        members[key] = hh_unit & frame[col].fillna(False).astype(bool).to_numpy()
    largest = con.execute("SELECT coalesce(max(n_personen), 1) FROM households").fetchone()[0]
    bounds = person_bounds(per_household, pp, group_p, groups, pkey, person, len(hh), int(largest))
    # with the monitor, whose atoms are near-singletons, every atom's floor is 0 (atoms.py, "Floors")
    floor = np.full(len(frame), ATOM_FLOOR if monitor is None else MONITOR_FLOOR)
    atom_set = Atoms(frame[["buurtcode", "unit", "group"]].assign(
        value=frame.n.astype("int64"), floor=floor, rk=frame.rk.fillna(0).astype("int64")),
        members, int(largest), bounds, parts_of(frame, monitor), possible)

    def long(table: str, categories: tuple[str, ...]) -> pd.DataFrame:
        counted = pd.concat([frame[members[(table, c)]].assign(category=c) for c in categories])
        keys = _grid(buurten, counted, categories, "rk") if cell_keys else None
        return _long(table, period, buurten, _grid(buurten, counted, categories), keys)

    tables = [long("stapeling", STAPELING), long("combinaties", combinaties(domains))]
    levels = {f"selectie:{s.selection.id}": s.selection.levels for s in selections}
    others = []
    for name, s in named:
        long_sel = long(name, ("totaal",))
        (tables if name in levels else others).append(long_sel[long_sel.level.isin(s.selection.levels)])
    if monitor is not None:
        shown = monitor_areas(buurten, monitor)
        for table, cats in monitor.tables().items():
            t = long(table, cats)
            tables.append(t[t.level.isin(monitor.levels) & t.area_code.isin(shown)])
    before = []
    if monitor is not None and monitor.before:
        shown = monitor_areas(buurten, monitor)
        for b in monitor.before:
            keys = pd.DataFrame(list(b.cells), columns=["table", "level", "area_code", "category"])
            keys = keys[keys.area_code.isin(shown)]
            for table, g in keys.groupby("table", sort=True):
                t = long(b.table(table), tuple(dict.fromkeys(g.category)))
                before.append(t.merge(g.assign(table=b.table(table)), on=["table", "level", "area_code", "category"]))
    cells = sort_cells(pd.concat(tables, ignore_index=True), domains)
    other_cells = pd.concat(others, ignore_index=True) if others else pd.DataFrame(columns=cells.columns)
    log.info("tabulated %d cells in %d tables from %d atoms (%.1f s)", len(cells), len(tables), len(frame),
             time.perf_counter() - t0)
    before_cells = pd.concat(before, ignore_index=True) if before else pd.DataFrame(columns=cells.columns)
    return Tabulation(cells, atom_set, other_cells, monitor.summary() if monitor is not None else None,
                      before_cells)


def possible_parts(hh: pd.DataFrame, group_h: np.ndarray, monitor: Monitor, buurten: pd.DataFrame,
                   pkey: list[str], groups: pd.DataFrame, group_p: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Household atoms of 0 to add as parts (privacy/atoms.py, "Parts: possible, not empty"), and their
    person groups.

    A group of this release's definitions is a buurt and every predicate but the earlier months'
    flags. For each of its parts, the combinations without the flags of one earlier month (the
    other months' as they are) and without any earlier month's flag are added as parts of 0 where
    the data leave them empty but a household elsewhere in the same gemeente, with the same
    predicates, has that combination and no person in a person selection (its person group's
    persons are not modelled). That household shows the definitions allow the combination; with no
    definition naming a place, it may lie in this buurt too. The part's persons are those of its
    person group where that group's are modelled, else none is in a person selection, as for the
    household that shows it possible."""
    before = [n for n, _, _ in monitor.before_flags()]
    month = np.array([int(n[1:].split("_")[0]) for n in before])  # b<k>_<j>: earlier month k
    own = [c for c in hh.columns if c not in before and c not in ("buurtcode", "n", "rk")]
    flags = hh[before].fillna(False).astype(bool).to_numpy()
    gemeente = hh.buurtcode.map(buurten.set_index("buurtcode").gemeentecode).to_numpy()
    pattern = hh[own].astype(str).groupby(own, sort=False, dropna=False).ngroup().to_numpy()
    buurt = hh.buurtcode.to_numpy()
    present = {(b, p, f.tobytes()) for b, p, f in zip(buurt, pattern, flags)}
    unmodelled = np.flatnonzero(group_h < 0)
    shown = {(gemeente[i], pattern[i], flags[i].tobytes()) for i in unmodelled}
    added: dict[tuple[str, int, bytes], tuple[int, np.ndarray]] = {}
    for i in np.flatnonzero(flags.any(axis=1)):  # a part with some earlier month's flag
        for cleared in [month == k for k in np.unique(month[flags[i]])] + [np.ones(len(before), dtype=bool)]:
            f = flags[i] & ~cleared
            key = (buurt[i], pattern[i], f.tobytes())
            if key not in present and key not in added and (gemeente[i], pattern[i], f.tobytes()) in shown:
                added[key] = (i, f)
    rows = [i for i, _ in added.values()]
    extra = hh.loc[rows].assign(n=0, rk=0).reset_index(drop=True)
    if rows:
        extra[before] = np.array([f for _, f in added.values()])
    modelled = set(group_p.tolist())
    found = extra[pkey].merge(groups, on=pkey, how="left")["group"].to_numpy()
    group = np.array([int(g) if g == g and int(g) in modelled else -1 for g in found], dtype=np.int64)
    return extra, group


def parts_of(frame: pd.DataFrame, monitor: Monitor | None) -> np.ndarray | None:
    """Atoms.parts (privacy/atoms.py, "Parts"): the atoms that differ only by the earlier months'
    flags (Monitor.before_flags) are the parts of one group of this release's definitions; None
    without earlier months."""
    if monitor is None or not monitor.before:
        return None
    before = {n for n, _, _ in monitor.before_flags()}
    own = [c for c in frame.columns if c not in before and c not in ("n", "rk", "group")]
    code = frame[own].astype(str).groupby(own, sort=False, dropna=False).ngroup().to_numpy()
    size = np.bincount(code)
    several = size[code] > 1
    out = np.full(len(frame), -1, dtype=np.int64)
    out[several] = pd.factorize(code[several], sort=True)[0]
    return out


MAX_PATTERNS = 8  # person-selection patterns in one person group whose every union is bounded (2^8 - 1 unions)


def person_bounds(per_household: pd.DataFrame, pp: pd.DataFrame, atom_group: np.ndarray, groups: pd.DataFrame,
                  pkey: list[str], person: list[str], offset: int, largest: int) -> pd.DataFrame:
    """Atoms.person_bounds (privacy/atoms.py, "Members per household"): for every person group and
    every union of the person-selection patterns present in it, the fewest and most members in that
    union of any one of the group's households, where they say more than the group's other bounds
    (low 0: no lower bound kept, high -1: no upper bound kept). `pp`: the person atoms (frame
    positions from `offset`), `atom_group` their groups; `groups`: pkey -> group name."""
    out = pd.DataFrame({"group": pd.Series(dtype="int64"), "atoms": pd.Series(dtype=object),
                        "low": pd.Series(dtype="int64"), "high": pd.Series(dtype="int64")})
    if pp.empty or per_household.empty:
        return out
    weights = 1 << np.arange(len(person), dtype=np.int64)

    def code(frame: pd.DataFrame) -> np.ndarray:
        flags = frame[person].fillna(False).astype(bool).to_numpy()
        return (flags * weights).sum(axis=1)

    atom_code, atom_pos = code(pp), offset + np.arange(len(pp))
    ph = per_household.assign(_group=per_household[pkey].merge(groups, on=pkey, how="left")["group"].to_numpy(),
                              _code=code(per_household))
    counts = ph.pivot_table(index=["_group", "hid"], columns="_code", values="n", aggfunc="sum", fill_value=0)
    present = pd.Series(atom_code).groupby(atom_group).apply(lambda c: tuple(sorted(set(c))))
    rows = []
    for patterns, gs in present.groupby(present, sort=True):
        if len(patterns) > MAX_PATTERNS:
            raise ProtectionFailed(f"a person group holds persons of {len(patterns)} combinations of person "
                                   f"selections (more than {MAX_PATTERNS}; at most 3 person selections, with those "
                                   "of earlier releases of the period, always fit): the members of its households "
                                   "cannot be bounded for every combination (privacy/atoms.py, Members per "
                                   "household); nothing was published")
        sub = counts[counts.index.get_level_values(0).isin(gs.index)].reindex(columns=list(patterns), fill_value=0)
        by = sub.index.get_level_values(0).to_numpy()
        c = sub.to_numpy()
        low_p = pd.DataFrame(c).groupby(by).min()
        high_p = pd.DataFrame(c).groupby(by).max()
        high_all = pd.Series(c.sum(axis=1)).groupby(by).max()
        for r in range(1, 1 << len(patterns)):
            cols = [j for j in range(len(patterns)) if r >> j & 1]
            total = pd.Series(c[:, cols].sum(axis=1)).groupby(by)
            low, high = total.min(), total.max()
            # kept where the group's other bounds do not give it already: every household has 1 to `largest`
            # members (relations' personen~huishoudens), at most high_all here, and a union holds at least
            # and at most what its patterns do
            if len(cols) == len(patterns):
                low = low.where(low > 1, 0)
                high = high.where(high < largest, -1)
            elif len(cols) == 1:
                high = high.where(high < high_all, -1)
            else:
                low = low.where(low > low_p[cols].sum(axis=1), 0)
                high = high.where(high < np.minimum(high_p[cols].sum(axis=1), high_all), -1)
            for g in low.index[((low > 0) | (high >= 0)).to_numpy()]:
                want = [patterns[j] for j in cols]
                mine = (atom_group == g) & np.isin(atom_code, want)
                rows.append((int(g), tuple(int(a) for a in atom_pos[mine]), int(low[g]), int(high[g])))
    if rows:
        out = pd.DataFrame(rows, columns=["group", "atoms", "low", "high"]).sort_values(["group", "atoms"],
                                                                                       ignore_index=True)
    return out


def monitor_areas(buurten: pd.DataFrame, monitor: Monitor) -> set[str]:
    """The areas whose monitor cells a release publishes: every area outside the withheld gemeenten."""
    b = buurten[~buurten.gemeentecode.isin(monitor.withheld)]
    return set(b.buurtcode) | set(b.wijkcode) | set(b.gemeentecode)


def category_order(table: str, domains: tuple[str, ...], present=None) -> tuple[str, ...]:
    """A table's categories in order: stapeling's, combinaties' of these domains, a selection's `totaal`,
    a monitor table's in the order they come (`present`: its cells' categories, tabulated in order)."""
    if table == "combinaties":
        return combinaties(domains)
    if table.startswith("monitor:"):
        return tuple(dict.fromkeys(present if present is not None else ()))
    return STAPELING if table == "stapeling" else ("totaal",)


def sort_cells(cells: pd.DataFrame, domains: tuple[str, ...]) -> pd.DataFrame:
    present = set(cells.table.unique())
    tables = list(dict.fromkeys(["stapeling", "combinaties"] + sorted(t for t in present if t.startswith("selectie:"))
                                + [t for t in indicators.TABLES if t in present]))
    key_table = cells.table.map({t: i for i, t in enumerate(tables)})
    key_level = cells.level.map({lv: i for i, lv in enumerate(LEVELS)})
    order = {t: {c: i for i, c in enumerate(category_order(t, domains, cells.category[cells.table == t]))}
             for t in cells.table.unique()}
    key_cat = [order[t][c] for t, c in zip(cells.table, cells.category)]
    return (
        cells.assign(_t=key_table, _l=key_level, _c=key_cat)
        .sort_values(["_t", "period", "_l", "area_code", "_c"], kind="stable")
        .drop(columns=["_t", "_l", "_c"])
        .reset_index(drop=True)
    )


def category_tree(table: str, domains: tuple[str, ...], present=None) -> dict[str, list[str]]:
    """parent -> children of a table's categories: `totaal` = its leaf categories, a subtotal = its parts.
    A monitor table (`present`: its categories) sums only if it is a partition (indicators.PARTITIONS)."""
    if table.startswith("monitor:"):
        parts = [c for c in dict.fromkeys(present if present is not None else ()) if c != "totaal"]
        return {"totaal": parts} if table in indicators.PARTITIONS else {}
    subs = SUBTOTALS.get(table, {})
    leaves = [c for c in category_order(table, domains) if c != "totaal" and c not in subs]
    return {"totaal": leaves, **{k: list(v) for k, v in subs.items()}}


def additivity_violations(cells: pd.DataFrame, domains: tuple[str, ...]) -> list[str]:
    """Checks the additivity contract of DESIGN.md on unprotected cells; [] when it holds."""
    problems = []
    trees = {t: category_tree(t, domains, cells.category[cells.table == t]) for t in cells.table.unique()}
    for (table, period, _, area), g in cells.groupby(["table", "period", "level", "area_code"]):
        v = dict(zip(g.category, g.value))
        if len(v) == 1:
            continue
        for parent, children in trees[table].items():
            parts = sum(v[c] for c in children)
            if parts != v[parent]:
                problems.append(f"{table} {period} {area}: categories sum to {parts}, {parent} is {v[parent]}")
    return problems
