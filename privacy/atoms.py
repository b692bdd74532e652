"""Atoms: what every published cell is made of, so that the audit knows every relation.

An attacker who reads the public definitions (the register, `wijksignaal explain`)
knows more than "categories sum to totaal": a selection "households with a lopende
uitkering" is exactly the sum of the four `combinaties` cells that contain
`uitkering`; "all uitkeringen" contains "all but Bbz"; a selection of households with
children and arrears lies inside `combinaties` cells with `achterstand`. No list of
rules per pair of selections can be complete. So the relations come from the data's
own structure instead:

* **Household atoms.** Within each buurt, the households are split by every predicate
  a published cell applies: the combination of problem domains and membership of
  every household selection (this release's, and those of earlier releases of the
  same period). Each non-empty part is an atom. Every published household cell is,
  by construction, the sum of the atoms of its area that satisfy its predicate
  (tabulation computes the cells from the atoms, so this cannot drift).
* **Person atoms.** Person-unit selections split the persons of each *person group* by
  membership of every person selection. The persons of a group number at least its
  households (each household has a member) and at most M times them (M: the largest
  household of the run). That is how person cells are linked to household cells; an
  empty person atom tells, as for households, that a person selection lies inside
  certain domain combinations. A person group is a household atom, except in a release
  with the vroegsignalering monitor: there it is the households that share everything
  but the facts a wijkteam registered (the monitor's outcome flags, REGISTERED in
  pipelines/monitor/indicators.py), so several household atoms (see "Persons" below).
* **The attacker knows which atoms are empty** (the conservative assumption: a
  definition can make a part empty by logic, and we do not try to tell logic from
  chance): an empty atom is a fixed 0, not a variable, and every non-empty atom is
  at least 1 (`ATOM_FLOOR`).

**Floors.** Fixing the absent atoms at 0 and bounding the others below by 1 only *narrows* the
tables the audit allows: every table it allows is one the real attacker must allow too, whatever
the floor between 0 and 1, so a cell the audit can lift to its threshold the attacker cannot
prove small. A floor of 1 is the more pessimistic choice and the default (releases made with
it are reproduced byte for byte): it also covers an attacker who knows which atoms are
non-empty. A floor of 0 (`MONITOR_FLOOR`) is sound for DESIGN.md's attacker (every published
number and definition) and gives that extra assumption up. A release with the
vroegsignalering monitor (pipelines/monitor/indicators.py) uses 0 for every atom: split by the
monitor's forty-odd predicates, the atoms of households with a case are near-singletons, and
floors of 1 on them and their siblings would add up to the true counts and pin small cells (a
small atom's sibling of floor 1 takes one from the most it can reach).

**Persons.** Why a person group may hold several household atoms, and why that is exact.
Splitting persons by the registered facts too would make them near-singletons whose
empty parts (a household of one 75-plusser has no person outside a 75-plus selection)
the audit would take as known, bounding a household part by persons it need not hold
(an assumption about the attacker, not a fact of the definitions). But an attacker
can know an atom is empty only from the data (the LP derives all that the published
numbers give) or from the definitions, and no definition names a registered fact: a
selection sees the BRP, the sources' rows and the household's attributes, and a
wijkteam may register any outcome for any case. So whether the persons of the
households with given registered facts include one outside a selection follows from
the definitions only as it does for their whole group. Projected onto the household
atoms and the group's person atoms, the finer model (every household part H with
H <= its persons <= M H, its person parts known empty exactly where the group's are)
gives exactly the group relations below: any split of the group's persons over its
parts with each part between H and M H is one such table. The signals' facts (a case,
nieuw, meervoudig, opeenvolgend, crisis, partner types, op een signaallijst) do split
persons: a person selection on vroegsignalen can name them.

**Members per household.** "Persons >= households" is not all a reader can write down. A
household selection can count members ("households with two 75-plussers": `count: {op: ">=",
value: 2}` on the BRP; "eenpersoonshuishoudens": `huishouden.aantal_personen = 1`), and a person
selection can count the same members ("75-plussers"): then the 75-plussers of those households
number at least twice (at most once) their households. Such a relation ties the members of one
union of the person group's person-selection patterns (a pattern: which person selections a
member is in; a union: a boolean combination of person selections) to the group's households.
As with empty atoms, we do not try to tell what a definition implies from what the data happens
to show: for every person group and every union of its patterns present, the attacker is taken
to know the fewest and the most members in that union of any one of the group's households
(tabulate.person_bounds; kept where the other bounds do not give it already). Without them, a
release with those two selections (the tests' quarter of Hengelo) was protected as safe, while an
attacker who knew only the first definition's "at least 2" proved 3 of its small groups below the
threshold (a wijk cell of 4 at most 8, two atoms of 2 at most 7), and one who knew every bound
the data gives, 10 (tests/privacy/test_atoms.py). With the monitor the bounds are per person group, as the persons
are ("Persons" above): no definition can tell its parts apart.

**Parts.** Cells published by other months (the vroegsignalering monitor of earlier months:
pipelines/monitor/indicators.py, "Across months") count households by what happened to them in
those months, which this release's definitions do not name. To relate them exactly, the atoms
are split further by those months' predicates: each such atom is a *part* of a *group* (the
households that share all of this release's predicates). Every cell of this release and of the
other months is a sum of parts, so every relation between them holds. What is protected is every
small group, as every small atom without parts: a group is what this release's definitions let a
reader name. A part is not protected on its own: it crosses this release's groups with another
month's, a set that no definition names and neither month's audit protects. The other months'
published cells are known exactly (as what they count over this month's households); what those
months suppressed is not taken as known (`parts`, `group_cells`, `group_relations` below).

**Parts: possible, not empty.** Which parts are empty is taken from the data, as for atoms. That
is pessimistic, and for parts it refused monitors that no reader could attack: in a run of monitors
from August (Hengelo), every bound that refused September's rested on one August cell of exactly 10
and on two small groups of September that the data put wholly inside it; nothing in the definitions
does. With the DPIA's `disclosure.earlier_months_parts: possible_elsewhere` (default:
`empty_as_in_the_data`, as before), and where no definition names a place (pipelines/protect.py,
`names_no_place`: the catalogue and the domains are the shipped ones; the triage has no condition on a
place, and every buurt has a wijkteam), a combination of facts that one household of the gemeente has is
one the definitions allow in every buurt. So a group's part without one earlier month's flags (the
other months' as they are), or without any, that the data leave empty here but a household elsewhere
in the gemeente has, is added as a part of 0 (`possible`: which atoms they are; pipelines/tabulate,
`possible_parts`). Such a household has no person in a person selection (its person group's persons
are not modelled), and so has the added part, unless its person group is one whose persons are
modelled, which it then shares. Adding a part the definitions allow only widens the tables the audit
allows towards those a reader must allow, never beyond them. It gives up what the default grants the
attacker beyond DESIGN.md's reader, that every empty part is known to be empty, as the monitor's floor
of 0 gives up that every other part is known to be non-empty ("Floors"): a choice for the privacy
officer, which audit.json states.

Whatever a reader of the definitions can write down as a linear relation between
cells of this release holds on the atoms, so an audit over atoms is sound for any
selection the language can express, with no rule per pair of selections.

The atoms enter the audit and the secondary suppression as cells that are never
published (table `ATOM_TABLE`): unknown variables, hidden by construction, never
candidates for suppression, never written to a release.

Relations (each as relations.Relation):
  * a cell at the lowest level its table publishes = the sum of the atoms of its area
    in its predicate (`atom`);
  * a cell at a higher level = the sum of its table's cells one level down
    (`wijk=sum(buurten)`, `gemeente=sum(wijken)`), which the atoms imply;
  * persons of a person group - M * its households <= 0 and its households - its persons <= 0
    (`personen~huishoudens`);
  * per person group and union of person-selection patterns, low * its households - the union's
    persons <= 0 and the union's persons - high * its households <= 0 (`leden per huishouden`,
    "Members per household");
  * a group of parts = the sum of its parts (`groep=som(delen)`, "Parts").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, cast

import numpy as np
import pandas as pd

from .relations import Relation

ATOM_TABLE = "(atom)"
# audit.json's words for person groups of several household atoms ("Persons" above)
PERSONS_SHARED = ("the household parts that differ only by the outcomes a wijkteam registered counted together (no "
                  "definition names an outcome: privacy/atoms.py, Persons)")
# audit.json's words for the bounds on the members per household ("Members per household" above)
MEMBER_BOUNDS = ("per person group and combination of person selections, the fewest and the most such members any "
                 "one of its households has (a definition can count members: privacy/atoms.py, Members per household)")
ATOM_FLOOR = 1.0  # the attacker knows which atoms are empty: a non-empty atom holds at least one unit
MONITOR_FLOOR = 0.0  # every atom of a release with the monitor: at least 0 ("Floors" above)
LEVELS = ("buurt", "wijk", "gemeente")


@dataclass
class Atoms:
    """The atoms of one release.

    frame: one row per atom, columns `buurtcode`, `unit` ("huishouden" or "persoon"),
    `group` (its person group, named by the row position of the group's first household
    atom; -1 for a household atom whose persons are not modelled),
    `value` (units in the atom), `floor` (the least the attacker allows it) and, with
    the cell-key method, `rk` (sum of record keys).
    members: (table, category) -> bool per atom row: the atoms a cell of that table
    and category sums (within its area).
    max_household_size: M above.
    person_bounds: "Members per household" above, one row per bound: `group`, `atoms` (the
    positions of the group's person atoms in the union), `low` and `high` (members of that
    union per household: at least low, 0 for no bound; at most high, -1 for no bound).
    parts: per atom, the group of this release's definitions it is a part of ("Parts" above;
    0, 1, ... for the parts of a group of two or more, -1 for an atom that is its own group);
    None: no atom has parts."""

    frame: pd.DataFrame
    members: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    max_household_size: int = 1
    person_bounds: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["group", "atoms", "low", "high"]))
    parts: np.ndarray | None = None
    possible: np.ndarray | None = None  # per atom: a part of 0 added as possible ("Parts: possible, not empty")

    @cached_property
    def tables(self) -> frozenset[str]:
        """The tables whose cells are sums of these atoms (members is not changed after construction)."""
        return frozenset(t for t, _ in self.members)

    def with_extra(self, frame: pd.DataFrame, members: dict[tuple[str, str], np.ndarray]) -> Atoms:
        """These atoms plus extra ones (appended in order); `members` gives the extra atoms'
        memberships, absent keys meaning none."""
        n_old, n_new = len(self.frame), len(frame)
        keys = set(self.members) | set(members)
        merged = {k: np.concatenate([self.members.get(k, np.zeros(n_old, dtype=bool)),
                                     members.get(k, np.zeros(n_new, dtype=bool))]) for k in keys}
        parts = None if self.parts is None else np.concatenate([self.parts, np.full(n_new, -1, dtype=np.int64)])
        possible = None if self.possible is None else np.concatenate([self.possible, np.zeros(n_new, dtype=bool)])
        return Atoms(pd.concat([self.frame, frame], ignore_index=True), merged, self.max_household_size,
                     self.person_bounds, parts, possible)


def thresholds_of(atoms: Atoms, thresholds: dict[str, int]) -> np.ndarray:
    """Per atom, the threshold its group must be protected by: the largest threshold of the
    tables that count it (for tables of earlier definitions, `selectie:<id>@<version>`, the
    threshold of `selectie:<id>` if this release has it, else the largest of this release)."""
    top = max(thresholds.values())
    out = np.zeros(len(atoms.frame))
    for (table, _), mask in atoms.members.items():
        t = thresholds.get(table, thresholds.get(table.split("@")[0], top))
        out = np.where(mask, np.maximum(out, t), out)
    return np.where(out > 0, out, top)


def atom_cells(atoms: Atoms, period: str, start: int, thresholds: dict[str, int]) -> pd.DataFrame:
    """The atoms as rows of a cells frame (index from `start`): hidden, never published.

    Every atom is a group a reader can name (its predicates are public), and every group
    the release lets a reader derive (a cell, a difference of two nested selections, ...)
    is a union of atoms. So a small non-empty atom (1 <= value < its threshold) is an unsafe
    cell of its own: protection gives it a witness in which it reaches the threshold, and
    the audit proves that. A union containing it then can reach the threshold too (every
    atom is >= 0), so no group of the release is provably small. A part of a group ("Parts")
    has no target of its own: its group has (group_cells)."""
    f = atoms.frame
    v = f.value.to_numpy(dtype=np.int64)
    thr = thresholds_of(atoms, thresholds)
    target = np.where((v > 0) & (v < thr), thr, np.nan)
    if atoms.parts is not None:
        target[atoms.parts >= 0] = np.nan
    out = pd.DataFrame({
        "table": ATOM_TABLE, "period": period, "level": "buurt", "area_code": f.buurtcode.to_numpy(),
        "area_name": "", "category": f.unit.to_numpy(), "value": v,
        "status": "suppressed", "target": target, "floor": f.floor.to_numpy(dtype=float),
    }, index=pd.RangeIndex(start, start + len(f)))
    return out


def group_cells(atoms: Atoms, period: str, start: int, thresholds: dict[str, int]) -> pd.DataFrame:
    """The groups of two or more parts ("Parts") as hidden cells (index from `start`, group 0
    first): each a sum of its parts, with the target its parts would have as one atom; its floor
    the largest of its parts' (a floor of 1 says the group is not empty)."""
    if atoms.parts is None or not (atoms.parts >= 0).any():
        return pd.DataFrame(columns=["table", "period", "level", "area_code", "area_name", "category", "value",
                                     "status", "target", "floor"])
    f = atoms.frame
    has = atoms.parts >= 0
    thr = thresholds_of(atoms, thresholds)
    g = pd.DataFrame({"group": atoms.parts[has], "buurtcode": f.buurtcode.to_numpy()[has],
                      "unit": f.unit.to_numpy()[has], "value": f.value.to_numpy(dtype=np.int64)[has],
                      "floor": f.floor.to_numpy(dtype=float)[has], "thr": thr[has]})
    by = g.groupby("group", sort=True).agg(buurtcode=("buurtcode", "first"), unit=("unit", "first"),
                                           value=("value", "sum"), floor=("floor", "max"), thr=("thr", "max"))
    v = by.value.to_numpy(dtype=np.int64)
    return pd.DataFrame({
        "table": ATOM_TABLE, "period": period, "level": "buurt", "area_code": by.buurtcode.to_numpy(),
        "area_name": "", "category": by.unit.to_numpy(), "value": v, "status": "suppressed",
        "target": np.where((v > 0) & (v < by.thr.to_numpy()), by.thr.to_numpy(), np.nan),
        "floor": by.floor.to_numpy(dtype=float),
    }, index=pd.RangeIndex(start, start + len(by)))


def group_relations(atom_ids: np.ndarray, group_ids: np.ndarray, atoms: Atoms) -> list[Relation]:
    """A group = the sum of its parts (`groep=som(delen)`); `group_ids`: the cell ids of
    group_cells, in group order."""
    if atoms.parts is None or not len(group_ids):
        return []
    has = np.flatnonzero(atoms.parts >= 0)
    rels = []
    for g, members in pd.Series(atom_ids[has]).groupby(atoms.parts[has], sort=True):
        parts = tuple(int(a) for a in members)
        rels.append(Relation((int(group_ids[g]),) + parts, (1.0,) + (-1.0,) * len(parts), "=", "groep=som(delen)"))
    return rels


def _children(geo: pd.DataFrame, below: str, above: str) -> dict[str, list[str]]:
    """area code at level `above` -> its area codes at level `below`."""
    col = {"buurt": "buurtcode", "wijk": "wijkcode", "gemeente": "gemeentecode"}
    g = geo.reset_index()[[col[below], col[above]]].drop_duplicates()
    children: dict[str, list[str]] = g.groupby(col[above])[col[below]].apply(sorted).to_dict()
    return children


def _areas(atoms: Atoms, geo: pd.DataFrame) -> dict[str, np.ndarray]:
    """level -> the area code of every atom at that level (`geo`: the buurten indexed by buurtcode)."""
    abuurt = atoms.frame.buurtcode.to_numpy()
    return {"buurt": abuurt, "wijk": geo.wijkcode.reindex(abuurt).to_numpy(),
            "gemeente": geo.gemeentecode.reindex(abuurt).to_numpy()}


def _lists(keys: np.ndarray, values: np.ndarray) -> dict[Any, list[int]]:
    """key -> the values with that key, in their order; keys sorted, a missing key (NaN) left out:
    pandas' groupby(keys).apply(list), without a Python call per group."""
    codes, uniques = pd.factorize(keys, sort=True)
    keep = codes >= 0
    codes = codes[keep]
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    vals = np.asarray(values)[keep][order].tolist()
    return {u: vals[bounds[k]:bounds[k + 1]] for k, u in enumerate(uniques.tolist())}


def relations(cells: pd.DataFrame, atom_ids: np.ndarray, atoms: Atoms, buurten: pd.DataFrame) -> list[Relation]:
    """Every relation of the covered tables of `cells` over the atoms (whose cell ids in
    `cells` are `atom_ids`, in the order of atoms.frame); see the module docstring."""
    rels: list[Relation] = []
    geo = buurten.set_index("buurtcode")
    area_of = _areas(atoms, geo)
    children: dict[tuple[str, str], dict[str, list[str]]] = {}
    covered = cells[cells.table.isin(atoms.tables)]
    for (table, _, category), g in covered.groupby(["table", "period", "category"], sort=True):
        mask = atoms.members.get((table, category))
        if mask is None:
            continue
        level_of, area_code, cell_id = g.level.tolist(), g.area_code.tolist(), g.index.tolist()
        levels = [lv for lv in LEVELS if lv in level_of]
        ids: dict[str, dict[str, int]] = {lv: {} for lv in levels}
        for lv, area, cid in zip(level_of, area_code, cell_id):
            ids[lv][area] = cid
        in_pred = np.flatnonzero(mask)
        for k, level in enumerate(levels):
            if k and (levels[k - 1], level) not in children:
                children[levels[k - 1], level] = _children(geo, levels[k - 1], level)
            kids = children[levels[k - 1], level] if k else {}
            by_area = None
            for area, cid in sorted(ids[level].items()):
                below = [ids[levels[k - 1]].get(c) for c in kids.get(area, [])] if k else [None]
                parts: list[int]
                if k and all(p is not None for p in below):  # the sum of its table's cells one level down
                    parts = cast("list[int]", below)
                    kind = "wijk=sum(buurten)" if level == "wijk" else "gemeente=sum(wijken)"
                else:  # the lowest level, or children missing (cells of earlier releases): a sum of atoms
                    if by_area is None:
                        by_area = _lists(area_of[level][in_pred], atom_ids[in_pred])
                    parts, kind = by_area.get(area, []), "atom"
                rels.append(Relation((cid,) + tuple(parts), (1.0,) + (-1.0,) * len(parts), "=", kind))
    # persons <-> households, per person group
    f = atoms.frame
    person = (f.unit == "persoon").to_numpy()
    if person.any():
        m = float(atoms.max_household_size)
        group = f.group.to_numpy()
        households = _lists(group[~person & (group >= 0)], atom_ids[~person & (group >= 0)])
        for g, members in _lists(group[person], atom_ids[person]).items():
            pids, hids = tuple(members), tuple(households[g])
            rels.append(Relation(pids + hids, (1.0,) * len(pids) + (-m,) * len(hids), "<=", "personen~huishoudens"))
            rels.append(Relation(hids + pids, (1.0,) * len(hids) + (-1.0,) * len(pids), "<=", "personen~huishoudens"))
        # members per household of a union of the group's person-selection patterns ("Members per household")
        for g, union, low, high in atoms.person_bounds.itertuples(index=False):
            pids, hids = tuple(int(atom_ids[a]) for a in union), tuple(households[g])
            if low > 0:
                rels.append(Relation(hids + pids, (float(low),) * len(hids) + (-1.0,) * len(pids), "<=",
                                     "leden per huishouden"))
            if high >= 0:
                rels.append(Relation(pids + hids, (1.0,) * len(pids) + (-float(high),) * len(hids), "<=",
                                     "leden per huishouden"))
    return rels


def showable(cells: pd.DataFrame, atoms: Atoms, buurten: pd.DataFrame, which: np.ndarray, high: np.ndarray,
             atom_target: np.ndarray) -> np.ndarray:
    """For the cells flagged in `which` (cells of tables these atoms make up): whether showing the
    cell can leave every small atom inside it protected at all. The attacker knows that each
    atom of the cell is at least its floor, so an atom inside a cell published as at most
    `high` can hold at most high - (the floors of the cell's other atoms): where that stays below
    the atom's target (`atom_target`, per atom, NaN where it is not small), no pattern can show
    the cell. Hiding every other cell of its area is the most any pattern can do, so this is
    exact as a bound: a cell found False here cannot be published safely; one found True
    may still need other cells hidden (the protection finds out which).

    Returns a bool per row of `cells` (False where not in `which`)."""
    out = np.zeros(len(cells), dtype=bool)
    if not which.any():
        return out
    area_of = _areas(atoms, buurten.set_index("buurtcode"))
    floor = atoms.frame.floor.to_numpy(dtype=float)
    worst = np.nan_to_num(atom_target - floor, nan=-np.inf)  # how far above the others' floors the cell must reach
    for (table, category, level), g in cells[which].groupby(["table", "category", "level"], sort=True):
        mask = atoms.members.get((table, category))
        if mask is None or level not in area_of:
            continue
        frame = pd.DataFrame({"area": area_of[level][mask], "floor": floor[mask], "worst": worst[mask]})
        by = frame.groupby("area", sort=False).agg(floor=("floor", "sum"), worst=("worst", "max"))
        rows = cells.index.get_indexer(g.index)
        s = by.reindex(g.area_code.to_numpy())
        out[rows] = high[rows] - s.floor.fillna(0).to_numpy() >= s.worst.fillna(-np.inf).to_numpy()
    return out


__all__ = ["ATOM_TABLE", "ATOM_FLOOR", "MEMBER_BOUNDS", "PERSONS_SHARED", "MONITOR_FLOOR", "Atoms", "atom_cells",
           "group_cells", "group_relations", "thresholds_of", "relations", "showable"]
