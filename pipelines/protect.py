"""The protect stage: every table protected over its atoms, against every earlier release of
this gemeente and period (the method is privacy/; this module gives it the run's thresholds,
ranks, rounding and earlier publications)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from pydantic import ValidationError

from pipelines.monitor.indicators import prepare_monitor
from pipelines.publish.audit import base_fingerprint
from pipelines.select.selections import LoadedSelection, parse_selection
from pipelines.settings import CONFIG_DIR
from pipelines.tabulate import Tabulation, tabulate
from privacy import disclosure
from privacy.disclosure import PinnedByEarlier
from privacy.earlier import KEY, EarlierRelease, by_earlier_month, protect_against
from privacy.secondary import ProtectionFailed

if TYPE_CHECKING:
    from pipelines.pipeline import Run

log = logging.getLogger("wijksignaal")

# the definition (domains.Domains.definition_sha256) of the three domains of household_facts.sql, before
# the domains were declared in config/domains.yaml: an earlier release whose audit.json names none was
# made with it (the declaration shipped with config/ gives the same)
BUILT_IN_DOMAINS = "91c4f9297f4a8c035ee2e2cd199bb32a57b9b01b11479b9b4145c155b667b8cf"


# the figure wijkteams ask for first ("how many households in my buurt have two or more problem domains"): its
# cells weigh this many times more in secondary suppression and are kept published from the start wherever that can
# be safe (privacy/atoms.showable). Where one must yield after all, the wijk's goes first, then a buurt's; the
# gemeente's, the report's first figure, last (on the demo, a gemeente 2+ given up for a buurt's also took the
# gemeente's "1" with it)
PRIORITY = {("stapeling", "2+", "buurt"): 10.0, ("stapeling", "2+", "wijk"): 5.0, ("stapeling", "2+", "gemeente"): 20.0}


def monitor_zeros_hidden(cells: pd.DataFrame) -> set[tuple[str, str]]:
    """The monitor's tables, at every level: their zeros are suppressed too. A month's cases split sixty
    ways give many small cells; were zeros published, each suppressed one would say "at least one
    household", and such floors beside the month's first release pin small groups (Hengelo, 2026-05, zeros
    hidden per wijk only: 11; the country, 2026-10, zeros published per gemeente: 204)."""
    mon = cells[cells.table.str.startswith("monitor:")]
    return set(zip(mon.table, mon.level))


def other_definitions(run: Run, earlier: list[EarlierRelease]) -> dict[str, LoadedSelection]:
    """Selections that earlier releases of this period published with a definition this run
    does not publish (dropped, or changed): table name `selectie:<id>@<version>` -> the
    selection, rebuilt from the definition the earlier audit.json carries."""
    current = {(s.selection.id, s.version) for s in run.selections}
    out = {}
    for r in earlier:
        for entry in r.audit.get("rules", {}).get("selections", []):
            if (entry["id"], entry["version"]) in current or "definition" not in entry:
                continue
            try:
                sel = parse_selection(entry["definition"], run.catalogue)
            except ValidationError:  # a definition this version cannot read: its cells stay unrelated (counted)
                continue
            out[f"selectie:{entry['id']}@{entry['version'][:12]}"] = LoadedSelection(sel, r.folder, entry["version"],
                                                                                   run.catalogue)
    return out


def _made_under(run: Run, cells: pd.DataFrame) -> dict[str, tuple[str, int | None]]:
    """table -> (the DPIA purpose it is made under, the cell size its selection asks for)."""
    selections = {f"selectie:{s.selection.id}": s.selection for s in run.selections}
    out: dict[str, tuple[str, int | None]] = {}
    for table in cells.table.unique():
        sel = selections.get(table)
        if sel:
            out[table] = (sel.purpose, sel.min_cell_size)
        elif table.startswith("monitor:") and run.dpia.monitor_purpose:
            out[table] = (run.dpia.monitor_purpose, None)
        else:
            out[table] = (run.dpia.stapeling_purpose, None)
    return out


def thresholds(run: Run, cells: pd.DataFrame) -> dict[str, int]:
    return {t: run.dpia.threshold(purpose, size) for t, (purpose, size) in _made_under(run, cells).items()}


def _purposes(run: Run, cells: pd.DataFrame) -> dict:
    """table -> the DPIA purpose it is made under."""
    return {t: run.dpia.purposes[purpose] for t, (purpose, _) in _made_under(run, cells).items()}


def rounding_bases(run: Run, cells: pd.DataFrame) -> dict[str, int]:
    """Per table, the base its purpose rounds published counts to (tables without rounding left out)."""
    return {t: p.rounding.base for t, p in _purposes(run, cells).items() if p.rounding is not None}


def cell_key_params(run: Run, cells: pd.DataFrame) -> dict[str, tuple[int, float]]:
    """Per table, the cell-key method's (D, V) of its purpose (tables without it left out)."""
    return {t: (p.cell_key.max_noise, p.cell_key.variance) for t, p in _purposes(run, cells).items()
            if p.cell_key is not None}


def _what_earlier_published(run: Run, tab: Tabulation, earlier: list[EarlierRelease]
                            ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(cells of this release's definitions that earlier releases published, cells of other
    definitions they published as this data gives them, counts for audit.json)."""
    versions = {f"selectie:{s.selection.id}": s.version for s in run.selections}
    # the standard tables of an earlier release have this release's definition when the look-back and
    # the domains (ids and SQL) are the same
    standard = (run.settings.achterstand_lookback_months, run.domains.definition_sha256)
    same, other, unknown = [], [], 0
    recompiled = set(tab.other_definitions.table)
    # the monitor of an earlier release has this release's definition when it was made from the same facts (the
    # snapshot that fixes the month's monitor: monitor/indicators.py)
    facts = (tab.monitor or {}).get("facts_sha256")
    for r in earlier:
        cells = r.published().assign(release=r.release_id)
        theirs = {f"selectie:{e['id']}": e["version"] for e in r.audit.get("rules", {}).get("selections", [])}
        r_standard = (r.audit.get("definitions", {}).get("achterstand_lookback_months"),
                      r.audit.get("rules", {}).get("domains", {}).get("definition_sha256", BUILT_IN_DOMAINS))
        for table, g in cells.groupby("table", sort=True):
            if table.startswith("monitor:"):
                if facts is not None and r.audit.get("monitor", {}).get("facts_sha256") == facts:
                    same.append(g)
                else:
                    unknown += len(g)
            elif table in ("stapeling", "combinaties"):
                if r_standard == standard:
                    same.append(g)
                else:
                    unknown += len(g)
            elif table in versions and theirs.get(table) == versions[table]:
                same.append(g)
            elif f"{table}@{theirs.get(table, '')[:12]}" in recompiled:
                other.append(g.assign(table=f"{table}@{theirs[table][:12]}"))
            else:
                unknown += len(g)
    same_cells = pd.concat(same, ignore_index=True) if same else pd.DataFrame(columns=KEY + ["value", "release"])
    elsewhere = pd.DataFrame(columns=list(tab.other_definitions.columns))
    revised = 0
    if other:
        o = pd.concat(other, ignore_index=True).drop_duplicates(KEY + ["value"])
        both = tab.other_definitions.merge(o[KEY + ["value"]].rename(columns={"value": "earlier"}), on=KEY)
        ok = both.earlier.astype(float) == both.value.astype(float)
        elsewhere = both[ok].drop(columns=["earlier"]).drop_duplicates(KEY).reset_index(drop=True)
        revised = int((~ok).sum())
    return same_cells, elsewhere, {"cells_of_other_definitions_revised_since": revised,
                                   "cells_without_a_definition_to_relate": unknown}


# the definitions a reader of the register sees, besides the selections: the catalogue of fields a selection may
# name (sources.yaml) and the problem domains (domains.yaml and its SQL files)
DEFINITION_FILES = ("sources.yaml", "domains.yaml", "domains/*.sql")


def names_no_place(config_dir: Path) -> bool:
    """Whether no definition can name a place: the run's catalogue and domains are the shipped ones
    (byte for byte), whose fields and domains read no buurt, wijk, address or residence (a selection
    can only name catalogue fields). Then a combination of facts one household shows is possible in
    every buurt of the gemeente (tabulate.possible_parts)."""
    def files(root: Path) -> dict[str, bytes]:
        return {str(f.relative_to(root)): f.read_bytes() for pattern in DEFINITION_FILES
                for f in sorted(root.glob(pattern))}
    return files(config_dir) == files(CONFIG_DIR)


def possible_elsewhere(run: Run) -> bool:
    """Whether the DPIA takes parts that a household elsewhere shows possible as possible (its
    `disclosure.earlier_months_parts`), where no definition names a place; a choice that cannot
    apply is said in the log, and the parts are then taken as empty as in the data."""
    if run.dpia.disclosure.earlier_months_parts != "possible_elsewhere":
        return False
    if names_no_place(run.config_dir):
        return True
    log.warning("config/dpia.yaml disclosure.earlier_months_parts: possible_elsewhere does not apply: the catalogue "
                "(sources.yaml) or the domains are not the shipped ones, so a definition might name a place; the "
                "parts are taken as empty as in the data")
    return False


def tabulate_release(run: Run, withheld: tuple[str, ...] = ()) -> Tabulation:
    """The release's tables (pipeline.stage_tabulate); with the month's monitor when it has one,
    not published for the gemeenten `withheld` (withhold_monitor)."""
    con = run.connect()
    try:
        monitor = prepare_monitor(run, con, withheld)
        return tabulate(con, run.period, run.selections, run.domains.ids, cell_keys=any(
            p.cell_key is not None for p in run.dpia.purposes.values()), other=other_definitions(run, run.earlier()),
            monitor=monitor, possible_elsewhere=possible_elsewhere(run))
    finally:
        con.close()


def withhold_monitor(run: Run, areas: list[str], withheld: tuple[str, ...]) -> tuple[str, ...] | None:
    """The gemeenten whose monitor a release withholds when earlier releases of the month already pin
    small cells in `areas` beside the monitor's finer atoms: those gemeenten's, added to `withheld`.
    Without their monitor a gemeente's atoms are the month's first release's again, which that release
    proved safe. None when that adds nothing, or leaves no gemeente with a monitor: the release is
    refused."""
    b = run.buurten()
    gemeente = {**dict(zip(b.buurtcode, b.gemeentecode)), **dict(zip(b.wijkcode, b.gemeentecode)),
                **dict(zip(b.gemeentecode, b.gemeentecode))}
    more = tuple(sorted(set(withheld) | {gemeente[a] for a in areas if a in gemeente}))
    if more == tuple(withheld) or set(more) >= set(b.gemeentecode):
        return None
    return more


def _protect(run: Run, tab: Tabulation, cells: pd.DataFrame, t: dict[str, int], persons: set[str],
             earlier: pd.DataFrame, elsewhere: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    # the earlier months' monitor cells over this month's households, as known as the cells of other definitions
    # (README, "Monitor vroegsignalering", Across months)
    known = pd.concat([f for f in (elsewhere, tab.before) if len(f)], ignore_index=True) if len(tab.before) else elsewhere
    protected, summary = disclosure.protect(cells, run.buurten(), t, persons, earlier, rounding_bases(run, cells),
                                            cell_key_params(run, cells),
                                            group=run.dpia.disclosure.group_disclosure == "protect",
                                            atoms=tab.atoms, known_elsewhere=known, priority=PRIORITY,
                                            zeros_hidden=monitor_zeros_hidden(cells))
    if len(tab.before):
        summary["earlier_releases"]["cells_of_other_definitions"] -= len(tab.before)
        summary["earlier_releases"]["cells_of_earlier_months_monitors"] = len(tab.before)
    return protected, summary


EARLIER_MONTHS_RULE = (
    "the releases of earlier months of this gemeente, and what this release's audit relates of them to its own "
    "cells. Their tables count many of the same households, and the windows of the definitions over the signals "
    "overlap this month's (the achterstand's months, a selection's within_months, a case carried over, opeenvolgend), "
    "so a reader can relate them to this release. The audit relates only the monitor cells an earlier month "
    "published, and only in a release with the monitor while that month's facts are stored (rule R2): "
    "'monitor cells'; everything else they published is not related: 'nothing' (README, Monitor vroegsignalering, "
    "Across months)")


def earlier_months(run: Run, tab: Tabulation) -> list[dict]:
    """Per earlier month with a release of this gemeente (oldest first): its releases, and what this
    release's audit relates of them (EARLIER_MONTHS_RULE). Only months before this one, so that a
    later month's releases never change this month's."""
    related = {e["period"] for e in (tab.monitor or {}).get("earlier_months", [])}
    return [{"period": p, "releases": [r.release_id for r in rs], "related": "monitor cells" if p in related else "nothing"}
            for p, rs in by_earlier_month(run.release_dirs, run.settings.gemeente, run.period).items()]


def _refused(run: Run, tab: Tabulation, exc: ProtectionFailed) -> ProtectionFailed:
    """The refusal of a release; one that would add the month's monitor says so."""
    if tab.monitor is None or tab.monitor.get("frozen_by"):
        return exc
    return ProtectionFailed(f"{exc}. This release would add the month's monitor: it cannot be published beside "
                            f"what was published of {run.period} before; without --monitor the month keeps its "
                            "earlier release")


def protect(run: Run, tab: Tabulation, accounts: dict[str, dict] | None = None
                  ) -> tuple[pd.DataFrame, dict]:
    """Protect all tables over their atoms; disclosure.protect refuses tables whose relations
    do not hold, so additivity is checked there. Every release of this gemeente and period,
    in the work directory or the publication register, counts as published; a run with the
    same inputs and rules as an earlier release (known from `accounts`) is protected as that
    one was, and reproduces it (privacy/earlier.py)."""
    persons = {f"selectie:{s.selection.id}" for s in run.selections if s.selection.unit == "persoon"}
    months = earlier_months(run, tab)
    base = base_fingerprint(run, accounts, monitor=tab.monitor, earlier_months=months) if accounts is not None else None
    against = protect_against(run.earlier(), base)
    withheld: tuple[str, ...] = ()
    while True:
        cells = tab.cells
        t = thresholds(run, cells)
        earlier, elsewhere, unmatched = _what_earlier_published(run, tab, against)
        try:
            protected, summary = _protect(run, tab, cells, t, persons, earlier, elsewhere)
            break
        except PinnedByEarlier as exc:
            more = withhold_monitor(run, exc.areas, withheld) if tab.monitor is not None else None
            if more is None:
                raise _refused(run, tab, exc) from exc
            log.warning("monitor withheld for %d gemeente(n) (%s): %s", len(more), ", ".join(more), exc)
            withheld = more
            tab = tabulate_release(run, withheld)
        except ProtectionFailed as exc:
            raise _refused(run, tab, exc) from exc
    if withheld:
        summary["monitor_withheld"] = {
            "gemeenten": list(withheld),
            "rule": "the month's monitor is not published for these gemeenten: beside what earlier releases of "
                    "the month published, its finer groups (the households split by the monitor's predicates) would "
                    "let a reader prove small groups below the threshold there. Their atoms are those of the "
                    "month's first release, which its audit proved safe; no monitor cell of theirs is in this "
                    "release",
        }
    summary["earlier_releases"]["releases"] = sorted(r.release_id for r in against)
    summary["earlier_releases"].update(unmatched)
    summary["earlier_releases"]["read_from"] = ["<work>/releases"] + (
        ["published_dir (the publication register)"] if run.settings.published_dir else [])
    summary["earlier_releases"]["earlier_months"] = {"rule": EARLIER_MONTHS_RULE, "months": months}
    summary["additive_before_protection"] = True
    summary["threshold_min"] = min(t.values())
    summary["statement_nl"] = (
        "Daarnaast zijn andere vakjes afgeschermd, zodat een klein aantal niet is terug te rekenen uit "
        "totalen, andere niveaus, andere tabellen of selecties in deze publicatie (secundaire afscherming, "
        "rekenkundig gecontroleerd). Eerdere publicaties van deze gemeente over deze maand tellen in die "
        "controle mee."
    )
    log.info("protected: %d of %d cells suppressed (%d secondary); audit: %d cell(s) provably below the threshold",
             summary["suppressed"], summary["cells"], summary["secondary_suppression"]["cells"],
             summary["audit"]["provably_below_threshold"])
    return protected, summary
