"""``@fti.udf``: one function, row-wise and column-wise, with the same values on both paths."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fti
from fti.transform import UDF


@fti.udf(float)
def ratio(amount, avg):  # type: ignore[no-untyped-def]
    return amount / avg


@fti.udf({"hour": int, "late": bool}, drop="ts")
def clock(ts):  # type: ignore[no-untyped-def]
    hour = ts.hour if isinstance(ts, dt.datetime) else ts.dt.hour
    return {"hour": hour, "late": hour >= 22}


@fti.udf(str, mode="python")
def label(amount):  # type: ignore[no-untyped-def]
    return "none" if amount is None else ("big" if amount > 100 else "small")


@fti.udf(float, mode="pandas")
def clipped(amount):  # type: ignore[no-untyped-def]
    return amount.clip(0, 10)


def rows(function: UDF, table: pa.Table) -> list[list[Any]]:
    run = function.row_runner({f.name: f.type for f in table.schema})
    return [
        run(r) for r in zip(*(table.column(c).to_pylist() for c in function.inputs), strict=True)
    ]


def columns(function: UDF, table: pa.Table) -> list[list[Any]]:
    arrays = function.run_table(table)
    return [list(r) for r in zip(*(a.to_pylist() for a in arrays), strict=True)]


def test_definition_records_inputs_outputs_and_source() -> None:
    assert ratio.inputs == ("amount", "avg")
    assert ratio.outputs == (("ratio", pa.float64()),)
    assert clock.output_names == ["hour", "late"] and clock.drop == ("ts",)
    assert "return amount / avg" in ratio.source and len(ratio.hash) == 64
    bound = ratio("amt", "avg_30d")
    assert bound.inputs == ("amt", "avg_30d") and bound.hash == ratio.hash
    assert clock("event_ts").drop == ("event_ts",)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: fti.udf(float, mode="spark"), "mode must be one of"),
        (lambda: fti.udf(float, drop="nope")(ratio.fn), r"drop names \['nope'\]"),
        (lambda: fti.udf(object)(ratio.fn), "unsupported return type"),
        (lambda: fti.udf({})(ratio.fn), "at least one output"),
        (lambda: fti.udf(float)(lambda x: x), "named function"),
        (lambda: ratio("only_one"), r"reads 2 column\(s\)"),
        (lambda: ratio.alias("a", "b"), "has 1 output"),
    ],
)
def test_bad_definitions_are_clear_errors(make: Any, match: str) -> None:
    with pytest.raises(fti.FtiError, match=match):
        make()


def test_row_and_column_paths_agree_on_nulls_zero_and_edges() -> None:
    table = pa.table(
        {
            "amount": pa.array([1.0, None, 3.0, 0.0, -1.0, 1e308], pa.float64()),
            "avg": pa.array([2.0, 1.0, None, 0.0, 0.0, 1e-308], pa.float64()),
        }
    )
    expected = [[0.5], [None], [None], [None], [-math.inf], [math.inf]]
    assert columns(ratio, table) == expected
    assert rows(ratio, table) == expected


@fti.udf(str)
def shout(tier):  # type: ignore[no-untyped-def]
    return tier + "!"


@fti.udf(float)
def gold_spend(spend, tier):  # type: ignore[no-untyped-def]
    return spend * (tier == "gold")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(-1e6, 1e6)),
            st.one_of(st.none(), st.sampled_from(["gold", "silver", ""]), st.text(max_size=3)),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_null_strings_agree_on_both_paths(values: list[tuple[float | None, str | None]]) -> None:
    """A null where a column holds objects is passed over by pandas operations; the row path
    gives the column's result for it instead of raising on None."""
    table = pa.table(
        {
            "spend": pa.array([v for v, _ in values], pa.float64()),
            "tier": pa.array([t for _, t in values], pa.string()),
        }
    )
    assert rows(shout, table) == columns(shout, table)
    assert rows(gold_spend, table) == columns(gold_spend, table)


def test_null_timestamps_agree_on_both_paths() -> None:
    times = [dt.datetime(2026, 1, 1, 23, tzinfo=dt.UTC), None]
    table = pa.table({"ts": pa.array(times, pa.timestamp("us", tz="UTC"))})
    assert rows(clock, table) == columns(clock, table) == [[23, True], [None, False]]


def test_int_inputs_with_nulls_agree() -> None:
    table = pa.table({"amount": pa.array([4, None, 0], pa.int64()), "avg": pa.array([2, 2, 0])})
    assert rows(ratio, table) == columns(ratio, table) == [[2.0], [None], [None]]


def test_multiple_outputs_and_timestamps() -> None:
    times = [dt.datetime(2026, 1, 1, h, tzinfo=dt.UTC) for h in (3, 23)]
    table = pa.table({"ts": pa.array(times, pa.timestamp("us", tz="UTC"))})
    assert rows(clock, table) == columns(clock, table) == [[3, False], [23, True]]


def test_python_and_pandas_modes_agree_on_both_paths() -> None:
    table = pa.table({"amount": pa.array([None, 5.0, 500.0, -3.0])})
    assert rows(label, table) == columns(label, table) == [["none"], ["small"], ["big"], ["small"]]
    assert rows(clipped, table) == columns(clipped, table) == [[None], [5.0], [10.0], [0.0]]


def test_failures_name_the_function_and_inputs() -> None:
    @fti.udf(float)
    def broken(amount):  # type: ignore[no-untyped-def]
        raise ValueError("boom")

    table = pa.table({"amount": [1.0]})
    with pytest.raises(fti.TransformationError, match=r"broken failed on \{'amount': 1.0\}.*boom"):
        rows(broken, table)
    with pytest.raises(fti.TransformationError, match=r"broken failed on columns \['amount'\]"):
        broken.run_table(table)

    @fti.udf(int)
    def wrong_type(amount):  # type: ignore[no-untyped-def]
        return "x" if isinstance(amount, float) else amount.astype(str)

    with pytest.raises(fti.TransformationError, match=r"not a int64|not int64"):
        rows(wrong_type, table)
    with pytest.raises(fti.TransformationError, match="not int64"):
        wrong_type.run_table(table)

    @fti.udf({"a": float, "b": float})
    def half(amount):  # type: ignore[no-untyped-def]
        return {"a": amount}

    with pytest.raises(fti.TransformationError, match=r"dict with keys \['a', 'b'\]"):
        rows(half, table)


def test_rebuilt_from_source_runs_the_same_code() -> None:
    ref = ratio("amt", "avg_30d").alias("amt_ratio").reference()
    rebuilt = UDF.from_dict({**ref, "source": ratio.source})
    assert rebuilt.inputs == ("amt", "avg_30d") and rebuilt.output_names == ["amt_ratio"]
    table = pa.table({"amt": [3.0], "avg_30d": [2.0]})
    assert rebuilt.run_table(table)[0].to_pylist() == [1.5]
    with pytest.raises(fti.FtiError, match="corrupt"):
        UDF.from_dict({**ref, "source": ratio.source + "\n# changed"})


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_row_and_column_paths_agree_property(
    values: list[tuple[float | None, float | None]],
) -> None:
    table = pa.table(
        {
            "amount": pa.array([a for a, _ in values], pa.float64()),
            "avg": pa.array([b for _, b in values], pa.float64()),
        }
    )
    assert rows(ratio, table) == columns(ratio, table)
