"""Descriptive statistics hold for any float column, extremes included."""

from __future__ import annotations

import math

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from fti.statistics import describe

FLOATS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, -5e-324, 0.0, -0.0]),
)


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
