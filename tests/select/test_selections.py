"""The selection compiler on a tiny hand-made warehouse: which households it selects."""

import uuid
from datetime import date

import duckdb
import pytest

from pipelines.select.selections import Criterion, LoadedSelection, Selection


def U(n):
    return uuid.UUID(int=n)


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute("CREATE TABLE households (hid UUID, buurtcode VARCHAR, n_personen INT, n_minderjarigen INT, n_75plus INT)")
    c.execute("CREATE TABLE persons (pid UUID, hid UUID, geboortejaar SMALLINT, buurtcode VARCHAR)")
    c.execute("CREATE TABLE uitkeringen (pid UUID, regeling VARCHAR, ingangsdatum DATE, einddatum DATE, inhouding BOOL, "
              "inhouding_bedrag DECIMAL(9,2), budgetbeheer BOOL)")
    c.execute("CREATE TABLE vroegsignalen (sid UUID, pid UUID, signaalpartner VARCHAR, bedrag INT, ontstaansdatum DATE, "
              "signaaldatum DATE, crisissignaal BOOL)")
    c.execute("CREATE TABLE wmo (pid UUID, productcategorie VARCHAR, productcode VARCHAR, ingangsdatum DATE, einddatum DATE)")
    # households 1..4 in BU1, 5 in BU2; person ids = 10*hid + k
    for h, kids in [(1, 0), (2, 2), (3, 0), (4, 1), (5, 0)]:
        c.execute("INSERT INTO households VALUES (?, ?, 2, ?, 0)", [U(h), "BU1" if h < 5 else "BU2", kids])
        c.execute("INSERT INTO persons VALUES (?, ?, ?, 'x'), (?, ?, 1990, 'x')", [U(10 * h), U(h), 1940 if h == 3 else 1980,
                                                                               U(10 * h + 1), U(h)])
    ins = "INSERT INTO uitkeringen VALUES (?, 'Participatiewet', ?, ?, ?, NULL, ?)"
    c.execute(ins, [U(10), date(2020, 1, 1), None, True, False])        # h1: long, inhouding, no bb
    c.execute(ins, [U(20), date(2026, 6, 1), None, False, False])       # h2: 4 months
    c.execute(ins, [U(40), date(2019, 1, 1), date(2026, 9, 30), True, False])  # h4: ended before October
    c.execute(ins, [U(50), date(2024, 1, 1), None, True, True])         # h5: inhouding with budgetbeheer
    sig = "INSERT INTO vroegsignalen VALUES (gen_random_uuid(), ?, ?, 100, NULL, ?, false)"
    c.execute(sig, [U(10), "Zorg", date(2026, 10, 3)])
    c.execute(sig, [U(11), "Energie", date(2026, 9, 3)])   # h1: 2 partners within 3 months
    c.execute(sig, [U(20), "Huur", date(2026, 10, 20)])
    c.execute(sig, [U(21), "Huur", date(2026, 8, 20)])     # h2: 2 signals, 1 partner
    c.execute(sig, [U(30), "Water", date(2026, 5, 1)])     # h3: outside a 3-month window
    c.execute("INSERT INTO wmo VALUES (?, '01', '01A01', ?, NULL)", [U(30), date(2025, 1, 1)])  # h3, the 86-year-old
    # as the link stage leaves it: each signal carries its household (here all by their person)
    c.execute("ALTER TABLE vroegsignalen ADD COLUMN hid UUID")
    c.execute("UPDATE vroegsignalen v SET hid = p.hid FROM persons p WHERE p.pid = v.pid")
    return c


def selected(con, criteria: dict, unit="huishouden", lookback=3) -> set[int]:
    sel = Selection(id="t-sel", title="t", description="t", purpose="p", owner="o", unit=unit, lookback_months=lookback,
                    outputs=["buurt_tables"], criteria=Criterion.model_validate(criteria))
    query, params = LoadedSelection(sel, None, "").members("2026-10")
    return {r[0].int for r in con.execute(query, params).fetchall()}


def test_active_uitkering(con):
    assert selected(con, {"source": "uitkeringen"}) == {1, 2, 5}


def test_inhouding_without_budgetbeheer(con):
    crit = {"all": [{"source": "uitkeringen", "where": [{"field": "inhouding", "op": "=", "value": True}]},
                    {"not": {"source": "uitkeringen", "where": [{"field": "budgetbeheer", "op": "=", "value": True}]}}]}
    assert selected(con, crit) == {1}


def test_at_least_two_different_signaalpartners_within_three_months(con):
    crit = {"source": "vroegsignalen", "count": {"op": ">=", "value": 2}, "distinct": "signaalpartner"}
    assert selected(con, crit) == {1}
    assert selected(con, {"source": "vroegsignalen", "count": {"op": ">=", "value": 2}}) == {1, 2}


def test_window_in_months(con):
    assert selected(con, {"source": "vroegsignalen"}) == {1, 2}
    assert selected(con, {"source": "vroegsignalen", "within_months": 6}) == {1, 2, 3}
    assert selected(con, {"source": "vroegsignalen", "within_months": 1}) == {1, 2}
    assert selected(con, {"source": "vroegsignalen", "within_months": 1,
                          "where": [{"field": "signaalpartner", "op": "=", "value": "Huur"}]}) == {2}


def test_duration_longer_than_twelve_months(con):
    assert selected(con, {"source": "uitkeringen", "duration_months": {"op": ">", "value": 12}}) == {1, 5}


def test_household_attribute_and_any(con):
    crit = {"all": [{"field": "huishouden.aantal_minderjarigen", "op": ">=", "value": 1},
                    {"any": [{"source": "uitkeringen"}, {"source": "vroegsignalen"}]}]}
    assert selected(con, crit) == {2}


def test_person_unit_75_plus_with_wmo(con):
    crit = {"all": [{"source": "brp", "where": [{"field": "leeftijd", "op": ">=", "value": 75}]}, {"source": "wmo"}]}
    assert selected(con, crit, unit="persoon") == {30}


def test_between_and_is_set(con):
    assert selected(con, {"source": "vroegsignalen", "within_months": 12,
                          "where": [{"field": "bedrag", "op": "between", "value": [50, 150]}]}) == {1, 2, 3}
    assert selected(con, {"source": "uitkeringen", "active": False,
                          "where": [{"field": "inhouding_bedrag", "op": "is_set", "value": True}]}) == set()


@pytest.mark.parametrize("bad, message", [
    ({"source": "wmo", "within_months": 3}, "source 'wmo' has no signal date: within_months does not apply"),
    ({"source": "vroegsignalen", "active": True}, "source 'vroegsignalen' has no start and end date (period_fields): active and duration_months do not apply"),
    ({"field": "uitkeringen.inhouding", "op": "=", "value": True}, "attributes are huishouden.aantal_personen"),
    ({"source": "wmo", "field": "huishouden.aantal_personen"}, "a criterion is exactly one of"),
    ({"source": "uitkeringen", "count": {"op": ">=", "value": 0}}, "greater than or equal to 1"),
    ({"source": "uitkeringen", "where": [{"field": "regeling", "op": ">", "value": "IOAW"}]}, "is text: use =, !=, in"),
])
def test_malformed_criteria_are_refused(bad, message):
    with pytest.raises(Exception) as e:
        Criterion.model_validate(bad)
    assert message in str(e.value)


def test_code_lists_are_shown_with_their_labels_in_messages_and_in_explain():
    from pydantic import ValidationError

    from pipelines.select.explain import describe

    with pytest.raises(ValidationError) as e:
        Criterion.model_validate({"source": "wmo", "where": [{"field": "productcategorie", "op": "=", "value": "99"}]})
    assert "'99' is not a value of 'productcategorie'; allowed: 01 (Hulp bij het huishouden), 02 (Begeleiding), " \
           "03 (Persoonlijke verzorging)," in str(e.value)
    c = Criterion.model_validate({"source": "wmo", "where": [{"field": "productcategorie", "op": "in",
                                                               "value": ["01", "15"]}]})
    assert "    waarbij productcategorie is een van 01 (Hulp bij het huishouden), 15 (Beschermd wonen)" in \
        describe(c, "huishouden", 3)
