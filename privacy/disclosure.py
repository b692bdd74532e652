"""Disclosure control of a release: which cells may be published.

1. Primary rule: a count of 1 up to (threshold - 1) is unsafe and is suppressed. The
   threshold is the largest of the DPIA's global minimum, the purpose's minimum and the
   selection's own. Zeros are published (`zeros: publish`): a zero reveals no household,
   and it lets the attacker (and the audit) know that every suppressed cell is >= 1.
   Group disclosure (`group_disclosure: protect`, group.py): where every household of an
   area has a problem domain, the zero that says so is suppressed and protected too.
2. Secondary suppression (secondary.py) over all tables of the release at once, until
3. the LP audit (audit.py) proves that for every suppressed unsafe cell the largest
   value an attacker can derive from everything published reaches the threshold.
   If that cannot be proven, the release is refused (ProtectionFailed): nothing is
   published.

4. Earlier releases of the same gemeente (earlier.py) are part of the attacker's
   knowledge: cells they published with the same value count as published. The
   pattern found without them is audited with them; if that audit fails, or a
   secondary suppression is public already, protection runs again with those cells
   locked (never suppressed); the first search is ended as soon as that is certain
   (`_secondary`). A small cell published earlier cannot be hidden again: protection
   refuses. Where protection fails, the audit of what the earlier releases alone
   publish tells whether they pinned a small cell already (PinnedByEarlier).

Which suppressed cells are primary and which secondary is never published: it would
tell an attacker which cells are small.
5. Rounding (rounding.py) or the cell-key method (cellkey.py), DPIA options per purpose:
   published counts are rounded or get consistent noise; the protection and the audit
   use the interval each published count stands for.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Any

import numpy as np
import pandas as pd

from . import cellkey, rounding
from .atoms import ATOM_TABLE, MEMBER_BOUNDS, PERSONS_SHARED, Atoms, atom_cells, group_cells, group_relations, showable
from .atoms import relations as atom_relations
from .audit import audit, bound_rests_on
from .earlier import match
from .group import group_zeros, phantom_atoms
from .relations import Relation, build, check
from .secondary import ProtectionFailed, WouldHide, secondary_suppression


def _with_atoms(primary: pd.DataFrame, atoms: Atoms, known_elsewhere: pd.DataFrame | None, group: bool,
                thresholds: dict[str, int]) -> tuple[pd.DataFrame, np.ndarray, Atoms, np.ndarray]:
    """`primary` followed by the cells earlier releases published elsewhere (published, never
    written), the atoms and the groups of parts (atoms.py, "Parts"; hidden, never written);
    (cells, atom cell ids, atoms with the group rule's possible households, group cell ids)."""
    frames = [primary]
    n = len(primary)
    if known_elsewhere is not None and len(known_elsewhere):
        frames.append(known_elsewhere[[c for c in known_elsewhere.columns if c in primary.columns]].assign(
            status="published", target=np.nan, floor=1.0).set_axis(pd.RangeIndex(n, n + len(known_elsewhere))))
        n += len(known_elsewhere)
    if group:
        frame, members = phantom_atoms(primary, group_zeros(primary)[0])
        atoms = atoms.with_extra(frame, members)
    period = str(primary.period.iloc[0])
    frames.append(atom_cells(atoms, period, n, thresholds))
    n += len(atoms.frame)
    groups = group_cells(atoms, period, n, thresholds)
    frames.append(groups)
    out = pd.concat([f for f in frames if len(f)])
    if "low" in out.columns:
        out["low"] = out["low"].fillna(out.value)
        out["high"] = out["high"].fillna(out.value)
    if "rk" in out.columns:
        out["rk"] = out["rk"].fillna(0)
    return out, np.arange(n - len(atoms.frame), n), atoms, groups.index.to_numpy()


def primary_suppression(cells: pd.DataFrame, thresholds: dict[str, int], group: bool = False,
                        zeros_hidden: AbstractSet[tuple[str, str]] = frozenset()) -> pd.DataFrame:
    """Add `status`: 'suppressed' for 0 < value < threshold of the cell's table, else 'published';
    and the protection each suppressed cell needs (columns `target` and `floor`, see
    audit.protection_targets). group=True applies the group-disclosure rule (group.py).
    `zeros_hidden`: (table, level) whose zeros are suppressed too: there a suppressed cell may be 0
    (floor 0), so hiding a cell does not tell that its group has a household."""
    t = cells.table.map(thresholds)
    if t.isna().any():
        missing = sorted(cells.table[t.isna()].unique())
        raise ValueError(f"no threshold for table(s): {', '.join(missing)}")
    unsafe = (cells.value > 0) & (cells.value < t)
    out = cells.copy()
    out["status"] = unsafe.map({True: "suppressed", False: "published"})
    out["target"] = t.where(unsafe).astype(float)
    out["floor"] = 1.0
    if zeros_hidden:
        where = pd.Series([k in zeros_hidden for k in zip(out.table, out.level)], index=out.index)
        out.loc[where & (out.value == 0), "status"] = "suppressed"
        out.loc[where, "floor"] = 0.0
    if group:
        zeros, may_hide_zero = group_zeros(out)
        out.loc[zeros, "status"] = "suppressed"
        out.loc[zeros, "target"] = 1.0
        out.loc[may_hide_zero, "floor"] = 0.0
    return out


class PinnedByEarlier(ProtectionFailed):
    """Earlier releases of the period already prove small cells below the threshold beside this
    release's atoms; `areas`: the area codes of those cells (buurten, for atoms)."""

    def __init__(self, message: str, areas: list[str]) -> None:
        super().__init__(message)
        self.areas = areas

    def __reduce__(self) -> tuple[type, tuple[str, list[str]]]:  # a Prefect state may carry it (pickled)
        return PinnedByEarlier, (str(self), self.areas)


def _secondary(primary: pd.DataFrame, rels: list[Relation], thresholds: dict[str, int], method: str,
               steps: tuple[int, int] | None, known: pd.Series) -> tuple[pd.DataFrame, Any, dict[str, Any], bool]:
    """Secondary suppression beside what earlier releases published (`known`, module docstring 4):
    (protected cells, audit, statistics, whether it ran again with the known cells locked).

    The pattern found without them is kept only if it hides none of them and its audit with them
    published passes; else protection runs again with them locked. Where that second run is certain
    the first is not finished: a known cell this release hides from the start (a zero it
    suppresses), or a first pattern that hides a known cell for good (`stop_on`: the search ends
    there). The outcome is the one the two full runs give; only their cost is spared."""
    if not known.any():
        protected, result, stats = secondary_suppression(primary, rels, thresholds, method, steps)
        return protected, result, stats, False
    rerun = bool((known & (primary.status == "suppressed")).any())
    if not rerun:
        try:
            protected, result, stats = secondary_suppression(primary, rels, thresholds, method, steps,
                                                             stop_on=known.to_numpy())
        except WouldHide:
            rerun = True
    if not rerun:
        rerun = bool((known & (protected.status == "suppressed")).any())
    if not rerun:
        view = protected.copy()
        view.loc[known, "status"] = "published"  # what the attacker holds: this release plus the earlier ones
        result = audit(view, rels, thresholds, witnesses=stats["witnesses"])
        rerun = bool(result.failing)
    if rerun:
        # with the known cells locked, a small cell without a witness fails the release: the search ends there,
        # and _pinned_by_earlier tells whether the earlier releases pinned it
        protected, result, stats = secondary_suppression(primary.assign(locked=known), rels, thresholds, method,
                                                         steps, fail_fast=True)
        protected = protected.drop(columns=["locked"])
    return protected, result, stats, rerun


def _pinned_by_earlier(primary: pd.DataFrame, known: pd.Series, rels: list[Relation], thresholds: dict[str, int],
                       exc: ProtectionFailed) -> None:
    """Raise PinnedByEarlier (from `exc`) if what earlier releases alone let an attacker prove already
    pins a small cell below the threshold: no pattern of this release can undo that. Asked only once
    protection failed: a release whose audit passes has no such cell (its audit holds the known cells
    as published)."""
    view = known_before(primary, known)
    pinned = audit(view, rels, thresholds, both=False).failing
    if pinned:
        first = min(b.cell for b in pinned)
        raise PinnedByEarlier(
            f"{len(pinned)} small cell(s) are already shown to be below the threshold by what earlier releases "
            f"of this gemeente published (first: {_name(primary, first)}{_through(view, known, rels, thresholds, first)}); "
            "no release of this period can protect them. Keep the earlier release as this period's "
            "publication, and change the rule from the next period on",
            sorted(set(primary.area_code[[b.cell for b in pinned]]))) from exc


def _name(cells: pd.DataFrame, cell: int) -> str:
    c = cells.loc[cell]
    return f"{c.table} {c.level} {c.area_code} {c.category}"


def _through(view: pd.DataFrame, known: pd.Series, rels: list[Relation], thresholds: dict[str, int], cell: int,
             shown: int = 3) -> str:
    """Which cells of earlier releases the bound on `cell` rests on (audit.bound_rests_on), for the message: the
    privacy officer can follow the bound from them. Empty where it rests on none (this release's zeros only)."""
    earlier = [c for c in bound_rests_on(view, rels, thresholds, cell) if known.loc[c]]
    if not earlier:
        return ""
    more = f" and {len(earlier) - shown} more" if len(earlier) > shown else ""
    return ", bounded through their " + ", ".join(_name(view, c) for c in earlier[:shown]) + more


def known_before(primary: pd.DataFrame, known: pd.Series) -> pd.DataFrame:
    """The cells as an attacker has them before any pattern of this release: published where an earlier
    release published them (`known`) and where this release publishes them whatever its pattern (its
    zeros, except those it hides: zeros_hidden, group zeros); every other cell and atom suppressed."""
    atom = (primary.table == ATOM_TABLE).to_numpy()
    zero_shown = ((primary.value == 0) & (primary.status == "published")).to_numpy()
    return primary.assign(status=np.where((known.to_numpy() | zero_shown) & ~atom, "published", "suppressed"))


def protect(cells: pd.DataFrame, buurten: pd.DataFrame, thresholds: dict[str, int],
            person_tables: AbstractSet[str] = frozenset(), earlier: pd.DataFrame | None = None,
            bases: dict[str, int] | None = None, cell_key: dict[str, tuple[int, float]] | None = None,
            group: bool = False, atoms: Atoms | None = None, known_elsewhere: pd.DataFrame | None = None,
            priority: dict[tuple[str, str, str], float] | None = None,
            zeros_hidden: AbstractSet[tuple[str, str]] = frozenset()) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Primary and secondary suppression with the audit; (protected cells, summary for audit.json).
    `earlier`: the cells earlier releases published (earlier.published_before); `bases`: per
    table, the base its published counts are rounded to (rounding.py); `cell_key`: per
    table, the cell-key method's (D, V) (cellkey.py; needs the column `rk`); `group`: the
    DPIA's group-disclosure rule (group.py); `atoms` (atoms.py): what every cell is made of,
    so that the relations are every relation a reader of the definitions can write down;
    `known_elsewhere`: cells that earlier releases of this period published from
    definitions this release does not publish (tables covered by `atoms`, values as the
    current data give them), public already, never written to this release; `priority`:
    (table, category, level) -> a factor on the weight of its cells, for the figures readers
    need most: hidden only where nothing cheaper protects, and (over atoms) kept published
    from the start wherever showing them can be safe at all (atoms.showable)."""
    primary = primary_suppression(cells, thresholds, group, zeros_hidden)
    if priority:
        primary["priority"] = [priority.get(k, 1.0) for k in zip(primary.table, primary.category, primary.level)]
    n_release = len(primary)
    bases = {t: b for t, b in (bases or {}).items() if b > 1 and t in thresholds}
    cell_key = {t: p for t, p in (cell_key or {}).items() if t in thresholds and t not in bases}
    published_value = primary.value
    if bases or cell_key:
        r, low, high = rounding.intervals(primary, thresholds, bases)
        if cell_key:
            n, n_low, n_high = cellkey.perturb(primary, thresholds, cell_key)
            noisy = primary.table.isin(list(cell_key)).to_numpy()
            r, low, high = np.where(noisy, n, r), np.where(noisy, n_low, low), np.where(noisy, n_high, high)
        primary = primary.assign(low=low, high=high)
        published_value = pd.Series(r, index=primary.index)
    if atoms is not None:
        primary, atom_ids, atoms, group_ids = _with_atoms(primary, atoms, known_elsewhere, group, thresholds)
        published_value = published_value.reindex(primary.index).fillna(primary.value)
        by_atoms = dict(zip(primary.index, primary.table.isin(atoms.tables)))
        rels = [r for r in build(primary[primary.table != ATOM_TABLE], buurten, person_tables)
                if not all(by_atoms[c] for c in r.cells)]  # what the atoms do not imply
        rels += atom_relations(primary, atom_ids, atoms, buurten) + group_relations(atom_ids, group_ids, atoms)
    else:
        rels = build(primary, buurten, person_tables)
    inconsistent = check(primary, rels)
    if inconsistent:
        raise ProtectionFailed(f"{len(inconsistent)} relation(s) do not hold on the unprotected tables "
                               f"(first: {inconsistent[0].kind}); refusing to protect inconsistent tables")
    external = pd.Series((primary.index >= n_release) & (primary.table != ATOM_TABLE).to_numpy(), index=primary.index)
    known, revised = match(primary.assign(value=published_value), earlier if earlier is not None else pd.DataFrame())
    known = known | external
    exposed = primary[known & (primary.status == "suppressed") & (primary.value > 0)]
    if len(exposed):
        first = exposed.iloc[0]
        raise ProtectionFailed(
            f"{len(exposed)} cell(s) below this release's threshold were published by an earlier release of this "
            f"gemeente for this period (first: {first.table} {first.level} {first.area_code} {first.category}) and "
            "cannot be hidden again. Publish this period under the rules of that release (its selections and "
            "thresholds), and change the rule from the next period on")
    if atoms is not None and "priority" in primary.columns:
        # the figures readers need most (stapeling 2+) are kept published from the start wherever showing them can
        # be safe at all; the protection hides them only where nothing else protects a small cell
        want = ((primary.priority > 1) & (primary.status == "published") & (primary.value > 0)
                & primary.table.isin(atoms.tables)).to_numpy()
        high = primary["high"].to_numpy(dtype=float) if "high" in primary.columns else primary.value.to_numpy(float)
        primary["prefer"] = np.where(showable(primary, atoms, buurten, want, high,
                                              primary.target.loc[atom_ids].to_numpy(dtype=float)),
                                     primary.priority.to_numpy(dtype=float), 0.0)
    # over atoms the 0/1 program's cut loop does not converge within its limits (Hengelo: 4,417 witness LPs in
    # 9 rounds, then the protection LPs give the same pattern): the protection LPs alone, looking twice as many
    # relation steps around a cell, because atoms sit between the cells (protection_lp.py)
    method, steps = ("greedy", (4, 8)) if atoms is not None else ("auto", None)
    try:
        protected, result, stats, rerun = _secondary(primary, rels, thresholds, method, steps, known)
    except ProtectionFailed as exc:
        if known.any():
            _pinned_by_earlier(primary, known, rels, thresholds, exc)
        raise
    if bases or cell_key:
        shown = protected.status == "published"
        protected.loc[shown, "value"] = published_value[shown]
        protected = protected.drop(columns=["low", "high"])
    group_cells = int(((primary.target == 1) & (primary.value == 0)).sum())
    protected = protected.loc[protected.index < n_release]  # earlier releases' cells and atoms are never written
    protected = protected.drop(columns=[c for c in ("rk", "target", "floor", "priority", "prefer")
                                        if c in protected.columns])
    summary = summarise(protected, thresholds, blurred=sorted(set(bases) | set(cell_key)))
    if zeros_hidden:
        summary["primary_rule"] += "; in the tables and levels of zeros_hidden a zero is suppressed too"
    summary["rounding"] = {
        "tables": dict(sorted(bases.items())),
        "rule": "a published count is rounded to the nearest multiple of its table's base, halves up; zeros are "
                "exact; rounded tables do not add up exactly",
        "in_audit": "the attacker knows a rounded count r (base b) only as the interval r - b//2 .. r - b//2 + b - 1, "
                    "and at least the threshold; the audit and the protection use these intervals",
    } if bases else None
    summary["cell_key"] = {
        "tables": {t: {"max_noise": d, "variance": v} for t, (d, v) in sorted(cell_key.items())},
        "rule": "every published non-zero count gets noise from a maximum-entropy perturbation table (mean 0, "
                "at most D either way, variance at most V, never below the threshold), looked up with its cell key: "
                "the sum of the record keys of its households, so the same households always get the same noise",
        "in_audit": "the attacker knows a noisy count p only as the interval max(threshold, p - D) .. p + D; the "
                    "audit and the protection use these intervals",
    } if cell_key else None
    summary["group_disclosure"] = {
        "applied": group,
        "rule": "in an area with households, a stapeling '0' of zero would show that every household has a "
                "problem domain: it is suppressed, and the audit proves it can be 1; every suppressed stapeling '0' "
                "may then be 0 for the attacker" if group else "not applied: the DPIA publishes such cells",
        "cells": group_cells,
    }
    summary["zeros_hidden"] = {
        "tables_and_levels": sorted(f"{t} {lv}" for t, lv in zeros_hidden),
        "rule": "in these tables and levels a zero is suppressed too, so a suppressed cell may be 0 for the attacker "
                "(the audit's lower bound on it is 0)",
    } if zeros_hidden else None
    summary["relations"] = {"count": len(rels), "kinds": sorted({r.kind for r in rels})}
    at_least_one = atoms is None or bool((atoms.frame.floor[atoms.frame.value > 0] >= 1).all())
    shared = 0
    if atoms is not None:
        f = atoms.frame
        grouped = f.group[(f.unit == "huishouden") & (f.group >= 0)]
        shared = int(grouped[grouped.duplicated()].nunique())  # person groups of more than one household atom
        summary["relations"]["atoms"] = {
            "households": int(((f.unit == "huishouden") & (f.value > 0)).sum()),
            "persons": int((f.unit == "persoon").sum()),
            "possible_households_for_group_zeros": int(((f.unit == "huishouden") & (f.value == 0)).sum()),
            "largest_household": int(atoms.max_household_size),
            **({"person_groups_of_several_parts": shared} if shared else {}),
            **({"member_bounds": len(atoms.person_bounds)} if len(atoms.person_bounds) else {}),
            "floor": float(f.floor[f.value > 0].max()) if (f.value > 0).any() else None,
            "rule": "per buurt, the households split by every predicate a published cell applies (combination of "
                    "problem domains, membership of every household selection, also those of earlier releases of "
                    "this period" + (", and of the vroegsignalering monitor's tables" if any(
                        t.startswith("monitor:") for t in atoms.tables) else "") + "); persons of each such part split by "
                    "every person selection" + (f", {PERSONS_SHARED}" if shared else "") + ". Every cell is the sum of its "
                    "atoms; the attacker is assumed to know "
                    "which atoms are empty" + (
                        " (a non-empty atom is at least 1)" if at_least_one else
                        ", not that the others are non-empty (floor 0: a release with the monitor, whose atoms are "
                        "near-singletons; sound for an attacker who holds every published number and definition)")
                    + " and that a household has 1 to the largest household's number of persons"
                    + (f", and, {MEMBER_BOUNDS}" if len(atoms.person_bounds) else ""),
        }
        if atoms.parts is not None and (atoms.parts >= 0).any():
            summary["relations"]["atoms"]["parts"] = {
                "atoms": int((atoms.parts >= 0).sum()), "groups": int(atoms.parts.max()) + 1,
                "rule": "atoms split further by the facts of earlier months whose cells this release knows; each is a "
                        "part of a group of the atoms that share every predicate of this release, and the group is "
                        "what is protected (privacy/atoms.py, Parts)",
            }
    summary["secondary_suppression"] = {
        "applied": True,
        "method": (
            "for every unsafe cell and every small atom, in order of value, the cheapest table consistent with "
            "everything published in which it reaches the threshold (one linear program over the cells and atoms "
            "within 4, then 8 relation steps; cost 1 + ln(1 + value), more for wijk, gemeente and totaal "
            "cells); every published cell that table changes is hidden. Suppressing more never breaks such a "
            "table, so the pattern is protected by construction; the audit checks every table again. The "
            "figures readers need most (stapeling 2+ of the gemeente, its buurten and its wijken) are kept "
            "published from the start wherever showing them can be safe at all, and hidden only where no other "
            "cell can protect a small one: a wijk's first, then a buurt's, the gemeente's last"
            if atoms is not None else
            "the cheapest pattern (inner cells before totals, small before large) by a 0/1 program with "
            "cut generation: for every unsafe cell a linear program looks for a table, consistent with "
            "everything published, in which the cell reaches the threshold; where there is none, its "
            "multipliers give a condition on the pattern (a cut), and the 0/1 program chooses a new pattern "
            "that meets every condition found so far, until every unsafe cell has such a table. Where that "
            "loop exceeds its limits, and for releases of more than 20,000 unsafe cells, one linear program "
            "per unsafe cell hides what its cheapest table changes") + (
            ". Audit-and-fix rounds would follow if the audit still found a cell provably below the threshold"),
        "method_used": {"milp": "0/1 program with cut generation", "greedy": "one linear program per unsafe cell"}[
            stats["method"]],
        "protection_lps": stats["lps"],
        "cut_rounds": stats["cut_rounds"],
        "components_without_cut_loop_result": stats["not_converged"],
        "fix_rounds": stats["fix_rounds"],
        "cells": stats["secondary"],
        "suppressed_value": stats["suppressed_total_value"],
        "statement": "Secondary suppression is applied over all tables and levels of this release together; "
                     "the audit below proves that no suppressed small cell (and, with atoms, no small group a "
                     "reader of the definitions can name) can be shown to lie below the threshold from what this "
                     "release and the earlier releases of the period publish.",
    }
    summary["earlier_releases"] = {
        "releases": sorted(earlier.release.unique()) if earlier is not None and len(earlier) else [],
        "cells_known": int(known[:n_release].sum()),
        "cells_of_other_definitions": int(external.sum()),
        "cells_revised_since": int(revised.sum()),
        "locked_and_protected_again": rerun,
        "rule": "cells an earlier release published with the same value count as published in the audit and are "
                "never used as secondary suppressions; a cell published earlier with another value is not used",
    }
    summary["audit"] = result.summary(at_least_one, zeros_hidden, persons_shared=bool(shared),
                                      member_bounds=atoms is not None and len(atoms.person_bounds) > 0,
                                      possible_parts=atoms is not None and atoms.possible is not None
                                      and bool(atoms.possible.any()))
    if atoms is not None:
        groups = int((primary.table.loc[list(result.bounds)] == ATOM_TABLE).sum())
        summary["audit"]["suppressed_unsafe_cells_audited"] -= groups
        summary["audit"]["small_atoms_audited"] = groups
    summary["audit"]["seconds"] = None  # timings are not part of a deterministic release
    return protected.drop(columns=["reason"]), summary


def summarise(cells: pd.DataFrame, thresholds: dict[str, int], blurred: Sequence[str] = ()) -> dict[str, Any]:
    """Counts of the protected release; `blurred`: tables whose published counts are rounded or noisy."""
    per_table = {}
    for table, g in cells.groupby("table", sort=False):
        per_table[table] = {
            "threshold": thresholds[table],
            "cells": int(len(g)),
            "published": int((g.status == "published").sum()),
            "suppressed": int((g.status == "suppressed").sum()),
        }
    return {
        "primary_rule": "a count of 1 up to threshold-1 is suppressed; zeros are published",
        "cells": int(len(cells)),
        "published": int((cells.status == "published").sum()),
        "suppressed": int((cells.status == "suppressed").sum()),
        "primary": int((cells.get("reason", pd.Series(dtype=str)) == "primary").sum()),
        "tables": per_table,
        "additive_after_protection": (
            "suppressed cells are empty; published cells are exact counts" if not blurred else
            "suppressed cells are empty; published cells are exact counts, except in " + ", ".join(blurred) +
            ", whose published counts are rounded or carry noise (see rounding / cell_key) and do not add up "
            "exactly"),
    }


__all__ = ["primary_suppression", "protect", "summarise", "ProtectionFailed"]
