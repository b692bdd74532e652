"""Great Expectations expectations that GX does not ship, vectorised for millions of rows.

* ``expect_column_values_to_be_valid_bsn``: 9 digits passing the 11-proef (elfproef)
  with weights 9..2 and -1, and not all zeros; the same rule as python-stdnum's
  ``stdnum.nl.bsn`` (the tests check both agree), computed on whole columns.
* ``expect_column_values_to_be_valid_dates``: parses with a strict format and
  round-trips, so 2026-02-30 fails (Arrow's strptime would roll it over to March),
  optionally within [min_value, max_value] (ISO dates).
* ``expect_column_values_to_be_decimal_amounts``: amounts written with the source's
  decimal separator (``125,50`` in Dutch exports), optionally within bounds.
* ``expect_column_values_to_be_in_codelist``: values are in a named code list (the
  12,005 CBS buurtcodes, say) registered in `CODELISTS` for the run. GX's own
  ``in_set`` would carry the whole list in its configuration and deep-copy it for every
  metric: a third of the BRP check's time.

Nulls are outside a map expectation's domain: required-ness is a separate
``expect_column_values_to_not_be_null`` rule.
"""

from __future__ import annotations

from typing import ClassVar, Optional

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial

BSN_WEIGHTS = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1], dtype=np.int32)


def _arrow(column: pd.Series) -> pa.Array:
    arr = pa.array(column, type=pa.string(), from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def valid_bsn(column: pd.Series) -> np.ndarray:
    """Boolean array: which values are 9-digit numbers passing the 11-proef."""
    arr = _arrow(column)
    n = len(arr)
    shaped = pc.fill_null(pc.match_substring_regex(arr, r"^[0-9]{9}$"), False)
    fixed = pc.if_else(shaped, arr, "000000000").cast(pa.string())
    if isinstance(fixed, pa.ChunkedArray):
        fixed = fixed.combine_chunks()
    offsets = np.frombuffer(fixed.buffers()[1], dtype=np.int32)[fixed.offset : fixed.offset + n + 1]
    data = np.frombuffer(fixed.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[0] + 9 * n]
    digits = data.reshape(n, 9).astype(np.int32) - 48
    checksum = digits @ BSN_WEIGHTS
    nonzero = digits[:, :8].any(axis=1)
    return shaped.to_numpy(zero_copy_only=False) & (checksum % 11 == 0) & nonzero


def valid_dates(column: pd.Series, format: str, min_value: str | None, max_value: str | None) -> np.ndarray:
    arr = _arrow(column)
    parsed = pc.strptime(arr, format=format, unit="s", error_is_null=True)
    ok = pc.fill_null(pc.equal(pc.strftime(parsed, format=format), arr), False)
    if min_value:
        ok = pc.and_(ok, pc.fill_null(pc.greater_equal(parsed, pa.scalar(pd.Timestamp(min_value), pa.timestamp("s"))), False))
    if max_value:
        ok = pc.and_(ok, pc.fill_null(pc.less_equal(parsed, pa.scalar(pd.Timestamp(max_value), pa.timestamp("s"))), False))
    return ok.to_numpy(zero_copy_only=False)


def valid_amounts(column: pd.Series, decimal: str, min_value: float | None, max_value: float | None) -> np.ndarray:
    arr = _arrow(column)
    sep = "," if decimal == "," else r"\."
    ok = pc.fill_null(pc.match_substring_regex(arr, rf"^-?[0-9]{{1,9}}({sep}[0-9]{{1,2}})?$"), False)
    values = pc.cast(pc.replace_substring(pc.if_else(ok, arr, "0"), ",", "."), pa.float64())
    if min_value is not None:
        ok = pc.and_(ok, pc.greater_equal(values, min_value))
    if max_value is not None:
        ok = pc.and_(ok, pc.less_equal(values, max_value))
    return ok.to_numpy(zero_copy_only=False)


CODELISTS: dict[str, pa.Array] = {}


def register_codelists(codelists: dict[str, list[str]]) -> None:
    for name, values in codelists.items():
        CODELISTS[name] = pa.array(sorted(set(values)), type=pa.string())


def in_codelist(column: pd.Series, codelist: str) -> np.ndarray:
    return pc.fill_null(pc.is_in(_arrow(column), value_set=CODELISTS[codelist]), False).to_numpy(zero_copy_only=False)


class ColumnValuesValidBsn(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_bsn"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return pd.Series(valid_bsn(column), index=column.index)


class ExpectColumnValuesToBeValidBsn(ColumnMapExpectation):
    """Values are Dutch BSNs: 9 digits passing the 11-proef."""

    map_metric: ClassVar[str] = "column_values.valid_bsn"
    success_keys: ClassVar[tuple] = ("mostly",)


class ColumnValuesValidDates(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_dates"
    condition_value_keys = ("format", "min_value", "max_value")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, format, min_value=None, max_value=None, **kwargs):
        return pd.Series(valid_dates(column, format, min_value, max_value), index=column.index)


class ExpectColumnValuesToBeValidDates(ColumnMapExpectation):
    """Values are real calendar dates in `format`, within [min_value, max_value]."""

    format: str = "%Y-%m-%d"
    min_value: Optional[str] = None
    max_value: Optional[str] = None
    map_metric: ClassVar[str] = "column_values.valid_dates"
    success_keys: ClassVar[tuple] = ("format", "min_value", "max_value", "mostly")


class ColumnValuesDecimalAmounts(ColumnMapMetricProvider):
    condition_metric_name = "column_values.decimal_amounts"
    condition_value_keys = ("decimal", "min_value", "max_value")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, decimal=".", min_value=None, max_value=None, **kwargs):
        return pd.Series(valid_amounts(column, decimal, min_value, max_value), index=column.index)


class ExpectColumnValuesToBeDecimalAmounts(ColumnMapExpectation):
    """Values are amounts with `decimal` as separator and at most 2 decimals, within bounds."""

    decimal: str = "."
    min_value: Optional[float] = None
    max_value: Optional[float] = None
    map_metric: ClassVar[str] = "column_values.decimal_amounts"
    success_keys: ClassVar[tuple] = ("decimal", "min_value", "max_value", "mostly")


class ColumnValuesInCodelist(ColumnMapMetricProvider):
    condition_metric_name = "column_values.in_codelist"
    condition_value_keys = ("codelist",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, codelist, **kwargs):
        return pd.Series(in_codelist(column, codelist), index=column.index)


class ExpectColumnValuesToBeInCodelist(ColumnMapExpectation):
    """Values are codes of the named code list."""

    codelist: str
    map_metric: ClassVar[str] = "column_values.in_codelist"
    success_keys: ClassVar[tuple] = ("codelist", "mostly")


CUSTOM = {
    "expect_column_values_to_be_in_codelist": ExpectColumnValuesToBeInCodelist,
    "expect_column_values_to_be_valid_bsn": ExpectColumnValuesToBeValidBsn,
    "expect_column_values_to_be_valid_dates": ExpectColumnValuesToBeValidDates,
    "expect_column_values_to_be_decimal_amounts": ExpectColumnValuesToBeDecimalAmounts,
}
