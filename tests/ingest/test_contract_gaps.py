"""Issue 11, hostile-input corpus: rules the contracts lacked and inputs they refused."""

import csv
import json

import duckdb

from pipelines.geography import buurten
from pipelines.ingest import ingest_source
from pipelines.ingest.contracts import peildatum
from pipelines.settings import CONFIG_DIR, load_sources
from privacy.pseudonymise import pads

SOURCES = load_sources(CONFIG_DIR).sources
BUURTEN = buurten("GM0164").buurtcode.tolist()
PADS = pads(b"k" * 32)


def ingest(name, folder, source=None, **context):
    con = duckdb.connect()
    account, records = ingest_source(con, name, source or SOURCES[name], folder, CONFIG_DIR, PADS,
                                     {"buurten": BUURTEN, **context})
    return account, records, con


def rewrite(path, encoding, delimiter, changes):
    """changes: {(data row, column header): value}"""
    with path.open(encoding=encoding, newline="") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter))
    for (row, column), value in changes.items():
        rows[row][rows[0].index(column)] = value
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return rows


def test_einddatum_before_ingangsdatum_is_quarantined_with_the_row(sources_copy):
    rewrite(sources_copy / "uitkeringen.csv", "cp1252", ";", {
        (4, "Ingangsdatum"): "01-03-2026", (4, "Einddatum"): "28-02-2026",   # a day too early
        (5, "Ingangsdatum"): "01-03-2026", (5, "Einddatum"): "01-03-2026",   # a one-day uitkering: fine
        (6, "Ingangsdatum"): "01-03-2026", (6, "Einddatum"): ""})            # still running: fine
    rewrite(sources_copy / "wmo.csv", "utf-8", ",", {(2, "Ingangsdatum"): "2026-05-01", (2, "Einddatum"): "2025-05-01"})
    for name, row in (("uitkeringen", 4), ("wmo", 2)):
        account, records, _ = ingest(name, sources_copy)
        assert [(r["file"], r["row"], r["rule"], r["column"], r["message"]) for r in records] == [
            (f"{name}.csv", row, "einddatum-na-ingangsdatum", "einddatum",
             "not met: einddatum, when filled in, is on or after the ingangsdatum")]
        assert account.rows_read == account.rows_loaded + 1


def test_a_birth_date_after_the_peildatum_is_quarantined(sources_copy):
    rewrite(sources_copy / "brp.csv", "utf-8", ",", {(8, "Geboortedatum"): "2062-04-01",   # 1962 mistyped
                                                     (9, "Geboortedatum"): "2026-11-30"})  # the last day allowed
    account, records, _ = ingest("brp", sources_copy, peildatum=peildatum("2026-10"))
    assert [(r["row"], r["rule"]) for r in records] == [(8, "geboortedatum-niet-in-toekomst")]
    rule = {r["rule"]: r for r in account.contract["rules"]}["geboortedatum-niet-in-toekomst"]
    assert rule["rows_failed"] == 1 and rule["success"] is False


def test_the_peildatum_comes_from_periods_not_the_clock():
    assert peildatum("2026-10") == "2026-11-30"
    assert peildatum("2026-12") == "2027-01-31"
    # re-running August with the October extracts keeps October's bound
    assert peildatum("2026-08", "2026-10") == "2026-11-30"
    assert peildatum("2026-10", "2026-08") == "2026-11-30"


def test_re_running_an_old_period_with_newer_extracts_quarantines_no_later_birth(sources):
    """The synthetic BRP extract is October's: children born in September and October are
    correct rows. A bound from August alone would quarantine them; the run's newest period
    keeps them."""
    born_late = sum(1 for r in csv.DictReader((sources / "brp.csv").open(encoding="utf-8"))
                    if r["Geboortedatum"] > "2026-09-30")
    assert born_late > 0  # the premise
    naive, records, _ = ingest("brp", sources, peildatum=peildatum("2026-08"))
    assert naive.quarantined_by_rule == {"geboortedatum-niet-in-toekomst": born_late}
    account, records, _ = ingest("brp", sources, peildatum=peildatum("2026-08", "2026-10"))
    assert records == []


def test_a_run_without_a_peildatum_says_the_rule_was_not_checked(sources_copy):
    rewrite(sources_copy / "brp.csv", "utf-8", ",", {(8, "Geboortedatum"): "2062-04-01"})
    account, records, _ = ingest("brp", sources_copy)
    assert records == []
    rule = {r["rule"]: r for r in account.contract["rules"]}["geboortedatum-niet-in-toekomst"]
    assert rule["success"] is None and rule["rows_checked"] == 0
    assert rule["skipped"] == "not checked: the run gave no peildatum (the bound after which a date is in the future)"


def _signals(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc, doc["leveringen"][0]["vroegsignalen"]


def test_a_signal_dated_after_its_delivery_is_quarantined(sources_copy):
    path = sources_copy / "vroegsignalen_2026-10.json"
    doc, signals = _signals(path)
    assert doc["aanleverdatumEnTijd"] == "2026-11-01T06:00:00Z"
    signals[0]["signaaldatum"] = "2026-11-02"  # the day after the file was made
    signals[1]["signaaldatum"] = "2026-11-01"  # the day it was made: fine
    signals[2]["ontstaansdatum"], signals[2]["signaaldatum"] = "2026-10-20", "2026-10-19"
    path.write_text(json.dumps(doc), encoding="utf-8")
    account, records, _ = ingest("vroegsignalen", sources_copy)
    assert [(r["row"], r["rule"], r["column"]) for r in records] == [
        (1, "signaaldatum-niet-na-aanlevering", "signaaldatum"), (3, "ontstaansdatum-voor-signaaldatum", "ontstaansdatum")]
    assert account.rows_read == account.rows_loaded + 2


def test_the_delivery_date_is_the_dutch_calendar_day(sources_copy):
    """23:30 UTC on 1 November is 00:30 on 2 November in the Netherlands: a signal of the 2nd is not future."""
    path = sources_copy / "vroegsignalen_2026-10.json"
    doc, signals = _signals(path)
    doc["aanleverdatumEnTijd"] = "2026-11-01T23:30:00Z"
    signals[0]["signaaldatum"] = "2026-11-02"
    signals[1]["signaaldatum"] = "2026-11-03"
    path.write_text(json.dumps(doc), encoding="utf-8")
    _, records, _ = ingest("vroegsignalen", sources_copy)
    assert [(r["row"], r["rule"]) for r in records] == [(2, "signaaldatum-niet-na-aanlevering")]


def test_dutch_amounts_with_a_thousands_separator_are_loaded_with_their_value(sources_copy):
    path = sources_copy / "uitkeringen.csv"
    rewrite(path, "cp1252", ";", {(1, "Inhouding"): "Ja", (1, "Bedrag inhouding (€)"): "1.234,56",
                                  (2, "Inhouding"): "Ja", (2, "Bedrag inhouding (€)"): "1234,56",
                                  (3, "Inhouding"): "Ja", (3, "Bedrag inhouding (€)"): "1.23,45"})
    account, records, con = ingest("uitkeringen", sources_copy)
    assert [(r["row"], r["rule"]) for r in records] == [(3, "inhouding-bedrag")]
    got = con.execute("SELECT inhouding_bedrag::VARCHAR FROM uitkeringen WHERE inhouding_bedrag > 1000").fetchall()
    assert sorted(got) == [("1234.56",), ("1234.56",)]


def test_with_a_decimal_point_the_thousands_separator_is_a_comma(sources_copy):
    path = sources_copy / "uitkeringen.csv"
    rows = rewrite(path, "cp1252", ";", {})
    col = rows[0].index("Bedrag inhouding (€)")
    for r in rows[1:]:
        r[col] = r[col].replace(",", ".")
    rows[1][rows[0].index("Inhouding")], rows[1][col] = "Ja", "1,234.56"
    with path.open("w", encoding="cp1252", newline="") as fh:
        csv.writer(fh, delimiter=";", lineterminator="\n").writerows(rows)
    source = SOURCES["uitkeringen"].model_copy(update={"decimal": "."})
    account, records, con = ingest("uitkeringen", sources_copy, source=source)
    assert records == []
    got = con.execute("SELECT inhouding_bedrag::VARCHAR FROM uitkeringen WHERE inhouding_bedrag > 1000").fetchall()
    assert got == [("1234.56",)]


def test_a_utf8_bom_before_a_quoted_header_is_read(sources_copy):
    path = sources_copy / "wmo.csv"
    data = path.read_bytes()
    assert data.startswith(b'"BSN","Productcategorie"')  # the synthetic header is quoted
    path.write_bytes(b"\xef\xbb\xbf" + data)
    account, records, _ = ingest("wmo", sources_copy)
    assert records == [] and account.rows_loaded == data.count(b"\n") - 1
