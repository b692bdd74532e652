"""An independent attacker for the disclosure tests: scipy's linprog, none of the project's
LP code, relations built here from the atoms.

The attacker holds every published number and knows every definition, so it knows what
each cell is made of: per buurt, the true atoms (households split by domain combination
and every selection; persons of person selections), which of them are empty (a
non-empty atom holds at least one unit), that a household has 1 to M persons (and, per person
group, how few and how many members of each union of person-selection patterns any one of its
households has: a definition can count members), and that a
suppressed cell is not zero (zeros are published), except a stapeling `0` that the
group-disclosure rule may hide. For every suppressed cell whose true value is small it
computes the largest value consistent with all of that; a cell whose largest value stays
below its threshold is *provable*. The same for every small atom: every group a reader
can name (a cell, the difference of two nested selections, ...) is a union of atoms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

BIG = 1e7


def _atoms_of(cells: pd.DataFrame, atoms, buurten: pd.DataFrame) -> list[np.ndarray]:
    """Per cell, the positions of the atoms it counts."""
    f = atoms.frame
    geo = buurten.set_index("buurtcode")
    where = {"buurt": f.buurtcode.to_numpy(), "wijk": geo.wijkcode.reindex(f.buurtcode).to_numpy(),
             "gemeente": geo.gemeentecode.reindex(f.buurtcode).to_numpy()}
    out = []
    for table, level, area, category in zip(cells.table, cells.level, cells.area_code, cells.category):
        out.append(np.flatnonzero(atoms.members[(table, category)] & (where[level] == area)))
    return out


def provable(published: pd.DataFrame, truth: pd.DataFrame, atoms, buurten: pd.DataFrame,
             thresholds: dict[str, int], extra_published: pd.DataFrame | None = None,
             atom_floor: float = 1.0, zeros_hidden: frozenset | set = frozenset(),
             parts: np.ndarray | None = None, possible: np.ndarray | None = None) -> list[dict]:
    """Suppressed cells of `published` (status, value as in tables.csv; same index as `truth`,
    the unprotected values) that the attacker proves to lie below their threshold.
    `extra_published`: cells published elsewhere (earlier releases), same columns, whose
    (table, category) the atoms know. `atom_floor`: what the attacker knows of a non-empty atom
    (1: that it is non-empty, more than a reader can know; 0: only what the published cells say).
    `zeros_hidden`: (table, level) whose zeros are suppressed too: a suppressed cell there may be 0.
    `parts`: per atom, the group of the release's own definitions it is a part of (-1: its own group),
    where atoms are split by other months' definitions too: then the groups are attacked, not the parts.
    `possible`: atoms of 0 that the definitions allow (a household elsewhere has the combination:
    privacy/atoms.py, "Parts: possible, not empty"), not known to be empty."""
    f = atoms.frame
    n = len(f)
    pub = published[published.status == "published"]
    if extra_published is not None:
        pub = pd.concat([pub, extra_published[extra_published.status == "published"]], ignore_index=True)
    sup = published[published.status == "suppressed"]
    rows, cols, b_eq = [], [], []
    for k, (members, v) in enumerate(zip(_atoms_of(pub, atoms, buurten), pub.value)):
        rows += [k] * len(members)
        cols += list(members)
        b_eq.append(float(v))
    a_eq = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(b_eq), n)).tocsr()
    ub_rows, ub_cols, ub_vals, b_ub = [], [], [], []
    sup_parts = _atoms_of(sup, atoms, buurten)
    k = 0
    for members, cat, table, level in zip(sup_parts, sup.category, sup.table, sup.level):
        # zeros are published, but for a stapeling 0 and where zeros are hidden
        floor = 0.0 if (table, cat) == ("stapeling", "0") or (table, level) in zeros_hidden else 1.0
        ub_rows += [k] * len(members)
        ub_cols += list(members)
        ub_vals += [-1.0] * len(members)
        b_ub.append(-floor)
        k += 1
    persons = np.flatnonzero((f.unit == "persoon").to_numpy())
    house = np.flatnonzero((f.unit == "huishouden").to_numpy())
    for g, group in pd.Series(persons).groupby(f.group.to_numpy()[persons]):
        ps, hs = list(group), [int(h) for h in house[f.group.to_numpy()[house] == g]]
        for coefs in (([1.0] * len(ps), -float(atoms.max_household_size)), ([-1.0] * len(ps), 1.0)):
            ub_rows += [k] * (len(ps) + len(hs))
            ub_cols += ps + hs
            ub_vals += coefs[0] + [coefs[1]] * len(hs)
            b_ub.append(0.0)
            k += 1
    # how few and how many members of a union of person-selection patterns a household of the group has
    # (the project computes these per group: tests/tabulate checks them against the warehouse directly)
    for g, union, low, high in atoms.person_bounds.itertuples(index=False):
        ps, hs = [int(a) for a in union], [int(h) for h in house[f.group.to_numpy()[house] == g]]
        for coefs in ((([-1.0] * len(ps)), float(low)) if low > 0 else None,
                      (([1.0] * len(ps)), -float(high)) if high >= 0 else None):
            if coefs is None:
                continue
            ub_rows += [k] * (len(ps) + len(hs))
            ub_cols += ps + hs
            ub_vals += coefs[0] + [coefs[1]] * len(hs)
            b_ub.append(0.0)
            k += 1
    a_ub = coo_matrix((ub_vals, (ub_rows, ub_cols)), shape=(k, n)).tocsr()
    lower = np.where(f.value.to_numpy() > 0, atom_floor, 0.0)  # the attacker knows which atoms are empty
    open_ = f.value.to_numpy() > 0 if possible is None else (f.value.to_numpy() > 0) | possible
    upper = np.where(open_, BIG, 0.0)  # bounded, so HiGHS never has to tell unbounded from infeasible
    bounds = list(zip(lower, upper))
    x = f.value.to_numpy(dtype=float)  # the truth must satisfy everything the attacker knows
    assert np.allclose(a_eq @ x, b_eq), pub[~np.isclose(a_eq @ x, b_eq)].head()
    assert (a_ub @ x <= np.asarray(b_ub) + 1e-9).all() if k else True
    out = []
    for (idx, row), members in zip(sup.iterrows(), sup_parts):
        value, thr = int(truth.value[idx]), thresholds[row.table]
        if not 0 < value < thr:
            continue
        c = np.zeros(n)
        c[members] = -1.0  # maximise the cell
        res = linprog(c, A_ub=a_ub if k else None, b_ub=b_ub if k else None, A_eq=a_eq, b_eq=b_eq, bounds=bounds,
                      method="highs")
        assert res.status == 0, res.message  # the truth is feasible, every atom is bounded
        high = -res.fun
        if high < thr - 1e-6:
            out.append({**row[["table", "level", "area_code", "category"]].to_dict(), "value": value, "max": high})
    # every group a reader can name is a union of atoms: a small atom must not be provable either
    thr_atom = np.zeros(n)
    for (table, _), mask in atoms.members.items():
        thr_atom = np.where(mask, np.maximum(thr_atom, thresholds.get(table.split("@")[0], max(thresholds.values()))),
                            thr_atom)
    groups = [[int(a)] for a in range(n)] if parts is None else [[int(a)] for a in np.flatnonzero(parts < 0)]
    if parts is not None:
        for g in np.unique(parts[parts >= 0]):
            groups.append([int(a) for a in np.flatnonzero(parts == g)])
    for group in groups:
        value, thr_g = x[group].sum(), thr_atom[group].max()
        if not 0 < value < thr_g:
            continue
        c = np.zeros(n)
        c[group] = -1.0
        res = linprog(c, A_ub=a_ub if k else None, b_ub=b_ub if k else None, A_eq=a_eq, b_eq=b_eq, bounds=bounds,
                      method="highs")
        assert res.status == 0, res.message
        if -res.fun < thr_g - 1e-6:
            out.append({"table": "(atom)", "area_code": f.buurtcode.iloc[group[0]], "unit": f.unit.iloc[group[0]],
                        "value": int(value), "max": -res.fun})
    return out


__all__ = ["provable"]
