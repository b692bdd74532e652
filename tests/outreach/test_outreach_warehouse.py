"""Matching and triage on the real synthetic warehouse of the session's release (a copy)."""

import shutil
from pathlib import Path

import duckdb

from pipelines.outreach.cases import match_cases
from pipelines.outreach.deadlines import load_terms
from pipelines.outreach.triage import load_teams, load_triage, triage_cases
from privacy.leakscan import nine_digit_numbers

CONFIG = Path(__file__).resolve().parents[2] / "config"
MONTHS = ("2026-07", "2026-08", "2026-09", "2026-10")


def test_every_signal_is_in_a_case_or_counted_and_every_case_is_triaged(release, source_bsns, tmp_path):
    shutil.copy(release["work"] / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for table in ("cases", "case_signals", "case_triage", "case_matching"):  # the release's own outreach, of 2026-10
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute("DELETE FROM persons WHERE pid IN (SELECT pid FROM vroegsignalen WHERE signaaldatum >= '2026-10-01' "
                "ORDER BY sid LIMIT 3)")  # three persons who left: their signals cannot be matched
    terms = load_terms(CONFIG / "terms.yaml")
    triage, teams = load_triage(CONFIG / "triage.yaml", terms), load_teams(CONFIG / "teams.yaml")
    for month in MONTHS:
        got = match_cases(con, month)
        signals = con.execute("SELECT count(*) FROM vroegsignalen WHERE strftime(signaaldatum, '%Y-%m') = ?",
                              [month]).fetchone()[0]
        in_cases = con.execute("SELECT count(*), count(DISTINCT sid) FROM case_signals WHERE period = ?",
                               [month]).fetchone()
        assert signals > 0 and got.signals == signals == got.in_cases + got.unmatched
        assert in_cases == (got.in_cases, got.in_cases)
        summed = con.execute("SELECT count(*), sum(n_signalen) FROM cases WHERE period = ?", [month]).fetchone()
        assert summed == (got.cases, got.in_cases) and got.cases == got.new_cases + got.carried_over
        done = triage_cases(con, month, triage, teams, terms)
        assert done.cases == got.cases and sum(done.by_team.values()) == got.cases
    assert got.unmatched >= 3
    late = con.execute("SELECT count(*) FROM case_triage t JOIN cases c USING (case_id, period) "
                       "WHERE t.deadline IS NOT NULL AND t.deadline <= c.eerste_signaaldatum").fetchone()[0]
    assert late == 0
    carried = con.execute("SELECT sum(carried_over) FROM case_matching").fetchone()[0]
    assert carried > 0  # over four months some addresses have a case still open
    # the bytes of the outreach tables: pseudonyms and facts, never a BSN
    out = tmp_path / "outreach.csv"
    for table in ("cases", "case_signals", "case_triage", "case_matching"):
        con.execute(f"COPY {table} TO '{out}' (HEADER)")
        text = out.read_text(encoding="utf-8")
        assert not nine_digit_numbers(text) & source_bsns, table  # not digit runs inside a UUID
