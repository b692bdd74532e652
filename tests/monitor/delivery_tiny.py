"""A hand-made month for the delivery and feedback tests: a tiny warehouse (signals, cases,
outcomes) and the DDAS source files its signals came from (v1.2 for October, v0.9 for
September), with signal IDs pseudonymised as at ingest."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import duckdb
from ddas_files import bsn
from outreach.outreach_tiny import u, warehouse

from pipelines.monitor.intake import ensure_tables
from pipelines.outreach.sql import sql as outreach_sql
from pipelines.settings import CONFIG_DIR, load_sources
from privacy.pseudonymise import hmac_python, uuid_of

KEY = b"k" * 32
PERIOD = "2026-10"
SPEC = load_sources(CONFIG_DIR).sources["vroegsignalen"]
V09_EXAMPLE = CONFIG_DIR / "reference" / "ddas" / "enkelvoudigVoorbeeld.json"

PERSONS = {"anna": "h1", "bert": "h1", "carla": "h2", "dirk": "h3", "eva": "h4", "fred": "h5", "gert": "h6",
           "hans": "h7"}
BSN = {p: bsn(i) for i, p in enumerate(PERSONS)}
# ID: (person, partner, bedrag, signaaldatum, crisis, case or None)
SIGNALS = {
    "VS-A1": ("anna", "Energie", 310, "2026-10-03", False, "K1"),
    "VS-B1": ("bert", "Water", 95, "2026-10-05", True, "K1"),
    "VS-C1": ("carla", "Huur", 880, "2026-10-07", False, None),  # by address: no case (no household by pid)
    "VS-D1": ("dirk", "Zorg", 150, "2026-10-09", False, "K2"),
    "VS-E1": ("eva", "Energie", 420, "2026-10-11", False, "K3"),
    "VS-E2": ("eva", "CAK Zorgverzekeringen", 1210, "2026-10-12", False, "K3"),
    "VS-F1": ("fred", "Huur", 640, "2026-10-14", False, "K5"),
    "VS-G1": ("gert", "Water", 60, "2026-10-20", False, "K6"),
    "VS-H1": ("hans", "Energie", 275, "2026-10-22", False, "K7"),
    "VS-S1": ("anna", "Energie", 200, "2026-09-15", False, None),  # September (a DDAS v0.9 file)
}
QUARANTINED = "VS-Q1"  # in the October file, not in the warehouse (the contract refused it)
CARLA_CLIENT = {"geslachtsaanduiding": "Vrouw", "geboortedatum": "1971-03-14", "postcode": "7551 ab",
                "huisnummer": "12", "huisnummertoevoeging": "B"}
S1_CLIENT = {"Voorletters": "Q.", "Achternaam": "Zwartjes", "Geboortedatum": "1969-02-02",
             "Straatnaam": "Lindenlaan", "Postcode": "7552CD", "Huisnummer": "317", "Plaatsnaam": "Beckum"}
# case: (datum_opgepakt, resultaat, contacts [(soort, datum, dagdeel, bereikt)])
OUTCOMES = {
    "K1": ("2026-11-04", "Inwoner is overleden",
           [("Telefoon", "2026-11-04", "Ochtend", False), ("Huisbezoek", "2026-11-06", None, True)]),
    "K2": (None, "Niet opgepakt: andere reden", []),
    "K5": ("2026-11-02", "Persoon is geen inwoner (meer) in de gemeente", [("Brief", "2026-11-03", None, None)]),
    "K6": (None, "Niet opgepakt: onterecht signaal", []),
    "K7": ("2026-11-20", "Vervolghulp en/of verwijzing financieel", [("Telefoon", "2026-12-01", "Avond", True)]),
}  # K3 (eva): no outcome yet


def sid(signal_id: str) -> str:
    return uuid_of(hmac_python(KEY, "vs:" + signal_id))


def case_id(case: str) -> str:
    return u("case:" + case)


def build_warehouse(path: Path, outcomes: dict | None = None) -> Path:
    """The tiny warehouse as a DuckDB file; `outcomes` None: no outcome tables at all."""
    mem = warehouse(PERSONS)
    con = duckdb.connect(str(path))
    try:
        for table in ("persons", "vroegsignalen", "buurten", "households"):
            con.register("src", mem.execute(f"SELECT * FROM {table}").fetch_arrow_table())
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM src")
            con.unregister("src")
        con.execute(outreach_sql("cases_schema"))
        for i, (person, partner, bedrag, day, crisis, case) in SIGNALS.items():
            d = date.fromisoformat(day)
            con.execute("INSERT INTO vroegsignalen VALUES (?, ?, ?, ?, NULL, ?, ?)",
                        [sid(i), u(person), partner, bedrag, d, crisis])
            if case is not None:
                con.execute("INSERT INTO case_signals VALUES (?, ?, ?, ?, ?, false)",
                            [sid(i), case_id(case), PERIOD, u(PERSONS[person]), u(person)])
        con.execute("INSERT INTO case_matching VALUES (?, 9, 8, 1, 6, 6, 0)", [PERIOD])
        con.execute("INSERT INTO case_matching VALUES ('2026-09', 1, 0, 1, 0, 0, 0)")
        if outcomes is not None:
            ensure_tables(con)
            for case, (opgepakt, resultaat, contacts) in outcomes.items():
                con.execute("INSERT INTO case_outcomes VALUES (?, ?, ?, ?, 'ddas', 'x', 1)",
                            [case_id(case), PERIOD, opgepakt and date.fromisoformat(opgepakt), resultaat])
                for seq, (soort, day, dagdeel, bereikt) in enumerate(contacts, start=1):
                    con.execute("INSERT INTO case_contacts VALUES (?, ?, ?, ?, ?, ?, ?)",
                                [case_id(case), PERIOD, seq, soort, date.fromisoformat(day), dagdeel, bereikt])
    finally:
        con.close()
        mem.close()
    return path


def _v12_signal(i: str) -> dict:
    person, partner, bedrag, day, crisis, _ = SIGNALS[i] if i in SIGNALS else ("hans", "Huur", 10, "2026-10-02",
                                                                              False, None)
    client = dict(CARLA_CLIENT) if person == "carla" else {"burgerservicenummer": BSN[person]}
    if i == QUARANTINED:
        client = {"burgerservicenummer": "999999999"}
    return {"ID": i, "crisissignaal": crisis, "warmeOverdracht": False, "bedrag": bedrag,
            "ontstaansdatum": "2026-09-01", "signaaldatum": day, "status": "Nog niet opgepakt",
            "signaalpartner": {"type": partner}, "client": client}


def write_sources(folder: Path) -> Path:
    """vroegsignalen_2026-10.json (DDAS v1.2) and vroegsignalen_2026-09.json (DDAS v0.9)."""
    folder.mkdir(parents=True, exist_ok=True)
    october = [i for i in SIGNALS if SIGNALS[i][3].startswith(PERIOD)] + [QUARANTINED]
    doc = {"codeGegevensleverancier": "TEST", "startdatumLevering": "2026-10-01", "einddatumLevering": "2026-10-31",
           "aanleverdatumEnTijd": "2026-11-01T06:00:00Z",
           "leveringen": [{"teller": 1, "gemeentecode": "0164", "aanleverendeOrganisatie": {"naam": "Gemeente Test"},
                           "vroegsignalen": [_v12_signal(i) for i in october]}]}
    (folder / "vroegsignalen_2026-10.json").write_text(json.dumps(doc), encoding="utf-8")
    old = json.loads(V09_EXAMPLE.read_text(encoding="utf-8"))
    old["startdatumLevering"], old["einddatumLevering"] = "2026-09-01", "2026-09-30"
    old["aanleverdatumEnTijd"] = "2026-10-01T06:00:00Z"
    lev = old["leveringen"][0]
    lev.pop("vroegsignaalzaken", None)
    signal = copy.deepcopy(lev["vroegsignalen"][0])
    signal.update(ID="VS-S1", signaaldatum="2026-09-15", ontstaansdatum="2026-09-01",
                  client={"Burgerservicenummer": BSN["anna"], **S1_CLIENT})
    lev["vroegsignalen"] = [signal]
    (folder / "vroegsignalen_2026-09.json").write_text(json.dumps(old), encoding="utf-8")
    return folder
