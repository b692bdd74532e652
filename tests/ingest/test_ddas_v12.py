"""Issue 13: DDAS v1.2 is read next to v0.9, each file with its own version's field paths; a
v1.2 client is identified by BSN or by address, and the address is kept only as a pseudonym."""

import json
import shutil

import duckdb
import pytest
from ddas_files import SOURCES, bsn, ingest, signal, write_brp, write_v12

from pipelines.ingest.readers import read_source
from pipelines.settings import CONFIG_DIR, REFERENCE_DIR, Source, load_sources
from pipelines.synth import synthesize

EXAMPLES = sorted((REFERENCE_DIR / "ddas" / "v1.2").glob("*Voorbeeld.json"))


def test_the_declaration_maps_v12_and_read_versions_derive_from_it():
    source = SOURCES["vroegsignalen"]
    assert source.read_versions == ("0.9", "1.2")
    assert source.paths("1.2")["bsn"] == "client.burgerservicenummer" and source.paths("0.9")["bsn"] == \
        "client.Burgerservicenummer"
    assert source.fields[-3:] == ["postcode", "huisnummer", "huisnummertoevoeging"]


@pytest.mark.parametrize("change, message", [
    ({"1.9": {}}, "columns_by_version: '1.9' is not a later DDAS version wijksignaal has the schema of (1.2; v0.9 is "
                  "what `columns` maps)"),
    ({"1.2": {"signaal_id": "ID"}}, "columns_by_version.1.2: map every column of `columns`; missing: bsn, "
                                     "signaalpartner, bedrag, ontstaansdatum, signaaldatum, crisissignaal"),
])
def test_a_version_mapping_is_validated(change, message):
    raw = load_sources(CONFIG_DIR).sources["vroegsignalen"].model_dump()
    with pytest.raises(ValueError) as e:
        Source.model_validate({**raw, "columns_by_version": change})
    assert message in str(e.value)


def test_v09_and_v12_months_in_one_run(tmp_path):
    """The same synthetic gemeente, once all v0.9 and once v1.2 from 2026-09 with 30 % of the clients by
    address: every signal is read either way; a v1.2 client with a BSN gets the same pid, one by address
    none and an address pseudonym instead."""
    synthesize(tmp_path / "v09", scale=0.1)
    synthesize(tmp_path / "mix", scale=0.1, ddas_v12_from="2026-09")
    docs = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in (tmp_path / "mix").glob("vroegsignalen_*.json")}
    assert "aanleverendeOrganisatie" in docs["vroegsignalen_2026-10.json"]["leveringen"][0]
    assert "aanleverende_organisatie" in docs["vroegsignalen_2026-08.json"]["leveringen"][0]
    out = {}
    for run in ("v09", "mix"):
        con = duckdb.connect()
        accounts = ingest(con, tmp_path / run)
        account, records = accounts["vroegsignalen"]
        assert records == [] and account.rows_quarantined == 0
        out[run] = {sid: (pid, aid) for sid, pid, aid in con.execute("SELECT sid, pid, aid FROM vroegsignalen")
                    .fetchall()}
        out[run + "_rows"] = account.rows_read
    assert out["v09_rows"] == out["mix_rows"] and set(out["v09"]) == set(out["mix"])
    by_address = [sid for sid, (pid, aid) in out["mix"].items() if pid is None]
    assert all(out["mix"][s][1] is not None for s in by_address)
    n_v12 = sum(len(lev["vroegsignalen"]) for name, d in docs.items() if name >= "vroegsignalen_2026-09"
                for lev in d["leveringen"])
    assert 0.2 * n_v12 < len(by_address) < 0.4 * n_v12
    assert all(out["v09"][s][1] is None for s in out["v09"])  # a client with a BSN gets no aid
    assert {s: p for s, (p, a) in out["mix"].items() if p is not None} == \
        {s: p for s, (p, a) in out["v09"].items() if s not in by_address}


def test_the_shipped_v12_examples_ingest_and_nothing_is_lost(tmp_path):
    """Their BSNs (111111111, 999012345, ...) fail the 11-proef: quarantined. Their addresses are loaded
    (pseudonymised); VS-2025-0001 is in two examples: both quarantined (id-uniek)."""
    for p in EXAMPLES:
        shutil.copy(p, tmp_path / f"vroegsignalen_{p.name}")
    write_brp(tmp_path, [(bsn(0), 1, "7551AB", "1")])
    con = duckdb.connect()
    account, records = ingest(con, tmp_path)["vroegsignalen"]
    assert account.rows_read == 22 and account.rows_loaded == 13 and account.rows_quarantined == 9
    # 8 BSN signals fail the 11-proef; one of them (meervoudig VS-2025-0001) is also a duplicate ID
    assert account.quarantined_by_rule == {"bsn-elfproef": 8, "id-uniek": 2}
    assert {f["name"] for f in account.files} == {f"vroegsignalen_{p.name}" for p in EXAMPLES}
    assert con.execute("SELECT count(*) FILTER (WHERE pid IS NULL AND aid IS NOT NULL) FROM vroegsignalen"
                       ).fetchone()[0] == 13


def test_a_client_identified_by_neither_bsn_nor_address_is_quarantined_with_the_rule(tmp_path):
    write_brp(tmp_path, [(bsn(0), 1, "7551AB", "1")])
    write_v12(tmp_path, "2026-10", [
        signal("A", {"burgerservicenummer": bsn(0)}),
        signal("B", {"postcode": "7551AB", "huisnummer": "1"}),
        signal("C", {"postcode": " ", "huisnummer": ""}),            # the schema's oneOf holds; no address given
        signal("D", {"burgerservicenummer": "123456789"}),          # a BSN, when given, still passes the 11-proef
    ])
    account, records = ingest(duckdb.connect(), tmp_path)["vroegsignalen"]
    assert sorted((r["row"], r["rule"], r["column"]) for r in records) == [
        (3, "client-bsn-of-adres", "bsn"), (4, "bsn-elfproef", "bsn")]
    assert account.rows_loaded == 2


def test_the_reader_gives_a_v12_file_its_own_paths_and_the_others_empty_address_columns(tmp_path):
    write_v12(tmp_path, "2026-10", [signal("A", {"postcode": "7551 ab", "huisnummer": "10",
                                                 "huisnummertoevoeging": "a"})])
    raw = read_source("vroegsignalen", SOURCES["vroegsignalen"], tmp_path)
    row = raw.table.to_pylist()[0]
    assert (row["signaal_id"], row["bsn"], row["postcode"], row["huisnummer"], row["huisnummertoevoeging"]) == \
        ("A", None, "7551 ab", "10", "a")


def _text_of_every_table(con) -> str:
    out = []
    for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
        out += ["\t".join("" if v is None else str(v) for v in row)
                for row in con.execute(f'SELECT * FROM "{table}"').fetchall()]
    return "\n".join(out)


def test_no_postcode_or_huisnummer_of_the_v12_files_in_the_warehouse(tmp_path):
    for p in EXAMPLES:
        shutil.copy(p, tmp_path / f"vroegsignalen_{p.name}")
    write_brp(tmp_path, [(bsn(0), 1, "3011TA", "7")])  # the BRP has one of the examples' addresses too
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    ingest(con, tmp_path)
    columns = {c for (c,) in con.execute("SELECT column_name FROM information_schema.columns").fetchall()}
    assert not columns & {"postcode", "huisnummer", "huisnummertoevoeging"} and "aid" in columns
    text = _text_of_every_table(con)
    con.execute("CHECKPOINT")
    con.close()
    data = warehouse.read_bytes()
    addresses = {(s["client"]["postcode"], s["client"]["huisnummer"]) for p in EXAMPLES
                 for lev in json.loads(p.read_text(encoding="utf-8"))["leveringen"] for s in lev["vroegsignalen"]
                 if "postcode" in s["client"]}
    assert len(addresses) == 14
    for postcode, nr in addresses:
        for form in (postcode, postcode[:4] + " " + postcode[4:], f"adr:{postcode}:{nr}"):
            assert form not in text and form.encode() not in data, form
    # the scan can see a postcode: the same addresses in a table of their own are found
    control = tmp_path / "control.duckdb"
    c = duckdb.connect(str(control))
    c.execute("CREATE TABLE t (postcode VARCHAR, huisnummer VARCHAR)")
    c.executemany("INSERT INTO t VALUES (?, ?)", sorted(addresses))
    c.close()
    assert all(pc.encode() in control.read_bytes() for pc, _ in addresses)
