"""Great Expectations expectations that GX does not ship, vectorised for millions of rows.

* ``expect_column_values_to_be_valid_bsn``: 9 digits passing the 11-proef (elfproef)
  with weights 9..2 and -1, and not all zeros; the same rule as python-stdnum's
  ``stdnum.nl.bsn`` (the tests check both agree), computed on whole columns.
* ``expect_column_values_to_be_valid_dates``: parses with a strict format and
  round-trips, so 2026-02-30 fails (Arrow's strptime would roll it over to March),
  optionally within [min_value, max_value] (ISO dates).
* ``expect_column_values_to_be_decimal_amounts``: amounts written with the source's
  decimal separator (``125,50`` in Dutch exports), with or without the thousands
  separator that goes with it (``1.234,56``; with decimal ``.``: ``1,234.56``), at most
  2 decimals, optionally within bounds. `amount_sql` is the same reading in DuckDB.
* ``expect_column_values_to_be_dates_on_or_before``: a date is not after a bound the run
  gives (``max_date``, ISO); values that are not dates are left to the ``valid_dates`` rule.
* ``expect_column_pair_dates_to_be_in_order``: row by row, the date in ``column_A`` is on
  or before the date in ``column_B`` (ingangsdatum <= einddatum); rows where either is
  empty or not a date are left to the other rules.
* ``expect_column_values_to_be_filled_in_or_others``: row by row, the rule's column is
  filled in, or every column of ``or_filled_in`` is (a DDAS client identified by its BSN
  or by postcode and huisnummer); empty or blank text is not filled in.
* ``expect_column_values_to_be_in_codelist``: values are in a named code list (the
  12,005 CBS buurtcodes, say) registered in `CODELISTS` for the run. GX's own
  ``in_set`` would carry the whole list in its configuration and deep-copy it for every
  metric: a third of the BRP check's time.
* ``expect_column_values_to_be_unique`` (GX's name, kept in the contracts): each value
  occurs once; GX's own pandas metric (``Series.duplicated``) is replaced by one Arrow
  hash pass (`unique_values`), the same rows failing.

Per-value work (the strict date round trip) is done once per distinct value of a chunk
(`per_value`): a BRP's birth dates repeat, some 40,000 distinct dates in millions of rows.

Nulls are outside a map expectation's domain: required-ness is a separate
``expect_column_values_to_not_be_null`` rule.
"""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnPairMapMetricProvider,
    MulticolumnMapMetricProvider,
    column_pair_condition_partial,
    multicolumn_condition_partial,
)

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


def per_value(arr: pa.Array, fn) -> pa.Array:
    """`fn` (an elementwise function of an Arrow array) computed once per distinct value and
    spread back over the rows: a date column of millions of rows holds some tens of thousands of
    distinct dates, and the strict round trip costs far more per value than the encoding.
    A null row stays null."""
    encoded = pc.dictionary_encode(arr)
    return pc.take(fn(encoded.dictionary), encoded.indices)


def _real_dates(arr: pa.Array, format: str) -> pa.Array:
    """Per value: the timestamp where it is a real date in `format` (it round-trips), else null."""
    parsed = pc.strptime(arr, format=format, unit="s", error_is_null=True)
    ok = pc.fill_null(pc.equal(pc.strftime(parsed, format=format), arr), False)
    return pc.if_else(ok, parsed, pa.scalar(None, pa.timestamp("s")))


def _dates(arr: pa.Array, format: str) -> pa.Array:
    """Timestamps of the values that are real dates in `format` (round trip), else null."""
    return per_value(arr, lambda values: _real_dates(values, format))


def valid_dates(column: pd.Series, format: str, min_value: str | None, max_value: str | None) -> np.ndarray:
    parsed = _dates(_arrow(column), format)
    ok = pc.is_valid(parsed)
    if min_value:
        ok = pc.and_(ok, pc.fill_null(pc.greater_equal(parsed, pa.scalar(pd.Timestamp(min_value), pa.timestamp("s"))), False))
    if max_value:
        ok = pc.and_(ok, pc.fill_null(pc.less_equal(parsed, pa.scalar(pd.Timestamp(max_value), pa.timestamp("s"))), False))
    return ok.to_numpy(zero_copy_only=False)


def dates_on_or_before(column: pd.Series, format: str, max_date: str) -> np.ndarray:
    """True where a value is not a date (another rule's concern) or is on or before `max_date`."""
    parsed = _dates(_arrow(column), format)
    bound = pa.scalar(pd.Timestamp(max_date), pa.timestamp("s"))
    return pc.fill_null(pc.less_equal(parsed, bound), True).to_numpy(zero_copy_only=False)


def dates_in_order(earlier: pd.Series, later: pd.Series, format: str) -> np.ndarray:
    """True where `earlier` <= `later`, or where either is not a date."""
    a, b = _dates(_arrow(earlier), format), _dates(_arrow(later), format)
    return pc.fill_null(pc.less_equal(a, b), True).to_numpy(zero_copy_only=False)


THOUSANDS = {",": ".", ".": ","}  # the thousands separator that goes with a decimal separator


def amount_pattern(decimal: str) -> str:
    """An amount: optional minus, up to 9 digits (grouped by 3 with the thousands separator,
    or not at all), optionally the decimal separator and 1-2 decimals."""
    d, t = re.escape(decimal), re.escape(THOUSANDS[decimal])
    return rf"^-?([0-9]{{1,3}}({t}[0-9]{{3}}){{1,2}}|[0-9]{{1,9}})({d}[0-9]{{1,2}})?$"


def valid_amounts(column: pd.Series, decimal: str, min_value: float | None, max_value: float | None) -> np.ndarray:
    arr = _arrow(column)
    ok = pc.fill_null(pc.match_substring_regex(arr, amount_pattern(decimal)), False)
    plain = pc.replace_substring(pc.if_else(ok, arr, "0"), THOUSANDS[decimal], "")
    values = pc.cast(pc.replace_substring(plain, decimal, "."), pa.float64())
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
    min_value: str | None = None
    max_value: str | None = None
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
    min_value: float | None = None
    max_value: float | None = None
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


class ColumnValuesDatesOnOrBefore(ColumnMapMetricProvider):
    condition_metric_name = "column_values.dates_on_or_before"
    condition_value_keys = ("format", "max_date")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, format, max_date, **kwargs):
        return pd.Series(dates_on_or_before(column, format, max_date), index=column.index)


class ExpectColumnValuesToBeDatesOnOrBefore(ColumnMapExpectation):
    """Values that are dates in `format` are on or before `max_date` (ISO)."""

    format: str = "%Y-%m-%d"
    max_date: str
    map_metric: ClassVar[str] = "column_values.dates_on_or_before"
    success_keys: ClassVar[tuple] = ("format", "max_date", "mostly")


class ColumnPairDatesInOrder(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.dates_in_order"
    condition_domain_keys = ("batch_id", "table", "column_A", "column_B", "row_condition", "condition_parser",
                             "ignore_row_if")
    condition_value_keys = ("format",)

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A, column_B, format, **kwargs):
        return pd.Series(dates_in_order(column_A, column_B, format), index=column_A.index)


class ExpectColumnPairDatesToBeInOrder(ColumnPairMapExpectation):
    """Row by row, the date in `column_A` is on or before the date in `column_B` (both in
    `format`); a row where either is empty is not checked."""

    format: str = "%Y-%m-%d"
    ignore_row_if: str = "either_value_is_missing"
    map_metric: ClassVar[str] = "column_pair_values.dates_in_order"
    success_keys: ClassVar[tuple] = ("column_A", "column_B", "format", "ignore_row_if", "mostly")


def unique_values(column: pd.Series) -> np.ndarray:
    """Boolean array: which values occur once in the column (every copy of a repeated value
    fails, as GX's own ``expect_column_values_to_be_unique`` has it). One Arrow hash pass and a
    count per distinct value; pandas' ``duplicated`` on Arrow strings took ~50 s on a country BRP."""
    indices = pc.dictionary_encode(_arrow(column)).indices.to_numpy(zero_copy_only=False)
    return np.bincount(indices)[indices] == 1


class ColumnValuesUniqueArrow(ColumnMapMetricProvider):
    condition_metric_name = "column_values.unique_arrow"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return pd.Series(unique_values(column), index=column.index)


class ExpectColumnValuesToBeUniqueArrow(ColumnMapExpectation):
    """Each value occurs once in the column (nulls are not values: see not_null). The contract
    names it ``expect_column_values_to_be_unique``: GX's own rule, computed with Arrow."""

    map_metric: ClassVar[str] = "column_values.unique_arrow"
    success_keys: ClassVar[tuple] = ("mostly",)


def filled_in(frame: pd.DataFrame) -> np.ndarray:
    """Boolean array: the first column is filled in (not null, not blank), or all the others are."""
    given = [pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(_arrow(frame[c]))), 0), False)
             .to_numpy(zero_copy_only=False) for c in frame.columns]
    return given[0] | np.logical_and.reduce(given[1:]) if len(given) > 1 else given[0]


class MulticolumnFilledInOrOthers(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.filled_in_or_others"
    condition_domain_keys = ("batch_id", "table", "column_list", "row_condition", "condition_parser", "ignore_row_if")

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list, **kwargs):
        return pd.Series(filled_in(column_list), index=column_list.index)


class ExpectColumnValuesToBeFilledInOrOthers(MulticolumnMapExpectation):
    """Row by row, the first column of `column_list` is filled in, or all the others are;
    no row is skipped (a row with every column empty is the one to find)."""

    ignore_row_if: str = "never"
    map_metric: ClassVar[str] = "multicolumn_values.filled_in_or_others"
    success_keys: ClassVar[tuple] = ("column_list", "ignore_row_if", "mostly")


CUSTOM = {
    "expect_column_values_to_be_unique": ExpectColumnValuesToBeUniqueArrow,
    "expect_column_values_to_be_filled_in_or_others": ExpectColumnValuesToBeFilledInOrOthers,
    "expect_column_values_to_be_in_codelist": ExpectColumnValuesToBeInCodelist,
    "expect_column_values_to_be_valid_bsn": ExpectColumnValuesToBeValidBsn,
    "expect_column_values_to_be_valid_dates": ExpectColumnValuesToBeValidDates,
    "expect_column_values_to_be_decimal_amounts": ExpectColumnValuesToBeDecimalAmounts,
    "expect_column_values_to_be_dates_on_or_before": ExpectColumnValuesToBeDatesOnOrBefore,
    "expect_column_pair_dates_to_be_in_order": ExpectColumnPairDatesToBeInOrder,
}
PAIR = {"expect_column_pair_dates_to_be_in_order"}  # expectations over two columns of a row
MULTI = {"expect_column_values_to_be_filled_in_or_others": "or_filled_in"}  # over several: the kwarg naming the others
