"""Property: for any selections the language can express, no small group is provable.

Hypothesis writes random selections (sources, conditions, all/any/not, household or
person units) for a small synthetic gemeente (Landsmeer: 7 buurten in 2 wijken); each is
tabulated and protected with the shipped selections, and the independent attacker
(attacker.py), given the true atoms, must find no suppressed small cell and no small
atom it can prove to lie below the threshold.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from attacker import provable
from conftest import ingest_and_link
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.select.selections import LoadedSelection, Selection

GEMEENTE = "GM0415"


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, key_file):
    from pipelines.synth import synthesize

    folder = tmp_path_factory.mktemp("landsmeer")
    synthesize(folder / "sources", gemeente=GEMEENTE, period="2026-10", seed=7, scale=1.0)
    settings = folder / "gemeente.yaml"
    settings.write_text(f"gemeente: {GEMEENTE}\nperiod: '2026-10'\nsources_dir: {folder / 'sources'}\n"
                        f"work_dir: {folder / 'work'}\nkey_file: {key_file}\n", encoding="utf-8")
    ingest_and_link(settings)
    return settings


def leaf():
    return st.one_of(
        st.builds(lambda regs, inh: {"source": "uitkeringen", "active": True, "where": (
            [{"field": "regeling", "op": "in", "value": regs}] + ([{"field": "inhouding", "op": "=", "value": inh}]
                                                                 if inh is not None else []))},
                  st.lists(st.sampled_from(["Participatiewet", "IOAW", "IOAZ", "Bbz"]), min_size=1, max_size=3,
                           unique=True), st.sampled_from([None, True, False])),
        st.builds(lambda partners, months: {"source": "vroegsignalen", "within_months": months,
                                            "where": [{"field": "signaalpartner", "op": "in", "value": partners}]},
                  st.lists(st.sampled_from(["Energie", "Huur", "Zorg", "Water", "CAK Zorgverzekeringen"]), min_size=1,
                           max_size=3, unique=True), st.integers(1, 3)),
        st.builds(lambda cats: {"source": "wmo", "active": True,
                                "where": [{"field": "productcategorie", "op": "in", "value": cats}]},
                  st.lists(st.sampled_from(["01", "02", "03", "04", "05", "06", "07", "08"]), min_size=1, max_size=4,
                           unique=True)),
        st.builds(lambda age: {"source": "brp", "where": [{"field": "leeftijd", "op": ">=", "value": age}]},
                  st.integers(18, 85)),
        st.builds(lambda n: {"field": "huishouden.aantal_personen", "op": ">=", "value": n}, st.integers(1, 4)),
        st.builds(lambda n: {"field": "huishouden.aantal_minderjarigen", "op": ">=", "value": n}, st.integers(1, 2)),
    )


criteria = st.recursive(leaf(), lambda inner: st.one_of(
    st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=2, max_size=3)),
    st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=2, max_size=3)),
    st.builds(lambda x: {"not": x}, inner),
), max_leaves=4)


@st.composite
def selections(draw):
    out = []
    for k in range(draw(st.integers(1, 3))):
        doc = {"id": f"willekeurig-{k}", "title": f"willekeurig {k}", "description": "hypothesis",
               "purpose": "stapelingsmonitor", "owner": "test", "approval": {"by": "FG", "date": date(2026, 9, 1)},
               "unit": draw(st.sampled_from(["huishouden", "huishouden", "persoon"])), "outputs": ["buurt_tables"],
               "criteria": draw(criteria)}
        out.append(LoadedSelection(Selection.model_validate(doc), Path(f"willekeurig-{k}.yaml"), f"v{k}"))
    return out


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(extra=selections())
def test_random_selections_never_give_a_small_group_away(small_run, extra):
    from pipelines.pipeline import prepare, stage_protect, stage_tabulate
    from pipelines.protect import thresholds

    run = prepare(small_run)
    run.selections = run.selections + extra
    tab = stage_tabulate(run)
    protected, summary = stage_protect(run, tab)
    assert summary["audit"]["passed"]
    assert provable(protected, tab.cells, tab.atoms, run.buurten(), thresholds(run, tab.cells)) == []
