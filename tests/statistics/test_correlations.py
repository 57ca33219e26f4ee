"""The correlation matrix agrees with a brute-force Pearson correlation per pair of columns,
over the rows where both are finite; tiles of pairs do not change it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fti.statistics import _sql, describe

# magnitudes whose squares neither overflow nor underflow
CELLS = st.one_of(
    st.none(),
    st.floats(min_value=1e-6, max_value=1e6),
    st.floats(min_value=-1e6, max_value=-1e-6),
    st.sampled_from([math.nan, math.inf, 0.0, 1.0]),
)


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.integers(0, 30))
    width = draw(st.integers(1, 8))
    columns: dict[str, pa.Array] = {}
    for i in range(width):
        if draw(st.booleans()):
            cells = draw(
                st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=rows, max_size=rows)
            )
            columns[f"i{i}"] = pa.array(cells, pa.int64())
        else:
            cells = draw(st.lists(CELLS, min_size=rows, max_size=rows))
            columns[f"f{i}"] = pa.array(cells, pa.float64())
    columns["label"] = pa.array(["x"] * rows)  # not numeric: not in the matrix
    return pa.table(columns)


@settings(max_examples=200, deadline=None)
@given(tables())
def test_correlations_match_a_per_pair_reference(table: pa.Table) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_sql, "TILE", 3)  # several statements, some tiles on the diagonal
        result = describe(table, histograms=False, correlations=True)["correlations"]
    numeric = [n for n in table.column_names if n != "label"]
    assert result["columns"] == numeric
    for i, a in enumerate(numeric):
        for j, b in enumerate(numeric):
            got = result["matrix"][i][j]
            want = (
                1.0
                if i == j
                else _pearson(table.column(a).to_pylist(), table.column(b).to_pylist())
            )
            if want is None:
                assert got is None, (a, b)
            else:
                assert got is not None and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), (
                    a,
                    b,
                )


def _pearson(x: list[Any], y: list[Any]) -> float | None:
    pairs = [
        (float(u), float(v))
        for u, v in zip(x, y, strict=True)
        if u is not None and v is not None and math.isfinite(u) and math.isfinite(v)
    ]
    # undefined without pairs or when either side is constant over them
    if len({u for u, _ in pairs}) < 2 or len({v for _, v in pairs}) < 2:
        return None
    u, v = np.array(pairs).T
    du, dv = u - u.mean(), v - v.mean()
    return float(du @ dv / math.sqrt((du @ du) * (dv @ dv)))


def test_no_numeric_columns_no_matrix_entries() -> None:
    result = describe(pa.table({"s": ["a", "b"]}), correlations=True)["correlations"]
    assert result == {"columns": [], "matrix": []}
