import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from stdnum.nl import bsn as stdnum_bsn

from pipelines.ingest.expectations import (
    dates_in_order,
    dates_on_or_before,
    unique_values,
    valid_amounts,
    valid_bsn,
    valid_dates,
)


def s(values):
    return pd.Series(values, dtype="string[pyarrow]")


def test_valid_bsn_agrees_with_python_stdnum():
    rng = np.random.default_rng(0)
    values = [f"{x:09d}" for x in rng.integers(0, 10**9, 5000)] + ["111222333", "123456782", "000000000", "12345678",
                                                                    "1234567890", "12345678a", " 23456782"]
    got = valid_bsn(s(values))
    want = [stdnum_bsn.is_valid(v) and len(v) == 9 and v.isdigit() for v in values]
    assert list(got) == want
    assert sum(want) > 300  # the sample holds valid numbers too


def test_valid_dates_is_strict_and_round_trips():
    got = valid_dates(s(["2026-02-28", "2026-02-30", "2026-2-1", "28-02-2026", "1899-12-31", "x"]), "%Y-%m-%d",
                      "1900-01-01", "2100-01-01")
    assert list(got) == [True, False, False, False, False, False]
    assert list(valid_dates(s(["31-12-2026", "2026-12-31"]), "%d-%m-%Y", None, None)) == [True, False]


def _round_trip(values, format, lo, hi):
    """The date rule row by row, as it was computed before it went per distinct value."""
    arr = pa.array(values, pa.string())
    parsed = pc.strptime(arr, format=format, unit="s", error_is_null=True)
    ok = pc.fill_null(pc.equal(pc.strftime(parsed, format=format), arr), False)
    ok = pc.and_(ok, pc.fill_null(pc.greater_equal(parsed, pa.scalar(pd.Timestamp(lo), pa.timestamp("s"))), False))
    ok = pc.and_(ok, pc.fill_null(pc.less_equal(parsed, pa.scalar(pd.Timestamp(hi), pa.timestamp("s"))), False))
    return ok.to_numpy(zero_copy_only=False)


def test_date_rules_per_distinct_value_give_the_row_by_row_verdicts():
    """The date rules parse each distinct value once and spread the verdict over its rows (nulls included)."""
    rng = np.random.default_rng(1)
    pool = ["2026-02-28", "2026-02-30", "2026-2-1", "1899-12-31", "2100-01-02", "x", "", None, "2024-02-29",
            "2023-02-29", "2026-12-31", "2027-01-01"] + [f"19{y:02d}-{m:02d}-{d:02d}" for y, m, d in
                                                        rng.integers([0, 1, 1], [100, 13, 32], (300, 3))]
    values = [pool[i] for i in rng.integers(0, len(pool), 20_000)]
    got = valid_dates(s(values), "%Y-%m-%d", "1900-01-01", "2100-01-01")
    assert list(got) == list(_round_trip(values, "%Y-%m-%d", "1900-01-01", "2100-01-01"))
    assert 0 < got.sum() < len(values)
    later = list(reversed(values))
    real = _round_trip(values, "%Y-%m-%d", "0001-01-01", "9999-12-31")
    before = dates_on_or_before(s(values), "%Y-%m-%d", "2026-12-31")
    assert list(before) == [not (real[i] and v > "2026-12-31") for i, v in enumerate(values)]
    assert 0 < before.sum() < len(values)
    order = dates_in_order(s(values), s(later), "%Y-%m-%d")
    assert list(order) == [not (real[i] and real[-1 - i] and a > b) for i, (a, b) in enumerate(zip(values, later))]


def test_unique_values_fails_every_copy_of_a_repeated_value():
    rng = np.random.default_rng(2)
    values = [f"{x:09d}" for x in rng.integers(0, 30_000, 20_000)]
    got = unique_values(s(values))
    assert list(got) == list(~pd.Series(values).duplicated(keep=False))
    assert 0 < got.sum() < len(values)


def test_decimal_amounts_follow_the_source_separator():
    got = valid_amounts(s(["125,50", "125.50", "1.250,00", "-3,00", "7", "9999,999"]), ",", 0, 5000)
    assert list(got) == [True, False, True, False, True, False]


def test_amounts_may_group_thousands_with_the_separator_that_goes_with_the_decimal():
    """Issue 11: `1.234,56` is how a Dutch export writes 1234.56; it was refused."""
    comma = ["1.234,56", "1234,56", "1.234", "12.345.678,90", "1.23,00", "1.2345,00", "1,234.56", "1.234.56"]
    assert list(valid_amounts(s(comma), ",", None, None)) == [True, True, True, True, False, False, False, False]
    dot = ["1,234.56", "1234.56", "1,234", "1.234,56", "1,23.00"]
    assert list(valid_amounts(s(dot), ".", None, None)) == [True, True, True, False, False]
    # the bounds apply to the value, thousands separator and all
    assert list(valid_amounts(s(["4.999,99", "5.000,01"]), ",", 0, 5000)) == [True, False]
