import pandas as pd

from privacy.disclosure import primary_suppression, summary


def test_counts_below_threshold_are_suppressed_zeros_and_threshold_published():
    cells = pd.DataFrame({"table": ["t"] * 5, "value": [0, 1, 9, 10, 250]})
    out = primary_suppression(cells, {"t": 10})
    assert list(out.status) == ["published", "suppressed", "suppressed", "published", "published"]


def test_threshold_is_per_table():
    cells = pd.DataFrame({"table": ["a", "b"], "value": [12, 12]})
    assert list(primary_suppression(cells, {"a": 10, "b": 15}).status) == ["published", "suppressed"]


def test_summary_states_that_secondary_suppression_is_not_applied():
    cells = primary_suppression(pd.DataFrame({"table": ["t", "t"], "value": [3, 30]}), {"t": 10})
    s = summary(cells, {"t": 10})
    assert s["suppressed"] == 1 and s["published"] == 1
    assert s["secondary_suppression"]["applied"] is False
    assert s["secondary_suppression"]["statement"].startswith("Secondary suppression is not yet applied")
