"""describe() agrees with a brute-force reference computed column by column in plain Python
(exact fractions for mean and standard deviation, NumPy for quantiles), on random tables of
every type it summarizes: nulls, NaN, infinities, all-null and constant columns, strings,
booleans, timestamps and dates."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from fti.statistics import describe

EPS = 2.0**-52
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
# Magnitudes where a square neither overflows nor underflows: beyond them the standard
# deviation follows DuckDB's overflows (test_duckdb_parity), not exact arithmetic.
FLOATS = st.one_of(
    st.floats(min_value=1e-100, max_value=1e100),
    st.floats(min_value=-1e100, max_value=-1e-100),
    st.sampled_from([0.0, -0.0, 1.0, math.nan, math.inf, -math.inf]),
)
TYPES: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "float64": (pa.float64(), FLOATS),
    "float32": (pa.float32(), st.floats(width=32, allow_subnormal=False)),
    "int64": (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    "int8": (pa.int8(), st.integers(-128, 127)),
    "uint64": (pa.uint64(), st.integers(0, 2**64 - 1)),
    "small": (pa.int32(), st.integers(-3, 3)),  # ties: repeated quantiles and histogram bins
    "bool": (pa.bool_(), st.booleans()),
    "string": (pa.string(), st.sampled_from(["a", "b", "B", "é", "", "ab", "😀"])),
    "text": (pa.large_string(), st.text(max_size=3)),
    "ts": (pa.timestamp("us"), st.integers(-(6 * 10**16), 25 * 10**16)),
    "ts_ms_utc": (pa.timestamp("ms", tz="UTC"), st.integers(-(6 * 10**13), 25 * 10**13)),
    # ±(2**63 - 1) are DuckDB's infinities (test_duckdb_parity)
    "ts_ns_tz": (pa.timestamp("ns", tz="America/New_York"), st.integers(-(2**63) + 2, 2**63 - 2)),
    "date32": (pa.date32(), st.integers(-719_162, 2_932_896)),
    "date64": (pa.date64(), st.integers(-719_162, 2_932_896).map(lambda d: d * 86_400_000)),
}


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.integers(0, 40))
    names = draw(st.lists(st.sampled_from(sorted(TYPES)), min_size=1, max_size=6))
    columns = {}
    for i, name in enumerate(names):
        typ, values = TYPES[name]
        nulls = draw(st.sampled_from([0.0, 0.2, 1.0]))  # none, some, all
        cells = draw(
            st.lists(
                st.one_of(st.none(), values) if nulls else values, min_size=rows, max_size=rows
            )
        )
        if nulls == 1.0:
            cells = [None] * rows
        columns[f"{name}_{i}"] = pa.array(cells, typ)
    table = pa.table(columns)
    if rows > 1 and draw(st.booleans()):  # two chunks, the second a slice at an offset
        split = draw(st.integers(1, rows - 1))
        table = pa.concat_tables([table.slice(0, split), table.slice(split)])
    return table


@settings(max_examples=300, deadline=None)
@given(tables(), st.booleans())
def test_describe_matches_a_per_column_reference(table: pa.Table, histograms: bool) -> None:
    described = describe(table, histograms=histograms)
    assert described["row_count"] == table.num_rows
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        check(described["columns"][name], column, histograms)


def check(stats: dict[str, Any], column: pa.Array, histograms: bool) -> None:
    typ = column.type
    assert stats["type"] == str(typ)
    present = [v for v in _values(column) if v is not None]
    if pa.types.is_floating(typ):
        finite = [v for v in present if math.isfinite(v)]
        assert stats["non_finite_count"] == len(present) - len(finite)
        present = finite
    assert stats["count"] == len(present)
    assert stats["null_count"] == column.null_count
    assert stats["distinct_count"] == len(set(present))
    if pa.types.is_boolean(typ) or pa.types.is_string(typ) or pa.types.is_large_string(typ):
        assert stats["kind"] == "categorical"
        if histograms:
            ranked = sorted(Counter(present).items(), key=lambda vc: (-vc[1], vc[0]))
            assert stats["top_values"] == [{"value": v, "count": c} for v, c in ranked[:10]]
        return
    if pa.types.is_timestamp(typ) or pa.types.is_date(typ):
        assert stats["kind"] == "temporal"
        assert stats["min"] == (_iso(typ, min(present)) if present else None)
        assert stats["max"] == (_iso(typ, max(present)) if present else None)
        return
    assert stats["kind"] == "numeric"
    assert stats["min"] == (min(present) if present else None)
    assert stats["max"] == (max(present) if present else None)
    if not present:
        assert stats["mean"] is stats["std"] is None
        assert set(stats["quantiles"].values()) == {None}
        return
    n, scale = len(present), max(abs(float(v)) for v in present)
    exact = Fraction(sum(Fraction(v) for v in present), n)
    assert math.isclose(stats["mean"], float(exact), rel_tol=0, abs_tol=2 * n * EPS * scale)
    if n == 1:
        assert stats["std"] is None
    else:
        std = math.sqrt(statistics.variance([Fraction(float(v)) for v in present]))
        assert math.isclose(stats["std"], std, rel_tol=1e-9, abs_tol=64 * EPS * scale)
    # float32 quantiles are floats again: one float32 rounding
    tolerance = (2.0**-23 if typ == pa.float32() else 4 * EPS) * scale
    expected = np.quantile(np.array(present, np.float64), QUANTILES)
    for q, want in zip(QUANTILES, expected.tolist(), strict=True):
        assert math.isclose(stats["quantiles"][str(q)], want, rel_tol=0, abs_tol=tolerance)
    if histograms:
        assert stats["histogram"] == _histogram([float(v) for v in present])


def _values(column: pa.Array) -> list[Any]:
    """Python values; temporal columns as the integers they hold (timestamps in nanoseconds
    would not fit a datetime), date64 as days."""
    if pa.types.is_timestamp(column.type) or pa.types.is_date64(column.type):
        raw = pc.cast(column, pa.int64()).to_pylist()
        if pa.types.is_date64(column.type):
            return [None if v is None else v // 86_400_000 for v in raw]
        return raw
    if pa.types.is_date32(column.type):
        return pc.cast(column, pa.int32()).to_pylist()
    return column.to_pylist()


def _iso(typ: pa.DataType, value: int) -> str:
    epoch = dt.datetime(1970, 1, 1)
    if pa.types.is_date(typ):
        return (epoch.date() + dt.timedelta(days=value)).isoformat()
    # to whole microseconds (a datetime's resolution), toward zero
    micros = {
        "s": value * 10**6,
        "ms": value * 10**3,
        "us": value,
        "ns": int(Fraction(value, 1000)),
    }
    moment = epoch + dt.timedelta(microseconds=micros[typ.unit])
    return (moment.replace(tzinfo=dt.UTC) if typ.tz else moment).isoformat()


def _histogram(values: list[float]) -> dict[str, Any]:
    """20 equal-width bins from min to max (one when they are equal), each value's bin
    computed on its own."""
    lo, hi = min(values), max(values)
    width = hi / 20 - lo / 20
    bins = 20 if hi > lo and 0 < width < math.inf else 1
    width = width if bins == 20 else 1.0
    counts = [0] * bins
    for x in values:
        counts[min(max(math.floor(x / width - lo / width), 0), bins - 1)] += 1
    edges = [lo * (1 - i / bins) + hi * (i / bins) for i in range(bins)] + [hi]
    return {"edges": edges, "counts": counts}


def test_a_wide_table_describes_each_column_as_if_alone() -> None:
    rng = np.random.default_rng(7)
    rows = 50
    columns: dict[str, pa.Array] = {}
    for i in range(300):
        mask = rng.random(rows) < 0.1
        kind = i % 4
        if kind == 0:
            columns[f"f{i}"] = pa.array(rng.normal(size=rows), mask=mask)
        elif kind == 1:
            columns[f"i{i}"] = pa.array(rng.integers(-5, 5, rows), mask=mask)
        elif kind == 2:
            columns[f"s{i}"] = pa.array(rng.integers(0, 9, rows).astype(str), mask=mask)
        else:
            columns[f"t{i}"] = pa.array(rng.integers(0, 10**12, rows), pa.timestamp("ms"))
    table = pa.table(columns)
    wide = describe(table)["columns"]
    for name in table.column_names:
        assert wide[name] == describe(table.select([name]))["columns"][name]
        check(wide[name], table.column(name).combine_chunks(), histograms=True)
