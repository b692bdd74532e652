"""Feedback to the signal partners (terugkoppeling aan vastelastenpartners): per partner and
signal, whether the gemeente picked it up, and nothing of why not.

`wijksignaal feedback --config gemeente.yaml [--period YYYY-MM]` writes one file per signal
partner (DDAS `signaalpartner.type`; the warehouse knows no finer partner) that sent signals
dated in the month: `<work>/terugkoppeling/<period>/<partner>.json`, e.g. `energie.json`:

    {"gemeentecode": "0164", "signaalpartner": "Energie",
     "startdatum": "2026-10-01", "einddatum": "2026-10-31",
     "signalen": [{"ID": "…", "opgepakt": "ja"},
                  {"ID": "…", "opgepakt": "nee", "terugmelding": "Niet opgepakt: onterecht signaal"},
                  {"ID": "…", "opgepakt": "nog niet"}]}

`ID` is the partner's own signal ID (read again from the source files, as for the delivery:
pipelines/monitor/delivery.py, under a DPIA purpose that allows ``partner_feedback``, logged;
no client field is read). `opgepakt`: ``ja`` when the signal's case has a pick-up date,
``nee`` when its end result is one of the "Niet opgepakt: …" results, ``nog niet`` when
nothing is recorded yet (the DDAS status "Nog niet opgepakt"). No date, contact attempt,
amount, case grouping or other end result is told.

**What may be told back.** The DDAS v1.2 definitions (VNG Realisatie, "Detail Model
Vroegsignalering", config/reference/ddas/v1.2/definities_vroegsignalering.md, EnumEindresultaat
and EnumSignaalstatus) say, per end result, what the vastelastenpartner learns:

* *Niet opgepakt: andere reden*: "Vastelastenpartners mogen hierbij alleen weten dat de
  melding niet is opgepakt, maar de specifieke reden daarvoor niet. De gemeenten kunnen de
  redenen voor zichzelf wel bijhouden." Told: ``opgepakt: nee``, and nothing else.
* *Niet opgepakt: herhaalde melding* and *Niet opgepakt: onterecht signaal*: "Dit
  eindresultaat wordt teruggekoppeld aan de vastelastenpartner." Told: ``nee`` and the result
  (`terugmelding`): the partner should not send it again, or should check its criteria.
* *Persoon is geen inwoner (meer) in de gemeente*: "De vastelastenpartner wordt hierdoor
  automatisch vanuit het systeem geïnformeerd dat de aangemelde klant geen inwoner (meer) is
  van de gemeente." and *Inwoner is overleden*: "Registreer desondanks dit resultaat. Zo
  wordt de vastelastenpartner op de hoogte gebracht." Told as `terugmelding`, but only when
  every signal of the case in that month concerns one person: a case is an address, and
  telling a partner that its client died or moved when the result may be about a housemate
  would be false (the same rule as the delivery's signal status).
* Every other result (the help given or refused, a referral, "Inwoner al bekend bij
  schuldhulpverlening", whose schuldhulpverlener contacts the creditor itself, no contact)
  is about the resident's situation, not the partner's business: told is only ``ja`` or
  ``nee``.

The files are deterministic (signals sorted by ID, no clock) and written atomically, owner
only (folder 0700); a partner's file from an earlier run of the month without signals now is
removed. The transport to the partners is out of scope, as for the delivery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.monitor import delivery
from pipelines.periods import period_bounds
from privacy.ledger import fsync_dir

PARTNER_FEEDBACK = "partner_feedback"
# the end results the definitions say are told back to the partner (module docstring)
TOLD_BACK = ("Niet opgepakt: herhaalde melding", "Niet opgepakt: onterecht signaal",
             "Persoon is geen inwoner (meer) in de gemeente", "Inwoner is overleden")
JA, NEE, NOG_NIET = "ja", "nee", "nog niet"


def opgepakt(row: delivery.SignalRow) -> str:
    if row.datum_opgepakt is not None:
        return JA
    if row.resultaat is not None and row.resultaat.startswith(delivery.NIET_OPGEPAKT):
        return NEE
    return NOG_NIET


def told(row: delivery.SignalRow) -> dict[str, str]:
    """What the partner is told of one signal, besides its ID."""
    out = {"opgepakt": opgepakt(row)}
    status = row.status  # a one-person result only when the case has one person (delivery.signal_status)
    if status in TOLD_BACK:
        out["terugmelding"] = status
    return out


def slug(partner: str) -> str:
    """A partner type as a file name: 'CAK Zorgverzekeringen' -> 'cak-zorgverzekeringen'."""
    return re.sub(r"[^a-z0-9]+", "-", partner.lower()).strip("-")


@dataclass
class Feedback:
    files: dict[str, tuple[Path, int]] = field(default_factory=dict)  # partner -> (file, signals)
    by_answer: dict[str, int] = field(default_factory=dict)  # opgepakt value -> signals
    told_back: int = 0


def build(rows: list[delivery.SignalRow], found: dict[str, delivery.SourceSignal], *, period: str,
          gemeente: str) -> dict[str, dict[str, Any]]:
    """{partner type: its feedback document} for the month's signals."""
    bounds = period_bounds(period)
    by_partner: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_partner.setdefault(r.signaalpartner, []).append({"ID": found[r.sid].id, **told(r)})
    return {partner: {"gemeentecode": gemeente.removeprefix("GM"), "signaalpartner": partner,
                      "startdatum": bounds["period_start"].isoformat(), "einddatum": bounds["period_end"].isoformat(),
                      "signalen": sorted(signals, key=lambda s: s["ID"])}
            for partner, signals in sorted(by_partner.items())}


def folder(work_dir: Path, period: str) -> Path:
    return Path(work_dir) / "terugkoppeling" / period


def write(work_dir: Path, period: str, docs: dict[str, dict[str, Any]]) -> Feedback:
    out = Feedback()
    where = folder(work_dir, period)
    names = {}
    for partner, doc in docs.items():
        path = where / f"{slug(partner)}.json"
        delivery.write_private(path, delivery.dumps(doc))
        names[path.name] = partner
        out.files[partner] = (path, len(doc["signalen"]))
        for s in doc["signalen"]:
            out.by_answer[s["opgepakt"]] = out.by_answer.get(s["opgepakt"], 0) + 1
            out.told_back += "terugmelding" in s
    if where.is_dir():  # a partner of an earlier run of this month without signals now
        stale = [p for p in where.glob("*.json") if p.name not in names]
        for old in stale:
            old.unlink()
        if stale:
            fsync_dir(where)
    return out


def for_run(run: Any, period: str) -> Feedback:
    rows, _, found = delivery.read_for(run, period, PARTNER_FEEDBACK, client=False)
    return write(run.work_dir, period, build(rows, found, period=period, gemeente=run.settings.gemeente))
