"""Feedback to signal partners: per partner and signal only whether it was picked up, plus the
few end results the DDAS definitions say are told back; never why a signal was not picked up,
never what help followed, never a client."""

from __future__ import annotations

import json
import stat
from datetime import date

import duckdb
import pytest
from delivery_tiny import BSN, CARLA_CLIENT, KEY, OUTCOMES, PERIOD, SPEC, build_warehouse, write_sources

from pipelines.monitor import delivery, feedback
from pipelines.settings import REFERENCE_DIR


@pytest.fixture
def month(tmp_path):
    return {"warehouse": build_warehouse(tmp_path / "warehouse.duckdb", OUTCOMES),
            "sources": write_sources(tmp_path / "sources"), "work": tmp_path / "work"}


def make(month) -> feedback.Feedback:
    con = duckdb.connect(str(month["warehouse"]), read_only=True)
    try:
        rows = delivery.warehouse_signals(con, PERIOD, "warehouse.duckdb")
    finally:
        con.close()
    found, _ = delivery.source_signals("vroegsignalen", SPEC, month["sources"], KEY, (r.sid for r in rows),
                                       client=False)
    assert all(s.client == () for s in found.values())  # no client field is read for the feedback
    return feedback.write(month["work"], PERIOD, feedback.build(rows, found, period=PERIOD, gemeente="GM0164"))


def doc(partner: str, signals: list[dict]) -> dict:
    return {"gemeentecode": "0164", "signaalpartner": partner, "startdatum": "2026-10-01", "einddatum": "2026-10-31",
            "signalen": signals}


def test_each_partner_gets_per_signal_only_whether_it_was_picked_up(month):
    result = make(month)
    folder = month["work"] / "terugkoppeling" / PERIOD
    got = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in folder.iterdir()}
    assert got == {
        "energie.json": doc("Energie", [{"ID": "VS-A1", "opgepakt": "ja"}, {"ID": "VS-E1", "opgepakt": "nog niet"},
                                        {"ID": "VS-H1", "opgepakt": "ja"}]),
        "water.json": doc("Water", [{"ID": "VS-B1", "opgepakt": "ja"},
                                    {"ID": "VS-G1", "opgepakt": "nee", "terugmelding": "Niet opgepakt: onterecht signaal"}]),
        "huur.json": doc("Huur", [{"ID": "VS-C1", "opgepakt": "nog niet"},
                                  {"ID": "VS-F1", "opgepakt": "ja",
                                   "terugmelding": "Persoon is geen inwoner (meer) in de gemeente"}]),
        "zorg.json": doc("Zorg", [{"ID": "VS-D1", "opgepakt": "nee"}]),
        "cak-zorgverzekeringen.json": doc("CAK Zorgverzekeringen", [{"ID": "VS-E2", "opgepakt": "nog niet"}]),
    }
    assert {p: n for p, (_, n) in result.files.items()} == {"CAK Zorgverzekeringen": 1, "Energie": 3, "Huur": 2,
                                                              "Water": 2, "Zorg": 1}
    assert (result.by_answer, result.told_back) == ({"ja": 4, "nog niet": 3, "nee": 2}, 2)


def test_no_reason_for_not_picking_up_no_help_and_no_client_is_in_the_files(month):
    make(month)
    blob = b"".join(p.read_bytes() for p in sorted((month["work"] / "terugkoppeling" / PERIOD).iterdir()))
    never = ["Niet opgepakt: andere reden", "andere reden", "Inwoner is overleden",  # K1: two persons
             "Vervolghulp", "Telefoon", "Huisbezoek", "Brief", "2026-11", "2026-12", "resultaat", "contact",
             "bedrag", "client", *BSN.values(), CARLA_CLIENT["postcode"], "7551AB", CARLA_CLIENT["geboortedatum"]]
    for text in never:
        assert text.encode() not in blob, text


def test_only_the_results_the_definitions_tell_back_are_told(month):
    definitions = (REFERENCE_DIR / "ddas" / "v1.2" / "definities_vroegsignalering.md").read_text(encoding="utf-8")
    # the citations the module's docstring relies on are in the vendored definitions
    for quote in ("Vastelastenpartners mogen hierbij alleen weten dat de melding niet is opgepakt, maar de specifieke "
                  "reden daarvoor niet.", "Dit eindresultaat wordt teruggekoppeld aan de vastelastenpartner.",
                  "De vastelastenpartner wordt hierdoor automatisch vanuit het systeem geïnformeerd",
                  "Zo wordt de vastelastenpartner op de hoogte gebracht."):
        assert quote in definitions
    assert set(feedback.TOLD_BACK) == {"Niet opgepakt: herhaalde melding", "Niet opgepakt: onterecht signaal",
                                       "Persoon is geen inwoner (meer) in de gemeente", "Inwoner is overleden"}
    row = delivery.SignalRow("s", "Huur", None, None, None, None, "c", None, "Niet opgepakt: herhaalde melding", 2, 1)
    assert feedback.told(row) == {"opgepakt": "nee", "terugmelding": "Niet opgepakt: herhaalde melding"}
    # a case with signals of two partner types does not say whose signal was the repeat: each partner hears "nee"
    for resultaat in ("Niet opgepakt: herhaalde melding", "Niet opgepakt: onterecht signaal"):
        two = delivery.SignalRow("s", "Huur", None, None, None, None, "c", None, resultaat, 1, 2)
        assert feedback.told(two) == {"opgepakt": "nee"} and two.status == "Niet opgepakt: andere reden"
    for resultaat in ("Inwoner al bekend bij schuldhulpverlening", "(Budget)advies en/of quick fix",
                      "Definitief geen contact kunnen krijgen", "Verwijzing zonder tussenkomst inwoner"):
        row = delivery.SignalRow("s", "Huur", None, None, None, None, "c", date(2026, 11, 2), resultaat, 1)
        assert feedback.told(row) == {"opgepakt": "ja"}
    one = delivery.SignalRow("s", "Huur", None, None, None, None, "c", date(2026, 11, 2),
                             "Inwoner is overleden", 1)
    assert feedback.told(one) == {"opgepakt": "ja", "terugmelding": "Inwoner is overleden"}


def test_the_files_are_the_same_bytes_again_owner_only_and_a_stale_partner_file_goes(month):
    make(month)
    folder = month["work"] / "terugkoppeling" / PERIOD
    first = {p.name: p.read_bytes() for p in folder.iterdir()}
    (folder / "duo.json").write_text("{}", encoding="utf-8")  # a partner of an earlier run, without signals now
    make(month)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == first
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700  # terugkoppeling/ itself
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
    assert feedback.slug("CAK Eigen bijdrage") == "cak-eigen-bijdrage" and feedback.slug("DUO") == "duo"
