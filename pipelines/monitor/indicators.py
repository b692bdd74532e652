"""The vroegsignalering monitor: what came of the signals, as tables `monitor:*` of a release.

The indicators follow the Divosa Monitor Vroegsignalering Schulden (jaarrapportages 2021-2024:
signals per 1,000 per month, the mix of signal partners, meervoudige and opeenvolgende signals,
the share of dossiers with contact, the share accepting help) and the DDAS v1.2 vroegsignaalzaak
(`datumOpgepakt`, `contactpogingen` with kind and `bereikt`, `resultaat`: EnumEindresultaat).
README.md ("Monitor vroegsignalering") cites them and says where wijksignaal differs.

**The unit is the household** (one case per address, Wgs art. 3a; outreach/cases.py): every
monitor cell counts households of the month with a case, so each cell is a sum of the release's
atoms (privacy/atoms.py) and the monitor is protected with everything else, by the same audit.
Divosa counts signals per 1,000 inwoners; a count of signals or of persons is not a unit the
audit models for these tables, so wijksignaal publishes households with a signal, and the report
relates them to the households of the area (stapeling `totaal`).

| table | categories (households with a case in the month ...) |
| --- | --- |
| `monitor:signalen` | `totaal`; `nieuw` (case opened this month); `meervoudig` (2+ signals this month); `opeenvolgend` (a signal at the address in the 6 months before); `crisis` (a crisissignaal) |
| `monitor:signaalpartners` | per partner type of sources.yaml's code list `signaalpartners`: a signal of that type this month |
| `monitor:opvolging` | `totaal`; `op een signaallijst` (the case was on a wijkteam's list); `opgepakt` (datumOpgepakt); `contactpoging` (an attempt); `bereikt` (an attempt reached the inwoner); `hulp geaccepteerd` (an end result in ACCEPTED); `eerste contactpoging binnen termijn` (the first attempt on or before the case's deadline, outreach/deadlines.py) |
| `monitor:contactpogingen` | per DDAS v1.2 EnumContactsoort `<soort>`: an attempt of that kind; `<soort>: bereikt`: reached by one |
| `monitor:eindresultaat` | `totaal` = each DDAS v1.2 EnumEindresultaat + `nog geen eindresultaat` |

**Fixed once published.** The outcomes of a month keep changing as wijkteams report back. A
release that published a month's monitor is followed by others of the same month (a new selection,
a correction): if they published the monitor as the outcomes then stood, the difference of two
releases would count the households whose outcome changed in between, a group no audit of either
release protects. So the first release of a month that publishes its monitor (`wijksignaal run
--monitor`) stores the households' monitor facts it used (`monitor_snapshots`, pseudonyms and
facts only, written before the release is committed), and every later release of that month
tabulates its monitor from them: the same cells, the same atoms. Publish a month's monitor when its
outcomes are in.

**Across months.** The same snapshots let a later month's monitor release know what earlier months'
monitors published (`earlier_monitors`, `Before`): each of their published cells is a sum of this
month's atoms, split by that month's facts (`Monitor.before_flags`; privacy/atoms.py, "Parts"), and
enters the audit as known (README, "Monitor vroegsignalering", Across months).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from pipelines.monitor.intake import missing_tables
from pipelines.monitor.sql import sql
from pipelines.settings import DDAS_SCHEMAS
from privacy.earlier import by_earlier_month

if TYPE_CHECKING:
    from pipelines.pipeline import Run

# DDAS v1.2 end results that mean the inwoner accepted help (definities_vroegsignalering.md): advice or a quick
# fix within 30 days of accepting help, or follow-up help (financial, non-financial or not known which). Not:
# "Verwijzing zonder tussenkomst inwoner" (referred without the inwoner's consent), nor the results without help
ACCEPTED = ("(Budget)advies en/of quick fix", "Vervolghulp en/of verwijzing", "Vervolghulp en/of verwijzing financieel",
            "Vervolghulp en/of verwijzing niet financieel")
NO_RESULT = "nog geen eindresultaat"
TABLES = {  # the monitor's tables, in order, with their description (audit.json, register)
    "monitor:signalen": "huishoudens (adressen) met een vroegsignaal in de maand: nieuw, meervoudig, opeenvolgend, crisis",
    "monitor:signaalpartners": "huishoudens met een vroegsignaal in de maand, per soort signaalpartner (een huishouden "
                               "kan onder meer soorten vallen)",
    "monitor:opvolging": "huishoudens met een vroegsignaal in de maand: op een signaallijst, opgepakt, "
                         "contactpoging, bereikt, hulp geaccepteerd, eerste contactpoging binnen de termijn",
    "monitor:contactpogingen": "huishoudens met een vroegsignaal in de maand, per soort contactpoging (DDAS v1.2 "
                               "EnumContactsoort) en per soort waarmee de inwoner is bereikt",
    "monitor:eindresultaat": "huishoudens met een vroegsignaal in de maand, per eindresultaat (DDAS v1.2 "
                             "EnumEindresultaat) of nog zonder",
}
COLUMNS = ("hid", "nieuw", "meervoudig", "opeenvolgend", "crisis", "partners", "op_lijst", "opgepakt", "contactpoging",
           "bereikt", "hulp_geaccepteerd", "binnen_termijn", "resultaat", "soorten", "soorten_bereikt")
LEVELS = ("gemeente", "wijk", "buurt")
# the facts a wijkteam or case system registers (pipelines/monitor/intake.py), not the signals: no selection can name
# them, so they do not split the persons of an atom (privacy/atoms.py, "Persons")
REGISTERED = ("opgepakt", "contactpoging", "bereikt", "hulp_geaccepteerd", "binnen_termijn", "resultaat", "soorten",
              "soorten_bereikt")
PARTITIONS = frozenset({"monitor:eindresultaat"})  # totaal = the sum of its other categories; the others overlap


class MonitorError(Exception):
    """The monitor cannot be made for this month (no cases, a monitor purpose missing)."""


def no_cases(period: str) -> MonitorError:
    return MonitorError(f"--monitor: no cases for {period}: the monitor counts the cases of the month's signal lists "
                        "(run the month first, then import its outcomes with wijksignaal outcomes)")


@dataclass(frozen=True)
class Indicator:
    """One monitor cell's predicate over the household's monitor facts (alias `m`, NULL for a
    household without a case): SQL with `?` placeholders and their values."""

    table: str
    category: str
    sql: str
    params: tuple[str, ...] = ()
    description: str = ""

    @property
    def registered(self) -> bool:
        """Whether the predicate reads what a wijkteam registered (REGISTERED), beyond the signals."""
        return any(re.search(rf"\bm\.{c}\b", self.sql) for c in REGISTERED)


def ddas_enums() -> dict[str, list[str]]:
    defs = json.loads(DDAS_SCHEMAS["1.2"].read_text(encoding="utf-8"))["$defs"]
    return {"contactsoort": list(defs["EnumContactsoort"]["enum"]), "resultaat": list(defs["EnumEindresultaat"]["enum"])}


def indicators(partners: list[str]) -> tuple[Indicator, ...]:
    """Every monitor cell's predicate, in table and category order; `partners`: the partner types
    (sources.yaml code list `signaalpartners`)."""
    enums = ddas_enums()
    case = "m.hid IS NOT NULL"

    def flag(col: str) -> str:
        return f"coalesce(m.{col}, false)"

    out = [
        Indicator("monitor:signalen", "totaal", case, description="huishoudens (adressen) met een vroegsignaal in de maand"),
        Indicator("monitor:signalen", "nieuw", flag("nieuw"), description="van wie de zaak deze maand is geopend"),
        Indicator("monitor:signalen", "meervoudig", flag("meervoudig"), description="met 2 of meer signalen in de maand"),
        Indicator("monitor:signalen", "opeenvolgend", flag("opeenvolgend"),
                  description="met ook een signaal op het adres in de 6 maanden ervoor"),
        Indicator("monitor:signalen", "crisis", flag("crisis"), description="met een crisissignaal"),
    ]
    out += [Indicator("monitor:signaalpartners", p, "coalesce(list_contains(m.partners, ?), false)", (p,),
                      description=f"met een signaal van een signaalpartner van het type {p}") for p in partners]
    out += [
        Indicator("monitor:opvolging", "totaal", case, description="huishoudens met een vroegsignaal in de maand"),
        Indicator("monitor:opvolging", "op een signaallijst", flag("op_lijst"),
                  description="de zaak stond op een signaallijst van een wijkteam (alleen dan kan een lijst een "
                              "uitkomst melden; een zaaksysteem via DDAS ook zonder)"),
        Indicator("monitor:opvolging", "opgepakt", flag("opgepakt"), description="zaak opgepakt (datumOpgepakt)"),
        Indicator("monitor:opvolging", "contactpoging", flag("contactpoging"), description="minstens één contactpoging"),
        Indicator("monitor:opvolging", "bereikt", flag("bereikt"), description="een contactpoging heeft de inwoner bereikt"),
        Indicator("monitor:opvolging", "hulp geaccepteerd", flag("hulp_geaccepteerd"),
                  description="eindresultaat: " + "; ".join(ACCEPTED)),
        Indicator("monitor:opvolging", "eerste contactpoging binnen termijn", flag("binnen_termijn"),
                  description="de eerste contactpoging op of voor de termijn van de zaak (triage)"),
    ]
    for soort in enums["contactsoort"]:
        out.append(Indicator("monitor:contactpogingen", soort, "coalesce(list_contains(m.soorten, ?), false)", (soort,),
                             description=f"een contactpoging van de soort {soort}"))
        out.append(Indicator("monitor:contactpogingen", f"{soort}: bereikt",
                             "coalesce(list_contains(m.soorten_bereikt, ?), false)", (soort,),
                             description=f"bereikt met een contactpoging van de soort {soort}"))
    out.append(Indicator("monitor:eindresultaat", "totaal", case, description="huishoudens met een vroegsignaal in de maand"))
    out += [Indicator("monitor:eindresultaat", r, "coalesce(m.resultaat = ?, false)", (r,), description=f"eindresultaat {r}")
            for r in enums["resultaat"]]
    out.append(Indicator("monitor:eindresultaat", NO_RESULT, f"{case} AND m.resultaat IS NULL",
                         description="nog geen eindresultaat geregistreerd"))
    return tuple(out)


def partner_types(sources) -> list[str]:
    """The partner types of the monitor's `monitor:signaalpartners` (sources.yaml's code list
    `signaalpartners`; none without a sources file)."""
    return sources.codelists().get("signaalpartners", []) if sources is not None else []


def levels_of(lowest: str) -> tuple[str, ...]:
    """The levels the monitor is published at, down to the purpose's `lowest_level`."""
    return LEVELS[:LEVELS.index(lowest) + 1]


@dataclass(frozen=True)
class Before:
    """An earlier month whose monitor is published (README, "Monitor vroegsignalering", Across
    months): its period, the release whose snapshot fixes its facts, and every monitor cell its
    releases published (table, level, area code, category)."""

    period: str
    release_id: str
    cells: tuple[tuple[str, str, str, str], ...]

    def table(self, table: str) -> str:
        """The name its cells of `table` have in this release's audit: `monitor:signalen@2026-08`."""
        return f"{table}@{self.period}"


@dataclass(frozen=True)
class Monitor:
    """The monitor of one month as a release tabulates it: its indicators, the levels it is published
    at, and where its facts come from (`frozen_by`: the release whose snapshot they are; None: the
    outcomes as they stand, to be stored with this release)."""

    period: str
    purpose: str
    levels: tuple[str, ...]
    indicators: tuple[Indicator, ...]
    households: int
    digest: str
    frozen_by: str | None
    withheld: tuple[str, ...] = ()  # gemeenten whose monitor is not published (protect.py: withhold_monitor)
    before: tuple[Before, ...] = ()  # the earlier months whose monitor is published (earlier_monitors)

    def flags(self) -> list[tuple[str, str, list]]:
        """(column name, SQL, params) per distinct predicate: the atoms are split by each. In a
        withheld gemeente no household meets one (its atoms are not split: `b`, the household's buurt)."""
        if self.withheld:
            return [(name, f"({s}) AND NOT list_contains(?, b.gemeentecode)", [*p, list(self.withheld)])
                    for (s, p), name in self._names().items()]
        return [(name, s, list(p)) for (s, p), name in self._names().items()]

    def _names(self) -> dict[tuple[str, tuple[str, ...]], str]:
        """(SQL, params) of each distinct predicate -> its flag column, in order."""
        seen: dict[tuple[str, tuple[str, ...]], str] = {}
        for i in self.indicators:
            seen.setdefault((i.sql, i.params), f"m{len(seen)}")
        return seen

    def before_flags(self) -> list[tuple[str, str, list]]:
        """(column name, SQL, params) per earlier month (`before`) and distinct predicate of its
        cells, over that month's snapshot (alias `p<k>`, joined by before_joins): the atoms are
        split by each too (privacy/atoms.py, "Parts"). None holds in a withheld gemeente, whose
        atoms stay those of the month's first release."""
        out = []
        for k, names in enumerate(self._before_names()):
            for (s, p), name in names.items():
                expr = re.sub(r"\bm\.", f"p{k}.", s)
                if self.withheld:
                    out.append((name, f"({expr}) AND NOT list_contains(?, b.gemeentecode)", [*p, list(self.withheld)]))
                else:
                    out.append((name, expr, list(p)))
        return out

    def before_joins(self) -> tuple[str, list]:
        """The joins of the earlier months' snapshots onto the households `h` (SQL, params)."""
        sql_, params = "", []
        for k, b in enumerate(self.before):
            sql_ += (f" LEFT JOIN monitor_snapshots p{k} ON p{k}.hid = h.hid AND p{k}.period = ? "
                     f"AND p{k}.release_id = ?")
            params += [b.period, b.release_id]
        return sql_, params

    def _before_names(self) -> list[dict[tuple[str, tuple[str, ...]], str]]:
        """Per earlier month, (SQL, params) of each distinct predicate of its cells -> its flag column."""
        by_cell = {(i.table, i.category): i for i in self.indicators}
        out = []
        for k, b in enumerate(self.before):
            seen: dict[tuple[str, tuple[str, ...]], str] = {}
            for table, _, _, category in b.cells:
                i = by_cell[(table, category)]
                seen.setdefault((i.sql, i.params), f"b{k}_{len(seen)}")
            out.append(seen)
        return out

    def before_column_of(self) -> dict[tuple[str, str], str]:
        """(table as this release names it, category) -> its flag column, for the earlier months' cells."""
        by_cell = {(i.table, i.category): i for i in self.indicators}
        out = {}
        for b, names in zip(self.before, self._before_names()):
            for table, _, _, category in b.cells:
                i = by_cell[(table, category)]
                out[(b.table(table), category)] = names[(i.sql, i.params)]
        return out

    def before_person_flags(self) -> list[str]:
        """The earlier months' flag columns that split persons too: those of no registered indicator."""
        registered = {(i.sql, i.params) for i in self.indicators if i.registered}
        return [n for names in self._before_names() for key, n in names.items() if key not in registered]

    def person_flags(self) -> list[str]:
        """The flag columns that split the persons of an atom too: those of no registered indicator
        (privacy/atoms.py, "Persons")."""
        registered = {(i.sql, i.params) for i in self.indicators if i.registered}
        return [n for key, n in self._names().items() if key not in registered]

    def column_of(self) -> dict[tuple[str, str], str]:
        """(table, category) -> its flag column."""
        names = self._names()
        return {(i.table, i.category): names[(i.sql, i.params)] for i in self.indicators}

    def tables(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for i in self.indicators:
            out.setdefault(i.table, []).append(i.category)
        return {t: tuple(c) for t, c in out.items()}

    def summary(self) -> dict:
        """For audit.json: no personal data (counts, ids, a hash over pseudonyms)."""
        return {"period": self.period, "purpose": self.purpose, "levels": list(self.levels),
                "households_with_a_case": self.households, "facts_sha256": self.digest,
                "frozen_by": self.frozen_by,
                "earlier_months": [{"period": b.period, "fixed_by": b.release_id, "cells": len(b.cells)}
                                   for b in self.before]}


def _digest(con: duckdb.DuckDBPyConnection) -> tuple[int, str]:
    rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM monitor_households ORDER BY hid").fetchall()
    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps([str(v) if v is not None else None for v in r]).encode("utf-8"))
    return len(rows), h.hexdigest()


def compute(con: duckdb.DuckDBPyConnection, period: str) -> None:
    """monitor_households of `period` from the outreach and outcomes tables as they stand."""
    from pipelines.monitor.intake import ensure_tables
    from pipelines.outreach.sql import sql as outreach_sql

    ensure_tables(con)
    con.execute(outreach_sql("cases_schema"))  # case_lists, also in a warehouse whose cases an older version made
    con.execute(sql("monitor_households"), {"period": period, "accepted": list(ACCEPTED)})


def frozen_release(con: duckdb.DuckDBPyConnection, period: str, published: set[str]) -> str | None:
    """The release whose snapshot fixes the month's monitor: the first published one that stored one."""
    if missing_tables(con, ["monitor_snapshots"]):
        return None
    ids = [r[0] for r in con.execute("SELECT DISTINCT release_id FROM monitor_snapshots WHERE period = ? "
                                     "ORDER BY release_id", [period]).fetchall()]
    return next((r for r in ids if r in published), None)


def prepare_monitor(run: Run, con: duckdb.DuckDBPyConnection, withheld: tuple[str, ...] = ()) -> Monitor | None:
    """The month's monitor for this release, with monitor_households registered: from the snapshot
    of the release that first published it; else, with --monitor, from the cases and outcomes as
    they stand; else none (a month's monitor is published only when asked for). `withheld`: the
    gemeenten whose monitor is not published (protect.py)."""
    purpose = run.dpia.monitor_purpose
    if purpose is None:
        if run.overrides.get("monitor"):
            raise MonitorError("--monitor: config/dpia.yaml declares no monitor_purpose")
        return None
    published = {r.release_id for r in run.earlier()}
    frozen = frozen_release(con, run.period, published)
    if frozen is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE monitor_households AS SELECT "
                    f"{', '.join(COLUMNS)} FROM monitor_snapshots WHERE period = ? AND release_id = ? ORDER BY hid",
                    [run.period, frozen])
    elif run.overrides.get("monitor"):
        has_cases = not missing_tables(con, ["cases"]) and con.execute("SELECT count(*) FROM cases WHERE period = ?",
                                                                       [run.period]).fetchone()[0]
        if not has_cases:
            raise no_cases(run.period)
        compute(con, run.period)
    else:
        return None
    n, digest = _digest(con)
    levels = levels_of(run.dpia.purposes[purpose].lowest_level)
    found = indicators(partner_types(run.sources))
    return Monitor(run.period, purpose, levels, found, n, digest, frozen, withheld,
                   earlier_monitors(run, con, found))


def earlier_monitors(run: Run, con: duckdb.DuckDBPyConnection, found: tuple[Indicator, ...]) -> tuple[Before, ...]:
    """Every month before the run's whose monitor a release of the gemeente published and whose
    facts are still stored (README, "Monitor vroegsignalering", Across months), oldest first: the
    release whose snapshot fixes it, and every monitor cell the month's releases published."""
    from pipelines.publish.tablescsv import read_tables

    if missing_tables(con, ["monitor_snapshots"]):
        return ()
    by_period: dict[str, list] = {}  # the earlier months with a monitor release, oldest first
    for month, rs in by_earlier_month(run.release_dirs, run.settings.gemeente, run.period).items():
        if any(r.audit.get("monitor") for r in rs):
            by_period[month] = [r for r in rs if r.audit.get("monitor")]
    known = {(i.table, i.category) for i in found}
    out = []
    for period in by_period:
        fixed = frozen_release(con, period, {r.release_id for r in by_period[period]})
        if fixed is None:  # its facts were deleted with the month's cases at the end of rule R2's term
            continue
        cells: set[tuple[str, str, str, str]] = set()
        for r in by_period[period]:
            t = read_tables(r.folder / "tables.csv")
            t = t[t.table.str.startswith("monitor:") & (t.status == "published")]
            cells |= set(zip(t.table, t.level, t.area_code.astype(str), t.category))
        unknown = sorted(c for c in cells if (c[0], c[3]) not in known)
        if unknown:
            raise MonitorError(f"--monitor: the monitor of {period} has cells this version does not define "
                               f"(first: {unknown[0][0]} {unknown[0][3]}); their relation to this month's cannot "
                               "be modelled")
        out.append(Before(period, fixed, tuple(sorted(cells))))
    return tuple(out)


def store_snapshot(con: duckdb.DuckDBPyConnection, period: str, release_id: str, digest: str) -> int:
    """Store the month's monitor facts under `release_id` (before the release is committed), after
    checking they are what the release was tabulated from; earlier snapshots of the month of releases
    that were never published are removed. Returns the rows stored."""
    compute(con, period)
    n, again = _digest(con)
    if again != digest:
        raise MonitorError(f"the monitor facts of {period} changed while the release was being made "
                           "(outcomes imported meanwhile?); run again")
    con.execute(sql("monitor_snapshot_schema"))
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM monitor_snapshots WHERE period = ?", [period])
    con.execute(f"INSERT INTO monitor_snapshots SELECT ?, ?, {', '.join(COLUMNS)} FROM monitor_households",
                [period, release_id])
    con.execute("COMMIT")
    con.execute("CHECKPOINT")
    return n


__all__ = ["ACCEPTED", "NO_RESULT", "TABLES", "Before", "Indicator", "Monitor", "earlier_monitors", "MonitorError", "no_cases", "indicators",
           "partner_types", "levels_of",
           "PARTITIONS", "prepare_monitor", "store_snapshot", "compute", "frozen_release"]
