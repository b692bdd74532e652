"""Issue 13: signals of clients identified by address (DDAS v1.2) are linked to the BRP household
at that address; signals that are not linked are counted by reason, never dropped."""

import shutil

import duckdb
import pytest
from ddas_files import (
    ALL_SOURCES,
    EXAMPLES_DIR,
    PADS,
    SOURCES,
    bsn,
    ingest,
    signal,
    write_brp,
    write_empty_others,
    write_v12,
)

from pipelines.link import link
from pipelines.link.domains import load_domains
from pipelines.select.selections import Criterion, LoadedSelection, Selection
from pipelines.settings import CONFIG_DIR, load_sources
from pipelines.synth import synthesize
from privacy.pseudonymise import install_sql_macro

ALL = load_sources(CONFIG_DIR)
# households: 1 at 7551AB 10 (two persons), 2 at 7551AB 12, 3 and 4 both at 7551AB 14, 5 with no signal
PEOPLE = [(bsn(0), 1, "7551AB", "10"), (bsn(1), 1, "7551AB", "10"), (bsn(2), 2, "7551AB", "12"),
          (bsn(3), 3, "7551AB", "14"), (bsn(4), 4, "7551AB", "14"), (bsn(5), 5, "7551AB", "16")]


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    folder = tmp_path_factory.mktemp("address")
    write_brp(folder, PEOPLE)
    write_v12(folder, "2026-10", [
        signal("BY-ADDRESS", {"postcode": "7551 ab", "huisnummer": "010"}),  # household 1, written otherwise
        signal("BY-BSN", {"burgerservicenummer": bsn(2)}),                    # household 2
        signal("TWO-HOUSEHOLDS", {"postcode": "7551AB", "huisnummer": "14"}),  # households 3 and 4: neither
        signal("NOBODY-THERE", {"postcode": "9999ZZ", "huisnummer": "1"}),
        signal("UNKNOWN-BSN", {"burgerservicenummer": bsn(9)}),
        signal("OTHER-TOEVOEGING", {"postcode": "7551AB", "huisnummer": "12", "huisnummertoevoeging": "B"}),
    ])
    write_empty_others(folder)
    con = duckdb.connect()
    accounts = ingest(con, folder, names=ALL_SOURCES)
    linking = link(con, "2026-10", 3, load_domains(CONFIG_DIR), ALL)
    return {"con": con, "linking": linking, "accounts": accounts}


def _household(con, n: int):
    """The pseudonym of household n (PEOPLE's household numbers)."""
    person = {h: b for b, h, _, _ in reversed(PEOPLE)}[n]
    install_sql_macro(con)
    return con.execute("SELECT hid FROM persons WHERE pid = pseudonym(?, ?, ?)",
                       [person, PADS.inner, PADS.outer]).fetchone()[0]


def test_an_address_signal_is_placed_in_the_household_at_that_address(linked):
    con = linked["con"]
    assert linked["accounts"]["vroegsignalen"][0].rows_loaded == 6  # nothing is dropped
    h1, h2 = _household(con, 1), _household(con, 2)
    placed = dict(con.execute("SELECT hid, count(*) FROM vroegsignalen WHERE hid IS NOT NULL GROUP BY hid").fetchall())
    assert placed == {h1: 1, h2: 1}


def test_unlinked_signals_are_counted_by_reason(linked):
    assert linked["linking"]["unlinked_rows"]["vroegsignalen"] == {
        "no_person_with_bsn": 1, "no_person_at_address": 2, "several_households_at_address": 1,
        "linked_by_address": 1}
    assert linked["linking"]["unlinked_rows"]["uitkeringen"] == {"no_person_with_bsn": 0}  # derived from sources.yaml
    assert set(linked["linking"]["unlinked_reasons"]) == {"no_person_with_bsn", "no_person_at_address",
                                                          "several_households_at_address"}


def test_the_achterstand_domain_counts_the_address_signal(linked):
    con = linked["con"]
    facts = dict(con.execute("SELECT hid, achterstand FROM household_facts").fetchall())
    assert {h for h, a in facts.items() if a} == {_household(con, 1), _household(con, 2)}


def _members(con, unit: str):
    sel = Selection(id="t-sel", title="t", description="t", purpose="p", owner="o", unit=unit, lookback_months=3,
                    outputs=["buurt_tables"], criteria=Criterion.model_validate(
                        {"source": "vroegsignalen", "where": [{"field": "bedrag", "op": ">=", "value": 50}]}))
    query, params = LoadedSelection(sel, None, "").members("2026-10")
    return {r[0] for r in con.execute(query, params).fetchall()}


def test_a_household_selection_sees_the_address_signal_and_a_person_selection_does_not(linked):
    con = linked["con"]
    assert _members(con, "huishouden") == {_household(con, 1), _household(con, 2)}
    # a unit: persoon selection counts persons: a signal identified by address names none
    persons = _members(con, "persoon")
    assert len(persons) == 1 and con.execute("SELECT hid FROM persons WHERE pid = ?", [persons.pop()]
                                             ).fetchone()[0] == _household(con, 2)


def test_not_around_a_vroegsignalen_criterion_is_not_unknown_for_everyone(linked):
    """An unlinked signal has no hid: the IN list must hold no NULL, or NOT (...) would select nobody."""
    con = linked["con"]
    sel = Selection(id="t-sel", title="t", description="t", purpose="p", owner="o", unit="huishouden",
                    lookback_months=3, outputs=["buurt_tables"], criteria=Criterion.model_validate(
                        {"not": {"source": "vroegsignalen"}}))
    query, params = LoadedSelection(sel, None, "").members("2026-10")
    assert len(con.execute(query, params).fetchall()) == 3  # households 3, 4 and 5


def test_the_shipped_v12_examples_are_counted_unlinked_not_dropped(tmp_path):
    for p in sorted(EXAMPLES_DIR.glob("*Voorbeeld.json")):
        shutil.copy(p, tmp_path / f"vroegsignalen_{p.name}")
    write_brp(tmp_path, PEOPLE)
    write_empty_others(tmp_path)
    con = duckdb.connect()
    account, _ = ingest(con, tmp_path, names=ALL_SOURCES)["vroegsignalen"]
    linking = link(con, "2025-05", 3, load_domains(CONFIG_DIR), ALL)
    counts = linking["unlinked_rows"]["vroegsignalen"]
    assert counts == {"no_person_with_bsn": 0, "no_person_at_address": 13, "several_households_at_address": 0,
                      "linked_by_address": 0}
    assert sum(counts.values()) == account.rows_loaded == 13


def test_synthetic_v12_clients_by_address_land_in_the_households_of_their_v09_selves(tmp_path):
    """Same gemeente, once all v0.9 and once v1.2 from 2026-09 (30 % by address): each signal is placed
    in the same household, and the standard tables' household facts are the same."""
    out = {}
    for run, v12 in (("v09", None), ("mix", "2026-09")):
        synthesize(tmp_path / run, scale=0.1, ddas_v12_from=v12)
        con = duckdb.connect()
        ingest(con, tmp_path / run, names=ALL_SOURCES)
        linking = link(con, "2026-10", 3, load_domains(CONFIG_DIR), ALL)
        out[run] = (dict(con.execute("SELECT sid, hid FROM vroegsignalen").fetchall()),
                    sorted(con.execute("SELECT * FROM household_facts").fetchall()), linking["unlinked_rows"])
    assert out["mix"][0] == out["v09"][0] and None not in out["mix"][0].values()
    assert out["mix"][1] == out["v09"][1]
    by_address = out["mix"][2]["vroegsignalen"]["linked_by_address"]
    assert by_address > 0 and out["mix"][2]["vroegsignalen"] == {
        "no_person_with_bsn": 0, "no_person_at_address": 0, "several_households_at_address": 0,
        "linked_by_address": by_address}
    assert SOURCES["brp"].link["postcode"] == "address"


def test_the_address_joins_are_hash_joins_not_nested_loops():
    """`r.pid IS NULL AND a.aid = r.aid` made DuckDB pair every signal with every address (a
    nested loop: the country's link stage ran for hours); one equality gives a hash join."""
    import re

    import duckdb

    from pipelines.link.sql import sql

    con = duckdb.connect()
    con.execute("CREATE TABLE persons (pid UUID, hid UUID, aid UUID)")
    con.execute("CREATE TABLE vroegsignalen (sid UUID, pid UUID, aid UUID)")
    con.execute("CREATE TABLE address_households (aid UUID, hid UUID, n_households INTEGER)")
    for t in ("persons", "vroegsignalen", "address_households"):
        con.execute(f"INSERT INTO {t} SELECT {', '.join(['uuid()'] * (2 if t == 'persons' else 2))}"
                    f"{', uuid()' if t != 'address_households' else ', 1'} FROM range(20000)")
    inner = re.search(r"FROM \((.*)\) x", sql("row_households").format(table="vroegsignalen"), re.S).group(1)
    plan = "\n".join(r[1] for r in con.execute("EXPLAIN " + inner).fetchall())
    assert "HASH_JOIN" in plan and "NESTED_LOOP" not in plan and "BLOCKWISE_NL" not in plan, plan


def test_an_address_signal_opens_a_case_at_its_household(linked):
    """One case per address (outreach/cases.py): a client identified by address only is matched to the
    household link placed at that address, in this month and as history; the rest are counted unmatched."""
    from pipelines.outreach.cases import match_cases

    con = linked["con"].cursor()  # the module's warehouse: the outreach tables are its own
    got = match_cases(con, "2026-10")
    assert (got.signals, got.in_cases, got.unmatched, got.cases) == (6, 2, 4, 2)
    h1 = _household(con, 1)
    sids = con.execute("SELECT v.sid FROM case_signals s JOIN vroegsignalen v USING (sid) WHERE s.hid = ? "
                       "AND v.pid IS NULL", [h1]).fetchall()
    assert len(sids) == 1  # BY-ADDRESS, which has no person
    assert con.execute("SELECT n_signalen, partners FROM cases WHERE hid = ?", [h1]).fetchone() == (1, ["Huur"])
