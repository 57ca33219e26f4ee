"""Data validation on insert: every expectation kind, the nulls rule, policies, serialization."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fti.errors import SchemaError, ValidationFailed
from fti.validation import (
    Expectation,
    ExpectationResult,
    ExpectationSuite,
    ValidationReport,
    expect,
    validate,
)

NAN = float("nan")
UTC = dt.UTC


def run(table: pa.Table, *expectations: Expectation, policy: str = "strict") -> ValidationReport:
    return validate(table, ExpectationSuite("t", list(expectations), policy))  # type: ignore[arg-type]


def only(table: pa.Table, expectation: Expectation) -> ExpectationResult:
    report = run(table, expectation)
    assert len(report.results) == 1
    assert report.results[0].expectation == expectation
    return report.results[0]


def failed(r: ExpectationResult) -> tuple[int, list[int], list[Any]]:
    return r.failed_count, list(r.failed_rows), list(r.failed_values)


# -- every kind, passing and failing ------------------------------------------------------


def test_not_null() -> None:
    assert only(pa.table({"a": [1, 2, 3]}), expect.not_null("a")).success
    r = only(pa.table({"a": [1, None, 3, None]}), expect.not_null("a"))
    assert not r.success
    assert failed(r) == (2, [1, 3], [None, None])


def test_not_null_counts_nan_as_missing_in_float_columns() -> None:
    r = only(pa.table({"x": [1.0, NAN, None, 2.0]}), expect.not_null("x"))
    assert failed(r) == (2, [1, 2], ["NaN", None])


def test_between_inclusive() -> None:
    t = pa.table({"amount": [0.0, 10_000.0, -1.0, 5.0, 12_000.5]})
    r = only(t, expect.between("amount", min=0, max=10_000))
    assert failed(r) == (2, [2, 4], [-1.0, 12_000.5])
    assert only(t.slice(0, 2), expect.between("amount", min=0, max=10_000)).success


def test_between_strict_bounds() -> None:
    t = pa.table({"n": [0, 1, 5, 9, 10]})
    r = only(t, expect.between("n", min=0, max=10, strict_min=True, strict_max=True))
    assert failed(r) == (2, [0, 4], [0, 10])
    r = only(t, expect.between("n", min=0, max=10, strict_min=True))
    assert failed(r) == (1, [0], [0])


def test_between_one_sided() -> None:
    t = pa.table({"n": [-3, 0, 7, 100]})
    assert failed(only(t, expect.between("n", min=0))) == (1, [0], [-3])
    assert failed(only(t, expect.between("n", max=7))) == (1, [3], [100])
    assert failed(only(t, expect.between("n", max=7, strict_max=True))) == (2, [2, 3], [7, 100])


def test_between_on_timestamps() -> None:
    ts = [dt.datetime(2024, 1, d, tzinfo=UTC) for d in (1, 15, 31)]
    t = pa.table({"ts": pa.array(ts, pa.timestamp("us", tz="UTC"))})
    e = expect.between("ts", min=dt.datetime(2024, 1, 10, tzinfo=UTC))
    assert failed(only(t, e)) == (1, [0], ["2024-01-01T00:00:00+00:00"])


def test_in_set() -> None:
    t = pa.table({"category": ["a", "b", "c", "a", "z"]})
    assert failed(only(t, expect.in_set("category", ["a", "b"]))) == (2, [2, 4], ["c", "z"])
    assert only(t, expect.in_set("category", ["a", "b", "c", "z"])).success
    assert failed(only(pa.table({"n": [1, 2, 3]}), expect.in_set("n", [1, 3]))) == (1, [1], [2])


def test_matches_regex_searches_unless_anchored() -> None:
    t = pa.table({"email": ["a@b.com", "bad", "x@y@z", "c@d"]})
    r = only(t, expect.matches_regex("email", r"^[^@]+@[^@]+$"))
    assert failed(r) == (2, [1, 2], ["bad", "x@y@z"])
    assert failed(only(t, expect.matches_regex("email", "@"))) == (1, [1], ["bad"])


def test_unique_single_column_reports_every_occurrence() -> None:
    t = pa.table({"tx_id": [1, 2, 1, 3, 2, 1]})
    assert failed(only(t, expect.unique("tx_id"))) == (5, [0, 1, 2, 4, 5], [1, 2, 1, 2, 1])
    assert only(pa.table({"tx_id": [3, 1, 2]}), expect.unique("tx_id")).success


def test_unique_multi_column() -> None:
    t = pa.table({"a": [1, 1, 1, 2], "b": ["x", "y", "x", "x"]})
    r = only(t, expect.unique(["a", "b"]))
    assert failed(r) == (2, [0, 2], [{"a": 1, "b": "x"}, {"a": 1, "b": "x"}])
    assert only(t, expect.unique(["a", "b"])).expectation.columns == ("a", "b")
    assert only(t.slice(0, 2), expect.unique(["a", "b"])).success


def test_two_multi_column_uniques_are_both_checked() -> None:
    t = pa.table({"a": [1, 1, 2], "b": [1, 1, 2], "c": [5, 6, 5]})
    report = run(t, expect.unique(["a", "b"]), expect.unique(["b", "c"]), expect.unique(["a", "c"]))
    assert [failed(r) for r in report.results] == [
        (2, [0, 1], [{"a": 1, "b": 1}, {"a": 1, "b": 1}]),
        (0, [], []),
        (0, [], []),
    ]


def test_of_type() -> None:
    t = pa.table(
        {
            "amount": pa.array([1.5], pa.float64()),
            "n": pa.array([1], pa.int32()),
            "s": pa.array(["x"], pa.large_string()),
            "ts": pa.array([dt.datetime(2024, 1, 1, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
        }
    )
    passing = [
        expect.of_type("amount", "double"),
        expect.of_type("amount", "float64"),
        expect.of_type("n", "int32"),
        expect.of_type("s", "string"),  # polars' view: string and large_string are one type
        expect.of_type("ts", "timestamp[us, tz=UTC]"),
    ]
    assert run(t, *passing).success
    report = run(
        t,
        expect.of_type("n", "int64"),
        expect.of_type("ts", "timestamp[us]"),
        expect.of_type("amount", "float32"),
    )
    assert [(r.success, r.failed_count, r.message) for r in report.results] == [
        (False, 0, "column 'n' has type int32"),
        (False, 0, "column 'ts' has type timestamp[us, tz=UTC]"),
        (False, 0, "column 'amount' has type double"),
    ]


def test_of_type_twice_on_one_column() -> None:
    t = pa.table({"n": pa.array([1, 2], pa.int64())})
    report = run(t, expect.of_type("n", "int64"), expect.of_type("n", "double"))
    assert [r.success for r in report.results] == [True, False]


def test_row_count_between() -> None:
    t = pa.table({"a": list(range(5))})
    assert only(t, expect.row_count_between(min=1, max=5)).success
    r = only(t, expect.row_count_between(min=6))
    assert (r.success, r.message) == (False, "the table has 5 rows")
    assert not only(t, expect.row_count_between(max=4)).success
    assert not only(t.slice(0, 0), expect.row_count_between(min=1)).success


def test_check_that_cannot_run_on_the_column_type_fails_with_reason() -> None:
    r = only(pa.table({"s": ["a", "b"]}), expect.between("s", min=1))
    assert not r.success
    assert r.failed_count == 0
    assert r.message.startswith("cannot check column 's' of type string: ")
    assert "cannot compare string with numeric type" in r.message


# -- nulls, missing columns, positions ----------------------------------------------------


def test_missing_values_only_fail_not_null() -> None:
    t = pa.table(
        {
            "x": [None, NAN, 50.0, 1.0],
            "s": [None, "a", "zz", "a"],
            "k": [None, None, 1, 2],
        }
    )
    report = run(
        t,
        expect.between("x", min=0, max=10),
        expect.in_set("s", ["a"]),
        expect.matches_regex("s", "^a$"),
        expect.unique("k"),
        expect.unique(["k", "s"]),
        expect.not_null("s"),
    )
    assert [failed(r) for r in report.results] == [
        (1, [2], [50.0]),
        (1, [2], ["zz"]),
        (1, [2], ["zz"]),
        (0, [], []),
        (0, [], []),
        (1, [0], [None]),
    ]


def test_missing_column_is_a_failed_result() -> None:
    report = run(pa.table({"a": [1]}), expect.not_null("b"), expect.unique(["a", "c", "d"]))
    assert [(r.success, r.message) for r in report.results] == [
        (False, "column 'b' is missing from the table"),
        (False, "columns ['c', 'd'] are missing from the table"),
    ]


def test_positions_span_chunks_and_are_capped() -> None:
    values = list(range(-30, 70))  # -30..-1 fail
    t = pa.Table.from_batches([pa.record_batch({"n": values[i : i + 7]}) for i in range(0, 100, 7)])
    assert t.column("n").num_chunks == 15
    r = only(t, expect.between("n", min=0))
    assert failed(r) == (30, list(range(20)), list(range(-30, -10)))


def test_results_keep_suite_order_and_report_fields() -> None:
    t = pa.table({"a": [1, None], "b": [5, 6]})
    es = [expect.between("b", max=5), expect.not_null("a"), expect.row_count_between(min=1)]
    report = validate(t, ExpectationSuite("card_checks", es, policy="warn"))
    assert [r.expectation for r in report.results] == es
    assert [r.success for r in report.results] == [False, False, True]
    assert (report.success, report.policy, report.row_count) == (False, "warn", 2)
    assert report.suite_name == "card_checks"
    assert report.evaluated_at.tzinfo is dt.UTC
    assert abs(dt.datetime.now(UTC) - report.evaluated_at) < dt.timedelta(minutes=1)


def test_summary_names_expectations_rows_and_values() -> None:
    t = pa.table({"amount": [-1.0, 5.0, 12_000.5, 3.0, -2.0, -3.0, -4.0, -5.0]})
    report = run(t, expect.between("amount", min=0, max=10_000), expect.not_null("nope"))
    assert report.summary() == (
        "suite 't' (strict) failed 2 of 2 expectations:\n"
        "- expectation between(amount, 0..10000) failed on 6 of 8 rows: "
        "rows 0, 2, 4, 5, 6, 7 (values -1.0, 12000.5, -2.0, -3.0, -4.0, ...)\n"
        "- expectation not_null(nope) failed: column 'nope' is missing from the table"
    )
    assert run(t, expect.not_null("amount")).summary() == (
        "suite 't' (strict) passed 1 expectations on 8 rows"
    )


def test_summary_marks_rows_beyond_the_first_twenty() -> None:
    report = run(pa.table({"n": list(range(25))}), expect.between("n", max=-1))
    expected_rows = ", ".join(str(i) for i in range(20))
    assert f"failed on 25 of 25 rows: rows {expected_rows}, ... (values 0, 1, 2, 3, 4, ...)" in (
        report.summary()
    )


def test_describe() -> None:
    assert expect.between("amount", min=0, max=10_000).describe() == "between(amount, 0..10000)"
    assert expect.between("a", max=1, strict_max=True).describe() == "between(a, ..1, strict_max)"
    assert expect.in_set("c", ["a", "b"]).describe() == "in_set(c, ['a', 'b'])"
    assert expect.in_set("c", range(7)).describe() == "in_set(c, [0, 1, 2, 3, 4, ...])"
    assert expect.matches_regex("e", "^x$").describe() == "matches_regex(e, '^x$')"
    assert expect.unique(["a", "b"]).describe() == "unique(a, b)"
    assert expect.of_type("a", "float64").describe() == "of_type(a, double)"
    assert expect.row_count_between(min=1).describe() == "row_count_between(1..)"
    assert expect.not_null("a").describe() == "not_null(a)"


# -- policies ------------------------------------------------------------------------------


def test_strict_failure_raises_validation_failed_with_the_report() -> None:
    report = run(pa.table({"a": [None]}), expect.not_null("a"))
    with pytest.raises(ValidationFailed, match=r"not_null\(a\) failed on 1 of 1 rows: row 0") as e:
        report.raise_if_failed_strict()
    assert e.value.report is report
    assert str(e.value) == report.summary()


def test_warn_failure_and_strict_success_do_not_raise() -> None:
    run(pa.table({"a": [None]}), expect.not_null("a"), policy="warn").raise_if_failed_strict()
    run(pa.table({"a": [1]}), expect.not_null("a")).raise_if_failed_strict()


def test_validation_cannot_be_switched_off_by_pandera_config() -> None:
    from pandera.config import config_context

    with config_context(validation_enabled=False, validation_depth="SCHEMA_ONLY"):
        report = run(pa.table({"a": [None, 5]}), expect.not_null("a"), expect.between("a", max=1))
    assert [r.failed_rows for r in report.results] == [(0,), (1,)]


def test_importing_the_package_does_not_import_pandera() -> None:
    code = "import sys, fti.validation; print('pandera' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_validate_rejects_what_is_not_a_table() -> None:
    with pytest.raises(TypeError, match=r"pyarrow\.Table"):
        validate({"a": [1]}, ExpectationSuite("s", []))  # type: ignore[arg-type]


# -- serialization -------------------------------------------------------------------------


def _through_json(d: dict[str, Any]) -> Any:
    return json.loads(json.dumps(d, allow_nan=False))


def test_suite_round_trip_through_json() -> None:
    suite = ExpectationSuite(
        name="card_checks",
        expectations=[
            expect.not_null("cc_num"),
            expect.between("amount", min=0, max=10_000.5, strict_max=True),
            expect.between("ts", min=dt.datetime(2024, 1, 1, tzinfo=UTC), max=None),
            expect.between("day", max=dt.date(2025, 1, 1)),
            expect.in_set("category", ["a", "b"]),
            expect.in_set("day", [dt.date(2024, 1, 1)]),
            expect.matches_regex("email", r"^[^@]+@[^@]+$"),
            expect.unique("tx_id"),
            expect.unique(["cc_num", "ts"]),
            expect.of_type("amount", "float64"),
            expect.of_type("ts", "timestamp[us, tz=UTC]"),
            expect.row_count_between(min=1, max=None),
        ],
        policy="warn",
    )
    d = _through_json(suite.to_dict())
    assert d["expectations"][2]["kwargs"]["min"] == {"$datetime": "2024-01-01T00:00:00+00:00"}
    assert d["expectations"][9]["kwargs"] == {"type": "double"}
    back = ExpectationSuite.from_dict(d)
    assert back == suite
    assert back.expectations[2].kwargs["min"] == dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert back.expectations[5].kwargs["values"] == [dt.date(2024, 1, 1)]


def test_report_round_trip_through_json() -> None:
    t = pa.table(
        {
            "x": [1.0, NAN, 50.0, math.inf],
            "ts": pa.array([dt.datetime(2020, 1, 1, tzinfo=UTC)] * 4, pa.timestamp("us", "UTC")),
            "k": [1, 1, 2, 3],
        }
    )
    report = run(
        t,
        expect.between("x", max=10),
        expect.not_null("x"),
        expect.between("ts", min=dt.datetime(2021, 1, 1, tzinfo=UTC)),
        expect.unique(["k", "ts"]),
        expect.of_type("k", "string"),
        expect.not_null("missing"),
        policy="warn",
    )
    d = _through_json(report.to_dict())  # allow_nan=False: strict JSON for the catalog
    assert d["results"][0]["failed_values"] == [50.0, "Infinity"]
    assert d["results"][1]["failed_values"] == ["NaN"]
    assert d["results"][2]["failed_values"] == ["2020-01-01T00:00:00+00:00"] * 4
    assert d["results"][3]["failed_values"] == [
        {"k": 1, "ts": "2020-01-01T00:00:00+00:00"},
        {"k": 1, "ts": "2020-01-01T00:00:00+00:00"},
    ]
    back = ValidationReport.from_dict(d)
    assert back == report
    assert back.evaluated_at == report.evaluated_at
    assert back.evaluated_at.tzinfo is not None
    assert back.summary() == report.summary()


def test_report_from_dict_rejects_garbage() -> None:
    with pytest.raises(SchemaError, match="not a validation report"):
        ValidationReport.from_dict({"suite_name": "x"})


# -- malformed suites ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ExpectationSuite("s", [], policy="loud"), "unknown policy 'loud'"),
        (lambda: ExpectationSuite("", []), "non-empty name"),
        (lambda: ExpectationSuite("s", ["not_null(a)"]), "not an Expectation"),
        (lambda: expect.between("a", min=5, max=1), "min 5 is greater than max 1"),
        (lambda: expect.between("a"), "give min, max or both"),
        (lambda: expect.between("a", min=1, max=1, strict_min=True), "allows nothing"),
        (lambda: expect.between("a", min=NAN), "finite number"),
        (lambda: expect.between("a", min=1, max="z"), "not comparable"),
        (lambda: expect.row_count_between(min=3, max=2), "greater than max"),
        (lambda: expect.row_count_between(min=1.5), "must be integers"),
        (lambda: expect.in_set("a", []), "set of values is empty"),
        (lambda: expect.in_set("a", [1, None]), "in_set value must be"),
        (lambda: expect.matches_regex("a", "(unclosed"), "invalid regex"),
        (lambda: expect.of_type("a", "integer64"), "unknown type name 'integer64'"),
        (lambda: expect.not_null(""), "non-empty strings"),
        (lambda: expect.unique([]), "takes 1\\+ column"),
        (lambda: expect.unique(["a", "a"]), "column repeated"),
        (lambda: Expectation("looks_fine", ("a",)), "unknown expectation kind"),
        (lambda: Expectation("not_null", ("a", "b")), "takes 1 column"),
        (lambda: ExpectationSuite.from_dict({"name": "s"}), "missing 'policy'"),
        (lambda: ExpectationSuite.from_dict({"format": 9}), "not an expectation suite"),
        (lambda: Expectation.from_dict({"columns": ["a"]}), "not an expectation"),
    ],
)
def test_malformed_suites_are_refused_when_built(build: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        build()


def test_malformed_stored_suite_is_refused_on_load() -> None:
    d = ExpectationSuite("s", [expect.between("a", min=0, max=1)]).to_dict()
    d["expectations"][0]["kwargs"]["min"] = 2
    with pytest.raises(SchemaError, match="greater than max"):
        ExpectationSuite.from_dict(d)


def test_suites_may_share_a_name_and_expectations_are_hashable() -> None:
    a = ExpectationSuite("same", [expect.not_null("a")])
    b = ExpectationSuite("same", [expect.unique("a")], policy="warn")
    assert a.name == b.name
    assert a != b
    assert len({expect.between("a", min=1), expect.between("a", min=1), expect.not_null("a")}) == 2


# -- property: pandera's answers equal a brute-force reference -----------------------------


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _check(result: ExpectationResult, column: list[Any], fails: Any) -> None:
    bad = [i for i, v in enumerate(column) if not _missing(v) and fails(v)]
    assert result.success == (not bad)
    assert result.failed_count == len(bad)
    assert list(result.failed_rows) == bad[:20]
    assert list(result.failed_values) == [column[i] for i in bad[:20]]


floats = st.one_of(st.none(), st.just(NAN), st.floats(-100, 100, allow_nan=False))
bounds = st.one_of(st.none(), st.integers(-100, 100))


@settings(max_examples=150, deadline=None)
@given(
    column=st.lists(floats, max_size=60),
    lo=bounds,
    hi=bounds,
    strict_min=st.booleans(),
    strict_max=st.booleans(),
)
def test_between_matches_brute_force(
    column: list[float | None], lo: int | None, hi: int | None, strict_min: bool, strict_max: bool
) -> None:
    if lo is None and hi is None:
        lo = 0
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    assume(not (lo == hi and (strict_min or strict_max)))  # refused as an empty interval
    e = expect.between("x", min=lo, max=hi, strict_min=strict_min, strict_max=strict_max)

    def fails(v: float) -> bool:
        below = lo is not None and (v <= lo if strict_min else v < lo)
        above = hi is not None and (v >= hi if strict_max else v > hi)
        return below or above

    _check(only(pa.table({"x": pa.array(column, pa.float64())}), e), column, fails)


@settings(max_examples=150, deadline=None)
@given(
    column=st.lists(st.one_of(st.none(), st.sampled_from("abcdef")), max_size=60),
    allowed=st.sets(st.sampled_from("abcdefg"), min_size=1),
    ints=st.lists(st.one_of(st.none(), st.integers(-5, 5)), max_size=60),
    allowed_ints=st.sets(st.integers(-6, 6), min_size=1),
)
def test_in_set_matches_brute_force(
    column: list[str | None], allowed: set[str], ints: list[int | None], allowed_ints: set[int]
) -> None:
    table = pa.table({"s": pa.array(column, pa.string())})
    _check(only(table, expect.in_set("s", sorted(allowed))), column, lambda v: v not in allowed)
    table = pa.table({"n": pa.array(ints, pa.int64())})
    r = only(table, expect.in_set("n", sorted(allowed_ints)))
    _check(r, ints, lambda v: v not in allowed_ints)
