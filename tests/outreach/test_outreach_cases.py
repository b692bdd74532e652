"""Matching signals into cases, on hand-made tiny warehouses."""

import hashlib
import uuid
from datetime import date

import pytest
from outreach_tiny import rows, signal, u, warehouse

from pipelines.outreach.cases import Matching, MatchingError, match_cases


def case(con, household, period):
    got = con.execute("SELECT * FROM cases WHERE hid = ? AND period = ?", [u(household), period]).df()
    assert len(got) == 1, got
    return got.iloc[0]


def test_signals_at_one_address_in_a_month_are_one_case():
    con = warehouse({"anna": "h1", "bert": "h1", "cees": "h2"})
    signal(con, "s1", "anna", "Zorg", 300, "2026-10-20")
    signal(con, "s2", "bert", "Energie", 450, "2026-10-03")
    signal(con, "s3", "cees", "Water", 120, "2026-10-12")
    signal(con, "s4", "cees", "Water", 999, "2026-11-01")  # next month: not in October's case
    signal(con, "s5", "anna", "Huur", 800, "2026-09-30")   # the month before: not in it either
    got = match_cases(con, "2026-10")
    assert got == Matching("2026-10", signals=3, in_cases=3, unmatched=0, cases=2, new_cases=2, carried_over=0)
    h1 = case(con, "h1", "2026-10")
    assert (h1.n_signalen, bool(h1.meervoudig), list(h1.partners), h1.totaal_bedrag) == (2, True, ["Energie", "Zorg"], 750)
    assert h1.eerste_signaaldatum.date() == date(2026, 10, 3) and h1.laatste_signaaldatum.date() == date(2026, 10, 20)
    assert (h1.opened, h1.status, h1.buurtcode, h1.n_signalen_zaak) == ("2026-10", "open", "BU01640000", 2)
    h2 = case(con, "h2", "2026-10")
    assert (h2.n_signalen, bool(h2.meervoudig), bool(h2.crisis)) == (1, False, False)
    members = con.execute("SELECT sid, case_id FROM case_signals ORDER BY sid").fetchall()
    assert {str(s) for s, _ in members} == {u("s1"), u("s2"), u("s3")}
    assert len({c for s, c in members if str(s) in (u("s1"), u("s2"))}) == 1


def test_case_id_is_a_hash_of_the_address_and_the_opening_month():
    con = warehouse({"anna": "h1"})
    signal(con, "s1", "anna", "Zorg", 300, "2026-10-20")
    match_cases(con, "2026-10")
    want = uuid.UUID(hashlib.sha256(f"wijksignaal-case:{u('h1')}:2026-10".encode()).hexdigest()[:32])
    assert case(con, "h1", "2026-10").case_id == want


def test_opeenvolgend_looks_back_six_whole_months():
    con = warehouse({"anna": "h1", "bert": "h2", "cees": "h3"})
    for sid, person in (("a", "anna"), ("b", "bert"), ("c", "cees")):
        signal(con, f"{sid}-oct", person, "Zorg", 300, "2026-10-15")
    signal(con, "a-apr", "anna", "Water", 100, "2026-04-01")  # first day of the window
    signal(con, "b-mar", "bert", "Water", 100, "2026-03-31")  # one day before it
    signal(con, "c-oct2", "cees", "Energie", 100, "2026-10-01")  # the same month: meervoudig, not opeenvolgend
    match_cases(con, "2026-10")
    assert bool(case(con, "h1", "2026-10").opeenvolgend) is True
    assert bool(case(con, "h2", "2026-10").opeenvolgend) is False
    h3 = case(con, "h3", "2026-10")
    assert (bool(h3.opeenvolgend), bool(h3.meervoudig)) == (False, True)


def test_herhaalde_melding_same_partner_amount_not_higher():
    con = warehouse({"anna": "h1", "bert": "h2", "cees": "h3", "dirk": "h4"})
    signal(con, "a1", "anna", "Energie", 300, "2026-08-10")
    signal(con, "a2", "anna", "Energie", 300, "2026-10-10")  # same partner, same amount: herhaald
    signal(con, "b1", "bert", "Energie", 300, "2026-08-10")
    signal(con, "b2", "bert", "Energie", 301, "2026-10-10")  # higher: picked up again
    signal(con, "c1", "cees", "Energie", 300, "2026-08-10")
    signal(con, "c2", "cees", "Water", 100, "2026-10-10")    # another partner type: not herhaald
    signal(con, "d1", "dirk", "Zorg", 500, "2026-03-01")
    signal(con, "d2", "dirk", "Zorg", 400, "2026-10-10")     # lower, but more than 6 months later
    match_cases(con, "2026-10")
    herhaald = dict(con.execute("SELECT sid::VARCHAR, herhaalde_melding FROM case_signals").fetchall())
    assert herhaald == {u("a2"): True, u("b2"): False, u("c2"): False, u("d2"): False}
    assert [bool(case(con, h, "2026-10").herhaalde_melding) for h in ("h1", "h2", "h3", "h4")] == [True, False, False, False]
    assert case(con, "h1", "2026-10").n_herhaald == 1


def test_herhaalde_melding_within_the_month_and_the_latest_report_counts():
    con = warehouse({"anna": "h1", "bert": "h2"})
    signal(con, "a1", "anna", "Zorg", 200, "2026-10-01")
    signal(con, "a2", "anna", "Zorg", 200, "2026-10-20")  # repeats a1 in the same month
    signal(con, "b1", "bert", "Zorg", 900, "2026-07-01")
    signal(con, "b2", "bert", "Zorg", 100, "2026-09-01")  # the latest report before b3
    signal(con, "b3", "bert", "Zorg", 500, "2026-10-05")  # higher than the latest: not herhaald
    match_cases(con, "2026-10")
    herhaald = dict(con.execute("SELECT sid::VARCHAR, herhaalde_melding FROM case_signals").fetchall())
    assert herhaald == {u("a1"): False, u("a2"): True, u("b3"): False}
    assert bool(case(con, "h1", "2026-10").herhaalde_melding) is False  # not every signal repeats


def test_unknown_amount_is_never_a_herhaalde_melding():
    con = warehouse({"anna": "h1"})
    signal(con, "a1", "anna", "Zorg", 200, "2026-09-01")
    signal(con, "a2", "anna", "Zorg", None, "2026-10-01")
    match_cases(con, "2026-10")
    assert con.execute("SELECT herhaalde_melding, totaal_bedrag FROM cases").fetchall() == [(False, None)]


def test_crisis_flag():
    con = warehouse({"anna": "h1", "bert": "h1", "cees": "h2"})
    signal(con, "s1", "anna", "Huur", 900, "2026-10-02", crisis=True)
    signal(con, "s2", "bert", "Zorg", 100, "2026-10-03")
    signal(con, "s3", "cees", "Zorg", 100, "2026-10-03")
    match_cases(con, "2026-10")
    assert bool(case(con, "h1", "2026-10").crisis) is True
    assert bool(case(con, "h2", "2026-10").crisis) is False


def test_an_open_case_is_carried_over_not_duplicated():
    con = warehouse({"anna": "h1", "bert": "h1"})
    signal(con, "s1", "anna", "Zorg", 300, "2026-09-20")
    signal(con, "s2", "bert", "Energie", 400, "2026-10-02")
    signal(con, "s3", "anna", "Water", 90, "2026-10-09")
    match_cases(con, "2026-09")
    got = match_cases(con, "2026-10")
    assert (got.cases, got.new_cases, got.carried_over, got.in_cases) == (1, 0, 1, 2)
    sept, octo = case(con, "h1", "2026-09"), case(con, "h1", "2026-10")
    assert octo.case_id == sept.case_id
    assert (octo.opened, octo.n_signalen, octo.n_signalen_zaak, bool(octo.opeenvolgend)) == ("2026-09", 2, 3, True)
    assert con.execute("SELECT count(DISTINCT case_id) FROM case_signals").fetchone()[0] == 1


def test_an_expired_or_closed_case_is_not_carried_over():
    con = warehouse({"anna": "h1", "bert": "h2"})
    for sid, person in (("a", "anna"), ("b", "bert")):
        signal(con, f"{sid}9", person, "Zorg", 300, "2026-09-20")
        signal(con, f"{sid}10", person, "Zorg", 500, "2026-10-20")
    match_cases(con, "2026-09")
    first = {h: case(con, h, "2026-09").case_id for h in ("h1", "h2")}
    # h1's triage let its case expire at the end of September; h2's case was closed
    con.execute("INSERT INTO case_triage (case_id, period, expires) VALUES (?, '2026-09', DATE '2026-09-30')",
                [first["h1"]])
    con.execute("UPDATE cases SET status = 'closed' WHERE case_id = ?", [first["h2"]])
    got = match_cases(con, "2026-10")
    assert (got.new_cases, got.carried_over) == (2, 0)
    for h in ("h1", "h2"):
        octo = case(con, h, "2026-10")
        assert octo.case_id != first[h] and octo.opened == "2026-10" and octo.n_signalen_zaak == 1


def test_a_case_still_within_its_expiry_is_carried_over():
    con = warehouse({"anna": "h1"})
    signal(con, "a9", "anna", "Zorg", 300, "2026-09-20")
    signal(con, "a10", "anna", "Zorg", 500, "2026-10-20")
    match_cases(con, "2026-09")
    first = case(con, "h1", "2026-09").case_id
    con.execute("INSERT INTO case_triage (case_id, period, expires) VALUES (?, '2026-09', DATE '2026-10-01')", [first])
    assert match_cases(con, "2026-10").carried_over == 1
    assert case(con, "h1", "2026-10").case_id == first


def test_matching_a_month_again_changes_nothing():
    con = warehouse({"anna": "h1", "bert": "h1", "cees": "h2"})
    signal(con, "s0", "anna", "Zorg", 300, "2026-09-20")
    signal(con, "s1", "anna", "Zorg", 300, "2026-10-20")
    signal(con, "s2", "bert", "Energie", 450, "2026-10-03")
    signal(con, "s3", "cees", "Water", 120, "2026-10-12")
    signal(con, "s4", "nobody", "Water", 120, "2026-10-12")
    match_cases(con, "2026-09")
    first = match_cases(con, "2026-10")
    before = {t: rows(con, t) for t in ("cases", "case_signals", "case_matching")}
    assert match_cases(con, "2026-10") == first
    assert {t: rows(con, t) for t in before} == before
    assert len(before["case_matching"]) == 2


def test_an_earlier_month_after_a_later_one_is_refused():
    con = warehouse({"anna": "h1"})
    signal(con, "s1", "anna", "Zorg", 300, "2026-10-20")
    match_cases(con, "2026-10")
    with pytest.raises(MatchingError) as e:
        match_cases(con, "2026-09")
    assert str(e.value) == ("cases were already matched for 2026-10; matching the earlier month 2026-09 again "
                            "would change what the later months were built on")


def test_signals_without_a_household_are_counted_not_dropped():
    con = warehouse({"anna": "h1"})
    signal(con, "s1", "anna", "Zorg", 300, "2026-10-20")
    signal(con, "s2", "moved-away", "Energie", 450, "2026-10-03")
    signal(con, "s3", "moved-away", "Water", 120, "2026-10-04")
    got = match_cases(con, "2026-10")
    assert (got.signals, got.in_cases, got.unmatched, got.cases) == (3, 1, 2, 1)
    assert con.execute("SELECT signals, in_cases, unmatched FROM case_matching").fetchall() == [(3, 1, 2)]


def test_bad_period_and_missing_tables():
    con = warehouse({"anna": "h1"})
    with pytest.raises(MatchingError, match=r"period '2026-13' is not a month YYYY-MM"):
        match_cases(con, "2026-13")
    con.execute("DROP TABLE households")
    with pytest.raises(MatchingError) as e:
        match_cases(con, "2026-10")
    assert str(e.value) == "the warehouse has no table households: run ingest and link first"
