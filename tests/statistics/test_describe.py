"""Descriptive statistics hold for any float column, extremes included, and agree with Python's
``statistics`` module: the mean and the sample standard deviation of the finite values, and
the quantiles as ``quantile_cont`` defines them (position (n - 1)·q between the neighbouring
order statistics), which is ``statistics.quantiles(..., method="inclusive")``."""

from __future__ import annotations

import math
import statistics
import sys
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from fti.statistics import describe

FLOATS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, -5e-324, 0.0, -0.0]),
)
# Moderate values, with nulls and non-finite ones that every aggregate must leave out. Below
# 1e-100 a value is 0: where every value is that small, the documented arithmetic is DuckDB's
# streaming one, squares underflowing as they do there (fti/statistics/_numeric.py).
MODERATE = st.one_of(
    st.none(),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.floats(-1e6, 1e6).map(lambda x: x if abs(x) >= 1e-100 else 0.0),
    st.integers(-1000, 1000).map(float),
)
EPSILON = sys.float_info.epsilon
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)  # what describe reports


@settings(max_examples=200, deadline=None)
@given(st.lists(FLOATS, max_size=30))
def test_histogram_counts_every_finite_value(values: list[float | None]) -> None:
    stats = describe(pa.table({"x": pa.array(values, pa.float64())}))["columns"]["x"]
    finite = [v for v in values if v is not None and math.isfinite(v)]
    assert stats["count"] == len(finite)
    histogram = stats["histogram"]
    assert sum(histogram["counts"]) == len(finite)
    if finite:
        assert histogram["edges"][0] == min(finite) and histogram["edges"][-1] == max(finite)
        assert all(math.isfinite(e) for e in histogram["edges"])


def test_the_widest_range_does_not_overflow() -> None:
    stats = describe(pa.table({"x": [-1e308, 1e308, 0.0]}))["columns"]["x"]
    assert stats["histogram"]["counts"][0] == 1
    assert stats["histogram"]["counts"][-1] == 1
    assert sum(stats["histogram"]["counts"]) == 3


def reference(values: list[Any]) -> dict[str, Any]:
    """Mean, sample standard deviation and quantiles of the finite values, by ``statistics``."""
    kept = [v for v in values if v is not None and math.isfinite(v)]
    if not kept:
        return {"mean": None, "std": None, "quantiles": dict.fromkeys(map(str, QUANTILES))}
    if len(kept) == 1:
        points = [kept[0]] * len(QUANTILES)
    else:
        # the 99 cut points at 1/100 ... 99/100; each reported quantile is one of them
        cuts = statistics.quantiles(kept, n=100, method="inclusive")
        points = [cuts[round(q * 100) - 1] for q in QUANTILES]
    return {
        "mean": statistics.fmean(kept),
        "std": statistics.stdev(kept) if len(kept) > 1 else None,
        "quantiles": dict(zip(map(str, QUANTILES), points, strict=True)),
    }


def close(got: float | None, want: float | None, tolerance: float) -> bool:
    if got is None or want is None:
        return got is want
    return abs(got - want) <= tolerance


def check(stats: dict[str, Any], values: list[Any]) -> None:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    want = reference(values)
    largest = max((abs(v) for v in kept), default=0.0)
    n = max(len(kept), 1)
    # rounding: a float sum in row order, a two-pass deviation, a position (n - 1)·q in floats
    assert close(stats["mean"], want["mean"], 4 * n * EPSILON * largest), (stats, want)
    assert close(stats["std"], want["std"], 64 * n * EPSILON * largest), (stats, want)
    assert stats["quantiles"].keys() == want["quantiles"].keys()
    for q, point in want["quantiles"].items():
        assert close(stats["quantiles"][q], point, 8 * n * EPSILON * largest), (q, stats, want)


@settings(max_examples=300, deadline=None)
@given(st.lists(MODERATE, max_size=40))
def test_floats_match_the_statistics_module(values: list[float | None]) -> None:
    column = describe(pa.table({"x": pa.array(values, pa.float64())}))["columns"]["x"]
    check(column, values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-(10**9), 10**9)), max_size=40))
def test_integers_match_the_statistics_module(values: list[int | None]) -> None:
    column = describe(pa.table({"x": pa.array(values, pa.int64())}))["columns"]["x"]
    check(column, values)
    kept = [v for v in values if v is not None]
    if kept:  # the exact sum divided by the count: correctly rounded, as fmean's
        assert column["mean"] == statistics.fmean(kept)
