"""Quality gates (issue 11): a source that is empty, mostly quarantined, written with other
yes/no values, or that does not reach the period never publishes a silent zero."""

import csv
import json
import shutil

import duckdb
import pytest
from conftest import write_settings

from pipelines.ingest.gates import QualityGateFailed
from pipelines.pipeline import run_all
from pipelines.settings import CONFIG_DIR


def _nothing_published(work):
    return not (work / "releases").exists() or not any((work / "releases").iterdir())


def _rewrite(path, encoding, delimiter, change):
    with path.open(encoding=encoding, newline="") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter))
    rows = change(rows)
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator="\n").writerows(rows)


def _refused(settings):
    with pytest.raises(QualityGateFailed) as e:
        run_all(settings)
    return e.value


def test_a_header_only_wmo_extract_is_refused_not_published_as_no_wmo_anywhere(sources_copy, key_file, tmp_path):
    path = sources_copy / "wmo.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines(keepends=True)[0], encoding="utf-8")
    failed = _refused(write_settings(tmp_path / "run", sources_copy, key_file))
    assert str(failed) == ("quality gate empty-source (error): source 'wmo' (wmo.csv): no row could be loaded "
                           "(the file(s) hold no rows); its tables would say there is no wmo anywhere")
    assert _nothing_published(tmp_path / "run" / "work")


def test_a_ddas_delivery_without_signals_is_refused(sources_copy, key_file, tmp_path):
    for path in sources_copy.glob("vroegsignalen_*.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for levering in doc["leveringen"]:
            levering["vroegsignalen"] = []
        path.write_text(json.dumps(doc), encoding="utf-8")
    failed = _refused(write_settings(tmp_path / "run", sources_copy, key_file))
    assert [(g.gate, g.source, g.level) for g in failed.failed] == [("empty-source", "vroegsignalen", "error")]
    assert _nothing_published(tmp_path / "run" / "work")


def test_the_ddas_example_files_quarantined_whole_are_refused(sources_copy, key_file, tmp_path):
    for path in sources_copy.glob("vroegsignalen_*.json"):
        path.unlink()
    for name in ("enkelvoudigVoorbeeld.json", "meervoudigVoorbeeld.json"):
        shutil.copy(CONFIG_DIR / "reference" / "ddas" / name, sources_copy / f"vroegsignalen_{name}")
    failed = _refused(write_settings(tmp_path / "run", sources_copy, key_file))
    assert [g.gate for g in failed.failed] == ["empty-source", "quarantined-share", "period-coverage"]
    assert "source 'vroegsignalen': 5 of 5 rows quarantined (100.0%, limit 10.0%)" in str(failed)
    assert _nothing_published(tmp_path / "run" / "work")
    # the quarantine says which rows and rules, so the data team can act on it
    quarantine = (tmp_path / "run" / "work" / "quarantine" / "2026-10" / "vroegsignalen.csv").read_text()
    assert "bsn-elfproef" in quarantine


def _j_n(rows):
    header = rows[0]
    for column in ("Inhouding", "Budgetbeheer"):
        i = header.index(column)
        for r in rows[1:]:
            r[i] = {"Ja": "J", "Nee": "N"}[r[i]]
    return rows


def _selection_total(folder, table):
    with (folder / "tables.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["table"] == table and row["level"] == "gemeente" and row["category"] == "totaal":
                return int(row["value"])


def test_an_export_with_j_n_is_quarantined_until_sources_yaml_says_how_it_writes_yes_and_no(
        release, sources_copy, key_file, tmp_path):
    """Ja is not a literal in SQL: the mapping in sources.yaml says how the export writes yes and no."""
    _rewrite(sources_copy / "uitkeringen.csv", "cp1252", ";", _j_n)
    failed = _refused(write_settings(tmp_path / "run", sources_copy, key_file))
    assert [g.gate for g in failed.failed] == ["empty-source", "quarantined-share"]

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    text = (config / "sources.yaml").read_text(encoding="utf-8")
    text = text.replace('inhouding: {"Ja": true, "Nee": false}', 'inhouding: {"J": true, "N": false}')
    text = text.replace('budgetbeheer: {"Ja": true, "Nee": false}', 'budgetbeheer: {"J": true, "N": false}')
    (config / "sources.yaml").write_text(text, encoding="utf-8")
    rel = run_all(write_settings(tmp_path / "adapted", sources_copy, key_file, config_dir=config))
    table = "selectie:inhouding-zonder-budgetbeheer"
    assert _selection_total(rel.folder, table) == _selection_total(release["release"].folder, table) > 0


def test_a_yes_no_value_that_no_row_holds_is_a_warning_in_the_audit_and_the_report(sources_copy, key_file, tmp_path):
    def no_budgetbeheer(rows):
        i = rows[0].index("Budgetbeheer")
        for r in rows[1:]:
            r[i] = "Nee"
        return rows

    _rewrite(sources_copy / "uitkeringen.csv", "cp1252", ";", no_budgetbeheer)
    rel = run_all(write_settings(tmp_path / "run", sources_copy, key_file))
    audit = json.loads((rel.folder / "audit.json").read_text(encoding="utf-8"))
    message = ("source 'uitkeringen', column 'budgetbeheer': no loaded row holds 'Ja' (sources.yaml values); "
               "check how the export writes it")
    assert audit["quality_gates"]["warnings"] == [
        {"gate": "unmatched-value", "source": "uitkeringen", "level": "warning", "message": message}]
    assert audit["quality_gates"]["passed"] is False
    report = (rel.folder / "report.html").read_text(encoding="utf-8")
    assert 'class="gate-warning"' in report and "budgetbeheer" in report


def test_deliveries_that_end_before_the_period_are_refused(sources_copy, key_file, tmp_path):
    """A run made before October's DDAS delivery arrived: September's signals are there, October's not."""
    (sources_copy / "vroegsignalen_2026-10.json").unlink()
    failed = _refused(write_settings(tmp_path / "run", sources_copy, key_file))
    assert str(failed) == (
        "quality gate period-coverage (error): source 'vroegsignalen': the newest delivery (einddatumLevering) "
        "ends 2026-09-30, before 2026-10-31: the deliveries do not reach the end of the reference period 2026-10")


def test_an_old_period_rerun_with_newer_deliveries_is_covered(sources, key_file, tmp_path):
    run_all(write_settings(tmp_path / "run", sources, key_file), {"period": "2026-08"})


def test_a_gemeente_can_lower_a_gate_to_a_warning(sources_copy, key_file, tmp_path):
    (sources_copy / "vroegsignalen_2026-10.json").unlink()
    settings = write_settings(tmp_path / "run", sources_copy, key_file)
    settings.write_text(settings.read_text() + "quality_gates:\n  vroegsignalen:\n    period_coverage:\n"
                        "      column: einddatumLevering\n      level: warning\n", encoding="utf-8")
    rel = run_all(settings)
    audit = json.loads((rel.folder / "audit.json").read_text(encoding="utf-8"))
    assert [w["gate"] for w in audit["quality_gates"]["warnings"]] == ["period-coverage"]


HOSTILE_BSN = "123456782"  # passes the 11-proef; never a real person's number in these tests


def test_a_quarantined_rows_values_never_reach_the_warehouse_file(sources_copy, key_file, tmp_path):
    """The row is quarantined by the contract; its values must not be in the warehouse's bytes
    (a DELETE after loading would leave them there)."""
    def hostile(rows):
        i = rows[0].index("Buurtcode")
        rows[5][i] = f"BU{HOSTILE_BSN}X"  # e.g. a shifted export: a BSN where the buurtcode belongs
        return rows

    _rewrite(sources_copy / "brp.csv", "utf-8", ",", hostile)
    run_all(write_settings(tmp_path / "run", sources_copy, key_file))
    work = tmp_path / "run" / "work"
    files = [p for p in work.rglob("*") if p.is_file()]
    assert work / "warehouse.duckdb" in files
    assert not [p for p in files if HOSTILE_BSN.encode() in p.read_bytes()]


def test_only_fields_some_dpia_purpose_allows_are_read(release):
    con = duckdb.connect(str(release["work"] / "warehouse.duckdb"), read_only=True)
    try:
        unread = con.execute("SELECT count(productcode) FROM wmo").fetchone()[0], \
            con.execute("SELECT count(inhouding_bedrag) FROM uitkeringen").fetchone()[0], \
            con.execute("SELECT count(ontstaansdatum) FROM vroegsignalen").fetchone()[0]
        read = con.execute("SELECT count(productcategorie) FROM wmo").fetchone()[0]
    finally:
        con.close()
    assert unread == (0, 0, 0) and read > 0
    audit = json.loads((release["release"].folder / "audit.json").read_text(encoding="utf-8"))
    assert audit["row_accounting"]["wmo"]["columns_not_read"] == ["productcode"]


def test_a_published_quarantine_warning_states_no_count():
    """The warning goes into audit.json and report.html: the rows read would count the records the
    tables count, and the rows quarantined with the threshold bound them (privacy/published_counts.py,
    rule C1)."""
    from pipelines.ingest.gates import evaluate
    from pipelines.settings import Gates

    account = {"rows_read": 506, "rows_loaded": 499, "rows_quarantined": 7,
               "files": [{"name": "vroegsignalen_2026-06.json", "rows": 506}]}
    [warning] = evaluate("vroegsignalen", account, Gates(), "2026-06")
    assert (warning.gate, warning.level) == ("quarantined-share", "warning")
    assert warning.message == ("source 'vroegsignalen': more than 1.0% of its rows quarantined (the counts are in the "
                               "run record); see the quarantine file for rows and rules")
    assert not any(n in warning.message for n in ("506", "499", "7 "))
