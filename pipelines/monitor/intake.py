"""Outcomes in: what a wijkteam or a case system recorded for the cases of the signal lists.

Two kinds of file are read back (`read_file`), then imported into the warehouse (`import_files`):

* **A wijkteam's list** (`<team>.xlsx`, written by pipelines/outreach/lists.py): sheet "Lijst",
  one row per case. Only the column `zaak` (the case's reference: 10 hex digits keyed with the vault's key, outreach/lists.reference) and the
  fill-in columns `datum opgepakt`, `contactsoort`, `contactdatum` and `bereikt` and `resultaat`
  are read: the names, addresses and reasons on the list, and the free text `toelichting`
  (it may name persons), are never read into anything but openpyxl's own memory. The month
  is the list's folder (`<period>/<selection>/<team>.xlsx`) or else the workbook's creation
  date (the list writes the month's first day there); the team is the file's name when it
  names a team of that month (else the case is looked up among all the month's teams). A row
  whose fill-in columns are all empty is counted as not filled in and imported as nothing.
* **DDAS v1.2 vroegsignaalzaken** (JSON from a case system): the file is checked against the
  vendored v1.2 schema (pipelines/ingest/ddas.py: everything but the zaken as a file, each
  vroegsignaalzaak on its own, messages without values). A zaak is linked to its case by its
  signal IDs, pseudonymised with the run's key exactly as at ingest (`'vs:' || ID`); every ID
  must belong to one and the same case. Its month is the month of the newest linked signal. A
  zaak without a pick-up date, contact attempt or end result (a case system's delivery lists every
  matched case) is counted as not filled in and imported as nothing, as a list's empty row is.

**Rules** beyond the schema (a row or zaak that breaks one is quarantined, with every rule it
breaks, to `<work>/quarantine/<period>/uitkomsten.csv`: file, its SHA-256, row, rule, message;
never a cell value):

| rule | what it asks |
| --- | --- |
| `zaak-onbekend` | the row names a case (its 10-hex reference) of the list's month and team |
| `zaak-dubbelzinnig` | the reference names only one case of the month (and team) |
| `zaak-dubbel` | a case appears on one row of the file only |
| `datum-ongeldig` | a date is a real calendar date (dd-mm-jjjj, jjjj-mm-dd or an Excel date) |
| `enum-contactsoort` | the contact kind is one of DDAS v1.2 EnumContactsoort |
| `enum-resultaat` | the end result is one of DDAS v1.2 EnumEindresultaat |
| `enum-bereikt` | bereikt is ja or nee |
| `contact-onvolledig` | a contact attempt has a kind and a date |
| `contact-zonder-opgepakt` | a contact attempt only for a case picked up |
| `resultaat-zonder-opgepakt` | an end result only for a case picked up, or a "Niet opgepakt: …" result |
| `niet-opgepakt-met-datum` | a "Niet opgepakt: …" result has no pick-up date |
| `volgorde-matching` | (DDAS) every signal date ≤ the matching date |
| `volgorde-opgepakt` | every signal date (and the matching date) ≤ the pick-up date |
| `volgorde-contact` | the pick-up date ≤ each contact attempt's date |
| `ddas-schema` | (DDAS) the vroegsignaalzaak follows the v1.2 schema |
| `signaal-onbekend` | (DDAS) every signal ID is a signal of a case in the warehouse |
| `signalen-meerdere-zaken` | (DDAS) the signal IDs belong to one case |

A problem with a file as a whole (not a workbook, no sheet "Lijst" or a missing column, not
JSON, not DDAS v1.2, a month without cases) is an `OutcomesError`: nothing of any file is
imported.

**Idempotent.** The warehouse holds one outcome per case and month (`case_outcomes`, with
its contact attempts in `case_contacts`): an import replaces a case's month only when what
it says differs from what is there (counted as imported), else changes nothing (unchanged).
Importing the same file again therefore changes no byte of those tables, and its quarantine
lines replace its own earlier ones (keyed by the file's SHA-256).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.monitor.sql import sql
from pipelines.outreach.lists import reference

PERIOD = re.compile(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$")
ZAAK = re.compile(r"^[0-9a-f]{10}$")
SHEET = "Lijst"
COLUMNS = {"zaak": "zaak", "datum opgepakt": "datum_opgepakt", "contactsoort": "contactsoort",
           "contactdatum": "contactdatum", "bereikt": "bereikt", "resultaat": "resultaat"}
NIET_OPGEPAKT = "Niet opgepakt:"
QUARANTINE_COLUMNS = ["file", "sha256", "row", "rule", "message"]
DATE_FORMATS = ("%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y")

RULES = {
    "zaak-onbekend": "the row names a case of the list's month and team",
    "zaak-dubbelzinnig": "the case number names one case only",
    "zaak-dubbel": "a case appears on one row of the file only",
    "datum-ongeldig": "a date is a real calendar date",
    "enum-contactsoort": "the contact kind is a DDAS v1.2 contact kind",
    "enum-resultaat": "the end result is a DDAS v1.2 end result",
    "enum-bereikt": "bereikt is ja or nee",
    "contact-onvolledig": "a contact attempt has a kind and a date",
    "contact-zonder-opgepakt": "a contact attempt only for a case picked up",
    "resultaat-zonder-opgepakt": "an end result only for a case picked up, or a 'Niet opgepakt' result",
    "niet-opgepakt-met-datum": "a 'Niet opgepakt' result has no pick-up date",
    "volgorde-matching": "every signal date is on or before the matching date",
    "volgorde-opgepakt": "the signal and matching dates are on or before the pick-up date",
    "volgorde-contact": "each contact attempt is on or after the pick-up date",
    "ddas-schema": "the vroegsignaalzaak follows the DDAS v1.2 schema",
    "signaal-onbekend": "every signal ID is a signal of a case in the warehouse",
    "signalen-meerdere-zaken": "the signal IDs belong to one case",
}


class OutcomesError(Exception):
    """A file cannot be read as outcomes at all; `problems` are located one-line texts without values."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Contact:
    soort: str
    datum: date
    dagdeel: str | None
    bereikt: bool | None

    def key(self) -> list:
        return [self.soort, self.datum.isoformat(), self.dagdeel,
                None if self.bereikt is None else str(self.bereikt).lower()]


@dataclass
class Outcome:
    case_id: str
    period: str
    datum_opgepakt: date | None
    resultaat: str | None
    contacts: list[Contact]
    row: int


@dataclass
class Rejected:
    period: str
    row: str
    rule: str
    message: str


@dataclass
class Parsed:
    """One file read back: what to import, what to quarantine, how many rows were left empty."""

    path: Path
    sha256: str
    source: str  # lijst | ddas
    outcomes: list[Outcome] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    empty: int = 0


@dataclass
class FileResult:
    file: str
    imported: int
    unchanged: int
    empty: int
    quarantined: int  # rows (or zaken) quarantined
    by_rule: dict[str, int]
    quarantine: list[str] = field(default_factory=list)  # the uitkomsten.csv files its rows went to


# -- shared ------------------------------------------------------------------------------------------------------


def choices() -> dict[str, list[str]]:
    from pipelines.outreach.lists import ddas_choices
    from pipelines.settings import REFERENCE_DIR

    out = ddas_choices(REFERENCE_DIR / "ddas" / "v1.2" / "json_schema_Uitwisselmodel.json")
    return out


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql("outcomes_schema"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def missing_tables(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> list[str]:
    """Those of `names` the warehouse has no table of (in the order given)."""
    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    return [n for n in names if n not in have]


def _order(opgepakt: date | None, contacts: list[Contact], matching: date | None,
           signal: date | None, resultaat: str | None, has_contact: bool) -> list[tuple[str, str]]:
    """The rules that hold between dates and between pick-up and result (rule, message)."""
    out = []
    if signal is not None and matching is not None and signal > matching:
        out.append(("volgorde-matching", "a signal date lies after the matching date"))
    if opgepakt is not None:
        if matching is not None and matching > opgepakt:
            out.append(("volgorde-opgepakt", "the pick-up date lies before the matching date"))
        elif signal is not None and signal > opgepakt:
            out.append(("volgorde-opgepakt", "the pick-up date lies before a signal date of the case"))
        if any(c.datum < opgepakt for c in contacts):
            out.append(("volgorde-contact", "a contact attempt's date lies before the pick-up date"))
    elif has_contact:
        out.append(("contact-zonder-opgepakt", "a contact attempt but no pick-up date"))
    if resultaat is not None:
        niet = resultaat.startswith(NIET_OPGEPAKT)
        if opgepakt is None and not niet:
            out.append(("resultaat-zonder-opgepakt", "an end result but no pick-up date (only a 'Niet opgepakt' "
                                                     "result needs none)"))
        if opgepakt is not None and niet:
            out.append(("niet-opgepakt-met-datum", "a 'Niet opgepakt' end result with a pick-up date"))
    return out


# -- the list (XLSX) ---------------------------------------------------------------------------------------------


def _date_of(value) -> date | None | bool:
    """A cell's date; None when empty; False when not a real date."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        from openpyxl.utils.datetime import from_excel

        try:
            got = from_excel(value)
        except (ValueError, OverflowError, TypeError):
            return False
        return got.date() if isinstance(got, datetime) else got if isinstance(got, date) else False
    if isinstance(value, str):
        for fmt in DATE_FORMATS:
            try:
                return datetime.strptime(value.strip(), fmt).date()
            except ValueError:
                continue
    return False


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _list_period(path: Path, wb) -> str | None:
    folder = path.resolve().parent.parent.name
    if PERIOD.match(folder):
        return folder
    created = getattr(wb.properties, "created", None)
    if isinstance(created, datetime):
        return created.strftime("%Y-%m")
    return None


def read_list(path: Path, con: duckdb.DuckDBPyConnection, enums: dict[str, list[str]],
              ref: Callable[[str], str]) -> Parsed:
    """A wijkteam's filled-in list, checked row by row against the warehouse's cases; `ref`: a
    case id's reference on a list (outreach/lists.reference, keyed with the vault's key)."""
    import openpyxl

    parsed = Parsed(path, _sha256(path), "lijst")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise OutcomesError([f"{path}: not an XLSX workbook ({type(exc).__name__})"]) from None
    try:
        if SHEET not in wb.sheetnames:
            raise OutcomesError([f"{path}: no sheet '{SHEET}': not a signal list of wijksignaal"])
        period = _list_period(path, wb)
        if period is None:
            raise OutcomesError([f"{path}: cannot tell the list's month: keep it in its folder "
                                 "<period>/<selection>/<team>.xlsx, or keep the workbook's creation date"])
        ws = wb[SHEET]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None) or ()
        index: dict[str, int] = {}
        for i, name in enumerate(header):
            key = COLUMNS.get(str(name).strip().lower()) if isinstance(name, str) else None
            if key is not None and key not in index:
                index[key] = i
        missing = [name for name, key in COLUMNS.items() if key not in index]
        if missing:
            raise OutcomesError([f"{path}:1: sheet '{SHEET}' has no column {', '.join(repr(m) for m in missing)}"])
        cases = con.execute(sql("outcome_cases"), {"period": period}).fetchall()
        if not cases:
            raise OutcomesError([f"{path}: no cases in the warehouse for {period}: run the outreach stage for that "
                                 "month first"])
        teams = {t for _, _, t, _ in cases}
        team = path.stem if path.stem in teams else None
        by_zaak: dict[str, list[tuple[str, date | None]]] = {}
        for _, case_id, t, last in cases:
            if team is None or t == team:
                by_zaak.setdefault(ref(case_id), []).append((case_id, last))
        seen: dict[str, int] = {}
        for number, values in enumerate(rows, start=2):
            values = values or ()
            cells = {k: (values[i] if i < len(values) else None) for k, i in index.items()}
            if all(_text(v) is None for k, v in cells.items() if k != "zaak"):
                if _text(cells["zaak"]) is not None:
                    parsed.empty += 1
                continue
            problems = _list_row(cells, enums)
            zaak = (_text(cells["zaak"]) or "").lower()
            match = by_zaak.get(zaak, []) if ZAAK.match(zaak) else []
            if not match:
                where = f"of {period}" + (f" on the list of team {team}" if team else "")
                problems.append(("zaak-onbekend", f"column zaak: not a case number {where}"))
            elif len(match) > 1:
                problems.append(("zaak-dubbelzinnig", f"column zaak: names {len(match)} cases of {period}"))
            elif zaak in seen:
                problems.append(("zaak-dubbel", f"column zaak: the same case as row {seen[zaak]}"))
            else:
                seen[zaak] = number
            opgepakt = _date_of(cells["datum_opgepakt"]) or None
            contact = _contact(cells, enums)
            contacts = [contact] if isinstance(contact, Contact) else []
            last = match[0][1] if len(match) == 1 else None
            if not any(rule == "datum-ongeldig" for rule, _ in problems):  # (an order needs real dates)
                problems += _order(opgepakt, contacts, None, last, _enum(cells["resultaat"], enums["resultaat"]),
                                   contact is not None)
            if problems:
                for rule, message in problems:
                    parsed.rejected.append(Rejected(period, str(number), rule, message))
                continue
            parsed.outcomes.append(Outcome(match[0][0], period, opgepakt, _text(cells["resultaat"]), contacts, number))
    finally:
        wb.close()
    return parsed


def _enum(value, allowed: list[str]) -> str | None:
    text = _text(value)
    return text if text in allowed else None


def _contact(cells: dict, enums: dict) -> Contact | None | bool:
    """The row's contact attempt; None if it has none; False if it is incomplete or invalid."""
    soort, datum, bereikt = _text(cells["contactsoort"]), _date_of(cells["contactdatum"]), _text(cells["bereikt"])
    if soort is None and datum is None and bereikt is None:
        return None
    if soort not in enums["contactsoort"] or not isinstance(datum, date):
        return False
    reached = None if bereikt is None else {"ja": True, "nee": False, "true": True, "false": False}.get(bereikt.lower())
    return Contact(soort, datum, None, reached)


def _list_row(cells: dict, enums: dict) -> list[tuple[str, str]]:
    """The value rules of one list row (rule, message); never the value."""
    out = []
    for key, label in (("datum_opgepakt", "datum opgepakt"), ("contactdatum", "contactdatum")):
        if _date_of(cells[key]) is False:
            out.append(("datum-ongeldig", f"column {label}: not a real date (dd-mm-jjjj)"))
    soort = _text(cells["contactsoort"])
    if soort is not None and soort not in enums["contactsoort"]:
        out.append(("enum-contactsoort", f"column contactsoort: not one of the {len(enums['contactsoort'])} DDAS "
                                         "v1.2 contact kinds"))
    resultaat = _text(cells["resultaat"])
    if resultaat is not None and resultaat not in enums["resultaat"]:
        out.append(("enum-resultaat", f"column resultaat: not one of the {len(enums['resultaat'])} DDAS v1.2 end "
                                      "results"))
    bereikt = cells["bereikt"]
    if _text(bereikt) is not None and not isinstance(bereikt, bool) and \
            _text(bereikt).lower() not in ("ja", "nee"):
        out.append(("enum-bereikt", "column bereikt: not ja or nee"))
    has = {k: (_text(cells[k]) is not None) for k in ("contactsoort", "contactdatum", "bereikt")}
    if any(has.values()) and not (has["contactsoort"] and has["contactdatum"]):
        lacking = [k for k in ("contactsoort", "contactdatum") if not has[k]]
        out.append(("contact-onvolledig", f"a contact attempt without {' and '.join(lacking)}"))
    return out


# -- DDAS v1.2 vroegsignaalzaken (JSON) --------------------------------------------------------------------------


def read_ddas(path: Path, con: duckdb.DuckDBPyConnection, key: bytes) -> Parsed:
    """DDAS v1.2 vroegsignaalzaken: the file checked against the schema, each zaak linked by its signal IDs."""
    from jsonschema import Draft202012Validator

    from pipelines.ingest import ddas
    from privacy.pseudonymise import install_sql_macro, pads

    parsed = Parsed(path, _sha256(path), "ddas")
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise OutcomesError([f"{path}: not a JSON file ({type(exc).__name__})"]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("leveringen"), list):
        raise OutcomesError([f"{path}: not a DDAS file: no list 'leveringen' at the top level"])
    try:
        version, why = ddas.detect_version(doc)
    except ddas.DdasError as exc:
        raise OutcomesError([f"{path}: {exc}"]) from None
    if version != "1.2":
        raise OutcomesError([f"{path}: DDAS v{version} ({why}): outcomes are read from DDAS v1.2 vroegsignaalzaken"])
    schema = ddas.schema("1.2")
    zaken: list[tuple[int, int, object]] = []
    skeleton = dict(doc)
    skeleton["leveringen"] = []
    for i, lev in enumerate(doc["leveringen"]):
        if isinstance(lev, dict) and isinstance(lev.get("vroegsignaalzaken"), list):
            zaken += [(i, j, z) for j, z in enumerate(lev["vroegsignaalzaken"])]
            lev = {**lev, "vroegsignaalzaken": []}
        skeleton["leveringen"].append(lev)
    found = schema.check(skeleton)
    problems = found.file + [f"{where}: {text}" for where, text in
                             ((f"leveringen[{i}].vroegsignalen[{j}]", t) for (i, j), t in sorted(found.signals.items()))]
    if problems:
        raise OutcomesError([f"{path}: {ddas.join_problems(problems)}"])
    if not zaken:
        raise OutcomesError([f"{path}: no vroegsignaalzaken in the file"])
    item = schema.raw["properties"]["leveringen"]["items"]["properties"]["vroegsignaalzaken"]["items"]
    validator = Draft202012Validator({**item, "$defs": schema.raw["$defs"]}, format_checker=ddas.FORMAT_CHECKER)
    vocabulary = ddas._vocabulary()
    fallback = str(doc.get("einddatumLevering", ""))[:7]
    ids, valid = [], {}
    for n, (i, j, z) in enumerate(zaken, start=1):
        where = f"leveringen[{i}].vroegsignaalzaken[{j}]"
        errors = ddas._sorted(validator.iter_errors(z))
        if errors:
            text = ddas.join_problems([f"{ddas._path(e.absolute_path, vocabulary, where)}: "
                                       f"{ddas._describe(e, vocabulary)}" for e in errors])
            parsed.rejected.append(Rejected(fallback, where, "ddas-schema", text))
            continue
        valid[n] = (where, z)
        ids += [(n, s["ID"]) for s in z["vroegsignalen"]] if "vroegsignalen" in z else []
    links: dict[int, list[tuple]] = {}
    if ids:
        install_sql_macro(con)
        p = pads(key)
        con.register("outcome_ids", pa.table({"zaak": [n for n, _ in ids], "id": [x for _, x in ids]}))
        try:
            for zaak, case_id, period, signaaldatum in con.execute(sql("outcome_signals"),
                                                                   {"ipad": p.inner, "opad": p.outer}).fetchall():
                links.setdefault(zaak, []).append((case_id, period, signaaldatum))
        finally:
            con.unregister("outcome_ids")
    for n, (where, z) in valid.items():
        got = links.get(n, [])
        problems: list[tuple[str, str]] = []
        unknown = sum(1 for c, _, _ in got if c is None)
        cases = {c for c, _, _ in got if c is not None}
        period = max((p for _, p, _ in got if p), default=fallback)
        if not got:
            problems.append(("signaal-onbekend", "a vroegsignaalzaak without signal IDs cannot be linked to a case"))
        elif unknown:
            problems.append(("signaal-onbekend", f"{unknown} of {len(got)} signal ID(s) are not signals of a case in "
                                                 "the warehouse"))
        if len(cases) > 1:
            problems.append(("signalen-meerdere-zaken", f"the signal IDs belong to {len(cases)} different cases"))
        contacts, incomplete = [], 0
        for c in z.get("contactpogingen", []):
            if "soort" not in c or "datum" not in c:
                incomplete += 1
                continue
            contacts.append(Contact(c["soort"], date.fromisoformat(c["datum"]), c.get("dagdeel"), c.get("bereikt")))
        if incomplete:
            problems.append(("contact-onvolledig", f"{incomplete} contact attempt(s) without soort or datum"))
        opgepakt = date.fromisoformat(z["datumOpgepakt"]) if "datumOpgepakt" in z else None
        matching = date.fromisoformat(z["matchingsdatum"]) if "matchingsdatum" in z else None
        signal = max((d for _, _, d in got if d is not None), default=None)
        problems += _order(opgepakt, contacts, matching, signal, z.get("resultaat"),
                           bool(z.get("contactpogingen")))
        if problems:
            for rule, message in problems:
                parsed.rejected.append(Rejected(period, where, rule, message))
            continue
        if opgepakt is None and not contacts and not z.get("resultaat"):  # nothing registered yet: as a list's empty
            parsed.empty += 1  # row, not filled in and imported as nothing (it never clears what was imported before)
            continue
        parsed.outcomes.append(Outcome(cases.pop(), period, opgepakt, z.get("resultaat"), contacts, n))
    return parsed


# -- import ------------------------------------------------------------------------------------------------------


def read_file(path: Path, con: duckdb.DuckDBPyConnection, key: bytes | None, enums: dict,
              list_key: bytes | None = None) -> Parsed:
    path = Path(path)
    if not path.is_file():
        raise OutcomesError([f"{path}: no such file"])
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        if list_key is None:
            raise OutcomesError([f"{path}: a list needs the identity vault's key (its case references are keyed)"])
        return read_list(path, con, enums, functools.partial(reference, list_key))
    if suffix == ".json":
        if key is None:  # pragma: no cover - the caller passes the key for JSON files
            raise OutcomesError([f"{path}: a DDAS file needs the run's pseudonymisation key"])
        return read_ddas(path, con, key)
    raise OutcomesError([f"{path}: not an outcomes file: give a wijkteam's list (.xlsx) or DDAS v1.2 "
                         "vroegsignaalzaken (.json)"])


def _current(con: duckdb.DuckDBPyConnection, outcomes: list[Outcome]) -> dict[tuple[str, str], tuple]:
    if not outcomes:
        return {}
    con.register("outcome_keys", pa.table({"case_id": [o.case_id for o in outcomes],
                                           "period": [o.period for o in outcomes]}))
    try:
        return {(c, p): (d, r, [list(x) for x in (contacts or [])])
                for c, p, d, r, contacts in con.execute(sql("outcome_current")).fetchall()}
    finally:
        con.unregister("outcome_keys")


def _store(con: duckdb.DuckDBPyConnection, parsed: Parsed) -> tuple[int, int]:
    """Write a file's outcomes; (imported, unchanged)."""
    current = _current(con, parsed.outcomes)
    imported = unchanged = 0
    for o in parsed.outcomes:
        mine = (o.datum_opgepakt, o.resultaat, [c.key() for c in o.contacts])
        if current.get((o.case_id, o.period)) == mine:
            unchanged += 1
            continue
        con.execute("DELETE FROM case_outcomes WHERE case_id = ? AND period = ?", [o.case_id, o.period])
        con.execute("DELETE FROM case_contacts WHERE case_id = ? AND period = ?", [o.case_id, o.period])
        con.execute("INSERT INTO case_outcomes VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [o.case_id, o.period, o.datum_opgepakt, o.resultaat, parsed.source, parsed.sha256, o.row])
        if o.contacts:
            con.executemany("INSERT INTO case_contacts VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [[o.case_id, o.period, k, c.soort, c.datum, c.dagdeel, c.bereikt]
                             for k, c in enumerate(o.contacts, start=1)])
        current[(o.case_id, o.period)] = mine
        imported += 1
    return imported, unchanged


def quarantine_file(work_dir: Path, period: str) -> Path:
    return Path(work_dir) / "quarantine" / period / "uitkomsten.csv"


def write_quarantine(work_dir: Path, parsed: list[Parsed]) -> list[Path]:
    """Each period's uitkomsten.csv: its earlier lines of other files kept, these files' lines replaced."""
    new: dict[str, list[dict]] = {}
    for p in parsed:
        for r in p.rejected:
            new.setdefault(r.period, []).append({"file": p.path.name, "sha256": p.sha256, "row": r.row, "rule": r.rule,
                                                 "message": r.message})
    hashes = {p.sha256 for p in parsed}
    written = []
    periods = set(new)
    root = Path(work_dir) / "quarantine"
    if root.is_dir():  # a file re-imported with no problem left: its old lines go
        periods |= {d.name for d in root.iterdir() if (d / "uitkomsten.csv").is_file()}
    for period in sorted(periods):
        path = quarantine_file(work_dir, period)
        old = []
        if path.is_file():
            with path.open(encoding="utf-8", newline="") as fh:
                old = [r for r in csv.DictReader(fh)]
        keep = [r for r in old if r["sha256"] not in hashes] + new.get(period, [])
        if keep == old:
            continue
        keep.sort(key=lambda r: (r["file"], r["sha256"], _row_key(r["row"]), r["rule"]))
        out = io.StringIO()
        w = csv.DictWriter(out, fieldnames=QUARANTINE_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(keep)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(out.getvalue(), encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    return written


def _row_key(row: str):
    return (0, int(row), "") if row.isdigit() else (1, 0, row)


def import_files(con: duckdb.DuckDBPyConnection, work_dir: Path, files: list[Path],
                 key: bytes | None, list_key: bytes | None = None) -> list[FileResult]:
    """Read every file (any file-level problem: OutcomesError, nothing imported), then import
    them in one transaction and write their quarantine lines."""
    missing = missing_tables(con, ("cases", "case_signals", "case_triage", "vroegsignalen"))
    if missing:
        raise OutcomesError([f"{Path(work_dir) / 'warehouse.duckdb'}: no table {', '.join(missing)}: run the "
                             "outreach stage (wijksignaal run) first"])
    enums = choices()
    parsed, problems = [], []
    for f in files:
        try:
            parsed.append(read_file(Path(f), con, key, enums, list_key))
        except OutcomesError as exc:
            problems += exc.problems
    if problems:
        raise OutcomesError(problems)
    ensure_tables(con)
    results = []
    con.execute("BEGIN TRANSACTION")
    try:
        for p in parsed:
            imported, unchanged = _store(con, p)
            rows = {(r.period, r.row) for r in p.rejected}
            results.append(FileResult(str(p.path), imported, unchanged, p.empty, len(rows),
                                      dict(sorted(Counter(r.rule for r in p.rejected).items())),
                                      [str(quarantine_file(work_dir, q)) for q in sorted({r.period for r in p.rejected})]))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    write_quarantine(work_dir, parsed)
    return results
