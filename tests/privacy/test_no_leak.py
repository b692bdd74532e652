"""No BSN, and no other number that passes the 11-proef, in anything the pipeline writes."""

import json

import duckdb

from privacy.leakscan import bsn_like, file_text, nine_digit_numbers


def test_scanner_finds_a_bsn():
    assert bsn_like("id 123456782, not 123456789 or 1234567820") == ["123456782"]
    assert nine_digit_numbers("id,123456789\n3f123456789a-0,x 987654321") == {"123456789", "987654321"}


def test_warehouse_holds_no_bsn(release, source_bsns):
    con = duckdb.connect(str(release["work"] / "warehouse.duckdb"), read_only=True)
    tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    assert {"persons", "households", "uitkeringen", "vroegsignalen", "wmo", "household_facts", "buurten"} <= set(tables)
    for table in tables:
        cols = [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()]
        # every column as text, one big string per table
        text = "\n".join(
            "\t".join("" if v is None else str(v) for v in row)
            for row in con.execute(f'SELECT {", ".join(f"CAST({c!r} AS VARCHAR)".replace(chr(39), chr(34)) for c in cols)} FROM "{table}"').fetchall()
        )
        assert bsn_like(text) == [], table
        assert not (nine_digit_numbers(text) & source_bsns), table
    # and no column that could hold a name or address
    all_cols = {c for (c,) in con.execute("SELECT column_name FROM information_schema.columns").fetchall()}
    assert not all_cols & {"bsn", "naam", "achternaam", "postcode", "huisnummer", "straatnaam", "geboortedatum"}


def test_release_files_hold_no_bsn(release, source_bsns):
    for name in ("tables.csv", "tables.xlsx", "audit.json", "report.html"):
        text = file_text(release["release"].folder / name)  # an xlsx: the XML of every part
        assert bsn_like(text) == [], name
        assert not (nine_digit_numbers(text) & source_bsns), name


def test_logs_hold_no_bsn(release, source_bsns):
    text = "\n".join(release["logs"])
    assert "wijksignaal.ingest" in text  # the logs were captured
    assert bsn_like(text) == []


def test_gx_output_and_quarantine_hold_no_values(release, sources_copy, tmp_path, key_file):
    import csv

    from conftest import write_settings

    from pipelines.pipeline import run_all

    # corrupt rows so that GX has failing values it could copy into its results
    path = sources_copy / "brp.csv"
    rows = list(csv.reader(path.open(encoding="utf-8")))
    victims = [rows[i][0] for i in (2, 4)]
    rows[2][rows[0].index("Buurtcode")] = "BU99999999"  # valid BSN, unknown buurt: GX's unexpected_index_list carries the row's values
    rows[4][0] = victims[1][:8] + str((int(victims[1][8]) + 1) % 10)  # BSN off by one digit
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    run_all(write_settings(tmp_path / "r", sources_copy, key_file))
    work = tmp_path / "r" / "work"
    written = list((work / "quality").rglob("*.json")) + list((work / "quarantine").rglob("*.csv"))
    assert written
    text = "\n".join(p.read_text(encoding="utf-8") for p in written)
    assert "buurtcode-bekend" in text and "bsn-elfproef" in text
    assert bsn_like(text) == []
    assert victims[0] not in text and rows[4][0] not in text
    quality = json.loads((work / "quality" / "2026-10" / "brp.json").read_text(encoding="utf-8"))
    assert {r["rule"]: r["rows_failed"] for r in quality["rules"]}["buurtcode-bekend"] == 1
