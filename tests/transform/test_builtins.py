"""Built-in model-dependent transformations and the Pipeline: the fitted state against
brute-force references, the row path equal to the column path, missing and unseen values,
pipeline semantics and errors."""

from __future__ import annotations

import json
import math
import statistics
import struct
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fti
from fti import builtins
from fti.transform import Pipeline, UdfTransform
from fti.transform.builtins import Builtin, from_reference
from fti.transform.mdt import ModelTransform

PROPERTY = settings(max_examples=60, deadline=None)
REFERENCE = settings(max_examples=80, deadline=None)

Rows = list[dict[str, Any]]
Make = Callable[[str], Builtin]

# -- UDFs (module level: their source is read with inspect) -------------------------------------


@fti.udf(float)
def z(amount, statistics):  # type: ignore[no-untyped-def]
    return (amount - statistics.amount.mean) / statistics.amount.std


@fti.udf({"total": float, "big": bool}, drop="price")
def order_total(price, qty):  # type: ignore[no-untyped-def]
    total = price * qty
    return {"total": total, "big": total > 100}


# -- helpers ------------------------------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Equal values of the same type; floats NaN-aware and with the sign of zero."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return struct.pack("<d", a) == struct.pack("<d", b)
    return type(a) is type(b) and a == b


def both_paths(pipeline: Pipeline, states: Sequence[Any], table: pa.Table) -> tuple[Rows, Rows]:
    """The column path (``apply``) and the row path (``row_runner`` on every row dict)."""
    columns = pipeline.apply(table, states).to_pylist()
    run = pipeline.row_runner(table.schema, states)
    rows = table.to_pylist()
    for row in rows:
        run(row)  # in place
    return columns, rows


def assert_same_rows(columns: Rows, rows: Rows) -> None:
    assert len(columns) == len(rows)
    for c, r in zip(columns, rows, strict=True):
        assert c.keys() == r.keys()
        differ = {k: (c[k], r[k]) for k in c if not same(c[k], r[k])}
        assert not differ, f"column path != row path (column, row): {differ}"


def fitted(transform: ModelTransform, train: pa.Table) -> dict[str, Any]:
    [state] = Pipeline([transform]).fit(train)
    return state


def column(values: Sequence[Any], typ: pa.DataType | None = None) -> pa.Table:
    """A table with the tested column ``a`` between two pass-through columns."""
    return pa.table(
        {
            "id": pa.array(range(len(values)), pa.int64()),
            "a": pa.array(values, typ),
            "tag": pa.array([f"r{i}" for i in range(len(values))], pa.string()),
        }
    )


def finite(values: Sequence[Any]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def tolerance(x: Sequence[float]) -> float:
    """An absolute tolerance for rounding in a sum over ``x`` (far above n * eps * max)."""
    return 1e-12 * max(abs(v) for v in x)


# -- strategies ---------------------------------------------------------------------------------

SPECIAL = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0])
ANY_FLOATS = st.one_of(st.none(), SPECIAL, st.floats())
# Fitting is exercised on finite magnitudes far from the overflow limit (see the edge-case tests
# near the end for what happens close to it); applying gets every float.
TRAIN_FLOATS = st.one_of(st.none(), SPECIAL, st.floats(-1e150, 1e150))
FINITE_TRAIN = st.floats(-1e150, 1e150)
INTS = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63)]),
)

# For the references: no subnormal-scale spreads, so that a two-pass float algorithm and an
# exact one agree within ``tolerance``.
REFERENCE_FINITE = st.one_of(
    st.floats(1e-6, 1e9),
    st.floats(-1e9, -1e-6),
    st.integers(-1000, 1000).map(float),
)
REFERENCE_FLOATS = st.one_of(st.none(), SPECIAL, REFERENCE_FINITE)


@st.composite
def numeric_tables(draw: st.DrawFn) -> tuple[pa.Table, pa.Table]:
    """A train table with at least one finite value and another table to apply to."""
    if draw(st.booleans()):
        typ, train, test, one = pa.float64(), TRAIN_FLOATS, ANY_FLOATS, FINITE_TRAIN
    else:
        typ, train, test, one = pa.int64(), INTS, INTS, st.integers(-(2**63), 2**63 - 1)
    values = draw(st.lists(train, max_size=25))
    values.insert(draw(st.integers(0, len(values))), draw(one))
    return column(values, typ), column(draw(st.lists(test, max_size=25)), typ)


@st.composite
def reference_columns(draw: st.DrawFn) -> tuple[list[Any], pa.Table]:
    """Raw values (at least one finite) and their table, float64 or int64."""
    if draw(st.booleans()):
        typ, values, one = pa.float64(), REFERENCE_FLOATS, REFERENCE_FINITE
    else:
        big = st.integers(-(2**62), 2**62)
        typ, values, one = pa.int64(), st.one_of(st.none(), st.integers(-50, 50), big), big
    raw = draw(st.lists(values, max_size=30))
    raw.insert(draw(st.integers(0, len(raw))), draw(one))
    return raw, column(raw, typ)


CATEGORIES: dict[str, tuple[pa.DataType, Any, Any, Any]] = {
    # type, train values, test values (with unseen ones), a constant of that type
    "string": (
        pa.string(),
        st.sampled_from(["a", "b", "c", "", "é"]),
        st.one_of(st.sampled_from(["a", "b", "c", "", "é", "d"]), st.text(max_size=2)),
        "zz",
    ),
    "int64": (
        pa.int64(),
        st.one_of(st.integers(-3, 3), st.sampled_from([2**63 - 1, -(2**63)])),
        st.one_of(st.integers(-6, 6), st.sampled_from([2**63 - 1, -(2**63), 2**53 + 1])),
        2**63 - 1,
    ),
    "bool": (pa.bool_(), st.booleans(), st.booleans(), False),
}


@st.composite
def categorical_tables(draw: st.DrawFn) -> tuple[pa.Table, pa.Table, Any]:
    kind = draw(st.sampled_from(sorted(CATEGORIES)))
    typ, train, test, constant = CATEGORIES[kind]
    # at least one non-null value, so that the mode imputer can fit
    values = draw(st.lists(st.one_of(st.none(), train), max_size=25))
    values.insert(draw(st.integers(0, len(values))), draw(train))
    applied = draw(st.lists(st.one_of(st.none(), test), max_size=25))
    return column(values, typ), column(applied, typ), constant


NUMERIC: dict[str, Make] = {
    "standard_scaler": builtins.standard_scaler,
    "min_max_scaler": builtins.min_max_scaler,
    "robust_scaler": builtins.robust_scaler,
    "log_transform": builtins.log_transform,
    "log_transform_offset": lambda c: builtins.log_transform(c, offset=-0.5),
    "quantile_binner": lambda c: builtins.quantile_binner(c, bins=5),
    "equal_width_binner": lambda c: builtins.equal_width_binner(c, bins=3),
    "mean_imputer": builtins.mean_imputer,
    "median_imputer": builtins.median_imputer,
    "mode_imputer": builtins.mode_imputer,
    "constant_imputer": lambda c: builtins.constant_imputer(c, 7),
}

CATEGORICAL: dict[str, Callable[[str, Any], Builtin]] = {
    "label_encoder": lambda c, _: builtins.label_encoder(c),
    "one_hot_encoder": lambda c, _: builtins.one_hot_encoder(c),
    "mode_imputer": lambda c, _: builtins.mode_imputer(c),
    "constant_imputer": builtins.constant_imputer,
}


# -- 1. fitted state against brute-force references ---------------------------------------------


@REFERENCE
@given(reference_columns())
def test_standard_scaler_fits_mean_and_population_std(data: tuple[list[Any], pa.Table]) -> None:
    raw, table = data
    x, state = finite(raw), fitted(builtins.standard_scaler("a"), table)
    tol = tolerance(x)
    assert math.isclose(state["center"], statistics.fmean(x), rel_tol=1e-12, abs_tol=tol)
    std = statistics.pstdev(x)
    if std > tol:  # else constant up to rounding: see the constant-column tests
        assert math.isclose(state["scale"], std, rel_tol=1e-9, abs_tol=tol)
    assert state["scale"] > 0


@REFERENCE
@given(st.integers(-(10**6), 10**6), st.integers(1, 40))
def test_scalers_map_an_exactly_constant_column_to_zero(value: int, n: int) -> None:
    table = column([float(value)] * n + [None, math.nan])
    for make in (builtins.standard_scaler, builtins.min_max_scaler, builtins.robust_scaler):
        pipeline = Pipeline([make("a")])
        states = pipeline.fit(table)
        assert states[0] == {"center": float(value), "scale": 1.0}
        columns, rows = both_paths(pipeline, states, table)
        assert [r["a"] for r in columns] == [0.0] * n + [None, None]
        assert_same_rows(columns, rows)


@REFERENCE
@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(1, 40))
def test_min_max_and_robust_scalers_take_scale_1_on_any_constant_column(
    value: float, n: int
) -> None:
    table = column([value] * n)
    for make in (builtins.min_max_scaler, builtins.robust_scaler):
        state = fitted(make("a"), table)
        assert state == {"center": value, "scale": 1.0}  # center: 0.0 == -0.0 too


@REFERENCE
@given(reference_columns())
def test_min_max_scaler_fits_min_and_range(data: tuple[list[Any], pa.Table]) -> None:
    raw, table = data
    x = finite(raw)
    lo, hi = min(x), max(x)
    assert fitted(builtins.min_max_scaler("a"), table) == {
        "center": lo,
        "scale": hi - lo if hi > lo else 1.0,
    }


@REFERENCE
@given(reference_columns())
def test_robust_scaler_fits_median_and_iqr(data: tuple[list[Any], pa.Table]) -> None:
    raw, table = data
    x = finite(raw)
    state = fitted(builtins.robust_scaler("a"), table)
    assert math.isclose(state["center"], statistics.median(x), rel_tol=1e-12, abs_tol=0.0)
    q25, q75 = (float(q) for q in np.quantile(x, [0.25, 0.75]))
    assert state["scale"] == (q75 - q25 if q75 > q25 else 1.0)


@REFERENCE
@given(reference_columns(), st.integers(2, 8))
def test_quantile_binner_cuts_at_the_quantiles(data: tuple[list[Any], pa.Table], bins: int) -> None:
    raw, table = data
    x = finite(raw)
    cuts = fitted(builtins.quantile_binner("a", bins), table)["cuts"]
    expected = sorted({float(q) for q in np.quantile(x, [i / bins for i in range(1, bins)])})
    assert cuts == expected
    assert len(cuts) <= bins - 1 and all(min(x) <= c <= max(x) for c in cuts)


@REFERENCE
@given(reference_columns(), st.integers(2, 8))
def test_equal_width_binner_cuts_at_equal_widths(
    data: tuple[list[Any], pa.Table], bins: int
) -> None:
    raw, table = data
    x = finite(raw)
    lo, hi = min(x), max(x)
    cuts = fitted(builtins.equal_width_binner("a", bins), table)["cuts"]
    width = (hi - lo) / bins
    assert cuts == (sorted({lo + i * width for i in range(1, bins)}) if hi > lo else [])
    assert cuts == sorted(set(cuts)) and all(lo <= c <= hi for c in cuts)
    if cuts and len(cuts) == bins - 1:
        gaps = np.diff([lo, *cuts, hi])
        assert np.allclose(gaps, width, rtol=1e-9, atol=tolerance(x))


@REFERENCE
@given(categorical_tables())
def test_encoders_fit_the_sorted_non_null_categories(
    data: tuple[pa.Table, pa.Table, Any],
) -> None:
    train, _, _ = data
    raw = train.column("a").to_pylist()
    expected = sorted({v for v in raw if v is not None})
    assert fitted(builtins.label_encoder("a"), train) == {"categories": expected}
    assert fitted(builtins.one_hot_encoder("a"), train) == {"categories": expected}


@REFERENCE
@given(reference_columns())
def test_mean_and_median_imputers_fit_on_finite_values(data: tuple[list[Any], pa.Table]) -> None:
    raw, table = data
    x = finite(raw)
    mean = fitted(builtins.mean_imputer("a"), table)["value"]
    median = fitted(builtins.median_imputer("a"), table)["value"]
    assert math.isclose(mean, statistics.fmean(x), rel_tol=1e-12, abs_tol=tolerance(x))
    assert math.isclose(median, statistics.median(x), rel_tol=1e-12, abs_tol=0.0)


def mode_reference(raw: Sequence[Any]) -> Any:
    # nulls, NaN and infinities excluded; -0.0 == 0.0 counts as one value
    counts = Counter(
        v + 0.0 if isinstance(v, float) else v  # the mode of [-0.0] is 0.0
        for v in raw
        if v is not None and v == v and not (isinstance(v, float) and math.isinf(v))
    )
    best = max(counts.values())
    return min(v for v, c in counts.items() if c == best)


@REFERENCE
@given(
    st.one_of(
        categorical_tables().map(lambda t: t[0]),
        reference_columns().map(lambda t: t[1]),
        st.lists(st.sampled_from([1.5, 2.5, -3.0, math.inf, math.nan, None]), min_size=1)
        .filter(lambda v: any(x is not None and math.isfinite(x) for x in v))
        .map(column),
    )
)
def test_mode_imputer_fits_the_most_frequent_value_smallest_on_a_tie(table: pa.Table) -> None:
    raw = table.column("a").to_pylist()
    state = fitted(builtins.mode_imputer("a"), table)
    assert same(state["value"], mode_reference(raw)), (state, raw)


@pytest.mark.parametrize(
    ("values", "typ", "fill"),
    [([1.0, None], pa.float64(), 2.5), ([1, None], pa.int64(), -7), (["x", None], None, "y")],
)
def test_constant_imputer_state_is_its_value(values: list[Any], typ: Any, fill: Any) -> None:
    table = column(values, typ)
    pipeline = Pipeline([builtins.constant_imputer("a", fill)])
    states = pipeline.fit(table)
    assert states == [{"value": fill}]
    columns, rows = both_paths(pipeline, states, table)
    assert [r["a"] for r in columns] == [values[0], fill]
    assert_same_rows(columns, rows)


# -- 2. the row path equals the column path, exactly --------------------------------------------


def check_paths(pipeline: Pipeline, train: pa.Table, test: pa.Table) -> None:
    """Fit on ``train``, store the state as JSON, apply to ``test`` on both paths."""
    states = pipeline.fit(train)
    stored = json.loads(json.dumps(states))  # as a training dataset stores it
    assert stored == states
    columns, rows = both_paths(pipeline, stored, test)
    assert_same_rows(columns, rows)
    assert pipeline.schema(test.schema, stored) == pipeline.apply(test, stored).schema


@pytest.mark.parametrize("make", NUMERIC.values(), ids=NUMERIC.keys())
@PROPERTY
@given(numeric_tables())
def test_numeric_builtins_same_on_both_paths(make: Make, tables: tuple[pa.Table, pa.Table]) -> None:
    train, test = tables
    check_paths(Pipeline([make("a")]), train, test)


@pytest.mark.parametrize("make", CATEGORICAL.values(), ids=CATEGORICAL.keys())
@PROPERTY
@given(categorical_tables())
def test_categorical_builtins_same_on_both_paths(
    make: Callable[[str, Any], Builtin], tables: tuple[pa.Table, pa.Table, Any]
) -> None:
    train, test, constant = tables
    check_paths(Pipeline([make("a", constant)]), train, test)


CITIES = st.one_of(st.none(), st.sampled_from(["x", "y", "z"]))


@PROPERTY
@given(numeric_tables(), st.data())
def test_a_mixed_pipeline_same_on_both_paths(
    tables: tuple[pa.Table, pa.Table], data: st.DataObject
) -> None:
    def with_city(table: pa.Table) -> pa.Table:
        n = table.num_rows
        cities = data.draw(st.lists(CITIES, min_size=n, max_size=n))
        return table.append_column("c", pa.array(cities, pa.string()))

    train, test = (with_city(t) for t in tables)
    pipeline = Pipeline(
        [
            builtins.median_imputer("a"),
            builtins.robust_scaler("a"),
            builtins.one_hot_encoder("c"),
            builtins.quantile_binner("a", 3),
            builtins.label_encoder("tag"),
        ]
    )
    check_paths(pipeline, train, test)


# -- 3. documented behaviour of missing and unseen values ---------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        builtins.standard_scaler,
        builtins.min_max_scaler,
        builtins.robust_scaler,
        builtins.log_transform,
        builtins.quantile_binner,
        builtins.equal_width_binner,
    ],
)
def test_scalers_log_and_binners_keep_null_and_nan_as_null(make: Make) -> None:
    pipeline = Pipeline([make("a")])
    states = pipeline.fit(column([1.0, 2.0, 3.0, 4.0, None, math.nan]))
    test = column([None, math.nan, 2.0])
    columns, rows = both_paths(pipeline, states, test)
    assert [r["a"] for r in columns][:2] == [None, None]
    assert columns[2]["a"] is not None
    assert_same_rows(columns, rows)


def test_label_encoder_maps_null_and_unseen_to_the_reserved_index() -> None:
    pipeline = Pipeline([builtins.label_encoder("a")])
    states = pipeline.fit(column(["b", None, "a", "b"]))
    assert states == [{"categories": ["a", "b"]}]
    columns, rows = both_paths(pipeline, states, column(["a", None, "zz", "b", ""]))
    assert [r["a"] for r in columns] == [0, 2, 2, 1, 2]
    assert_same_rows(columns, rows)
    assert pipeline.apply(column(["a"]), states).schema.field("a").type == pa.int64()


def test_one_hot_encoder_maps_null_and_unseen_to_all_false() -> None:
    pipeline = Pipeline([builtins.one_hot_encoder("a")])
    states = pipeline.fit(column([3, 1, None, 3], pa.int64()))
    assert states == [{"categories": [1, 3]}]
    columns, rows = both_paths(pipeline, states, column([1, None, 2, 3], pa.int64()))
    assert [(r["a_1"], r["a_3"]) for r in columns] == [
        (True, False),
        (False, False),
        (False, False),
        (False, True),
    ]
    assert_same_rows(columns, rows)


@pytest.mark.parametrize(
    ("make", "fill"),
    [
        (builtins.mean_imputer, 2.0),
        (builtins.median_imputer, 1.0),  # inf is not finite: median of [1, 1, 4]
        (builtins.mode_imputer, 1.0),
        (lambda c: builtins.constant_imputer(c, -1.0), -1.0),
    ],
)
def test_imputers_fill_null_and_nan(make: Make, fill: float) -> None:
    pipeline = Pipeline([make("a")])
    states = pipeline.fit(column([1.0, 1.0, 4.0, None, math.nan, math.inf]))
    columns, rows = both_paths(pipeline, states, column([None, math.nan, 5.0, -math.inf]))
    assert [r["a"] for r in columns] == [fill, fill, 5.0, -math.inf]
    assert_same_rows(columns, rows)


def test_imputers_fill_integer_and_string_columns() -> None:
    ints = column([1, 2, 2, None], pa.int64())
    pipeline = Pipeline([builtins.mode_imputer("a")])
    columns, rows = both_paths(pipeline, pipeline.fit(ints), ints)
    assert [r["a"] for r in columns] == [1, 2, 2, 2]
    assert_same_rows(columns, rows)
    assert pipeline.apply(ints, pipeline.fit(ints)).schema.field("a").type == pa.int64()
    pipeline = Pipeline([builtins.mean_imputer("a")])  # a mean makes the column float64
    columns, rows = both_paths(pipeline, pipeline.fit(ints), ints)
    assert [r["a"] for r in columns] == [1.0, 2.0, 2.0, 5 / 3]
    assert_same_rows(columns, rows)
    strings = column(["b", "a", None, "b"])
    pipeline = Pipeline([builtins.mode_imputer("a")])
    columns, rows = both_paths(pipeline, pipeline.fit(strings), strings)
    assert [r["a"] for r in columns] == ["b", "a", "b", "b"]
    assert_same_rows(columns, rows)


@pytest.mark.parametrize(
    ("offset", "values", "expected"),
    [
        (1.0, [-1.0, -2.0, -math.inf, 0.0, math.e - 1, math.inf], [None, None, None, 0.0, 1.0]),
        (0.0, [0.0, -0.0, -1e-300, 1.0, math.e, math.inf], [None, None, None, 0.0, 1.0]),
        (-0.5, [0.5, 0.25, 1.5, math.e + 0.5, math.inf], [None, None, math.log(1.0), 1.0]),
    ],
)
def test_log_transform_is_null_where_x_plus_offset_is_not_positive(
    offset: float, values: list[float], expected: list[float | None]
) -> None:
    pipeline = Pipeline([builtins.log_transform("a", offset)])
    states = pipeline.fit(column(values))
    columns, rows = both_paths(pipeline, states, column(values))
    out = [r["a"] for r in columns]
    assert out[-1] == math.inf  # log(inf)
    assert len(out[:-1]) == len(expected)
    for got, want in zip(out[:-1], expected, strict=True):
        assert got is None if want is None else math.isclose(got, want, abs_tol=1e-15)
    assert_same_rows(columns, rows)


# -- 4. pipeline semantics ----------------------------------------------------------------------


@REFERENCE
@given(reference_columns().filter(lambda t: t[1].column("a").type == pa.float64()))
def test_steps_are_fitted_on_the_output_of_the_steps_before(
    data: tuple[list[Any], pa.Table],
) -> None:
    raw, table = data
    states = Pipeline([builtins.mean_imputer("a"), builtins.standard_scaler("a")]).fit(table)
    mean = statistics.fmean(finite(raw))
    imputed = finite([mean if v is None or math.isnan(v) else v for v in raw])
    tol = tolerance(imputed)
    assert math.isclose(states[0]["value"], mean, rel_tol=1e-12, abs_tol=tol)
    assert math.isclose(states[1]["center"], statistics.fmean(imputed), rel_tol=1e-12, abs_tol=tol)
    std = statistics.pstdev(imputed)
    if std > tol:
        assert math.isclose(states[1]["scale"], std, rel_tol=1e-9, abs_tol=tol)


def test_sequential_fit_differs_from_fitting_each_step_alone() -> None:
    table = column([0.0, 4.0, None, None])  # mean 2, population std 2; imputed: std sqrt(2)
    states = Pipeline([builtins.mean_imputer("a"), builtins.standard_scaler("a")]).fit(table)
    assert states == [{"value": 2.0}, {"center": 2.0, "scale": math.sqrt(2.0)}]
    assert fitted(builtins.standard_scaler("a"), table) == {"center": 2.0, "scale": 2.0}


def orders() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "price": pa.array([10.0, None, 30.0, 50.0], pa.float64()),
            "city": pa.array(["rome", "oslo", None, "rome"], pa.string()),
            "qty": pa.array([1, 20, 3, None], pa.int64()),
        }
    )


def test_one_hot_replaces_the_column_in_place_and_a_udf_appends_and_drops() -> None:
    pipeline = Pipeline(
        [
            builtins.one_hot_encoder("city"),
            UdfTransform(order_total),
            builtins.standard_scaler("qty"),
        ]
    )
    table = orders()
    states = pipeline.fit(table)
    assert states[1] == {}  # a UDF without statistics has no state
    out = pipeline.apply(table, states)
    assert out.column_names == ["id", "city_oslo", "city_rome", "qty", "total", "big"]
    assert out.schema == pipeline.schema(table.schema, states)
    assert [f.type for f in out.schema] == [
        pa.int64(),
        pa.bool_(),
        pa.bool_(),
        pa.float64(),
        pa.float64(),
        pa.bool_(),
    ]
    assert out.column("total").to_pylist() == [10.0, None, 90.0, None]
    assert out.column("big").to_pylist() == [False, False, False, False]
    assert out.column("city_rome").to_pylist() == [True, False, False, True]
    columns, rows = both_paths(pipeline, states, table)
    assert_same_rows(columns, rows)


def test_in_place_builtins_keep_the_column_position() -> None:
    table = orders()
    pipeline = Pipeline([builtins.label_encoder("city"), builtins.min_max_scaler("price")])
    states = pipeline.fit(table)
    out = pipeline.apply(table, states)
    assert out.column_names == table.column_names
    assert out.schema == pipeline.schema(table.schema, states)
    assert out.column("city").to_pylist() == [1, 0, 2, 1]
    assert out.column("price").to_pylist() == [0.0, None, 0.5, 1.0]


def test_udf_statistics_are_keyed_by_parameter_name() -> None:
    # "amount" is also a column here, with other values: the UDF must see other_col's
    train = pa.table(
        {
            "amount": pa.array([1000.0, 2000.0, 3000.0, 4000.0, 5000.0]),
            "other_col": pa.array([1.0, 2.0, 4.0, None, 9.0]),
        }
    )
    pipeline = Pipeline([UdfTransform(z("other_col"))])
    states = pipeline.fit(train)
    stats = states[0]["statistics"]
    assert list(stats) == ["amount"]
    assert math.isclose(stats["amount"]["mean"], statistics.fmean([1.0, 2.0, 4.0, 9.0]))
    assert math.isclose(stats["amount"]["std"], statistics.stdev([1.0, 2.0, 4.0, 9.0]))  # sample
    assert stats["amount"]["count"] == 4 and stats["amount"]["null_count"] == 1
    stored = json.loads(json.dumps(states))
    out = pipeline.apply(train, stored)
    assert out.column_names == ["amount", "other_col", "z"]
    mean, std = stats["amount"]["mean"], stats["amount"]["std"]
    expected = [None if v is None else (v - mean) / std for v in [1.0, 2.0, 4.0, None, 9.0]]
    got = out.column("z").to_pylist()
    assert got[3] is None
    assert all(math.isclose(g, e) for g, e in zip(got, expected, strict=True) if e is not None)
    columns, rows = both_paths(pipeline, stored, train)
    assert_same_rows(columns, rows)


def test_state_is_json_and_survives_a_round_trip() -> None:
    table = orders()
    pipeline = Pipeline(
        [
            builtins.mean_imputer("price"),
            builtins.standard_scaler("price"),
            builtins.robust_scaler("qty"),
            builtins.quantile_binner("qty", 3),
            builtins.one_hot_encoder("city"),
            UdfTransform(z("id")),
        ]
    )
    states = pipeline.fit(table)
    text = json.dumps(states, allow_nan=False)
    stored = json.loads(text)
    assert stored == states
    assert pipeline.apply(table, stored) == pipeline.apply(table, states)
    columns, rows = both_paths(pipeline, stored, table)
    assert_same_rows(columns, rows)


# -- 5. errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "name", "values", "match"),
    [
        (builtins.standard_scaler, "city", ["x"], r"standard_scaler\('city'\).*city is string"),
        (builtins.quantile_binner, "city", ["x"], r"numeric column; city is string"),
        (builtins.label_encoder, "price", [1.5], r"label_encoder\('price'\).*price is double"),
        (builtins.one_hot_encoder, "price", [1.5], r"price is double"),
        (
            lambda c: builtins.constant_imputer(c, "x"),
            "price",
            [1.5],
            r"'x' is not a double.*price",
        ),
    ],
)
def test_a_wrong_column_type_is_a_transformation_error_naming_the_column(
    make: Make, name: str, values: list[Any], match: str
) -> None:
    with pytest.raises(fti.TransformationError, match=match):
        Pipeline([make(name)]).fit(pa.table({name: values}))


@pytest.mark.parametrize(
    "make",
    [
        builtins.standard_scaler,
        builtins.min_max_scaler,
        builtins.robust_scaler,
        builtins.quantile_binner,
        builtins.equal_width_binner,
        builtins.mean_imputer,
        builtins.median_imputer,
    ],
)
def test_fitting_without_finite_values_is_an_error(make: Make) -> None:
    table = column([None, math.nan, math.inf, -math.inf], pa.float64())
    with pytest.raises(fti.TransformationError, match=r"no finite values"):
        Pipeline([make("a")]).fit(table)
    with pytest.raises(fti.TransformationError, match=r"no finite values"):
        Pipeline([make("a")]).fit(column([], pa.float64()))


def test_mode_imputer_on_only_nulls_is_an_error() -> None:
    with pytest.raises(fti.TransformationError, match=r"only nulls"):
        Pipeline([builtins.mode_imputer("a")]).fit(column([None, math.nan], pa.float64()))


def test_a_state_of_the_wrong_length_is_an_error() -> None:
    table = column([1.0, 2.0])
    pipeline = Pipeline([builtins.standard_scaler("a")])
    states = pipeline.fit(table)
    for wrong in ([], states * 2):
        with pytest.raises(fti.TransformationError, match=r"state has \d step\(s\) for 1"):
            pipeline.apply(table, wrong)
        with pytest.raises(fti.TransformationError, match=r"state has \d step\(s\) for 1"):
            pipeline.row_runner(table.schema, wrong)
        with pytest.raises(fti.TransformationError, match=r"state has \d step\(s\) for 1"):
            pipeline.schema(table.schema, wrong)


def test_missing_input_column_and_output_clash_are_errors() -> None:
    with pytest.raises(fti.TransformationError, match=r"reads column\(s\) \['nope'\]"):
        Pipeline([builtins.standard_scaler("nope")]).fit(column([1.0]))
    clash = pa.table({"c": ["x", "y"], "c_x": [1, 2]})
    with pytest.raises(fti.TransformationError, match=r"outputs \['c_x'\]"):
        Pipeline([builtins.one_hot_encoder("c")]).fit(clash)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: builtins.quantile_binner("a", bins=1), "bins >= 2"),
        (lambda: builtins.equal_width_binner("a", bins=0), "bins >= 2"),
        (lambda: builtins.quantile_binner("a", bins=True), "bins >= 2"),
        (lambda: builtins.quantile_binner("a", bins=2.5), "bins >= 2"),  # type: ignore[arg-type]
        (lambda: builtins.log_transform("a", offset=float("nan")), "finite number"),
        (lambda: builtins.log_transform("a", offset=math.inf), "finite number"),
        (lambda: builtins.log_transform("a", offset="1"), "finite number"),  # type: ignore[arg-type]
        (lambda: builtins.constant_imputer("a", None), "not None"),
        (lambda: builtins.standard_scaler(""), "takes a column name"),
    ],
)
def test_bad_parameters_are_fti_errors(make: Callable[[], Any], match: str) -> None:
    with pytest.raises(fti.FtiError, match=match):
        make()


REFERENCED: list[Builtin] = [
    builtins.standard_scaler("a"),
    builtins.min_max_scaler("a"),
    builtins.robust_scaler("a"),
    builtins.log_transform("a", offset=2.5),
    builtins.quantile_binner("a", bins=3),
    builtins.equal_width_binner("a", bins=6),
    builtins.mean_imputer("a"),
    builtins.median_imputer("a"),
    builtins.mode_imputer("a"),
    builtins.constant_imputer("a", -4.0),
]


@pytest.mark.parametrize("transform", REFERENCED, ids=repr)
def test_from_reference_rebuilds_an_equal_transformation(transform: Builtin) -> None:
    reference = json.loads(json.dumps(transform.reference()))  # as a feature view records it
    rebuilt = from_reference(reference)
    assert type(rebuilt) is type(transform) and rebuilt.reference() == transform.reference()
    train = column([3.0, None, 1.0, 7.5, 1.0, math.nan, 12.0])
    test = column([0.0, 1.0, None, 100.0, -3.0, 7.5])
    original, again = Pipeline([transform]), Pipeline([rebuilt])
    states = original.fit(train)
    assert again.fit(train) == states
    assert again.apply(test, states) == original.apply(test, states)


@pytest.mark.parametrize("make", [builtins.label_encoder, builtins.one_hot_encoder])
def test_from_reference_rebuilds_the_encoders(make: Make) -> None:
    transform = make("a")
    rebuilt = from_reference(json.loads(json.dumps(transform.reference())))
    train, test = column(["b", "a", None]), column(["a", "c", None, "b"])
    states = Pipeline([transform]).fit(train)
    assert Pipeline([rebuilt]).fit(train) == states
    assert Pipeline([rebuilt]).apply(test, states) == Pipeline([transform]).apply(test, states)


def test_an_unknown_builtin_is_an_error() -> None:
    with pytest.raises(fti.FtiError, match=r"unknown built-in transformation 'whitening'"):
        from_reference({"builtin": "whitening", "inputs": ["a"], "params": {}})


# -- edge cases that once failed -------------------------------------------------------------


def test_standard_scaler_maps_a_constant_column_to_zero() -> None:
    table = column([0.1, 0.1, 0.1])
    pipeline = Pipeline([builtins.standard_scaler("a")])
    states = pipeline.fit(table)
    assert states[0]["scale"] == 1.0
    assert pipeline.apply(table, states).column("a").to_pylist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("make", "values", "state", "test", "expected"),
    [
        (
            builtins.standard_scaler,
            [1.7e308, 1.7e308],
            {"center": 1.7e308, "scale": 1.0},
            [1.7e308, math.inf],
            [0.0, math.inf],
        ),
        (
            builtins.standard_scaler,
            [-1e200, 1e200],
            {"center": 0.0, "scale": 1e200},
            [1e200, math.inf],
            [1.0, math.inf],
        ),
        (
            builtins.mean_imputer,
            [1.7e308, 1.7e308],
            {"value": 1.7e308},
            [None, 1.0],
            [1.7e308, 1.0],
        ),
    ],
)
def test_fitting_near_the_float_limits(
    make: Make, values: list[float], state: Any, test: list[Any], expected: list[Any]
) -> None:
    pipeline = Pipeline([make("a")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the values are the point here
        states = pipeline.fit(column(values))
        assert states == [state]
        columns, rows = both_paths(pipeline, states, column(test, pa.float64()))
    assert [r["a"] for r in columns] == expected
    assert_same_rows(columns, rows)


@pytest.mark.parametrize(
    "make", [builtins.standard_scaler, builtins.min_max_scaler, builtins.robust_scaler]
)
def test_scalers_overflow_to_inf_without_warnings(make: Make) -> None:
    pipeline = Pipeline([make("a")])
    states = pipeline.fit(column([0.0, 1e-100]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        columns, rows = both_paths(pipeline, states, column([1e300, -1e300]))
    assert [r["a"] for r in rows] == [math.inf, -math.inf]
    assert_same_rows(columns, rows)


def test_mode_imputer_counts_zero_and_negative_zero_as_one_value() -> None:
    state = fitted(builtins.mode_imputer("a"), column([0.0, -0.0, 1.0, 1.0]))
    assert state["value"] == 0.0


NUMBERS = ([1.0, 2.0, 2.0, None, 10.0], [50.0, 70.0, 70.0, 90.0, None])
WORDS = (["a", "b", "b", None], ["x", "y", "z", "z"])


@pytest.mark.parametrize(
    ("make", "values"),
    [
        (builtins.standard_scaler, NUMBERS),
        (builtins.min_max_scaler, NUMBERS),
        (builtins.robust_scaler, NUMBERS),
        (builtins.log_transform, NUMBERS),
        (builtins.quantile_binner, NUMBERS),
        (builtins.equal_width_binner, NUMBERS),
        (builtins.label_encoder, WORDS),
        (builtins.one_hot_encoder, WORDS),
        (builtins.mean_imputer, NUMBERS),
        (builtins.median_imputer, NUMBERS),
        (builtins.mode_imputer, NUMBERS),
        (lambda column: builtins.constant_imputer(column, 0.0), NUMBERS),
    ],
)
def test_fitted_says_whether_the_state_depends_on_the_train_split(
    make: Any, values: tuple[list[Any], list[Any]]
) -> None:
    transform = make("a")
    one, other = (fitted(transform, pa.table({"a": v})) for v in values)
    assert transform.fitted == (one != other), transform
