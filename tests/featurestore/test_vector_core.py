"""The feature-vector core: the single-row driver and the column core give identical vectors,
and a serving plan is built once, by a function, and never changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fti
from fti import builtins
from fti.featurestore.serving import ServingPlan, serving_plan
from tests.featurestore.helpers import ts
from tests.featurestore.test_serving import EDGE, FINITE, amount_ratio, build

UTC_US = pa.timestamp("us", tz="UTC")


@fti.udf({"over": bool, "label": str})
def tier_flags(spend, tier):  # type: ignore[no-untyped-def]
    return {"over": spend > 10, "label": tier + ":card"}


@fti.udf(float)
def centred(m_rate, statistics):  # type: ignore[no-untyped-def]
    return m_rate - statistics.m_rate.mean


def _same(a: Any, b: Any) -> bool:
    """Equal values, NaN equal to NaN, and of one type (1 and 1.0 and True differ)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    if type(a) is not type(b):
        return False
    return a == b or (isinstance(a, float) and a != a and b != b)


def _outcome(call: Callable[[], Any]) -> Any:
    """A call's result, or the type and message of the error it raised."""
    try:
        return call()
    except fti.FtiError as exc:
        return (type(exc), str(exc))


def _same_vector(one: Any, other: Any) -> None:
    if isinstance(one, tuple) or isinstance(other, tuple):
        assert one == other  # both raised the same error
        return
    assert _same(one.vector, other.vector), (one.vector, other.vector)
    assert _same(one.untransformed, other.untransformed), (one.untransformed, other.untransformed)
    assert (one.imputed, one.missing, one.reason) == (other.imputed, other.missing, other.reason)


def _down(requests: Any) -> Any:
    raise ConnectionError("connection refused")


KEY = st.fixed_dictionaries({"cc_num": st.integers(0, 5), "mid": st.integers(0, 2)})
PASSED = st.fixed_dictionaries({"amount": FINITE}, optional={"spend": FINITE, "m_rate": FINITE})
PARAMS = st.fixed_dictionaries({"amount": EDGE}, optional={"spend": EDGE})
REQUEST = st.tuples(KEY, PASSED, PARAMS)


@pytest.mark.parametrize("stale", [False, True])
def test_the_row_driver_and_the_column_core_give_identical_vectors(
    fs: fti.FeatureStore, stale: bool
) -> None:
    """Any requests — keys without online rows, rows too old for max_feature_age (merchant 0
    when ``stale``), passed features overriding looked-up ones, request parameters with nulls
    and IEEE edge values — under every missing-values policy, with the online store up or
    down, give the same vectors, untransformed values and details from the single-vector
    call, many vectors entity by entity (the row driver) and many vectors as columns (the
    core, forced from one entity on), transformed or not, for a view with two on-demand
    transformations and built-in and UDF model-dependent ones, and for a plain view."""
    transforms = (
        builtins.standard_scaler("amount_ratio"),
        builtins.min_max_scaler("m_rate"),
        builtins.one_hot_encoder("tier"),
        builtins.label_encoder("label"),
        centred,
    )
    age = dt.datetime.now(dt.UTC) - ts(500) if stale else None
    views = [
        build(fs, odts=(amount_ratio, tier_flags), transforms=transforms, max_feature_age=age)[3],
        build(fs, suffix="_plain", max_feature_age=age)[3],
    ]
    plans: dict[tuple[int, str], tuple[ServingPlan, ServingPlan, ServingPlan]] = {}
    for v, view in enumerate(views):
        view.training_data()
        for missing in ("error", "null", "impute", "last_known"):
            plans[v, missing] = (
                serving_plan(view, 1, missing=missing),
                serving_plan(view, 1, missing=missing, batch_rows=10**9),  # entity by entity
                serving_plan(view, 1, missing=missing, batch_rows=1),  # always the columns
            )
    store = fs._storage.online

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        view=st.sampled_from([0, 1]),
        missing=st.sampled_from(["error", "null", "impute", "last_known"]),
        requests=st.lists(REQUEST, min_size=1, max_size=20),
        transform=st.booleans(),
        as_dict=st.booleans(),
        down=st.booleans(),
    )
    def check(
        view: int,
        missing: str,
        requests: list[tuple[Any, ...]],
        transform: bool,
        as_dict: bool,
        down: bool,
    ) -> None:
        single, rows, columns = plans[view, missing]
        if view == 1:  # no on-demand transformation: no request parameters
            requests = [(k, p, None) for k, p, _ in requests]
        keys, passed, params = (list(part) for part in zip(*requests, strict=True))
        kind = "dict" if as_dict else "list"
        if down:
            store.multi_get = _down  # type: ignore[method-assign]
        try:
            ones = [
                _outcome(lambda r=r: single.get_feature_vector(*r, kind, transform, True))
                for r in requests
            ]
            many = [
                _outcome(
                    lambda plan=plan: plan.get_feature_vectors(
                        keys, passed, params, kind, transform, True
                    )
                )
                for plan in (rows, columns)
            ]
            plain = [
                _outcome(
                    lambda plan=plan: plan.get_feature_vectors(
                        keys, passed, params, kind, transform
                    )
                )
                for plan in (rows, columns)
            ]
        finally:
            if down:
                del store.multi_get  # type: ignore[method-assign]
        errors = [o for o in ones if isinstance(o, tuple)]
        for result in many:
            if errors:  # a batch fails with the first entity's error
                assert result == errors[0]
                continue
            assert len(result) == len(ones)
            for one, other in zip(ones, result, strict=True):
                _same_vector(one, other)
        if errors:
            assert plain == [errors[0], errors[0]]
        else:
            assert _same(plain[0], plain[1])
            assert _same(plain[0], [one.vector for one in ones])

    check()


def test_a_plan_is_built_by_a_function_and_cannot_change(fs: fti.FeatureStore) -> None:
    fv = build(fs, transforms=(builtins.standard_scaler("amount"),))[3]
    fv.training_data()
    plan = serving_plan(fv, 1, missing="null", lookup_timeout=0.5)
    # nothing is kept on the view: its own vectors take a training dataset's state, which
    # without init_serving is the one it created last
    assert fv._serving is None and fv._scoring is None
    implicit = fv.get_feature_vector({"cc_num": 0, "mid": 1}, {"amount": 1.0})
    assert implicit == plan.get_feature_vector({"cc_num": 0, "mid": 1}, {"amount": 1.0})
    fv.init_serving(1)
    assert fv._serving is not plan
    vector = plan.get_feature_vector({"cc_num": 0, "mid": 1}, {"amount": 1.0})
    assert vector == fv.get_feature_vector({"cc_num": 0, "mid": 1}, {"amount": 1.0})
    assert plan.serving_schema == fv.serving_schema | {"missing": "null"}
    for name, value in (("missing", "error"), ("names", ()), ("batch_rows", 1), ("new", 1)):
        with pytest.raises(AttributeError, match="serving_plan"):
            setattr(plan, name, value)
    plan.fail_fast = True  # the reads' state, which a server sets
    assert plan.fail_fast and plan.failure is None
    untransformed = serving_plan(fv)
    assert untransformed.get_feature_vector(
        {"cc_num": 0, "mid": 1}, {"amount": 1.0}, transform=False
    ) == [1.0, 7.0, "gold", 0.5]
    with pytest.raises(fti.FtiError, match="has model-dependent transformations"):
        untransformed.get_feature_vector({"cc_num": 0, "mid": 1}, {"amount": 1.0})


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"batch_rows": 0}, "batch_rows must be an integer >= 1"),
        ({"batch_rows": True}, "batch_rows"),
        ({"last_known_keys": 0}, "last_known_keys must be"),
        ({"missing": "skip"}, "missing must be one of"),
        ({"lookup_timeout": 0}, "lookup_timeout"),
    ],
)
def test_bad_plan_options_are_refused(
    fs: fti.FeatureStore, options: dict[str, Any], match: str
) -> None:
    fv = build(fs)[3]
    with pytest.raises(fti.FtiError, match=match):
        serving_plan(fv, **options)


def test_last_known_keys_bounds_the_values_kept_per_group(fs: fti.FeatureStore) -> None:
    fv = build(fs)[3]
    plan = serving_plan(fv, missing="last_known", last_known_keys=2)
    for card in (0, 1, 3):  # card 0 is the oldest entry, and the first to go
        plan.get_feature_vector({"cc_num": card, "mid": 1}, {"amount": 1.0})
    fs._storage.online.multi_get = _down  # type: ignore[method-assign]
    try:
        vectors = plan.get_feature_vectors(
            [{"cc_num": c, "mid": 1} for c in (0, 1, 3)], [{"amount": 1.0}] * 3
        )
    finally:
        del fs._storage.online.multi_get  # type: ignore[method-assign]
    assert [v[1] for v in vectors] == [None, 15.0, 25.0]
    assert [v[3] for v in vectors] == [0.5, 0.5, 0.5]  # one merchant, kept throughout


def test_a_view_of_stored_values_gives_them_straight_as_rows(fs: fti.FeatureStore) -> None:
    """A view whose vectors are the online rows as stored (no passed features, on-demand
    transformations, conversions or ages) takes the shortest way for many vectors: each
    group's values straight into the rows. Any keys, found or not, under any policy, give
    what single vectors give, in the view's order (a group's features selected out of their
    stored order, a one-feature group, a prefix)."""
    tx = fs.create_feature_group("tx_stored", primary_key=["tx_id"], event_time="event_ts")
    tx.insert(
        pa.table(
            {
                "tx_id": pa.array([1], pa.int64()),
                "cc_num": pa.array([0], pa.int64()),
                "mid": pa.array([0], pa.int64()),
                "event_ts": pa.array([ts(1000)], UTC_US),
                "is_fraud": [False],
            }
        )
    )
    card = fs.create_feature_group(
        "card_stored", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
    )
    card.insert(
        pa.table(
            {
                "cc_num": pa.array([0, 1, 2], pa.int64()),
                "event_ts": pa.array([ts(0)] * 3, UTC_US),
                "spend": [5.0, None, 25.0],
                "tier": ["gold", "silver", None],
                "count": pa.array([1, 2, 3], pa.int64()),
            }
        )
    )
    merchant = fs.create_feature_group(
        "merchant_stored", primary_key=["mid"], event_time="event_ts", online_enabled=True
    )
    merchant.insert(
        pa.table(
            {"mid": pa.array([0, 1], pa.int64()), "event_ts": pa.array([ts(0)] * 2, UTC_US),
             "rate": [0.25, 0.5]}
        )
    )  # fmt: skip
    fv = fs.create_feature_view(
        "stored",
        query=tx.select(["is_fraud"])
        .join(card.select(["count", "spend", "tier"]))
        .join(merchant.select(["rate"]), prefix="m_"),
        labels=["is_fraud"],
    )
    fv.training_data()
    plans = {m: serving_plan(fv, 1, missing=m, batch_rows=1) for m in ("error", "null", "impute")}
    assert all(p._direct for p in plans.values())
    assert fv.feature_names == ["count", "spend", "tier", "m_rate"]

    @settings(max_examples=40, deadline=None)
    @given(
        missing=st.sampled_from(["error", "null", "impute"]),
        keys=st.lists(
            st.fixed_dictionaries({"cc_num": st.integers(0, 3), "mid": st.integers(0, 2)}),
            min_size=1,
            max_size=30,
        ),
        as_dict=st.booleans(),
    )
    def check(missing: str, keys: list[dict[str, int]], as_dict: bool) -> None:
        plan, kind = plans[missing], "dict" if as_dict else "list"
        ones = [_outcome(lambda k=k: plan.get_feature_vector(k, return_type=kind)) for k in keys]
        many = _outcome(lambda: plan.get_feature_vectors(keys, return_type=kind))
        errors = [o for o in ones if isinstance(o, tuple)]
        assert many == errors[0] if errors else _same(many, ones)

    check()
    assert plans["error"].get_feature_vectors(
        [{"cc_num": 2, "mid": 1}, {"cc_num": 0, "mid": 0}]
    ) == [
        [3, 25.0, None, 0.5],
        [1, 5.0, "gold", 0.25],
    ]
