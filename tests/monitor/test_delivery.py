"""The DDAS v1.2 delivery: valid against the vendored schema (the project's checker), the month's
signals with the ID and client of their source file, the cases as vroegsignaalzaken with what
the outcomes import recorded, same inputs same bytes, and nothing personal beyond what the
schema requires."""

from __future__ import annotations

import json
import stat

import duckdb
import pytest
from delivery_tiny import (
    BSN,
    CARLA_CLIENT,
    KEY,
    OUTCOMES,
    PERIOD,
    QUARANTINED,
    S1_CLIENT,
    SIGNALS,
    SPEC,
    build_warehouse,
    write_sources,
)

from pipelines.ingest import ddas
from pipelines.monitor import delivery
from pipelines.monitor.delivery import DeliveryError


@pytest.fixture
def month(tmp_path):
    return {"warehouse": build_warehouse(tmp_path / "warehouse.duckdb", OUTCOMES),
            "sources": write_sources(tmp_path / "sources"), "work": tmp_path / "work"}


def make(month, period=PERIOD, expect_files=2) -> delivery.Delivery:
    con = duckdb.connect(str(month["warehouse"]), read_only=True)
    try:
        rows = delivery.warehouse_signals(con, period, "warehouse.duckdb")
        contacts = delivery.warehouse_contacts(con, period)
    finally:
        con.close()
    found, files = delivery.source_signals("vroegsignalen", SPEC, month["sources"], KEY, (r.sid for r in rows),
                                           client=True)
    assert files == expect_files
    delivery.missing_in_sources("vroegsignalen", rows, found, period, True)
    return delivery.build(rows, contacts, found, period=period, gemeente="GM0164", gemeente_naam="Hengelo")


def valid(doc: dict) -> bool:
    found = ddas.schema("1.2").check(doc)  # the project's v1.2 checker (pipelines/ingest/ddas.py)
    return not found.file and not found.signals


def by_id(doc: dict) -> dict[str, dict]:
    return {s["ID"]: s for s in doc["leveringen"][0]["vroegsignalen"]}


def zaak_of(doc: dict, signal_id: str) -> dict:
    (z,) = [z for z in doc["leveringen"][0]["vroegsignaalzaken"] if {"ID": signal_id} in z["vroegsignalen"]]
    return z


def test_the_delivery_follows_the_v12_schema_and_carries_the_months_signals(month):
    made = make(month)
    doc = made.doc
    assert valid(doc)
    assert delivery.check(doc) == []
    assert ddas.detect_version(doc)[0] == "1.2"
    assert {k: doc[k] for k in ("codeGegevensleverancier", "startdatumLevering", "einddatumLevering",
                                "aanleverdatumEnTijd")} == \
        {"codeGegevensleverancier": "wijksignaal", "startdatumLevering": "2026-10-01",
         "einddatumLevering": "2026-10-31", "aanleverdatumEnTijd": "2026-12-01T22:59:59Z"}  # last contact, Dutch time
    (lev,) = doc["leveringen"]
    assert (lev["teller"], lev["gemeentecode"], lev["aanleverendeOrganisatie"]) == (1, "0164",
                                                                                    {"naam": "Gemeente Hengelo"})
    october = sorted(i for i, s in SIGNALS.items() if s[3].startswith(PERIOD))
    assert [s["ID"] for s in lev["vroegsignalen"]] == october  # not September's, not the quarantined one
    assert by_id(doc)["VS-B1"] == {"ID": "VS-B1", "crisissignaal": True, "bedrag": 95, "signaaldatum": "2026-10-05",
                                   "status": "Opgepakt", "signaalpartner": {"type": "Water"},
                                   "client": {"burgerservicenummer": BSN["bert"]}}
    assert (made.signals, made.zaken, made.picked_up, made.with_result) == (9, 6, 3, 5)


def test_the_zaken_carry_pick_up_date_contact_attempts_and_end_result(month):
    doc = make(month).doc
    assert zaak_of(doc, "VS-A1") == {
        "resultaat": "Inwoner is overleden",
        "startdatumMatchingperiode": "2026-10-01", "einddatumMatchingperiode": "2026-10-31",
        "datumOpgepakt": "2026-11-04",
        "vroegsignalen": [{"ID": "VS-A1"}, {"ID": "VS-B1"}],
        "contactpogingen": [{"soort": "Telefoon", "bereikt": False, "datum": "2026-11-04", "dagdeel": "Ochtend"},
                            {"soort": "Huisbezoek", "bereikt": True, "datum": "2026-11-06"}]}
    assert zaak_of(doc, "VS-F1")["contactpogingen"] == [{"soort": "Brief", "datum": "2026-11-03"}]  # bereikt unknown
    niet = zaak_of(doc, "VS-D1")
    assert niet == {"resultaat": "Niet opgepakt: andere reden", "startdatumMatchingperiode": "2026-10-01",
                    "einddatumMatchingperiode": "2026-10-31", "vroegsignalen": [{"ID": "VS-D1"}]}
    assert [z["vroegsignalen"][0]["ID"] for z in doc["leveringen"][0]["vroegsignaalzaken"]] == \
        ["VS-A1", "VS-D1", "VS-E1", "VS-F1", "VS-G1", "VS-H1"]  # by first signal ID; carla's signal is in no case


def test_a_case_without_outcomes_is_a_zaak_of_its_signals_only_and_they_are_not_yet_picked_up(month):
    doc = make(month).doc
    assert zaak_of(doc, "VS-E1") == {"startdatumMatchingperiode": "2026-10-01", "einddatumMatchingperiode": "2026-10-31",
                                     "vroegsignalen": [{"ID": "VS-E1"}, {"ID": "VS-E2"}]}
    assert {by_id(doc)[i]["status"] for i in ("VS-E1", "VS-E2", "VS-C1")} == {"Nog niet opgepakt"}


def test_without_any_outcomes_imported_every_case_is_a_bare_zaak_and_the_warehouse_is_untouched(month, tmp_path):
    month["warehouse"] = build_warehouse(tmp_path / "bare.duckdb", outcomes=None)
    before = month["warehouse"].read_bytes()
    made = make(month)
    assert valid(made.doc)
    assert made.by_status == {"Nog niet opgepakt": 9}
    assert all(set(z) == {"startdatumMatchingperiode", "einddatumMatchingperiode", "vroegsignalen"}
               for z in made.doc["leveringen"][0]["vroegsignaalzaken"])
    assert made.doc["aanleverdatumEnTijd"] == "2026-10-31T22:59:59Z"  # the period's last day (CET: UTC+1)
    assert month["warehouse"].read_bytes() == before  # read only: no outcome table was created in it


def test_a_signals_status_follows_its_case_and_a_one_person_result_only_a_case_of_one_person(month):
    status = {i: s["status"] for i, s in by_id(make(month).doc).items()}
    assert status == {
        "VS-A1": "Opgepakt", "VS-B1": "Opgepakt",  # "Inwoner is overleden", but the case has two persons
        "VS-C1": "Nog niet opgepakt",
        "VS-D1": "Niet opgepakt: andere reden",
        "VS-E1": "Nog niet opgepakt", "VS-E2": "Nog niet opgepakt",
        "VS-F1": "Persoon is geen inwoner (meer) in de gemeente",  # one person
        "VS-G1": "Niet opgepakt: onterecht signaal",
        "VS-H1": "Opgepakt",
    }


def test_the_client_is_the_bsn_alone_or_postcode_and_huisnummer_and_nothing_optional(month):
    made = make(month)
    clients = {i: s["client"] for i, s in by_id(made.doc).items()}
    assert clients["VS-C1"] == {"postcode": "7551AB", "huisnummer": "12"}
    assert all(c == {"burgerservicenummer": BSN[SIGNALS[i][0]]} for i, c in clients.items() if i != "VS-C1")
    blob = delivery.dumps(made.doc)
    for value in (CARLA_CLIENT["geboortedatum"], CARLA_CLIENT["geslachtsaanduiding"], "huisnummertoevoeging",
                  "geboortedatum", *S1_CLIENT.values(), QUARANTINED, "999999999", "warmeOverdracht"):
        assert value.encode() not in blob
    person_bsns = {BSN[SIGNALS[i][0]] for i in clients if i != "VS-C1"}
    assert {b for b in BSN.values() if b.encode() in blob} == person_bsns  # only the clients' own BSNs


def test_the_same_warehouse_and_sources_give_the_same_bytes_written_atomically_for_the_owner(month):
    path = delivery.delivery_file(month["work"], "GM0164", PERIOD)
    delivery.write_private(path, delivery.dumps(make(month).doc))
    first = path.read_bytes()
    delivery.write_private(path, delivery.dumps(make(month).doc))
    assert path.read_bytes() == first
    assert path == month["work"] / "levering" / PERIOD / "ddas-v1.2-GM0164-2026-10.json"
    assert json.loads(first) == make(month).doc
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700  # levering/ itself, not only its month
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary file left


def test_a_signal_of_the_warehouse_missing_from_the_sources_is_refused_without_its_id(month):
    (month["sources"] / "vroegsignalen_2026-10.json").unlink()
    with pytest.raises(DeliveryError) as exc:
        make(month, expect_files=1)
    assert exc.value.problems == ["vroegsignalen: 9 of the 9 signal(s) of 2026-10 in the warehouse are in no source "
                                  "file: their IDs are kept only there; put the month's deliveries back in the "
                                  "sources folder"]


def test_a_month_the_outreach_stage_did_not_match_is_refused(month):
    with pytest.raises(DeliveryError) as exc:
        make(month, "2026-08")
    assert exc.value.problems == ["warehouse.duckdb: the signals of 2026-08 were not matched to cases: run "
                                  "wijksignaal run --period 2026-08 first"]


def test_a_document_that_breaks_the_schema_is_reported_by_path_without_values(month):
    doc = make(month).doc
    broken = json.loads(json.dumps(doc))
    broken["leveringen"][0]["vroegsignalen"][0]["client"]["huisnummertoevoeging"] = "B"
    broken["leveringen"][0]["vroegsignaalzaken"][0]["resultaat"] = "Onbekend resultaat"
    problems = delivery.check(broken)
    assert len(problems) == 2
    assert problems[0].startswith("leveringen[0].vroegsignaalzaken[0].resultaat: enum")
    assert problems[1].startswith("leveringen[0].vroegsignalen[0]: leveringen[0].vroegsignalen[0].client: oneOf")
    assert not any(b in p for p in problems for b in ("VS-A1", BSN["anna"], "Onbekend resultaat"))
