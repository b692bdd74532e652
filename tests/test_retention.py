"""Retention, enforced (pipelines/retention.py, rule R1): rows and files past their term go, the
ones inside it stay, the warehouse is compacted so the bytes are gone, the deletion log holds
counts only, a dry run changes nothing, and a busy work directory is refused (exit 75)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.pipeline import prepare
from pipelines.publish import read_record
from pipelines.retention import LOG, dated_column, enforce, for_run

MARK = "RETENTIEPROEF-Q7Z"  # a value planted in a signal past its term; no real value looks like it
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _settings(release, tmp_path: Path) -> Path:
    work = tmp_path / "work"
    shutil.copytree(release["work"], work, ignore=shutil.ignore_patterns(".lock", "releases", "ledger.jsonl", "records", LOG))
    lines = [ln for ln in release["settings"].read_text(encoding="utf-8").splitlines() if not ln.startswith("work_dir:")]
    settings = tmp_path / "gemeente.yaml"
    settings.write_text("\n".join([*lines, f"work_dir: {work}"]) + "\n", encoding="utf-8")
    return settings


def _plant(work: Path) -> None:
    """Rows and files just past and just inside their terms at 2026-10 (brp from 2026-10; the
    others from 2024-11)."""
    con = duckdb.connect(str(work / "warehouse.duckdb"))
    try:
        one = "FROM vroegsignalen WHERE pid IS NOT NULL LIMIT 20"
        con.execute(f"INSERT INTO vroegsignalen SELECT * REPLACE ('{MARK}' AS signaalpartner, "
                    f"DATE '2024-10-31' AS signaaldatum) {one}")
        con.execute(f"INSERT INTO vroegsignalen SELECT * REPLACE (DATE '2024-11-01' AS signaaldatum) {one}")
        u = "FROM uitkeringen LIMIT 3"
        con.execute(f"INSERT INTO uitkeringen SELECT * REPLACE (DATE '2024-10-31' AS einddatum) {u}")
        con.execute(f"INSERT INTO uitkeringen SELECT * REPLACE (DATE '2024-11-01' AS einddatum) {u}")
        con.execute(f"INSERT INTO uitkeringen SELECT * REPLACE (DATE '2001-01-01' AS ingangsdatum, "
                    f"NULL::DATE AS einddatum) {u}")
        con.execute("INSERT INTO household_facts SELECT * REPLACE ('2026-09' AS period) FROM household_facts "
                    "WHERE period = '2026-10' LIMIT 7")
        for table in ("cases", "case_signals", "case_triage", "case_matching"):
            for period in ("2025-10", "2025-11"):
                con.execute(f"INSERT INTO {table} SELECT * REPLACE ('{period}' AS period) FROM {table} "
                            "WHERE period = '2026-10' LIMIT 5")
    finally:
        con.close()
    for rel in ("quarantine/2024-10/vroegsignalen.csv", "quarantine/2024-11/vroegsignalen.csv",
                "quality/2026-09/brp.json", "quality/2026-09/wmo.json", "outreach/2025-10/lijst/a.xlsx",
                "outreach/2025-11/summary.json", "vault/.identiteiten.duckdb.new",
                "levering/2025-10/ddas-v1.2-GM0164-2025-10.json", "terugkoppeling/2025-10/Zorg.json",
                "terugkoppeling/2025-11/Zorg.json"):
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text("x\n", encoding="utf-8")


def _count(work: Path, sql: str) -> int:
    con = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def _hashes(work: Path) -> dict[str, str]:
    return {str(p.relative_to(work)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(work.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture
def planted(release, tmp_path):
    settings = _settings(release, tmp_path)
    work = tmp_path / "work"
    _plant(work)
    return settings, work


def test_the_date_column_comes_from_the_sources_declaration(release):
    run = prepare(release["settings"])
    assert {s: dated_column(run.sources, s) for s in run.source_ids} == {
        "brp": None, "uitkeringen": "einddatum", "vroegsignalen": "signaaldatum", "wmo": "einddatum"}


def test_rows_and_files_past_their_term_go_and_the_ones_inside_stay(planted):
    settings, work = planted
    n = {t: _count(work, f"SELECT count(*) FROM {t}") for t in ("vroegsignalen", "uitkeringen", "household_facts")}
    result = for_run(prepare(settings))
    assert result["reference"] == "2026-10"
    assert _count(work, "SELECT count(*) FROM vroegsignalen WHERE signaaldatum < DATE '2024-11-01'") == 0
    assert _count(work, "SELECT count(*) FROM vroegsignalen WHERE signaaldatum = DATE '2024-11-01'") == 20
    assert _count(work, "SELECT count(*) FROM vroegsignalen") == n["vroegsignalen"] - 20
    assert _count(work, "SELECT count(*) FROM uitkeringen WHERE einddatum < DATE '2024-11-01'") == 0
    assert _count(work, "SELECT count(*) FROM uitkeringen WHERE einddatum = DATE '2024-11-01'") >= 3
    assert _count(work, "SELECT count(*) FROM uitkeringen WHERE ingangsdatum = DATE '2001-01-01' "
                        "AND einddatum IS NULL") == 3  # a running uitkering is kept
    assert _count(work, "SELECT count(*) FROM uitkeringen") == n["uitkeringen"] - 3
    assert _count(work, "SELECT count(*) FROM household_facts") == n["household_facts"] - 7
    for table in ("cases", "case_signals", "case_triage", "case_matching"):
        # rule R2: the cases are kept 12 months (vroeg-eropaf, the monitor), not the signals' 24 (stapelingsmonitor)
        assert _count(work, f"SELECT count(*) FROM {table} WHERE period = '2025-10'") == 0, table
        assert _count(work, f"SELECT count(*) FROM {table} WHERE period = '2025-11'") > 0, table
    assert not (work / "quarantine/2024-10").exists() and (work / "quarantine/2024-11/vroegsignalen.csv").exists()
    assert not (work / "quality/2026-09/brp.json").exists() and (work / "quality/2026-09/wmo.json").exists()
    assert not (work / "outreach/2025-10").exists() and (work / "outreach/2025-11/summary.json").exists()
    assert (work / "outreach/2026-10").is_dir() and (work / "vault/identiteiten.duckdb").exists()
    # the DDAS delivery (it carries BSNs) and the partners' feedback, under the vroegsignalen term too
    assert not (work / "levering/2025-10").exists() and not (work / "terugkoppeling/2025-10").exists()
    assert (work / "terugkoppeling/2025-11/Zorg.json").exists()
    assert not (work / "vault/.identiteiten.duckdb.new").exists()
    assert not (work / "warehouse.duckdb.wal").exists()
    rows = {(r["place"], r["period"]): r["rows"] for r in result["rows"]}
    assert rows[("warehouse:vroegsignalen", "2024-10")] == 20
    assert rows[("warehouse:uitkeringen", "2024-10")] == 3
    assert rows[("warehouse:household_facts", "2026-09")] == 7
    assert rows[("warehouse:case_matching", "2025-10")] == 1
    assert {r["rule"] for r in result["rows"] if r["place"].startswith("warehouse:case")} == {"R2"}
    assert result["made_terms"]["vroegsignalen: signal_list, ddas_delivery, partner_feedback, monitor_tables"][
        "months"] == 12
    files = {(f["place"], f["source"], f["period"]): f["files"] for f in result["files"]}
    assert files == {("quarantine", "vroegsignalen", "2024-10"): 1, ("quality", "brp", "2026-09"): 1,
                     ("outreach", "vroegsignalen", "2025-10"): 1, ("vault", "brp", "2026-10"): 1,
                     ("levering", "vroegsignalen", "2025-10"): 1, ("terugkoppeling", "vroegsignalen", "2025-10"): 1}
    # the second time, nothing is left to delete
    again = for_run(prepare(settings))
    assert (again["rows_deleted"], again["files_deleted"]) == (0, 0)


def test_the_bytes_are_gone_after_retention(planted):
    settings, work = planted
    assert MARK.encode() in (work / "warehouse.duckdb").read_bytes()
    for_run(prepare(settings))
    data = (work / "warehouse.duckdb").read_bytes()
    assert MARK.encode() not in data
    assert (work / "warehouse.duckdb").stat().st_mode & 0o777 == 0o600  # as private as before


def test_control_a_plain_delete_leaves_the_value_in_the_bytes(planted):
    _, work = planted
    con = duckdb.connect(str(work / "warehouse.duckdb"))
    con.execute("DELETE FROM vroegsignalen WHERE signaaldatum < DATE '2024-11-01'")
    con.execute("CHECKPOINT")
    con.close()
    assert _count(work, f"SELECT count(*) FROM vroegsignalen WHERE signaalpartner = '{MARK}'") == 0
    assert MARK.encode() in (work / "warehouse.duckdb").read_bytes()  # what compaction is for


def test_a_dry_run_changes_nothing(planted):
    settings, work = planted
    before = _hashes(work)
    result = for_run(prepare(settings), dry_run=True)
    assert result["rows_deleted"] > 0 and result["files_deleted"] == 6
    assert _hashes(work) == before
    assert not (work / LOG).exists()


def test_the_deletion_log_holds_counts_only(planted, release):
    settings, work = planted
    pids = {str(p) for (p,) in duckdb.connect(str(work / "warehouse.duckdb"), read_only=True).execute(
        "SELECT pid FROM vroegsignalen WHERE pid IS NOT NULL AND signaaldatum < DATE '2024-11-01'").fetchall()}
    assert pids
    result = for_run(prepare(settings))
    text = (work / LOG).read_text(encoding="utf-8")
    assert not UUID.search(text) and MARK not in text and not any(p in text for p in pids)
    lines = [json.loads(ln) for ln in text.splitlines()]
    assert len(lines) == 1
    entry = lines[0]
    assert {k: v for k, v in entry.items() if k not in ("compacted", "warehouse_bytes", "seconds")} == result
    assert entry["warehouse_bytes"]["after"] < entry["warehouse_bytes"]["before"]
    for r in entry["rows"] + entry["files"]:
        assert set(r) <= {"place", "source", "rule", "purposes", "period", "rows", "files", "of"}
        # R1 for a source's rows and files; R2 for what was made from the vroegsignalen (cases, lists, deliveries)
        assert r["rule"] == ("R2" if r["place"].startswith(("warehouse:case", "outreach", "levering", "terugkoppeling",
                                                            "warehouse:monitor")) else "R1")
        assert re.fullmatch(r"\d{4}-\d{2}", r["period"])
    for_run(prepare(settings), reference="2026-11")
    assert len((work / LOG).read_text(encoding="utf-8").splitlines()) == 2  # appended


def test_a_run_enforces_retention_and_audit_json_says_so(release):
    audit = json.loads((release["release"].folder / "audit.json").read_text(encoding="utf-8"))
    r = audit["retention"]
    assert r["reference"] == "2026-10" and r["rule"].startswith("R1: ")
    assert r["terms"]["brp"] == {"months": 1, "purposes": r["terms"]["brp"]["purposes"],
                                 "longest": r["terms"]["brp"]["purposes"], "keep_from": "2026-10",
                                 "cutoff": "2026-10-01", "rule": "R1"}
    assert r["made_terms"]["vroegsignalen: signal_list, ddas_delivery, partner_feedback, monitor_tables"] == {
        "months": 12, "purposes": ["monitor-vroegsignalering", "vroeg-eropaf"],
        "longest": ["monitor-vroegsignalering", "vroeg-eropaf"], "keep_from": "2025-11", "cutoff": "2025-11-01",
        "rule": "R2"}
    assert any(e["place"] == "warehouse:uitkeringen" for e in r["extract_rows"])
    assert all("rows" not in e for e in r["extract_rows"]) and "extract_rows_deleted" not in r  # rule C1
    record = read_record(release["release"].folder)
    gone = sum(e["rows"] for e in record["retention"]["extract_rows"] if e["place"] == "warehouse:uitkeringen")
    assert gone > 0  # the synthetic extract has uitkeringen that ended before 2024-11
    assert sum(e["rows"] for e in record["retention"]["extract_rows"]) == record["retention"]["extract_rows_deleted"]
    assert _count(release["work"], "SELECT count(*) FROM uitkeringen WHERE einddatum < DATE '2024-11-01'") == 0
    assert (release["work"] / LOG).exists()


def test_cli_dry_run_and_run(planted, capsys):
    settings, work = planted
    before = _hashes(work)
    assert main(["retention", "--config", str(settings), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "retention at 2026-10 (rule R1, privacy/README.md: Bewaartermijnen):"
    assert "  would delete 1 file(s) of quarantine (vroegsignalen), 2024-10\n" in out
    assert "  would delete 7 row(s) of warehouse:household_facts (brp), 2026-09\n" in out
    assert out.splitlines()[-1].endswith("; dry run: nothing was changed")
    assert _hashes(work) == before
    assert main(["retention", "--config", str(settings), "--period", "2026-11"]) == 0
    out = capsys.readouterr().out
    assert "  deleted 2 file(s) of quarantine (vroegsignalen), 2024-10..2024-11\n" in out
    assert out.splitlines()[-1].endswith("; the warehouse is compacted")
    assert json.loads((work / LOG).read_text(encoding="utf-8"))["reference"] == "2026-11"


def test_cli_config_problems_exit_1(tmp_path, release, capsys):
    settings = _settings(release, tmp_path)
    shutil.rmtree(tmp_path / "work")
    assert main(["retention", "--config", str(settings)]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'work'}: no such work directory\n"
    assert main(["retention", "--config", str(tmp_path / "missing.yaml")]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'missing.yaml'}: file not found\n"


def test_cli_busy_work_directory_exits_75(planted, capsys):
    from test_workdir import Holder

    settings, work = planted
    before = _hashes(work)
    holder = Holder(work)
    try:
        assert main(["retention", "--config", str(settings)]) == 75
        assert capsys.readouterr().err == f"error: {holder.message(work)}\n"
    finally:
        assert holder.finish() == (0, "released\n")
    assert _hashes(work) == before


def test_the_reference_is_the_argument_never_the_clock(planted):
    settings, work = planted
    run = prepare(settings)
    later = enforce(work, run.dpia, run.sources, "2030-01", dry_run=True)
    assert later["terms"]["vroegsignalen"]["keep_from"] == "2028-02"
    assert date.fromisoformat(later["terms"]["wmo"]["cutoff"]) == date(2028, 2, 1)


def test_audit_json_does_not_depend_on_what_earlier_runs_left(release, tmp_path):
    """A re-run of the period in a work directory that still holds an earlier month's facts (and a
    past-term quarantine file) publishes the same audit.json: those go, but only the deletion log
    counts them."""
    from pipelines.pipeline import run_all

    settings = _settings(release, tmp_path)
    work = tmp_path / "work"
    con = duckdb.connect(str(work / "warehouse.duckdb"))
    con.execute("INSERT INTO household_facts SELECT * REPLACE ('2026-09' AS period) FROM household_facts LIMIT 7")
    con.close()
    (work / "quality/2026-09").mkdir(parents=True)
    (work / "quality/2026-09/brp.json").write_text("{}\n", encoding="utf-8")
    again = run_all(settings)
    first = release["release"]
    assert again.release_id == first.release_id
    assert (again.folder / "audit.json").read_bytes() == (first.folder / "audit.json").read_bytes()
    assert (again.folder / "tables.csv").read_bytes() == (first.folder / "tables.csv").read_bytes()
    logged = json.loads((work / LOG).read_text(encoding="utf-8").splitlines()[-1])
    assert {(r["place"], r["period"], r["rows"]) for r in logged["rows"] if r["of"] == "earlier runs"} == {
        ("warehouse:household_facts", "2026-09", 7)}
    assert not (work / "quality/2026-09").exists()


def test_a_vault_no_selection_needs_is_removed(planted):
    settings, work = planted
    run = prepare(settings)
    vault = work / "vault" / "identiteiten.duckdb"
    assert vault.exists()
    kept = enforce(work, run.dpia, run.sources, "2026-10", vault_needed=True)
    assert vault.exists() and [f["files"] for f in kept["files"] if f["place"] == "vault"] == [1]  # the .new only
    gone = enforce(work, run.dpia, run.sources, "2026-10", vault_needed=False)
    assert not vault.exists() and [f["files"] for f in gone["files"] if f["place"] == "vault"] == [1]
    assert (work / "vault" / "toegang.jsonl").exists()  # the access log stays: it holds no identity
