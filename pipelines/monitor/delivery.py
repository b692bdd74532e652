"""The DDAS v1.2 delivery of a gemeente for a period: the file a gemeente (or its supplier)
hands over for the national monitor (Divosa Monitor Vroegsignalering, through CBS).

`wijksignaal delivery --config gemeente.yaml [--period YYYY-MM]` writes
`<work>/levering/<period>/ddas-v1.2-<GM....>-<period>.json`: one `Uitwisselmodel` with one
`levering` (the gemeente) holding

* **vroegsignalen**: every signal of the warehouse dated in the month (`signaaldatum`), with
  `ID`, `crisissignaal`, `bedrag` and `ontstaansdatum` (when loaded), `signaaldatum`,
  `status`, `signaalpartner.type` and `client`;
* **vroegsignaalzaken**: every case the outreach stage made of the month's signals (one per
  address, pipelines/outreach/), with the matching period (the month), the IDs of its
  signals of the month and what `wijksignaal outcomes` imported for it and the month
  (case_outcomes, case_contacts): `resultaat`, `datumOpgepakt` and `contactpogingen`. A case
  without outcomes is a zaak with only its matching period and signals (every property of a
  zaak is optional in the schema); its signals have status `Nog niet opgepakt`.

The file is checked against the vendored v1.2 schema with the project's own checker
(pipelines/ingest/ddas.py) before it is written; a file that fails is never written.

**Where the IDs and clients come from.** The warehouse holds no signal ID, BSN or address:
only the pseudonym ``sid = pseudonym('vs:' || ID)``. The schema requires of each vroegsignaal
its `ID`, its `signaalpartner` and its `client`, and a client either by `burgerservicenummer`
alone or by `postcode` + `huisnummer` (a `oneOf`). So the source files of
`config/sources.yaml` (`vroegsignalen`) are read again, each checked against its own DDAS
version's schema as at ingest (pipelines/ingest/readers.py), and only these fields are taken
from them: the ID, and the client in the form the signal partner gave it: the BSN when it
gave one (then nothing else is allowed), else postcode and huisnummer. The optional personal
fields (geboortedatum, geslachtsaanduiding, huisnummertoevoeging, and v0.9's names and
addresses) are never read. Each source ID is pseudonymised with the run's key exactly as at
ingest and joined to the warehouse's signals in memory; the identities never enter DuckDB.
The re-read happens only under a DPIA purpose whose `allowed_outputs` include
``ddas_delivery`` (config/dpia.yaml), and is logged like a vault opening: one line before
(``reading``) and one after (``read``, with counts) in `<work>/toegang.jsonl` (purpose,
DPIA, period, fields; never an ID or identity). Everything else a signal carries comes from
the warehouse: what the data contract passed.

**Status of a signal** (EnumSignaalstatus), from its case's outcome of the month: an end
result that is also a status value (the three "Niet opgepakt: …" results, "Persoon is geen
inwoner (meer) in de gemeente", "Inwoner is overleden", "Inwoner al bekend bij
schuldhulpverlening") is the status; else `Opgepakt` when the case has a pick-up date;
else `Nog niet opgepakt` (also a signal in no case: neither its person nor its address places it
in a household of the BRP extract). A result about one person (the last three) is the status of every signal of the
case only when they all concern one person; a case at an address with signals of several
persons gets `Opgepakt` instead: telling a partner that its client has died, or moved, when
the result may be about a housemate would be false.

**Deterministic**: signals sorted by ID, zaken by their first signal ID, keys in the order of
the standard's examples, and no clock: `aanleverdatumEnTijd` (required) is the end of the
latest day the file speaks of (the period's last day, or a later pick-up or contact date),
23:59:59 Dutch time, in UTC. Same warehouse and same source files, same bytes.

**Transport is out of scope.** wijksignaal writes the file; sending it (Digikoppeling,
PKIoverheid certificates, a JAdES signature) is the gemeente's or its supplier's.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from pipelines.monitor.intake import Contact, missing_tables
from pipelines.monitor.sql import sql
from pipelines.periods import period_bounds
from pipelines.settings import DDAS_SCHEMAS, Source
from privacy.ledger import fsync_dir, write_all

VERSION = "1.2"
DDAS_DELIVERY = "ddas_delivery"
CODE_GEGEVENSLEVERANCIER = "wijksignaal"  # the code CBS gives the supplier; wijksignaal's own name until then
DUTCH_TIME = ZoneInfo("Europe/Amsterdam")
NIET_OPGEPAKT = "Niet opgepakt: "
# end results (EnumEindresultaat) that are also signal statuses (EnumSignaalstatus)
RESULT_STATUSES = (
    "Inwoner al bekend bij schuldhulpverlening",
    "Inwoner is overleden",
    "Niet opgepakt: andere reden",
    "Niet opgepakt: herhaalde melding",
    "Niet opgepakt: onterecht signaal",
    "Persoon is geen inwoner (meer) in de gemeente",
)
# of those, the ones about one person (not about the case as a whole)
ONE_PERSON = ("Inwoner al bekend bij schuldhulpverlening", "Inwoner is overleden",
              "Persoon is geen inwoner (meer) in de gemeente")
# and the ones about a signal: a case with signals of several partner types does not say whose signal was the
# repeat or the wrong one, so each of its signals is then "Niet opgepakt: andere reden" (told as not picked up only)
ONE_SIGNAL = ("Niet opgepakt: herhaalde melding", "Niet opgepakt: onterecht signaal")
ANDERE_REDEN = "Niet opgepakt: andere reden"
OPGEPAKT, NOG_NIET = "Opgepakt", "Nog niet opgepakt"
TABLES = ("vroegsignalen", "cases", "case_signals", "case_matching")


class DeliveryError(Exception):
    """The delivery (or the feedback) cannot be made; `problems`: one line each, naming files,
    tables and counts, never an ID, BSN or address."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# -- the DPIA purpose and the access log -------------------------------------------------------------------------


def access_log(work_dir: Path) -> Path:
    """Where each re-read of a source's identifying fields is logged (like the vault's opening)."""
    return Path(work_dir) / "toegang.jsonl"


def purpose_for(dpia: Any, output: str) -> str:
    """The DPIA purpose (its id) that allows `output`: the first by name if several do."""
    ids = sorted(k for k, p in dpia.purposes.items() if output in p.allowed_outputs)
    if not ids:
        raise DeliveryError([f"no DPIA purpose allows output {output} (config/dpia.yaml, allowed_outputs): the "
                             "signal IDs are read again from the source files only under such a purpose"])
    return ids[0]


def log_read(log: Path, entry: dict[str, Any]) -> None:
    from privacy.vault import log_access, who

    log.parent.mkdir(parents=True, exist_ok=True)
    log_access(log, {**who(), **entry})


# -- the source files: the signals' own IDs and clients ----------------------------------------------------------


@dataclass(frozen=True)
class SourceSignal:
    id: str
    client: tuple[tuple[str, str], ...] = ()  # (DDAS v1.2 client property, value); () when not read


CLIENT_COLUMNS = ("bsn", "postcode", "huisnummer")


def reduced(spec: Source, client: bool) -> Source:
    """The source declaration narrowed to the columns re-read: the ID, and with `client` the
    BSN, postcode and huisnummer. Nothing else of a file is read."""
    keep = {"signaal_id", *(CLIENT_COLUMNS if client else ())}
    return spec.model_copy(update={"columns": {c: p for c, p in spec.columns.items() if c in keep},
                                   "columns_by_version": {v: {c: p for c, p in m.items() if c in keep}
                                                          for v, m in spec.columns_by_version.items()},
                                   "values": {}, "identity": {}})


def _client(row: dict[str, str | None]) -> tuple[tuple[str, str], ...]:
    bsn = (row.get("bsn") or "").strip()
    if bsn:  # as at ingest (config/sources/vroegsignalen.sql): trimmed, 9 digits with leading zeros
        return (("burgerservicenummer", bsn.rjust(9, "0")),)
    postcode = re.sub(r"\s+", "", row.get("postcode") or "").upper()
    huisnummer = (row.get("huisnummer") or "").strip()
    if postcode and huisnummer:
        return (("postcode", postcode), ("huisnummer", huisnummer))
    return ()


def source_signals(name: str, spec: Source, sources_dir: Path, key: bytes, wanted: Iterable[str], *,
                   client: bool) -> tuple[dict[str, SourceSignal], int]:
    """The wanted signals (by sid) as their source files give them: {sid: SourceSignal}, and
    the number of files read. A file that cannot be read is a SourceFileError (as at ingest)."""
    from pipelines.ingest.readers import read_source
    from privacy.pseudonymise import hmac_python, uuid_of

    wanted = set(wanted)
    raw = read_source(name, reduced(spec, client), sources_dir)
    columns = ["signaal_id", *(CLIENT_COLUMNS if client else ())]
    data = {c: raw.table[c].to_pylist() if c in raw.table.column_names else [None] * raw.table.num_rows
            for c in columns}
    out: dict[str, SourceSignal] = {}
    conflicting = 0
    for n, signal_id in enumerate(data["signaal_id"]):
        if signal_id is None:
            continue
        sid = uuid_of(hmac_python(key, "vs:" + signal_id))
        if sid not in wanted:
            continue
        got = SourceSignal(signal_id, _client({c: data[c][n] for c in columns}) if client else ())
        if sid in out and out[sid] != got:
            conflicting += 1
        out.setdefault(sid, got)
    if conflicting:
        raise DeliveryError([f"{name}: {conflicting} signal(s) of the warehouse appear in more than one source file, "
                             "with different clients: keep each delivery once in the sources folder"])
    return out, len(raw.files)


# -- the warehouse -----------------------------------------------------------------------------------------------


def ensure_outcome_tables(con: duckdb.DuckDBPyConnection) -> None:
    """No outcomes imported yet: empty TEMP tables of their shape (the warehouse stays untouched)."""
    if missing_tables(con, ("case_outcomes", "case_contacts")) == ["case_outcomes", "case_contacts"]:
        schema = sql("outcomes_schema")
        assert schema.count("CREATE TABLE IF NOT EXISTS") == 2
        con.execute(schema.replace("CREATE TABLE IF NOT EXISTS", "CREATE TEMP TABLE"))


@dataclass
class SignalRow:
    sid: str
    signaalpartner: str
    bedrag: int | None
    ontstaansdatum: date | None
    signaaldatum: date
    crisissignaal: bool | None
    case_id: str | None
    datum_opgepakt: date | None
    resultaat: str | None
    n_persons: int | None
    n_partners: int | None = None

    @property
    def status(self) -> str:
        return signal_status(self.datum_opgepakt, self.resultaat, self.n_persons, self.n_partners)


def signal_status(datum_opgepakt: date | None, resultaat: str | None, n_persons: int | None,
                  n_partners: int | None = 1) -> str:
    """A signal's DDAS v1.2 EnumSignaalstatus from its case's outcome of the month (module docstring)."""
    if resultaat in ONE_SIGNAL and n_partners != 1:
        return ANDERE_REDEN
    if resultaat in RESULT_STATUSES and (resultaat not in ONE_PERSON or n_persons == 1):
        return resultaat
    return OPGEPAKT if datum_opgepakt is not None else NOG_NIET


def warehouse_signals(con: duckdb.DuckDBPyConnection, period: str, where: str) -> list[SignalRow]:
    """The month's signals with their case and its outcome; DeliveryError when the outreach stage
    did not match the month (`where`: the warehouse, for the message)."""
    missing = missing_tables(con, TABLES)
    if missing:
        raise DeliveryError([f"{where}: no table {', '.join(missing)}: run the outreach stage (wijksignaal run, with "
                             "a selection that asks for signal_list) first"])
    bounds = period_bounds(period)
    matched = con.execute(sql("delivery_matched"), {"period": period}).fetchone()
    if not matched or not matched[0]:
        raise DeliveryError([f"{where}: the signals of {period} were not matched to cases: run wijksignaal run "
                             f"--period {period} first"])
    ensure_outcome_tables(con)
    rows = con.execute(sql("delivery_signals"), {"period": period, "period_start": bounds["period_start"],
                                                 "period_end": bounds["period_end"]}).fetchall()
    return [SignalRow(*r) for r in rows]


def warehouse_contacts(con: duckdb.DuckDBPyConnection, period: str) -> dict[str, list[Contact]]:
    out: dict[str, list[Contact]] = {}
    for case_id, _, soort, datum, dagdeel, bereikt in con.execute(sql("delivery_contacts"),
                                                                  {"period": period}).fetchall():
        out.setdefault(case_id, []).append(Contact(soort, datum, dagdeel, bereikt))
    return out


def missing_in_sources(name: str, rows: list[SignalRow], found: dict[str, SourceSignal], period: str,
                       client: bool) -> None:
    """Every signal of the month must be found in the source files (with a client, if asked)."""
    absent = sum(1 for r in rows if r.sid not in found)
    if absent:
        raise DeliveryError([f"{name}: {absent} of the {len(rows)} signal(s) of {period} in the warehouse are in no "
                             "source file: their IDs are kept only there; put the month's deliveries back in the "
                             "sources folder"])
    if client:
        without = sum(1 for r in rows if not found[r.sid].client)
        if without:
            raise DeliveryError([f"{name}: {without} signal(s) of {period} have neither a BSN nor postcode and "
                                 "huisnummer in their source file, which DDAS v1.2 requires of a client"])


# -- the document ------------------------------------------------------------------------------------------------


@dataclass
class Delivery:
    doc: dict
    signals: int
    zaken: int
    with_result: int
    picked_up: int
    by_status: dict[str, int] = field(default_factory=dict)


def _delivered_at(days: Iterable[date]) -> str:
    """The end of the latest day, Dutch time, as UTC (YYYY-MM-DDTHH:MM:SSZ)."""
    last = max(days)
    moment = datetime.combine(last, time(23, 59, 59), DUTCH_TIME).astimezone(ZoneInfo("UTC"))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build(rows: list[SignalRow], contacts: dict[str, list[Contact]], found: dict[str, SourceSignal], *,
          period: str, gemeente: str, gemeente_naam: str) -> Delivery:
    """The DDAS v1.2 Uitwisselmodel of the month (not yet checked; `check` does that)."""
    bounds = period_bounds(period)
    start, end = bounds["period_start"].isoformat(), bounds["period_end"].isoformat()
    signals = []
    for r in sorted(rows, key=lambda r: found[r.sid].id):
        s: dict[str, Any] = {"ID": found[r.sid].id}
        if r.crisissignaal is not None:
            s["crisissignaal"] = bool(r.crisissignaal)
        if r.bedrag is not None:
            s["bedrag"] = int(r.bedrag)
        if r.ontstaansdatum is not None:
            s["ontstaansdatum"] = r.ontstaansdatum.isoformat()
        s["signaaldatum"] = r.signaaldatum.isoformat()
        s["status"] = r.status
        s["signaalpartner"] = {"type": r.signaalpartner}
        s["client"] = dict(found[r.sid].client)
        signals.append(s)
    by_case: dict[str, list[SignalRow]] = {}
    for r in rows:
        if r.case_id is not None:
            by_case.setdefault(r.case_id, []).append(r)
    zaken = []
    days = [bounds["period_end"]]
    for case_id, members in by_case.items():
        first = members[0]
        z: dict[str, Any] = {}
        if first.resultaat is not None:
            z["resultaat"] = first.resultaat
        z["startdatumMatchingperiode"], z["einddatumMatchingperiode"] = start, end
        if first.datum_opgepakt is not None:
            z["datumOpgepakt"] = first.datum_opgepakt.isoformat()
            days.append(first.datum_opgepakt)
        z["vroegsignalen"] = [{"ID": i} for i in sorted(found[m.sid].id for m in members)]
        attempts = []
        for c in contacts.get(case_id, []):
            a: dict[str, Any] = {"soort": c.soort}
            if c.bereikt is not None:
                a["bereikt"] = bool(c.bereikt)
            a["datum"] = c.datum.isoformat()
            if c.dagdeel is not None:
                a["dagdeel"] = c.dagdeel
            attempts.append(a)
            days.append(c.datum)
        if attempts:
            z["contactpogingen"] = attempts
        zaken.append(z)
    zaken.sort(key=lambda z: z["vroegsignalen"][0]["ID"])
    doc = {
        "codeGegevensleverancier": CODE_GEGEVENSLEVERANCIER,
        "startdatumLevering": start,
        "einddatumLevering": end,
        "aanleverdatumEnTijd": _delivered_at(days),
        "leveringen": [{
            "teller": 1,
            "gemeentecode": gemeente.removeprefix("GM"),
            "aanleverendeOrganisatie": {"naam": f"Gemeente {gemeente_naam}"},
            "vroegsignalen": signals,
            "vroegsignaalzaken": zaken,
        }],
    }
    statuses: dict[str, int] = {}
    for s in signals:
        statuses[s["status"]] = statuses.get(s["status"], 0) + 1
    return Delivery(doc, len(signals), len(zaken), sum(1 for z in zaken if "resultaat" in z),
                    sum(1 for z in zaken if "datumOpgepakt" in z), dict(sorted(statuses.items())))


def check(doc: dict) -> list[str]:
    """What the vendored DDAS v1.2 schema finds wrong with the document (pipelines/ingest/ddas.py:
    paths and schema terms, never a value); [] when it is valid."""
    from pipelines.ingest import ddas

    found = ddas.schema(VERSION).check(doc)
    return found.file + [f"leveringen[{i}].vroegsignalen[{j}]: {text}" for (i, j), text in sorted(found.signals.items())]


def dumps(doc: dict) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (a temporary file beside it, fsync'd, renamed over it,
    the folder fsync'd), readable by its owner only; its folder 0700."""
    old = os.umask(0o077)  # every folder it makes (levering/, its period) owner-only, not only the last
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    finally:
        os.umask(old)
    path.parent.chmod(0o700)
    path.parent.parent.chmod(0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def delivery_file(work_dir: Path, gemeente: str, period: str) -> Path:
    return Path(work_dir) / "levering" / period / f"ddas-v{VERSION}-{gemeente}-{period}.json"


# -- a run's delivery --------------------------------------------------------------------------------------------


def vroegsignalen_source(run: Any) -> tuple[str, Source]:
    """The DDAS source the warehouse's `vroegsignalen` table is loaded from (config/sources.yaml)."""
    for name, spec in run.sources.sources.items():
        if spec.format == "ddas-json" and spec.table == "vroegsignalen":
            return name, spec
    raise DeliveryError([f"{run.config_dir / 'sources.yaml'}: no DDAS source loads the table vroegsignalen"])


def read_for(run: Any, period: str, output: str, *, client: bool
             ) -> tuple[list[SignalRow], dict[str, list[Contact]], dict[str, SourceSignal]]:
    """The month's signals from the warehouse and their IDs (and clients) from the source files,
    read under the DPIA purpose that allows `output`, the reading logged before and after."""
    if run.settings.gemeente == "NL":
        raise DeliveryError([f"gemeente: NL: a {'delivery' if client else 'feedback'} is made per gemeente; use a "
                             "gemeente's own settings"])
    log = access_log(run.work_dir)
    name, spec = vroegsignalen_source(run)
    fields = ["ID", *(("client.burgerservicenummer", "client.postcode", "client.huisnummer") if client else ())]
    entry = {"source": name, "output": output, "period": period, "fields": fields,
             "dpia": f"{run.dpia.dpia.id} {run.dpia.dpia.version}"}
    try:
        purpose = purpose_for(run.dpia, output)
    except DeliveryError:
        log_read(log, {**entry, "purpose": None, "action": "refused", "reason": f"no purpose allows {output}"})
        raise
    entry["purpose"] = purpose
    if not run.warehouse.is_file():
        raise DeliveryError([f"{run.warehouse}: no warehouse: run wijksignaal run first"])
    con = duckdb.connect(str(run.warehouse), read_only=True)
    try:
        rows = warehouse_signals(con, period, str(run.warehouse))
        contacts = warehouse_contacts(con, period)
    finally:
        con.close()
    key = run.key()
    log_read(log, {**entry, "action": "reading"})
    found, files = source_signals(name, spec, run.sources_dir, key, (r.sid for r in rows), client=client)
    log_read(log, {**entry, "action": "read", "files": files, "signals": len(found)})
    missing_in_sources(name, rows, found, period, client)
    return rows, contacts, found


def for_run(run: Any, period: str) -> tuple[Delivery, Path]:
    """Make, check and write the run's DDAS v1.2 delivery of `period`."""
    from pipelines import geography

    rows, contacts, found = read_for(run, period, DDAS_DELIVERY, client=True)
    gemeente = run.settings.gemeente
    made = build(rows, contacts, found, period=period, gemeente=gemeente, gemeente_naam=geography.gemeente_name(gemeente))
    problems = check(made.doc)
    if problems:  # a bug, not the data's fault: say where, never what
        raise DeliveryError([f"the delivery of {period} does not follow the DDAS v{VERSION} schema "
                             f"({DDAS_SCHEMAS[VERSION].name}); nothing was written: " + "; ".join(problems[:3])])
    path = delivery_file(run.work_dir, gemeente, period)
    write_private(path, dumps(made.doc))
    return made, path
