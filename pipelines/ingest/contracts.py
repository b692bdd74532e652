"""Run a source's data contract (config/contracts/<source>.yaml) with Great Expectations.

Each contract rule becomes one GX expectation, tagged with the rule id. GX validates
pandas DataFrames (Arrow-backed strings) in chunks of `chunk_rows`, which bounds memory
on a whole-country BRP extract; rules that compare rows with each other (uniqueness)
run once over the whole column.

GX's COMPLETE result format copies failing values (a BSN) into its results: here every
result is reduced at once to counts and internal row ids (`scrub`), and only that
reduced form is kept, written or logged.

Rules over two columns of a row (``expect_column_pair_dates_to_be_in_order``) name the
rule's own column in ``column`` (it is the column quarantine shows) and the other one
in ``kwargs``: ``on_or_after: ingangsdatum`` or ``on_or_before: _aanleverdatum``; the
other column may be one the reader adds (`readers.READER_COLUMNS`, such as a DDAS
delivery's own date). A bound the run decides (``max_date_from: peildatum``) comes from
the run's context, the dict that also carries the code lists; a run that gives none
does not check that rule and says so (``skipped`` in the outcome, a warning in the log).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
from dataclasses import dataclass, field

logging.getLogger("great_expectations").setLevel(logging.ERROR)

import great_expectations as gx  # noqa: E402
from great_expectations.execution_engine import pandas_execution_engine as _gx_pandas  # noqa: E402

logging.getLogger("great_expectations").setLevel(logging.ERROR)
# GX fingerprints every in-memory batch below HASH_THRESHOLD bytes by hashing all of it
# (pandas.util.hash_pandas_object): ~1.9 s per 2 M-row chunk, 28 % of BRP validation, for
# a batch marker nothing here reads. Validation results do not depend on it.
_gx_pandas.HASH_THRESHOLD = 0
from typing import Any

import pandas as pd
import pyarrow as pa
from great_expectations.data_context.types.base import ProgressBarsConfig

from pipelines.ingest.expectations import CUSTOM, MULTI, PAIR, register_codelists
from pipelines.ingest.readers import READER_COLUMNS
from pipelines.settings import Contract, Expectation, Source

log = logging.getLogger("wijksignaal.ingest")
_names = itertools.count()
# chunks of a large source are checked in this many forked processes (the contract is the same GX suite in each;
# results come back in chunk order, so the outcome does not depend on it)
WORKERS = min(2, os.cpu_count() or 1)
_JOB: dict[str, Any] = {}  # the chunk check under way (forked workers inherit it): table, columns, expectations

# The expectation types a contract may use: a whitelist, not whatever GX offers.
BUILTIN = {
    "expect_column_values_to_not_be_null": gx.expectations.ExpectColumnValuesToNotBeNull,
    "expect_column_values_to_be_in_set": gx.expectations.ExpectColumnValuesToBeInSet,
    "expect_column_values_to_match_regex": gx.expectations.ExpectColumnValuesToMatchRegex,
    "expect_column_value_lengths_to_be_between": gx.expectations.ExpectColumnValueLengthsToBeBetween,
}
ALLOWED = {**BUILTIN, **CUSTOM}
WHOLE_COLUMN = {"expect_column_values_to_be_unique"}
STRING = {pa.string(): pd.StringDtype("pyarrow")}.get


class ContractError(Exception):
    """The contract itself is wrong, or GX could not evaluate a rule."""


@dataclass
class RuleResult:
    rule: str
    expectation: str
    column: str
    description: str
    checked: int = 0
    failed: int = 0
    skipped: str | None = None  # why the rule was not run

    @property
    def success(self) -> bool:
        return self.failed == 0


@dataclass
class ContractOutcome:
    source: str
    rules: list[RuleResult]
    failures: dict[int, list[str]] = field(default_factory=dict)  # _rid -> rule ids

    def as_dict(self) -> dict:
        """The GX outcome as written to quality/<source>.json and audit.json: no values."""
        return {
            "source": self.source,
            "engine": f"great_expectations {gx.__version__}",
            "success": all(r.success for r in self.rules),
            "rules": [
                {"rule": r.rule, "expectation": r.expectation, "column": r.column, "description": r.description,
                 "rows_checked": r.checked, "rows_failed": r.failed, "success": r.success if not r.skipped else None,
                 **({"skipped": r.skipped} if r.skipped else {})}
                for r in self.rules
            ],
        }


def implied_expectations(source: Source) -> list[Expectation]:
    """Rules that follow from sources.yaml itself: a yes/no column holds only the values its
    `values` mapping lists (rule `<column>-waarde`)."""
    return [Expectation(rule=f"{column.replace('_', '-')}-waarde", expect="expect_column_values_to_be_in_set",
                        column=column, description=f"{column}, when filled in, is one of "
                        f"{', '.join(repr(v) for v in mapping)} (sources.yaml values)",
                        kwargs={"value_set": list(mapping)})
            for column, mapping in source.values.items()]


def peildatum(period: str, *later_periods: str) -> str:
    """The bound after which a date is "in the future" for sources that carry no date of
    their own (the BRP extract): the last day of the month after the latest of the
    reference period and `later_periods` (YYYY-MM), as an ISO date.

    Deterministic: it depends on the periods only, never on the clock. Pass as
    `later_periods` the newest period the run's inputs report on (the month of the newest
    DDAS delivery's ``einddatumLevering``, or the period the extracts were made for):
    re-running an old period with newer extracts then keeps the newer extracts' bound,
    and a child born after the old period is not quarantined as an error.
    """
    latest = max((period, *later_periods))
    return str((pd.Period(latest, freq="M") + 1).end_time.date())


CONTEXT_BOUNDS = {"peildatum"}  # bounds a run may give in its context, next to the code lists
ORDER = {"on_or_after": "column_A", "on_or_before": "column_B"}  # the other column is earlier / later


def _pair_columns(contract: Contract, e, source: Source, kwargs: dict) -> dict:
    """column_A (earlier) and column_B (later) of a two-column rule, from its `on_or_after`
    or `on_or_before`; the rule's own column is the other one."""
    given = [k for k in ORDER if k in kwargs]
    if len(given) != 1:
        raise ContractError(f"contract '{contract.source}', rule {e.rule}: give exactly one of "
                            f"{', '.join(ORDER)} (the other column of the pair)")
    other = kwargs.pop(given[0])
    if other not in source.fields and other not in READER_COLUMNS[source.format]:
        raise ContractError(f"contract '{contract.source}', rule {e.rule}: column '{other}' is not in sources.yaml")
    earlier, later = (other, e.column) if given[0] == "on_or_after" else (e.column, other)
    return {"column_A": earlier, "column_B": later}


def _other_columns(contract: Contract, e, source: Source, kwargs: dict) -> list[str]:
    """The other columns of a rule over several (``or_filled_in: [postcode, huisnummer]``)."""
    others = kwargs.pop(MULTI[e.expect], None)
    if not isinstance(others, list) or not others or not all(isinstance(c, str) for c in others):
        raise ContractError(f"contract '{contract.source}', rule {e.rule}: give {MULTI[e.expect]} as a list of "
                            "column names")
    for c in others:
        if c not in source.fields:
            raise ContractError(f"contract '{contract.source}', rule {e.rule}: column '{c}' is not in sources.yaml")
    return others


def with_own_codes(source: Source, codelists: dict[str, Any]) -> dict[str, Any]:
    """The run's code lists and bounds (buurten, peildatum) and the source's own `codes`."""
    return {**{name: source.code_values(name) for name in source.codes}, **codelists}


def build_expectations(contract: Contract, source: Source, codelists: dict[str, Any]) -> list:
    """(rule, GX expectation) per contract rule; the expectation is None for a rule whose
    bound the context does not give (it is checked for mistakes all the same)."""
    out = []
    codelists = with_own_codes(source, codelists)
    for e in [*contract.expectations, *implied_expectations(source)]:
        cls = ALLOWED.get(e.expect)
        if cls is None:
            raise ContractError(f"contract '{contract.source}', rule {e.rule}: expectation '{e.expect}' is not allowed; "
                                f"allowed: {', '.join(sorted(ALLOWED))}")
        if e.column not in source.fields:
            raise ContractError(f"contract '{contract.source}', rule {e.rule}: column '{e.column}' is not in sources.yaml")
        kwargs = dict(e.kwargs)
        if e.expect == "expect_column_values_to_be_in_codelist" and kwargs.get("codelist") not in codelists:
            raise ContractError(f"contract '{contract.source}', rule {e.rule}: unknown code list "
                                f"'{kwargs.get('codelist')}'; known: {', '.join(sorted(codelists))}")
        if e.expect in ("expect_column_values_to_be_valid_dates", "expect_column_values_to_be_dates_on_or_before") \
                or e.expect in PAIR:
            kwargs.setdefault("format", source.date_format)
        if e.expect == "expect_column_values_to_be_decimal_amounts":
            kwargs.setdefault("decimal", source.decimal)
        absent = False
        if "max_date_from" in kwargs:
            bound = kwargs.pop("max_date_from")
            if bound not in CONTEXT_BOUNDS:
                raise ContractError(f"contract '{contract.source}', rule {e.rule}: max_date_from must name one of "
                                    f"{', '.join(sorted(CONTEXT_BOUNDS))}, not '{bound}'")
            absent = codelists.get(bound) is None
            kwargs["max_date"] = "2100-01-01" if absent else str(codelists[bound])
        try:
            if e.expect in PAIR:
                expectation = cls(**_pair_columns(contract, e, source, kwargs), meta={"rule": e.rule}, **kwargs)
            elif e.expect in MULTI:
                expectation = cls(column_list=[e.column, *_other_columns(contract, e, source, kwargs)],
                                  meta={"rule": e.rule}, **kwargs)
            else:
                expectation = cls(column=e.column, meta={"rule": e.rule}, **kwargs)
        except ContractError:
            raise
        except Exception as exc:  # pydantic validation inside GX
            raise ContractError(f"contract '{contract.source}', rule {e.rule}: {exc}") from None
        out.append((e, None if absent else expectation))
    return out


def _columns(expectation) -> list[str]:
    if hasattr(expectation, "column_list"):
        return list(expectation.column_list)
    if hasattr(expectation, "column_A"):
        return [expectation.column_A, expectation.column_B]
    return [expectation.column]


def scrub(result) -> tuple[str, int, list[int]]:
    """(rule, rows checked, failing _rid list) from one GX ExpectationValidationResult."""
    rule = result.expectation_config.meta["rule"]
    info = result.exception_info or {}
    raised = info.get("raised_exception") or any(
        isinstance(v, dict) and v.get("raised_exception") for v in info.values()
    )
    if raised:
        # the message may quote data: name the rule only
        raise ContractError(f"rule {rule}: Great Expectations could not evaluate this expectation")
    res = result.result or {}
    rows = [int(d["_rid"]) for d in (res.get("unexpected_index_list") or [])]
    return rule, int(res.get("element_count") or 0), rows


_CTX = None


def _context():
    """One ephemeral GX context per process: nothing of it is written to disk."""
    global _CTX
    if _CTX is None:
        _CTX = gx.get_context(mode="ephemeral")
        _CTX.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return _CTX


_BATCH: dict[str, Any] = {}  # this process's one pandas batch definition (forked workers inherit it)


def _batch_definition():
    """One pandas data source with one whole-DataFrame batch definition per process. Suites are
    validated on it directly (Batch.validate), never added to the context: each addition or
    deletion made GX write its whole configuration out as YAML (a fifth of a small source's check)."""
    if "definition" not in _BATCH:
        _BATCH["definition"] = (_context().data_sources.add_pandas("wijksignaal").add_dataframe_asset("frame")
                                .add_batch_definition_whole_dataframe("whole"))
    return _BATCH["definition"]


class _Validation:
    """One GX suite, run on any number of DataFrame chunks (never added to the context, so nothing to
    remove afterwards)."""

    def __init__(self, name: str, expectations: list):
        self.name = f"{name}-{next(_names)}"
        self.suite = gx.ExpectationSuite(name=self.name, expectations=[x for _, x in expectations])

    def run(self, frame: pd.DataFrame) -> list:
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
        res = batch.validate(
            self.suite,
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": ["_rid"],
                "return_unexpected_index_query": False,
                "partial_unexpected_count": 0,
            },
        )
        return [scrub(r) for r in res.results]


def _check_chunk(start: int) -> list:
    """The chunked expectations of the job in `_JOB` on the rows from `start` (one suite per process:
    each forked worker, or this one)."""
    if "validation" not in _JOB:
        _JOB["validation"] = _Validation(_JOB["name"], _JOB["chunked"])
    frame = _JOB["table"].slice(start, _JOB["chunk_rows"]).select(_JOB["columns"]).to_pandas(types_mapper=STRING)
    return _JOB["validation"].run(frame)


def validate(
    name: str, table: pa.Table, contract: Contract, source: Source, codelists: dict[str, Any],
    chunk_rows: int = 2_000_000,
) -> ContractOutcome:
    built = build_expectations(contract, source, codelists)
    register_codelists({k: v for k, v in with_own_codes(source, codelists).items() if k not in CONTEXT_BOUNDS})
    rules = {e.rule: RuleResult(e.rule, e.expect, e.column, e.description) for e, _ in built}
    for e, x in built:
        if x is None:
            rules[e.rule].skipped = (f"not checked: the run gave no {e.kwargs['max_date_from']} "
                                     "(the bound after which a date is in the future)")
            log.warning("%s: rule %s %s", name, e.rule, rules[e.rule].skipped)
    expectations = [(e, x) for e, x in built if x is not None]
    failures: dict[int, list[str]] = {}

    def collect(results):
        for rule, checked, rows in results:
            rules[rule].checked += checked
            rules[rule].failed += len(rows)
            for rid in rows:
                failures.setdefault(rid, []).append(rule)

    chunked = [x for x in expectations if x[0].expect not in WHOLE_COLUMN]
    whole = [x for x in expectations if x[0].expect in WHOLE_COLUMN]
    columns = sorted({c for _, x in chunked for c in _columns(x)}) + ["_rid"]
    n = table.num_rows
    starts = list(range(0, max(n, 1), chunk_rows))
    if chunked:
        parallel = len(starts) > 1 and WORKERS > 1
        _JOB.update(name=name, chunked=chunked, table=table, columns=columns, chunk_rows=chunk_rows)
        try:
            with multiprocessing.get_context("fork").Pool(WORKERS) if parallel else contextlib.nullcontext() as pool:
                found = pool.imap(_check_chunk, starts) if parallel else map(_check_chunk, starts)
                for start, results in zip(starts, found):
                    collect(results)
                    if n > chunk_rows:
                        log.info("%s: contract checked %d of %d rows", name, min(start + chunk_rows, n), n)
        finally:
            _JOB.clear()
    for e, x in whole:
        v = _Validation(name, [(e, x)])
        collect(v.run(table.select([*_columns(x), "_rid"]).to_pandas(types_mapper=STRING)))
    order = {rule: i for i, rule in enumerate(rules)}
    for rid in failures:
        failures[rid].sort(key=order.__getitem__)
    return ContractOutcome(name, list(rules.values()), failures)
