"""What an attacker knows about how the cells of a release hang together, for tables
without atoms (the benchmark's standard table, cells of an earlier release whose
definition is unknown). A release's own tables get their relations from their atoms
(atoms.py), which imply every relation below and more.

Every relation is a linear equation or inequality over cells, true of the unprotected
counts; the attacker knows all of them (they follow from DESIGN.md's table definitions):

  * within a table and area: the categories sum to `totaal` (stapeling `2+` is `2` + `3+`);
  * across levels: a wijk's cell is the sum of its buurten, a gemeente's of its wijken;
  * stapeling <-> combinaties, per area: `1` = the single-domain combinations, `2` = the
    pairs, `3+` = every combination of three or more domains, combinaties `totaal` =
    stapeling `1` + `2` + `3+`. The domains are read from the combinaties categories
    themselves (a category without `+` other than `totaal` is a domain; a combination
    joins domains with `+`), so this file names none and works for any number of them;
  * a household selection is a subset of the households: selectie <= stapeling `totaal`.

A relation is (cells, coefficients, sense) meaning sum(coef * cell) {=, <=} 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

CellKey = tuple[str, str, str, str, str]  # (table, period, level, area_code, category)


@dataclass(frozen=True)
class Relation:
    cells: tuple[int, ...]
    coefs: tuple[float, ...]
    sense: str  # "=" or "<="
    kind: str


def combinations_by_size(categories: Iterable[str]) -> dict[str, list[str]]:
    """The combinaties categories that make stapeling `1`, `2` and `3+`: the single domains, the
    pairs, and every combination of three or more domains, each in the order
    itertools.combinations gives. The domains are the categories without `+` (but `totaal`), in
    order of first appearance; a combination is a category whose `+`-joined parts are domains.
    A size of which some combination is missing gets no categories (its relation is left out,
    never written with a part missing)."""
    cats = list(dict.fromkeys(c for c in categories if c != "totaal"))
    singles = {c: i for i, c in enumerate(c for c in cats if "+" not in c)}
    combos: list[tuple[int, tuple[int, ...], str]] = []
    for c in cats:
        parts = c.split("+")
        if all(p in singles for p in parts) and len(set(parts)) == len(parts):
            combos.append((len(parts), tuple(sorted(singles[p] for p in parts)), c))
    combos.sort()
    n = len(singles)
    sizes = {"1": (1, 1), "2": (2, 2), "3+": (3, max(n, 3))}
    out: dict[str, list[str]] = {}
    for cat, (lo, hi) in sizes.items():
        found = [c for k, _, c in combos if lo <= k <= hi]
        complete = len(found) == sum(math.comb(n, k) for k in range(lo, hi + 1))
        out[cat] = found if complete else []
    return out


SUBTOTALS = {"stapeling": {"2+": ("2", "3+")}}  # stapeling `2+` = `2` + `3+`


def _default_tree(table: str, cats: list[str]) -> dict[str, list[str]]:
    subs = {k: list(v) for k, v in SUBTOTALS.get(table, {}).items() if k in cats}
    return {"totaal": [c for c in cats if c != "totaal" and c not in subs], **subs}


def build(cells: pd.DataFrame, buurten: pd.DataFrame, person_tables: AbstractSet[str] = frozenset(),
          categories: dict[str, dict[str, list[str]]] | None = None) -> list[Relation]:
    """All relations among `cells` (index = cell id). `buurten` maps buurt -> wijk -> gemeente.
    `categories` gives, per table, a hierarchy parent -> children; by default every table is
    flat (`totaal` = the sum of its other categories), but for the subtotals in SUBTOTALS."""
    categories = categories or {}
    # plain lists: iterating pandas' Arrow-backed strings value by value, or grouping by them, costs ten times as much
    keys = list(zip(*(cells[c].tolist() for c in ("table", "period", "level", "area_code", "category"))))
    idx = dict(zip(keys, cells.index.tolist()))
    rels: list[Relation] = []

    def add(parent: CellKey, children: list[CellKey], kind: str) -> None:
        if parent in idx and children and all(ch in idx for ch in children):
            rels.append(Relation((idx[parent],) + tuple(idx[ch] for ch in children),
                                 (1.0,) + (-1.0,) * len(children), "=", kind))

    # within a table and area: categories sum to their parent (flat: to totaal)
    areas: dict[tuple[str, str, str, str], list[str]] = {}  # in order of first appearance, as groupby(sort=False)
    for key in keys:
        areas.setdefault(key[:4], []).append(key[4])
    for (t, p, lv, a), cats in areas.items():
        tree = categories.get(t) or _default_tree(t, cats)
        for parent, children in tree.items():
            if children:
                add((t, p, lv, a, parent), [(t, p, lv, a, c) for c in children], "categories")

    # hierarchy
    buurten_of = buurten.groupby("wijkcode").buurtcode.apply(sorted).to_dict()
    wijken_of = buurten.drop_duplicates("wijkcode").groupby("gemeentecode").wijkcode.apply(sorted).to_dict()
    for t, p, c in dict.fromkeys((t, p, c) for t, p, _, _, c in keys):
        for w, bs in buurten_of.items():
            add((t, p, "wijk", w, c), [(t, p, "buurt", b, c) for b in bs], "wijk=sum(buurten)")
        for g, ws in wijken_of.items():
            add((t, p, "gemeente", g, c), [(t, p, "wijk", w, c) for w in ws], "gemeente=sum(wijken)")

    # stapeling <-> combinaties
    stap = cells[cells.table == "stapeling"]
    by_size = combinations_by_size(cells.category[cells.table == "combinaties"])
    for p, lv, a in stap[["period", "level", "area_code"]].drop_duplicates().itertuples(index=False):
        for cat, combos in by_size.items():
            add(("stapeling", p, lv, a, cat), [("combinaties", p, lv, a, c) for c in combos], "stapeling=combinaties")
        add(("combinaties", p, lv, a, "totaal"), [("stapeling", p, lv, a, c) for c in ("1", "2", "3+")],
            "combinaties totaal=stapeling 1+2+3+")

    # a household selection is a subset of all households
    sel = cells[cells.table.str.startswith("selectie:") & ~cells.table.isin(person_tables)]
    for i, p, lv, a in zip(sel.index.tolist(), sel.period.tolist(), sel.level.tolist(), sel.area_code.tolist()):
        total = idx.get(("stapeling", p, lv, a, "totaal"))
        if total is not None:
            rels.append(Relation((i, total), (1.0, -1.0), "<=", "selectie<=huishoudens"))
    return rels


def relation_matrix(cells: pd.DataFrame, rels: list[Relation]) -> tuple[csr_matrix, np.ndarray, np.ndarray]:
    """(A: relations x cell positions, `<=` flag per relation, slack per relation on the true values)."""
    pos = pd.Series(np.arange(len(cells)), index=cells.index)
    lens = np.fromiter((len(r.cells) for r in rels), dtype=np.int64, count=len(rels))
    flat_cells = np.fromiter((c for r in rels for c in r.cells), dtype=np.int64, count=int(lens.sum()))
    flat_coefs = np.fromiter((a for r in rels for a in r.coefs), dtype=float, count=int(lens.sum()))
    rows = np.repeat(np.arange(len(rels)), lens)
    A = csr_matrix((flat_coefs, (rows, pos.loc[flat_cells].to_numpy())), shape=(len(rels), len(cells)))
    le = np.array([r.sense == "<=" for r in rels], dtype=bool)
    slack = np.where(le, -(A @ cells.value.to_numpy(dtype=float)), 0.0)
    return A, le, np.maximum(slack, 0.0)


def linked_components(A: csr_matrix) -> tuple[int, np.ndarray]:
    """(number, label per column): columns that share a row of A, directly or through others,
    get the same label."""
    counts = np.diff(A.indptr)
    rows = np.flatnonzero(counts > 0)
    first = A.indices[A.indptr[rows]]
    n = A.shape[1]
    graph = coo_matrix((np.ones(A.nnz), (np.repeat(first, counts[rows]), A.indices)), shape=(n, n))
    return cast("tuple[int, np.ndarray]", connected_components(graph, directed=False))


@dataclass(frozen=True)
class Components:
    """The linked components of A's columns (linked_components), grouped once: component k
    has the columns cols(k) and the rows rows(k), both in index order; `local` is each
    column's position within its component."""

    count: int
    label: np.ndarray
    local: np.ndarray
    _cols: np.ndarray
    _col_starts: np.ndarray
    _rows: np.ndarray
    _row_starts: np.ndarray

    def cols(self, k: int) -> np.ndarray:
        return self._cols[self._col_starts[k]:self._col_starts[k + 1]]

    def rows(self, k: int) -> np.ndarray:
        return self._rows[self._row_starts[k]:self._row_starts[k + 1]]


def components(A: csr_matrix) -> Components:
    count, label = linked_components(A)
    used = np.flatnonzero(np.diff(A.indptr) > 0)
    row_label = label[A.indices[A.indptr[used]]]  # a row's component: that of its first column
    cols = np.argsort(label, kind="stable")
    col_starts = np.searchsorted(label[cols], np.arange(count + 1))
    rows = used[np.argsort(row_label, kind="stable")]
    row_starts = np.searchsorted(np.sort(row_label, kind="stable"), np.arange(count + 1))
    local = np.empty(len(label), dtype=np.int64)
    local[cols] = np.arange(len(label)) - col_starts[label[cols]]
    return Components(count, label, local, cols, col_starts, rows, row_starts)


def check(cells: pd.DataFrame, rels: list[Relation]) -> list[Relation]:
    """Relations the unprotected values violate ([] for a consistent release)."""
    if not rels:
        return []
    A, le, _ = relation_matrix(cells, rels)
    s = A @ cells.value.to_numpy(dtype=float)
    bad = np.where(le, s > 1e-9, np.abs(s) > 1e-9)
    return [rels[k] for k in np.flatnonzero(bad)]


__all__ = ["Relation", "build", "combinations_by_size", "check", "relation_matrix", "linked_components", "components", "Components"]
