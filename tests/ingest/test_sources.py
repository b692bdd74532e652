"""Sources declared once (config/sources.yaml): a fifth source is one block there, its
contract and its load SQL, and it runs through ingest, the catalogue, a selection, the
DPIA checks, explain, the register and audit.json; a bad declaration is a located error."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from conftest import write_settings

from pipelines.configfile import ConfigError
from pipelines.publish import read_record
from pipelines.settings import CONFIG_DIR, SELECTIONS_DIR

FIFTH = """
  schuldhulp:
    title: Trajecten schuldhulpverlening (registratie van het team schuldhulp)
    file: schuldhulp.csv
    format: csv
    delimiter: ";"
    contract: contracts/schuldhulp.yaml
    table: schuldhulp
    load: sources/schuldhulp.sql
    link: {bsn: pseudonym}
    columns:
      bsn: BSN
      fase: Fase
      startdatum: Startdatum
      einddatum: Einddatum
    codes:
      schuldhulpfasen: {A: aanmelding, S: stabilisatie, R: regeling}
    catalogue:
      schuldhulp:
        description: Trajecten schuldhulpverlening
        period_fields: [startdatum, einddatum]
        fields:
          fase: {kind: text, codes: schuldhulpfasen, description: fase van het traject}
"""
CONTRACT = """source: schuldhulp
description: one row per schuldhulptraject
expectations:
  - {rule: bsn-verplicht, expect: expect_column_values_to_not_be_null, column: bsn, description: BSN is filled in}
  - {rule: bsn-elfproef, expect: expect_column_values_to_be_valid_bsn, column: bsn, description: BSN passes the 11-proef}
  - {rule: fase-codelijst, expect: expect_column_values_to_be_in_codelist, column: fase,
     description: "fase is A, S or R", kwargs: {codelist: schuldhulpfasen}}
  - {rule: startdatum-geldig, expect: expect_column_values_to_be_valid_dates, column: startdatum,
     description: startdatum is a date, kwargs: {min_value: "2000-01-01", max_value: "2100-01-01"}}
gates:
  quarantined_share: {warning_above: 0.5, error_above: 0.9}  # five hand-made rows, one of them bad
"""
LOAD = """-- schuldhulp -> schuldhulp (one row per traject), BSN pseudonymised
SELECT
    pseudonym(lpad(trim(bsn), 9, '0'), $ipad, $opad) AS pid,
    fase,
    try_strptime(startdatum, $date_format)::DATE AS startdatum,
    try_strptime(einddatum, $date_format)::DATE AS einddatum,
    _rid
FROM staging;
"""
# a traject that runs in 2026-10, one that ended before it, and an unknown fase (quarantined)
ROWS = [("S", "2026-03-01", ""), ("R", "2025-01-01", "2025-12-31"), ("X", "2026-01-01", "")]
SELECTION = """id: schuldhulp-in-stabilisatie
title: Huishoudens in de stabilisatiefase van een schuldhulptraject
description: Huishoudens met een lopend traject in de fase stabilisatie.
purpose: vroeg-eropaf
owner: Team Schuldhulpverlening
approval: {by: Functionaris Gegevensbescherming (voorbeeld), date: 2026-09-22}
outputs: [buurt_tables]
criteria:
  source: schuldhulp
  where:
    - {field: fase, op: "=", value: S}
"""


def fifth_config(folder: Path) -> Path:
    """A copy of config/ with the fifth source, a DPIA purpose that allows it, and its files."""
    shutil.copytree(CONFIG_DIR, folder, ignore=shutil.ignore_patterns("reference", "gemeente.yaml"))
    (folder / "sources.yaml").write_text((CONFIG_DIR / "sources.yaml").read_text(encoding="utf-8") + FIFTH,
                                         encoding="utf-8")
    (folder / "contracts" / "schuldhulp.yaml").write_text(CONTRACT, encoding="utf-8")
    (folder / "sources" / "schuldhulp.sql").write_text(LOAD, encoding="utf-8")
    dpia = yaml.safe_load((CONFIG_DIR / "dpia.yaml").read_text(encoding="utf-8"))
    purpose = dpia["purposes"]["vroeg-eropaf"]
    purpose["allowed_sources"]["schuldhulp"] = ["fase", "startdatum", "einddatum"]
    purpose["retention_months"]["schuldhulp"] = 12
    (folder / "dpia.yaml").write_text(yaml.safe_dump(dpia, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def fifth(sources, key_file, tmp_path_factory):
    from pipelines.pipeline import run_all

    folder = tmp_path_factory.mktemp("fifth")
    src = folder / "sources"
    shutil.copytree(sources, src)
    with (src / "brp.csv").open(encoding="utf-8") as fh:
        brp = list(csv.DictReader(fh))
    # three persons of different households, and every member of a fourth household: two of them
    # have a running traject in fase S, so that household counts once
    hh = {}
    for row in brp:
        hh.setdefault(row["Huishoudnummer"], []).append(row["BSN"])
    singles = [v[0] for v in hh.values() if len(v) == 1][:3]
    family = next(v for v in hh.values() if len(v) >= 2)
    lines = ["BSN;Fase;Startdatum;Einddatum"]
    lines += [f"{bsn};{fase};{start};{end}" for bsn, (fase, start, end) in zip(singles, ROWS, strict=True)]
    lines += [f"{bsn};S;2026-06-01;" for bsn in family[:2]]
    (src / "schuldhulp.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = fifth_config(folder / "config")
    selections = folder / "selections"
    shutil.copytree(SELECTIONS_DIR, selections)
    (selections / "schuldhulp-in-stabilisatie.yaml").write_text(SELECTION, encoding="utf-8")
    settings = write_settings(folder, src, key_file, config_dir=config, selections_dir=selections)
    return {"release": run_all(settings), "settings": settings, "config": config, "selections": selections,
            "work": folder / "work", "bsns": singles + family[:2]}


def test_a_fifth_source_is_ingested_checked_and_accounted(fifth):
    audit = json.loads((fifth["release"].folder / "audit.json").read_text(encoding="utf-8"))
    assert list(audit["row_accounting"])[-1] == "schuldhulp"
    acc = read_record(fifth["release"].folder)["row_accounting"]["schuldhulp"]  # rule C1: the rows read are in the record
    assert (acc["rows_read"], acc["rows_loaded"], acc["rows_quarantined"]) == (5, 4, 1)
    assert acc["quarantined_by_rule"] == {"fase-codelijst": 1}
    rules = {r["rule"]: r for r in audit["data_quality"]["schuldhulp"]["rules"]}
    assert rules["fase-codelijst"]["rows_failed"] == 1
    assert audit["rules"]["contracts"]["schuldhulp"]
    with open(fifth["work"] / "quarantine" / "2026-10" / "schuldhulp.csv", encoding="utf-8") as fh:
        quarantined = list(csv.DictReader(fh))
    assert [(q["row"], q["rule"]) for q in quarantined] == [("3", "fase-codelijst")]  # the third data row


def test_the_warehouse_holds_the_fifth_source_pseudonymised(fifth):
    con = duckdb.connect(str(fifth["work"] / "warehouse.duckdb"), read_only=True)
    try:
        cols = [r[0] for r in con.execute("DESCRIBE schuldhulp").fetchall()]
        assert cols == ["pid", "fase", "startdatum", "einddatum"]
        assert con.execute("SELECT count(*) FROM schuldhulp JOIN persons USING (pid)").fetchone()[0] == 4
    finally:
        con.close()
    data = (fifth["work"] / "warehouse.duckdb").read_bytes()
    assert not [b for b in fifth["bsns"] if b.encode() in data]


def test_a_selection_on_the_fifth_source_counts_its_households(fifth):
    from pipelines.select.catalogue import catalogue_of
    from pipelines.select.selections import load_dpia, load_selection
    from pipelines.settings import load_sources

    config = fifth["config"]
    loaded = load_selection(fifth["selections"] / "schuldhulp-in-stabilisatie.yaml", load_dpia(config),
                            catalogue_of(load_sources(config)))
    assert ("schuldhulp", "fase", ("criteria", "where", 0, "field")) in loaded.reads()
    assert {(s, f) for s, f, _ in loaded.reads()} >= {("schuldhulp", "startdatum"), ("schuldhulp", "einddatum")}
    query, params = loaded.members("2026-10")
    con = duckdb.connect(str(fifth["work"] / "warehouse.duckdb"), read_only=True)
    try:
        members = con.execute(query, params).fetchall()
    finally:
        con.close()
    assert len(members) == 2  # the single in fase S and the family (two members, one household)
    audit = json.loads((fifth["release"].folder / "audit.json").read_text(encoding="utf-8"))
    entry = next(s for s in audit["rules"]["selections"] if s["id"] == "schuldhulp-in-stabilisatie")
    assert entry["definition"]["criteria"]["source"] == "schuldhulp"


def test_explain_and_the_register_describe_the_fifth_source(fifth, tmp_path, capsys):
    from pipelines.cli import main

    args = ["--config-dir", str(fifth["config"]), "--selections", str(fifth["selections"])]
    assert main(["explain", "schuldhulp-in-stabilisatie", *args]) == 0
    out = capsys.readouterr().out
    assert ("  - het huishouden heeft in 'schuldhulp' (Trajecten schuldhulpverlening) minstens 1 regel\n"
            "      waarbij fase is S (stabilisatie)\n      die loopt in de peilmaand\n") in out
    assert "Reads:        brp: ; " not in out and "schuldhulp: einddatum, fase, startdatum" in out
    assert main(["register", "--out", str(tmp_path / "reg"), *args]) == 0
    entry = json.loads((tmp_path / "reg" / "algoritmeregister" / "schuldhulp-in-stabilisatie.json").read_text())
    assert [(g["bron"], [v["veld"] for v in g["velden"]]) for g in entry["gegevens"]] == [
        ("schuldhulp", ["fase", "startdatum", "einddatum"])]
    assert entry["gegevens"][0]["velden"][0]["betekenis"] == "fase van het traject"
    html = (tmp_path / "reg" / "register.html").read_text(encoding="utf-8")
    assert "Trajecten schuldhulpverlening (registratie van het team schuldhulp)" in html


def test_a_selection_naming_an_undeclared_source_is_located_with_a_suggestion(tmp_path):
    from pipelines.select.selections import load_dpia, load_selection

    path = tmp_path / "schuldhulp-in-stabilisatie.yaml"
    path.write_text(SELECTION.replace("source: schuldhulp", "source: schuldhulpp"), encoding="utf-8")
    config = fifth_config(tmp_path / "config")
    with pytest.raises(ConfigError) as e:
        from pipelines.select.catalogue import catalogue_of
        from pipelines.settings import load_sources

        load_selection(path, load_dpia(config), catalogue_of(load_sources(config)))
    assert str(e.value) == (f"{path}:8: criteria: Value error, unknown source 'schuldhulpp'; did you mean "
                            "'schuldhulp'?; sources: brp, uitkeringen, vroegsignalen, wmo, schuldhulp")


def test_the_dpia_naming_an_undeclared_source_is_located(tmp_path):
    from pipelines.select.selections import load_dpia

    config = fifth_config(tmp_path / "config")
    text = (config / "sources.yaml").read_text(encoding="utf-8")
    (config / "sources.yaml").write_text(text.replace(FIFTH, ""), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_dpia(config)
    lines = (config / "dpia.yaml").read_text(encoding="utf-8").splitlines()
    at = [i + 1 for i, line in enumerate(lines) if line.strip().startswith("schuldhulp:")]
    assert [str(p) for p in e.value.problems] == [
        f"{config / 'dpia.yaml'}:{at[0]}: purposes.vroeg-eropaf.allowed_sources.schuldhulp: unknown source "
        "'schuldhulp'; sources.yaml declares brp, uitkeringen, vroegsignalen, wmo",
        f"{config / 'dpia.yaml'}:{at[1]}: purposes.vroeg-eropaf.retention_months.schuldhulp: unknown source "
        "'schuldhulp'; sources.yaml declares brp, uitkeringen, vroegsignalen, wmo"]


def test_quality_gates_for_an_undeclared_source_are_located(tmp_path, sources, key_file):
    from pipelines.pipeline import prepare

    settings = write_settings(tmp_path, sources, key_file, quality_gates="{wmoo: {empty_file: error}}")
    with pytest.raises(ConfigError) as e:
        prepare(settings)
    assert [str(p) for p in e.value.problems] == [
        f"{settings}:6: quality_gates.wmoo: unknown source 'wmoo'; did you mean 'wmo'?; sources.yaml declares "
        "brp, uitkeringen, vroegsignalen, wmo"]


@pytest.mark.parametrize("change, message", [
    (("table: schuldhulp", "table: wmo"), "table 'wmo' is declared by both 'wmo' and 'schuldhulp'"),
    (("codes: schuldhulpfasen,", "codes: fasen,"), "schuldhulp.catalogue.schuldhulp.fields.fase.codes: unknown code "
                                                  "list 'fasen'"),
    (("link: {bsn: pseudonym}", "link: {bsnn: pseudonym}"), "link.bsnn: 'bsnn' is not a column of this source"),
])
def test_a_bad_source_declaration_is_refused(tmp_path, change, message):
    from pipelines.settings import load_sources

    config = fifth_config(tmp_path / "config")
    path = config / "sources.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(*change), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_sources(config)
    assert message in str(e.value)


def test_a_load_sql_that_keeps_the_bsn_is_refused(tmp_path, sources_copy):
    from pipelines.ingest import LoadSqlError, ingest_source
    from pipelines.settings import load_sources
    from privacy.pseudonymise import pads

    config = fifth_config(tmp_path / "config")
    (config / "sources" / "schuldhulp.sql").write_text(LOAD.replace(
        "pseudonym(lpad(trim(bsn), 9, '0'), $ipad, $opad) AS pid", "bsn AS pid"), encoding="utf-8")
    (sources_copy / "schuldhulp.csv").write_text("BSN;Fase;Startdatum;Einddatum\n111222333;S;2026-01-01;\n",
                                                 encoding="utf-8")
    source = load_sources(config).sources["schuldhulp"]
    with pytest.raises(LoadSqlError) as e:
        ingest_source(duckdb.connect(), "schuldhulp", source, sources_copy, config, pads(b"k" * 32), {})
    assert str(e.value) == ("load SQL sources/schuldhulp.sql: column 'pid' (the pseudonym of 'bsn') must be a UUID "
                            "from pseudonym(), not VARCHAR; nothing is loaded")
