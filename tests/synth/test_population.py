import numpy as np
import pandas as pd
import pytest
from stdnum.nl import bsn as stdnum_bsn

from pipelines.geography import buurten
from pipelines.synth.population import bsn_numbers, generate


@pytest.fixture(scope="module")
def pop():
    return generate(buurten("GM0505"), period="2026-10", seed=7)  # Dordrecht, full size


def test_bsns_are_unique_and_pass_the_elfproef_by_stdnum():
    numbers = np.char.zfill(bsn_numbers(200_000, seed=3).astype("U9"), 9)
    assert len(set(numbers)) == len(numbers)
    sample = numbers[:: 97]
    assert all(stdnum_bsn.is_valid(n) for n in sample)
    assert any(n.startswith("0") for n in numbers), "leading zeros must occur and be kept"


def test_rates_are_plausible_for_the_netherlands(pop):
    hh, persons = pop.households, pop.persons
    ref = pd.Timestamp(pop.reference)
    u = pop.uitkeringen
    active = u[(u.ingangsdatum <= ref) & (u.einddatum.isna() | (u.einddatum >= ref.replace(day=1)))]
    share = active.hh.nunique() / len(hh)
    assert 0.04 <= share <= 0.06, share
    per_month = len(pop.vroegsignalen) / len(pop.months) / len(persons) * 1000
    assert 3.5 <= per_month <= 4.5, per_month
    assert 1.9 <= len(persons) / len(hh) <= 2.4


def test_wmo_use_rises_with_age(pop):
    users = set(pop.wmo.person)
    p = pop.persons.assign(user=pop.persons.person.isin(users))
    by_band = p.groupby(pd.cut(p.age, [0, 18, 65, 75, 85, 200], right=False), observed=True).user.mean()
    assert list(by_band) == sorted(by_band), by_band


def test_rates_vary_strongly_between_buurten(pop):
    hh = pop.households.assign(bijstand=pop.households.hh.isin(pop.uitkeringen[pop.uitkeringen.einddatum.isna()].hh))
    per_buurt = hh.groupby("buurt").bijstand.mean()[hh.groupby("buurt").size() >= 200]
    assert per_buurt.quantile(0.9) > 3 * per_buurt.quantile(0.1)


def test_problems_stack_within_households(pop):
    hh = pop.households
    on_u = hh.hh.isin(pop.uitkeringen[pop.uitkeringen.einddatum.isna()].hh)
    signalled = hh.hh.isin(pop.vroegsignalen.hh)
    assert signalled[on_u].mean() > 2 * signalled[~on_u].mean()


def test_same_seed_same_population_other_seed_other():
    b = buurten("GM0164")
    a1, a2, c = generate(b, "2026-10", 1), generate(b, "2026-10", 1), generate(b, "2026-10", 2)
    pd.testing.assert_frame_equal(a1.persons, a2.persons)
    pd.testing.assert_frame_equal(a1.vroegsignalen, a2.vroegsignalen)
    assert not np.array_equal(a1.persons.bsn.to_numpy(), c.persons.bsn.to_numpy())
