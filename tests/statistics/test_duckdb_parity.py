"""The NumPy statistics of numeric and temporal columns agree with DuckDB's aggregates (which
computed them before, and still do for decimals), extremes included: floats near the limits
of the double range, subnormals, infinities, NaN, the largest integers."""

from __future__ import annotations

import decimal
import functools
import math
import operator
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from fti.statistics import _numeric, _sql, describe

EPS = 2.0**-52
TYPES: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "float64": (
        pa.float64(),
        st.one_of(st.floats(), st.sampled_from([1e308, -1e308, 5e-324, 2.0**-500, 2.0**500])),
    ),
    "float32": (pa.float32(), st.floats(width=32)),
    "int64": (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    "uint64": (pa.uint64(), st.integers(2**63, 2**64 - 1)),
    "int16": (pa.int16(), st.integers(-(2**15), 2**15 - 1)),
    "ts_ns": (pa.timestamp("ns"), st.integers(-(2**63) + 1, 2**63 - 1)),
    "ts_s_tz": (pa.timestamp("s", tz="UTC"), st.integers(-(6 * 10**10), 25 * 10**10)),
    "date32": (pa.date32(), st.integers(-719_162, 2_932_896)),
    # not whole days: DuckDB truncates toward zero
    "date64": (pa.date64(), st.integers(-(6 * 10**13), 25 * 10**13)),
}


@st.composite
def columns(draw: st.DrawFn) -> pa.Table:
    name = draw(st.sampled_from(sorted(TYPES)))
    typ, values = TYPES[name]
    cells = draw(st.lists(st.one_of(st.none(), values), max_size=40))
    return pa.table({name: pa.array(cells, typ)})


@settings(max_examples=400, deadline=None)
@given(columns())
def test_numpy_agrees_with_duckdb(table: pa.Table) -> None:
    name, typ = table.column_names[0], table.schema.types[0]
    ours = _numeric.describe_column(typ, table.column(0), histograms=True)
    theirs = _sql.describe_columns(table, histograms=True)[name]
    assert list(ours) == list(theirs)
    exact = ["non_finite_count", "count", "null_count", "distinct_count", "min", "max"]
    for key in [*exact, "histogram"]:
        assert ours.get(key) == theirs.get(key), key
    if "mean" not in theirs:
        return
    scale = max(abs(float(theirs["min"] or 0)), abs(float(theirs["max"] or 0)))
    # floats sum in row order on both sides; integers divide an exact sum (DuckDB in long
    # double arithmetic)
    _close(ours["mean"], theirs["mean"], 0 if typ.id == pa.float64().id else EPS)
    _close(ours["std"], theirs["std"], 1e-9, 64 * EPS * scale)
    ulp = 2.0**-23 if typ == pa.float32() else 2 * EPS  # DuckDB fuses the multiply-add
    for q, value in theirs["quantiles"].items():
        _close(ours["quantiles"][q], value, 0, ulp * scale)


def _close(a: float | None, b: float | None, rel: float, tolerance: float = 0.0) -> None:
    assert (a is None) == (b is None), (a, b)
    if a is not None and b is not None:
        assert math.isclose(a, b, rel_tol=rel, abs_tol=tolerance) or a == b, (a, b)


def test_decimals_go_to_duckdb() -> None:
    values = [decimal.Decimal("1.10"), None, decimal.Decimal("2.25"), decimal.Decimal("2.25")]
    stats = describe(pa.table({"d": pa.array(values, pa.decimal128(10, 2))}))["columns"]["d"]
    assert stats["kind"] == "numeric"
    assert (stats["count"], stats["null_count"], stats["distinct_count"]) == (3, 1, 2)
    assert (stats["min"], stats["max"], stats["quantiles"]["0.5"]) == (1.1, 2.25, 2.25)
    assert math.isclose(stats["mean"], 1.8666666666666667)
    assert stats["histogram"]["counts"] == [1] + [0] * 18 + [2]


def test_chunks_of_columns_describe_each_column() -> None:
    table = pa.table(
        {f"d{i}": pa.array([decimal.Decimal(i), None], pa.decimal128(5, 0)) for i in range(70)}
    )
    described = describe(table)["columns"]
    assert [described[f"d{i}"]["min"] for i in range(70)] == [float(i) for i in range(70)]


def test_float_means_sum_in_row_order() -> None:
    # cancellation makes the order of the additions visible in the result; DuckDB's own
    # order depends on how many threads scan the column, so the reference is the row order
    values = [1e16, 1.0, -1e16, 3.0, 1e-3] * 1_000
    ours = describe(pa.table({"x": values}))["columns"]["x"]["mean"]
    in_row_order = functools.reduce(operator.add, values)  # sum() compensates on 3.12+
    assert ours == in_row_order / len(values)
    mean = describe(pa.table({"x": [-0.0, -0.0]}))["columns"]["x"]["mean"]
    assert math.copysign(1.0, mean) == 1.0  # DuckDB's sum starts from +0.0


def test_temporal_extremes_read_as_duckdb_hands_them_to_python() -> None:
    cases = {
        "infinity": (pa.timestamp("us"), 2**63 - 1, "9999-12-31T23:59:59.999999"),
        "-infinity": (pa.timestamp("ns"), -(2**63) + 1, "0001-01-01T00:00:00"),
        "no infinity in seconds": (pa.timestamp("s"), 2**40, "36812-02-20 00:36:16"),
        "past year 9999": (
            pa.timestamp("us"),
            253_402_300_800_000_001,
            "10000-01-01 00:00:00.000001",
        ),
        "infinite date": (pa.date32(), 2**31 - 1, "9999-12-31"),
        "past year 9999, date": (pa.date32(), 3_000_000, "10183-09-21"),
    }
    for case, (typ, value, expected) in cases.items():
        stats = describe(pa.table({"t": pa.array([value], typ)}))["columns"]["t"]
        assert stats["min"] == stats["max"] == expected, case
