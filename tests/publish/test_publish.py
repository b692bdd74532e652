import json

import pandas as pd
import pytest
from conftest import GEMEENTE, PERIOD, SCALE, SEED, write_settings

from pipelines.pipeline import prepare, run_all, stage_protect, stage_tabulate
from pipelines.publish import PublishRefused, publish, read_record
from pipelines.synth import synthesize
from privacy import ledger
from privacy.published_counts import record_name


def test_same_seed_gives_a_byte_identical_release(release, tmp_path):
    """Fresh sources from the same seed, another work dir and even another key: same bytes."""
    sources = tmp_path / "sources"
    synthesize(sources, gemeente=GEMEENTE, period=PERIOD, seed=SEED, scale=SCALE)
    again = run_all(write_settings(tmp_path / "b", sources, tmp_path / "otherkey" / "k.key"))
    first = release["release"]
    assert again.release_id == first.release_id
    names = sorted(p.name for p in first.folder.iterdir())
    assert names == sorted(p.name for p in again.folder.iterdir()) == [
        "audit.json", "ledger-entry.json", "report.html", "tables.csv", "tables.xlsx"]
    for name in names:
        if name != ledger.ENTRY:  # the ledger entry records when, and after which entry, the release was published
            assert (again.folder / name).read_bytes() == (first.folder / name).read_bytes(), name
    entries = [ledger.read_entry(first.folder), ledger.read_entry(again.folder)]
    assert entries[0]["files"] == entries[1]["files"] == first.files == again.files
    assert set(entries[0]["files"]) == set(names) - {ledger.ENTRY}
    name = record_name(first.release_id, first.files["audit.json"])
    records = [w / "records" / name for w in (release["work"], tmp_path / "b" / "work")]
    assert records[0].read_bytes() == records[1].read_bytes()  # the run record is deterministic too


def test_audit_records_inputs_rules_accounting_and_protection(release):
    audit = json.loads((release["release"].folder / "audit.json").read_text(encoding="utf-8"))
    assert {i["source"] for i in audit["inputs"]} == {"brp", "uitkeringen", "vroegsignalen", "wmo"}
    assert all(len(i["sha256"]) == 64 for i in audit["inputs"])
    for acc in audit["row_accounting"].values():
        assert acc["holds"] and "rows_read" not in acc and "rows_loaded" not in acc  # rule C1: in the record
    record = read_record(release["release"].folder)
    for acc in record["row_accounting"].values():
        assert acc["holds"] and acc["rows_read"] == acc["rows_loaded"] + acc["rows_quarantined"]
    assert sum(i["rows"] for i in record["inputs"] if i["source"] == "wmo") == record["row_accounting"]["wmo"]["rows_read"]
    assert record["published_as"]["sha256"] == release["release"].files["audit.json"]
    assert {k: v for k, v in record.items() if k not in ("published_as", "counts")} != audit
    assert audit["rules"]["dpia"]["id"] == "DPIA-WIJKSIGNAAL-2026-01"
    assert [s["id"] for s in audit["rules"]["selections"]] == [
        "inhouding-zonder-budgetbeheer", "kinderen-uitkering-huurachterstand", "ouderen-wmo-en-achterstand",
        "stapeling-drie-domeinen", "verse-achterstand-zorg-energie", "verse-achterstand-zorg-energie-signaallijst"]
    assert all(len(s["version"]) == 64 for s in audit["rules"]["selections"])
    assert len(audit["rules"]["dpia"]["sha256"]) == 64
    assert audit["disclosure"]["secondary_suppression"]["applied"] is True
    assert record["disclosure"]["secondary_suppression"]["cells"] > 0
    assert audit["disclosure"]["audit"]["passed"] is True
    assert audit["disclosure"]["audit"]["provably_below_threshold"] == 0
    assert audit["disclosure"]["rounding"] is None  # the demo DPIA does not round
    assert audit["disclosure"]["earlier_releases"]["releases"] == []
    assert audit["leak_scan"]["hits"] == {}


def test_ledger_has_an_intact_entry_for_the_release(release):
    entries = ledger.entries(release["work"])
    assert entries[-1]["release_id"] == release["release"].release_id
    assert entries[-1]["files"]["tables.csv"] == release["release"].files["tables.csv"]
    assert ledger.read_entry(release["release"].folder) == entries[-1]
    assert ledger.verify(release["work"]) == []


def test_a_release_with_a_bsn_like_number_is_refused(release, tmp_path):
    run = prepare(release["settings"], {"work_dir": str(tmp_path / "w")})
    cells, summary = stage_protect(run, stage_tabulate(prepare(release["settings"])))
    cells.loc[cells.index[5], "area_name"] = "Buurt 123456782"  # a valid 11-proef number
    refused = r"refusing to publish: BSN-like numbers found in report.html \(1\), tables.csv \(1\), tables.xlsx \(1\)$"
    with pytest.raises(PublishRefused, match=refused):
        publish(tmp_path / "w", "GM0164-2026-10-test", cells, {"gemeente": {"code": "GM0164", "name": "Hengelo"},
                                                              "period": PERIOD, **_audit_stub(release)}, {"buurten": run.buurten()})
    assert list((tmp_path / "w" / "releases").iterdir()) == []  # the staging folder is gone too
    assert not (tmp_path / "w" / "ledger.jsonl").exists()


def _audit_stub(release):
    audit = json.loads((release["release"].folder / "audit.json").read_text(encoding="utf-8"))
    return {k: audit[k] for k in ("rules", "row_accounting", "disclosure", "definitions", "release_id", "synthetic",
                                  "software", "tables")}


def test_the_next_run_counts_the_published_release_as_known_and_keeps_its_pattern(release):
    run = prepare(release["settings"])
    published = pd.read_csv(release["release"].folder / "tables.csv", dtype={"period": str})
    cells, summary = stage_protect(run, stage_tabulate(run))  # no accounts: the release on disk counts as earlier
    e = summary["earlier_releases"]
    assert e["releases"] == [release["release"].release_id]
    assert e["cells_known"] == int((published.status == "published").sum()) and not e["locked_and_protected_again"]
    assert list(cells.status) == list(published.status)


def test_a_dpia_that_rounds_to_five_gets_rounded_stapeling_tables_and_an_audit_that_knows(release):
    from privacy.dpia import Rounding

    run = prepare(release["settings"])
    purposes = dict(run.dpia.purposes)
    purposes[run.dpia.stapeling_purpose] = purposes[run.dpia.stapeling_purpose].model_copy(
        update={"rounding": Rounding(base=5)})
    run.dpia = run.dpia.model_copy(update={"purposes": purposes})
    tab = stage_tabulate(run)
    truth = tab.cells
    cells, summary = stage_protect(run, tab)
    rounded = ["stapeling", "combinaties", "selectie:stapeling-drie-domeinen"]  # the stapelingsmonitor purpose's
    shown = cells[(cells.status == "published") & cells.table.isin(rounded)]
    assert len(shown) > 100 and (shown.value % 5 == 0).all() and (shown.value != truth.value[shown.index]).any()
    others = cells[(cells.status == "published") & ~cells.table.isin(rounded)]
    assert (others.value == truth.value[others.index]).all()  # their purposes do not round
    assert summary["rounding"]["tables"] == dict.fromkeys(sorted(rounded), 5)
    assert summary["additive_after_protection"].startswith(  # issue 11: it said "exact counts"
        "suppressed cells are empty; published cells are exact counts, except in combinaties, "
        "selectie:stapeling-drie-domeinen, stapeling, whose published counts are rounded or carry noise")
    assert summary["audit"]["passed"] and summary["audit"]["provably_below_threshold"] == 0


def test_the_cell_key_method_gives_the_same_households_the_same_noise_in_every_table(release):
    from privacy.dpia import CellKey

    run = prepare(release["settings"])
    purposes = dict(run.dpia.purposes)
    purposes[run.dpia.stapeling_purpose] = purposes[run.dpia.stapeling_purpose].model_copy(
        update={"cell_key": CellKey(max_noise=2, variance=1.0)})
    run.dpia = run.dpia.model_copy(update={"purposes": purposes})
    tab = stage_tabulate(run)
    truth = tab.cells
    assert "rk" in truth.columns
    cells, summary = stage_protect(run, tab)
    assert "rk" not in cells.columns
    shown = cells[(cells.status == "published") & (cells.value > 0) & cells.table.isin(["stapeling", "combinaties"])]
    moved = shown.value - truth.value[shown.index]
    assert moved.abs().max() == 2 and (moved != 0).mean() > 0.3 and (shown.value >= 10).all()
    key = ["period", "level", "area_code"]
    triple = cells[(cells.table == "combinaties") & (cells.category == "uitkering+achterstand+wmo")].set_index(key)
    three = cells[(cells.table == "stapeling") & (cells.category == "3+")].set_index(key)
    both = triple.join(three, lsuffix="_c", rsuffix="_s")
    both = both[(both.status_c == "published") & (both.status_s == "published")]
    assert len(both) > 3 and (both.value_c == both.value_s).all()  # same households, same noise
    assert summary["cell_key"]["tables"]["stapeling"] == {"max_noise": 2, "variance": 1.0}
    assert summary["audit"]["passed"] and summary["audit"]["provably_below_threshold"] == 0
    again, _ = stage_protect(run, stage_tabulate(run))
    assert again.equals(cells)
