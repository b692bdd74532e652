"""Rule R1 (privacy/retention.py): the term of a source is the longest among the purposes that read it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from privacy.dpia import DpiaRules
from privacy.retention import RetentionError, term, terms

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="module")
def dpia() -> DpiaRules:
    return DpiaRules.model_validate(yaml.safe_load((CONFIG / "dpia.yaml").read_text(encoding="utf-8")))


def test_terms_of_the_shipped_dpia(dpia):
    ts = terms(dpia, ["brp", "uitkeringen", "vroegsignalen", "wmo"], "2026-10")
    assert {s: t.months for s, t in ts.items()} == {"brp": 1, "uitkeringen": 24, "vroegsignalen": 24, "wmo": 24}
    assert {s: t.keep_from for s, t in ts.items()} == {"brp": "2026-10", "uitkeringen": "2024-11",
                                                       "vroegsignalen": "2024-11", "wmo": "2024-11"}
    assert ts["uitkeringen"].cutoff == date(2024, 11, 1)
    # the longest term wins: stapelingsmonitor keeps vroegsignalen 24 months, the others 12
    assert ts["vroegsignalen"].purposes == ("kinderen-en-armoede", "monitor-vroegsignalering",
                                            "ouderen-zorg-en-geldzorgen", "stapelingsmonitor", "vroeg-eropaf")
    assert ts["vroegsignalen"].longest == ("stapelingsmonitor",)
    assert len(ts["brp"].longest) == 6


def test_longest_not_shortest_and_past(dpia):
    changed = dpia.model_copy(deep=True)
    changed.purposes["stapelingsmonitor"].retention_months["vroegsignalen"] = 6
    t = term(changed, "vroegsignalen", "2026-10")
    assert (t.months, t.keep_from, t.longest) == (12, "2025-11", ("kinderen-en-armoede", "monitor-vroegsignalering",
                                                                  "ouderen-zorg-en-geldzorgen", "vroeg-eropaf"))
    assert t.past("2025-10") and not t.past("2025-11") and not t.past("2026-12")


def test_year_boundary_and_unread_source(dpia):
    assert term(dpia, "brp", "2027-01").keep_from == "2027-01"
    assert term(dpia, "wmo", "2026-01").keep_from == "2024-02"
    nobody = term(dpia, "kadaster", "2026-10")  # no purpose reads it: nothing of it is kept
    assert (nobody.months, nobody.purposes, nobody.keep_from) == (0, (), "2026-11")


def test_reference_must_be_a_month(dpia):
    with pytest.raises(RetentionError, match="not a month"):
        term(dpia, "brp", "2026-13")
