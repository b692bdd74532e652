"""Working days: weekends, the Algemene termijnenwet's holidays (from `holidays`), the terms file."""

from datetime import date

import holidays
import pytest

from pipelines.configfile import ConfigError
from pipelines.outreach.deadlines import Deadlines, Terms, add_working_days, calendar, load_terms

ATW = calendar(Terms(terms={"brief": 10}))


@pytest.mark.parametrize("start, n, want", [
    (date(2026, 10, 2), 1, date(2026, 10, 5)),     # Friday + 1: over the weekend to Monday
    (date(2026, 10, 2), 5, date(2026, 10, 9)),     # a working week
    (date(2026, 10, 3), 0, date(2026, 10, 5)),     # a Saturday, term 0: the next working day
    (date(2026, 10, 5), 0, date(2026, 10, 5)),     # a Monday, term 0: that day
    (date(2026, 12, 24), 1, date(2026, 12, 28)),   # Kerst 2026: Fri 25 and Sat 26 Dec, then Sunday
    (date(2026, 12, 23), 2, date(2026, 12, 28)),
    (date(2026, 4, 24), 1, date(2026, 4, 28)),     # Koningsdag Monday 27 April 2026
    (date(2026, 5, 13), 1, date(2026, 5, 15)),     # Hemelvaartsdag Thursday 14 May 2026
    (date(2026, 5, 22), 1, date(2026, 5, 26)),     # Tweede Pinksterdag Monday 25 May 2026
    (date(2026, 4, 2), 1, date(2026, 4, 7)),       # Goede Vrijdag 3 April and Tweede Paasdag 6 April
    (date(2026, 5, 4), 1, date(2026, 5, 6)),       # Bevrijdingsdag Tuesday 5 May (every year, Atw art. 3)
    (date(2026, 12, 31), 1, date(2027, 1, 4)),     # Nieuwjaarsdag 2027 (Friday), into the next year
])
def test_working_days_skip_weekends_and_holidays(start, n, want):
    assert add_working_days(start, n, ATW) == want


def test_liberation_day_every_fifth_year_and_good_friday_by_choice():
    lustrum = calendar(Terms(terms={"brief": 10}, liberation_day="lustrum", good_friday=False))
    assert add_working_days(date(2026, 5, 4), 1, lustrum) == date(2026, 5, 5)
    assert add_working_days(date(2030, 5, 3), 1, lustrum) == date(2030, 5, 6)  # 2030: a lustrum, but a Sunday
    assert add_working_days(date(2025, 5, 2), 1, lustrum) == date(2025, 5, 6)  # 2025: Monday 5 May off
    assert add_working_days(date(2026, 4, 2), 1, lustrum) == date(2026, 4, 3)  # Goede Vrijdag worked


def test_extra_days_off_and_the_library_calendar_itself():
    closed = calendar(Terms(terms={"brief": 10}, extra_days_off=[date(2026, 5, 15)]))  # the Friday after Hemelvaart
    assert add_working_days(date(2026, 5, 13), 1, closed) == date(2026, 5, 18)
    assert add_working_days(date(2026, 12, 24), 1, holidays.Netherlands()) == date(2026, 12, 28)
    with pytest.raises(ValueError):
        add_working_days(date(2026, 5, 13), -1, closed)


def test_deadlines_per_term():
    d = Deadlines(Terms(terms={"crisis": 2, "brief": 10}))
    assert d.deadline(date(2026, 12, 23), "crisis") == date(2026, 12, 28)
    assert d.deadline(date(2026, 12, 23), "brief") == date(2027, 1, 8)  # 24, 28-31 Dec, 4-8 Jan


def test_shipped_terms_load():
    terms = load_terms("config/terms.yaml")
    assert terms.terms == {"brief": 10, "telefoon": 5, "huisbezoek": 10, "crisis": 2}
    assert (terms.liberation_day, terms.good_friday, terms.count_from) == ("every_year", True, "signal_date")


def test_terms_file_errors_name_file_and_line(tmp_path):
    p = tmp_path / "terms.yaml"
    p.write_text("terms:\n  brief: 10\n  Crisis: 2\n  huisbezoek: 90\nliberation_dai: lustrum\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_terms(p)
    got = [str(x) for x in e.value.problems]
    assert f"{p}:5: liberation_dai: unknown key 'liberation_dai'; did you mean 'liberation_day'?" in got[-1]
    assert any(g.startswith(f"{p}:3: terms.Crisis.[key]: String should match pattern") for g in got), got
    assert f"{p}:4: terms.huisbezoek: Input should be less than or equal to 60" in got
