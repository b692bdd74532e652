"""A file that cannot be read stops the run; nothing is published."""

import pytest
from conftest import write_settings

from pipelines.ingest.readers import SourceFileError
from pipelines.pipeline import run_all
from pipelines.publish import read_record


def _nothing_published(work):
    releases = work / "releases"
    return (not releases.exists() or not any(releases.iterdir())) and not (work / "ledger.jsonl").exists()


def _warehouse_untouched(work):
    return not (work / "warehouse.duckdb").exists()


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda s: (s / "wmo.csv").unlink(), "source 'wmo', file {s}/wmo.csv: file not found"),
        (lambda s: (s / "brp.csv").write_bytes((s / "brp.csv").read_bytes().replace(b"Buurtcode", b"Wijk", 1)),
         "source 'brp', file {s}/brp.csv: missing column(s) 'Buurtcode'"),
        (lambda s: (s / "uitkeringen.csv").write_bytes(b"BSN;Regeling\x81\n1;x\n"),
         "source 'uitkeringen', file {s}/uitkeringen.csv: cannot be decoded as cp1252"),
    ],
)
def test_unreadable_source_stops_the_run_and_publishes_nothing(sources_copy, key_file, tmp_path, damage, message):
    damage(sources_copy)
    settings = write_settings(tmp_path / "run", sources_copy, key_file)
    with pytest.raises(SourceFileError) as e:
        run_all(settings)
    assert str(e.value).startswith(message.format(s=sources_copy))
    assert _nothing_published(tmp_path / "run" / "work")
    assert _warehouse_untouched(tmp_path / "run" / "work")  # the preflight stopped it before any load


def test_quarantined_rows_are_counted_in_the_release(sources_copy, key_file, tmp_path):
    import csv
    import json

    path = sources_copy / "wmo.csv"
    rows = list(csv.reader(path.open(encoding="utf-8")))
    rows[3][1] = "99"  # not an iWmo productcategorie
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    rel = run_all(write_settings(tmp_path / "run", sources_copy, key_file))
    audit = json.loads((rel.folder / "audit.json").read_text(encoding="utf-8"))
    wmo = audit["row_accounting"]["wmo"]
    assert wmo["rows_quarantined"] == 1 and wmo["quarantined_by_rule"] == {"productcategorie-codelijst": 1}
    assert "rows_read" not in wmo  # rule C1
    wmo = read_record(rel.folder)["row_accounting"]["wmo"]
    assert wmo["rows_read"] == wmo["rows_loaded"] + 1
    quarantine = (tmp_path / "run" / "work" / "quarantine" / "2026-10" / "wmo.csv").read_text(encoding="utf-8")
    assert quarantine.splitlines()[1] == ("wmo,wmo.csv,3,productcategorie-codelijst,productcategorie,"
                                          "not met: productcategorie is a code of iWmo codelijst WMO022 (01-18)")
