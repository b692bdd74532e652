"""Cases a hostile corpus (146 hostile inputs and process faults, run against issue 11's
work) still found; each failed before its fix."""

import csv
import errno
import json
import shutil

import pytest
from conftest import write_settings

from pipelines.cli import main
from pipelines.configfile import ConfigError
from pipelines.ingest.readers import SourceFileError, read_source
from pipelines.pipeline import prepare, run_all
from pipelines.settings import CONFIG_DIR, load_settings, load_sources

SOURCES = load_sources(CONFIG_DIR).sources


def _rewrite(path, encoding, delimiter, change):
    with path.open(encoding=encoding, newline="") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter))
    change(rows)
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator="\n").writerows(rows)


def test_the_reference_months_delivery_without_signals_is_a_warning(sources_copy, key_file, tmp_path):
    path = sources_copy / "vroegsignalen_2026-10.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for levering in doc["leveringen"]:
        levering["vroegsignalen"] = []
    path.write_text(json.dumps(doc), encoding="utf-8")
    rel = run_all(write_settings(tmp_path / "run", sources_copy, key_file))
    audit = json.loads((rel.folder / "audit.json").read_text(encoding="utf-8"))
    assert [(w["gate"], w["message"]) for w in audit["quality_gates"]["warnings"]] == [
        ("empty-file", "source 'vroegsignalen': 1 of 12 file(s) hold no rows (vroegsignalen_2026-10.json); their "
                       "period counts none")]


def test_a_delivery_read_twice_or_a_reused_signal_id_is_quarantined(sources_copy):
    shutil.copy(sources_copy / "vroegsignalen_2026-10.json", sources_copy / "vroegsignalen_2026-10 (1).json")
    import duckdb

    from pipelines.geography import buurten
    from pipelines.ingest import ingest_source
    from privacy.pseudonymise import pads

    account, records = ingest_source(duckdb.connect(), "vroegsignalen", SOURCES["vroegsignalen"], sources_copy,
                                     CONFIG_DIR, pads(b"k" * 32), {"buurten": buurten("GM0164").buurtcode.tolist()})
    october = json.loads((sources_copy / "vroegsignalen_2026-10.json").read_text())
    n = sum(len(lev["vroegsignalen"]) for lev in october["leveringen"])
    assert account.quarantined_by_rule == {"id-uniek": 2 * n}
    assert account.rows_read == account.rows_loaded + 2 * n


@pytest.mark.parametrize("source, column, value", [
    ("uitkeringen", "Inhouding", "N/A"), ("uitkeringen", "Inhouding", "NULL"), ("uitkeringen", "Regeling", "N/A"),
    ("wmo", "Productcategorie", "#N/A"), ("wmo", "Productcategorie", "NA")])
def test_placeholders_for_missing_values_are_values_not_nulls(sources_copy, source, column, value):
    """Arrow's default reads "N/A", "NULL", "#N/A", "NA" as null, which passes every rule that
    checks a value only "when filled in"."""
    spec = SOURCES[source]
    _rewrite(sources_copy / spec.file, spec.encoding, spec.delimiter, lambda rows: rows[3].__setitem__(
        rows[0].index(column), value))
    raw = read_source(source, spec, sources_copy)
    canonical = {v: k for k, v in spec.columns.items()}[column]
    assert raw.table[canonical][2].as_py() == value


def test_a_ddas_file_nested_thousands_deep_is_refused_with_its_name(sources_copy):
    path = sources_copy / "vroegsignalen_2026-10.json"
    doc = path.read_text(encoding="utf-8")
    path.write_text(doc.replace('"warmeOverdracht":false', '"warmeOverdracht":' + "[" * 100_000 + "]" * 100_000, 1),
                    encoding="utf-8")
    with pytest.raises(SourceFileError) as e:
        read_source("vroegsignalen", SOURCES["vroegsignalen"], sources_copy)
    assert str(e.value) == (f"source 'vroegsignalen', file {path}: is nested too deeply to be a DDAS file (arrays or "
                            "objects within each other, hundreds of levels deep)")


def test_a_full_disk_is_one_clean_line(monkeypatch, capsys, tmp_path):
    import pipelines.cli as cli

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "123456782.csv"))

    monkeypatch.setattr(cli, "_run_flow", full)
    assert main(["run", "--config", str(tmp_path / "g.yaml")]) == 1
    assert capsys.readouterr().err == (
        "error: cannot write to disk: no space left, or a file-size limit reached (the warehouse, the work directory "
        "or the register); free space and run again. An interrupted publication is finished or cleaned by the next "
        "run\nnothing was published\n")


def _settings(tmp_path, extra):
    p = tmp_path / "gemeente.yaml"
    p.write_text("gemeente: GM0164\nperiod: '2026-10'\nsources_dir: s\nwork_dir: w\n" + extra, encoding="utf-8")
    return p


def test_an_unquoted_off_turns_a_gate_off(tmp_path):
    settings, _ = load_settings(_settings(tmp_path, "quality_gates:\n  wmo:\n    empty_source: off\n"))
    assert settings.quality_gates["wmo"].empty_source == "off"


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_settings(_settings(tmp_path, "period: '2026-09'\n"))
    assert str(e.value) == f"{tmp_path / 'gemeente.yaml'}:5: key 'period' given twice (first on line 2); keep one"


def test_did_you_mean_inside_a_per_source_setting(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_settings(_settings(tmp_path, "quality_gates:\n  wmo:\n    quarantined_shar: {warning_above: 0.02}\n"))
    assert "quality_gates.wmo.quarantined_shar: unknown key 'quarantined_shar'; did you mean 'quarantined_share'?" \
        in str(e.value)


def test_a_work_directory_inside_the_sources_folder_is_refused(sources, tmp_path):
    p = tmp_path / "gemeente.yaml"
    p.write_text(f"gemeente: GM0164\nperiod: '2026-10'\nsources_dir: {sources}\nwork_dir: {sources / 'work'}\n",
                 encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        prepare(p)
    assert str(e.value) == (f"{p}:4: work_dir may not be the sources folder or lie inside it: the work directory is "
                            "made private and cleaned, the extracts are the gemeente's own")


def test_an_empty_yes_no_field_is_quarantined(sources_copy):
    import duckdb

    from pipelines.geography import buurten
    from pipelines.ingest import ingest_source
    from privacy.pseudonymise import pads

    spec = SOURCES["uitkeringen"]
    _rewrite(sources_copy / spec.file, spec.encoding, spec.delimiter,
             lambda rows: rows[3].__setitem__(rows[0].index("Inhouding"), ""))
    account, records = ingest_source(duckdb.connect(), "uitkeringen", spec, sources_copy, CONFIG_DIR,
                                     pads(b"k" * 32), {"buurten": buurten("GM0164").buurtcode.tolist()})
    assert account.quarantined_by_rule == {"inhouding-verplicht": 1}
    assert [(r["row"], r["rule"]) for r in records] == [(3, "inhouding-verplicht")]
