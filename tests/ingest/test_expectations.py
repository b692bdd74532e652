import numpy as np
import pandas as pd
from stdnum.nl import bsn as stdnum_bsn

from pipelines.ingest.expectations import valid_amounts, valid_bsn, valid_dates


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
