"""Online feature vectors: lookups, passed features, request-time ODTs, MDTs, missing policies,
bad input, and no skew against batch and training data."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fti
from fti import builtins
from tests.featurestore.helpers import ts

BATCH_ROWS = fti.Settings.vector_batch_rows  # from this many, the column core

UTC_US = pa.timestamp("us", tz="UTC")


@fti.udf(float, drop=["amount"])
def amount_ratio(amount, spend):  # type: ignore[no-untyped-def]
    return amount / spend


@fti.udf({"over": bool, "label": str})
def spend_flags(spend, tier):  # type: ignore[no-untyped-def]
    return {"over": spend > 10, "label": tier + ":" + str(spend)}


def build(
    fs: fti.FeatureStore,
    *,
    transforms: tuple[Any, ...] = (),
    odts: tuple[Any, ...] = (),
    suffix: str = "",
    max_feature_age: dt.timedelta | None = None,
) -> tuple[fti.FeatureGroup, fti.FeatureGroup, fti.FeatureGroup, fti.FeatureView]:
    """Transactions (not online) joined to cards and merchants (online)."""
    tx = fs.create_feature_group(f"tx{suffix}", primary_key=["tx_id"], event_time="event_ts")
    card = fs.create_feature_group(
        f"card{suffix}",
        primary_key=["cc_num"],
        event_time="event_ts",
        online_enabled=True,
        transformation_functions=list(odts),
    )
    merchant = fs.create_feature_group(
        f"merchant{suffix}", primary_key=["mid"], event_time="event_ts", online_enabled=True
    )
    tx.insert(
        pa.table(
            {
                "tx_id": pa.array(range(8), pa.int64()),
                "cc_num": pa.array([i % 4 for i in range(8)], pa.int64()),
                "mid": pa.array([i % 2 for i in range(8)], pa.int64()),
                "event_ts": pa.array([ts(1000 + i) for i in range(8)], UTC_US),
                "amount": pa.array([float(i + 1) for i in range(8)]),
                "is_fraud": pa.array([i == 3 for i in range(8)]),
            }
        )
    )
    card_rows: dict[str, Any] = {
        "cc_num": pa.array([0, 1, 2, 3, 0], pa.int64()),
        "event_ts": pa.array([ts(0), ts(0), ts(0), ts(0), ts(500)], UTC_US),
        "spend": pa.array([5.0, 15.0, None, 25.0, 7.0]),
        "tier": pa.array(["gold", "silver", "gold", None, "gold"]),
    }
    if any(f.name == "amount_ratio" for f in odts):
        card_rows["amount"] = pa.array([1.0, 2.0, 3.0, 4.0, 5.0])
    card.insert(pa.table(card_rows))
    merchant.insert(
        pa.table(
            {
                "mid": pa.array([0, 1], pa.int64()),
                "event_ts": pa.array([ts(0), ts(900)], UTC_US),
                "rate": pa.array([0.25, 0.5]),
            }
        )
    )
    query = (
        tx.select(["amount", "is_fraud"])  # keys and time come back when asked for
        .join(card.select_except(["event_ts"]))
        .join(merchant.select_except(["event_ts"]), prefix="m_", max_feature_age=max_feature_age)
    )
    fv = fs.create_feature_view(
        f"fraud{suffix}",
        query=query,
        labels=["is_fraud"],
        transformation_functions=list(transforms),
    )
    return tx, card, merchant, fv


def test_feature_vector_lookup_order_and_return_types(fs: fti.FeatureStore) -> None:
    _, _, _, fv = build(fs)
    assert fv.serving_keys == ["cc_num", "mid"]
    schema = fv.serving_schema
    assert [f["name"] for f in schema["required_passed_features"]] == ["amount"]
    assert [f["name"] for f in schema["features"]] == ["amount", "spend", "tier", "m_rate"]
    keys = {"cc_num": 0, "mid": 1}
    passed = {"amount": 9.5}
    assert fv.get_feature_vector(keys, passed) == [9.5, 7.0, "gold", 0.5]  # newest card 0 row
    assert fv.get_feature_vector(keys, passed, return_type="dict") == {
        "amount": 9.5,
        "spend": 7.0,
        "tier": "gold",
        "m_rate": 0.5,
    }
    array = fv.get_feature_vector(keys, passed, return_type="numpy")
    assert isinstance(array, np.ndarray) and array.tolist() == ["9.5", "7.0", "gold", "0.5"]
    frame = fv.get_feature_vector(keys, passed, return_type="pandas")
    assert frame.columns.tolist() == ["amount", "spend", "tier", "m_rate"]
    assert frame.iloc[0].tolist() == [9.5, 7.0, "gold", 0.5]
    polars = fv.get_feature_vector(keys, passed, return_type="polars")
    assert polars.row(0) == (9.5, 7.0, "gold", 0.5)
    # passed features override looked-up ones
    assert fv.get_feature_vector(keys, {"amount": 1.0, "spend": 99.0})[1] == 99.0


def test_many_vectors_equal_single_ones(fs: fti.FeatureStore) -> None:
    _, _, _, fv = build(fs)
    keys = [{"cc_num": c, "mid": m} for c in range(4) for m in range(2)]
    passed = [{"amount": float(i)} for i in range(len(keys))]
    many = fv.get_feature_vectors(keys, passed)
    assert many == [fv.get_feature_vector(k, p) for k, p in zip(keys, passed, strict=True)]
    frame = fv.get_feature_vectors(keys, passed, return_type="pandas")
    assert frame.shape == (8, 4)
    assert fv.get_feature_vectors(keys, passed, return_type="numpy").shape == (8, 4)


def test_bad_input_names_the_field(fs: fti.FeatureStore) -> None:
    _, _, _, fv = build(fs, odts=(amount_ratio,))
    keys = {"cc_num": 0, "mid": 1}
    ok = {"amount": 1.0}
    params = {"amount": 3.0}
    assert len(fv.get_feature_vector(keys, ok, params)) == 5
    for call, message in [
        (lambda: fv.get_feature_vector({"cc_num": 0, "mid": 1, "x": 1}, ok, params), "'x'"),
        (lambda: fv.get_feature_vector({"cc_num": 0}, ok, params), r"missing serving key.*mid"),
        (lambda: fv.get_feature_vector({"cc_num": "a", "mid": 1}, ok, params), "cc_num"),
        (lambda: fv.get_feature_vector({"cc_num": 2**64, "mid": 1}, ok, params), "cc_num"),
        (lambda: fv.get_feature_vector(keys, {"amount": "12"}, params), "'amount' must be"),
        (lambda: fv.get_feature_vector(keys, {"amount": True}, params), "'amount' must be"),
        (lambda: fv.get_feature_vector(keys, {"amount": 1.0, "zzz": 1}, params), "'zzz'"),
        (lambda: fv.get_feature_vector(keys, {}, params), r"\['amount'\] are required"),
        (lambda: fv.get_feature_vector(keys, ok, {}), r"missing request parameter.*amount"),
        (lambda: fv.get_feature_vector(keys, ok, {"amount": 1.0, "q": 2}), "'q'"),
        (lambda: fv.get_feature_vector(keys, ok, {"amount": "x"}), "request parameter 'amount'"),
        (lambda: fv.get_feature_vector(keys, ok, params, return_type="xml"), "return_type"),
        (lambda: fv.get_feature_vectors(keys, ok, params), "list of dicts"),
    ]:
        with pytest.raises(fti.FtiError, match=message):
            call()


def test_missing_entities_follow_the_policy(fs: fti.FeatureStore) -> None:
    _, _, _, fv = build(fs)
    fv.training_data()
    keys = {"cc_num": 42, "mid": 1}
    with pytest.raises(fti.FeatureVectorNotFound, match=r"card:1 for \{'cc_num': 42\}"):
        fv.get_feature_vector(keys, {"amount": 1.0})
    # every feature of the missing group passed: nothing is missing
    assert fv.get_feature_vector(keys, {"amount": 1.0, "spend": 2.0, "tier": "x"}) == [
        1.0,
        2.0,
        "x",
        0.5,
    ]
    fv.init_serving(1, missing="null")
    result = fv.get_feature_vector(keys, {"amount": 1.0}, details=True)
    assert result.vector == [1.0, None, None, 0.5] and result.missing == ["card:1"]
    fv.init_serving(1, missing="impute")
    stats = fv.get_training_dataset(1).statistics["columns"]  # type: ignore[index]
    result = fv.get_feature_vector(keys, {"amount": 1.0}, details=True)
    assert result.vector == [1.0, stats["spend"]["mean"], "gold", 0.5]
    assert result.imputed == ["spend", "tier"] and result.missing == ["card:1"]
    with pytest.raises(fti.FtiError, match="missing must be one of"):
        fv.init_serving(1, missing="skip")


def test_transformed_vector_and_untransformed_details(fs: fti.FeatureStore) -> None:
    transforms = (builtins.standard_scaler("amount"), builtins.one_hot_encoder("tier"))
    _, _, _, fv = build(fs, transforms=transforms)
    with pytest.raises(fti.FtiError, match="init_serving"):
        fv.get_feature_vector({"cc_num": 0, "mid": 1}, {"amount": 1.0})
    fv.training_data()
    fv.init_serving(training_dataset_version=1)
    state = fv.get_training_dataset(1).transformation_state["steps"]  # type: ignore[index]
    result = fv.get_feature_vector(
        {"cc_num": 3, "mid": 0}, {"amount": 2.0}, return_type="dict", details=True
    )
    assert result.untransformed == {"amount": 2.0, "spend": 25.0, "tier": None, "m_rate": 0.25}
    assert result.vector == {
        "amount": (2.0 - state[0]["center"]) / state[0]["scale"],
        "spend": 25.0,
        "tier_gold": False,  # null tier: all False
        "tier_silver": False,
        "m_rate": 0.25,
    }
    raw = fv.get_feature_vector({"cc_num": 3, "mid": 0}, {"amount": 2.0}, transform=False)
    assert raw == [2.0, 25.0, None, 0.25]
    assert fv.transform(result.untransformed) == result.vector


def test_request_time_odt_and_stored_inputs(fs: fti.FeatureStore) -> None:
    fv = build(fs, odts=(amount_ratio, spend_flags))[3]
    assert fv.serving_schema["required_request_parameters"] == ["amount"]
    vector = fv.get_feature_vector(
        {"cc_num": 1, "mid": 0}, {"amount": 3.0}, {"amount": 30.0}, return_type="dict"
    )
    assert vector["amount_ratio"] == 2.0  # 30 / 15, from the request, not the stored 2 / 15
    assert vector["over"] is True and vector["label"] == "silver:15.0"
    # a request parameter overrides a looked-up ODT input
    vector = fv.get_feature_vector(
        {"cc_num": 1, "mid": 0}, {"amount": 3.0}, {"amount": 30.0, "spend": 3.0}, "dict"
    )
    assert vector["amount_ratio"] == 10.0 and vector["over"] is False


EDGE = st.one_of(
    st.none(),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 1e308, 5e-324]),
    st.floats(-1e6, 1e6),
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return bool(a == b)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(st.tuples(EDGE, EDGE), min_size=1, max_size=6))
def test_odt_at_insert_equals_odt_at_request(
    fs: fti.FeatureStore, rows: list[tuple[float | None, float | None]]
) -> None:
    """The backfill path (column-wise at insert) and the request path (row-wise) agree on the
    same inputs, nulls and IEEE edge values included."""
    suffix = uuid.uuid4().hex[:8]
    card = fs.create_feature_group(
        f"c{suffix}",
        primary_key=["cc_num"],
        online_enabled=True,
        transformation_functions=[amount_ratio],
    )
    card.insert(
        pa.table(
            {
                "cc_num": pa.array(range(len(rows)), pa.int64()),
                "spend": pa.array([s for _, s in rows], pa.float64()),
                "amount": pa.array([a for a, _ in rows], pa.float64()),
            }
        )
    )
    fv = fs.create_feature_view(f"v{suffix}", query=card.select_all())
    stored = card.read(dataframe_type="arrow").sort_by("cc_num").column("amount_ratio")
    for key, (amount, _) in enumerate(rows):
        vector = fv.get_feature_vector({"cc_num": key}, request_parameters={"amount": amount})
        assert _same(vector[-1], stored[key].as_py()), (rows[key], vector, stored[key])


FINITE = st.one_of(st.none(), st.floats(-1e6, 1e6))


@pytest.mark.parametrize(("missing", "stale"), [("null", False), ("impute", True)])
def test_a_batch_is_built_column_wise_with_the_single_vectors_values(
    fs: fti.FeatureStore, missing: str, stale: bool
) -> None:
    """From BATCH_ROWS entities the stored values are decoded into columns and the ODTs and
    MDTs run column-wise: the same vectors (and untransformed details) as one call per entity,
    with missing rows, rows too old for max_feature_age (merchant 0 when ``stale``), passed
    features that override, and nulls and IEEE edge values in the request; for a view with
    transformations and for a plain one."""
    transforms = (
        builtins.standard_scaler("amount_ratio"),
        builtins.min_max_scaler("m_rate"),
        builtins.one_hot_encoder("tier"),
    )
    age = dt.datetime.now(dt.UTC) - ts(500) if stale else None
    fv = build(fs, odts=(amount_ratio,), transforms=transforms, max_feature_age=age)[3]
    plain = build(fs, suffix="_plain", max_feature_age=age)[3]
    for view in (fv, plain):
        view.training_data()
        view.init_serving(1, missing=missing)
    key = st.fixed_dictionaries({"cc_num": st.integers(0, 5), "mid": st.integers(0, 2)})
    passed = st.fixed_dictionaries({"amount": FINITE}, optional={"spend": FINITE})
    request = st.tuples(
        key, passed, st.fixed_dictionaries({"amount": EDGE}, optional={"spend": EDGE})
    )

    def same_as_single(view: fti.FeatureView, requests: list[tuple[Any, ...]]) -> None:
        keys, given, params = (list(part) for part in zip(*requests, strict=True))
        for transform in (True, False):
            many = view.get_feature_vectors(keys, given, params, transform=transform)
            details = view.get_feature_vectors(
                keys, given, params, return_type="dict", transform=transform, details=True
            )
            for i, (k, p, r) in enumerate(requests):
                one = view.get_feature_vector(k, p, r, "dict", transform=transform, details=True)
                assert all(map(_same, many[i], one.vector.values())), (many[i], one.vector)
                assert list(details[i].vector) == list(one.vector)
                assert all(map(_same, details[i].vector.values(), one.vector.values()))
                assert list(details[i].untransformed) == list(one.untransformed)
                assert all(
                    map(_same, details[i].untransformed.values(), one.untransformed.values())
                )
                assert (details[i].imputed, details[i].missing) == (one.imputed, one.missing)

    @settings(max_examples=30, deadline=None)
    @given(requests=st.lists(request, min_size=BATCH_ROWS, max_size=3 * BATCH_ROWS))
    def check(requests: list[tuple[dict[str, Any], ...]]) -> None:
        same_as_single(fv, requests)
        same_as_single(plain, [(k, p, None) for k, p, _ in requests])

    check()


def test_a_batch_value_arrow_would_not_convert_exactly_takes_the_row_path(
    fs: fti.FeatureStore,
) -> None:
    fv = build(fs, odts=(amount_ratio,), transforms=(builtins.standard_scaler("amount"),))[3]
    fv.training_data()
    fv.init_serving(1)
    big = 2**53 + 1  # an int no float64 holds exactly: Arrow refuses it, NumPy rounds it
    keys = [{"cc_num": i % 4, "mid": i % 2} for i in range(BATCH_ROWS)]
    passed = [{"amount": big}] * BATCH_ROWS
    params = [{"amount": big}] * BATCH_ROWS
    many = fv.get_feature_vectors(keys, passed, params)
    assert many == [fv.get_feature_vector(*r) for r in zip(keys, passed, params, strict=True)]


def test_max_feature_age_applies_online(fs: fti.FeatureStore) -> None:
    _, _, _, fv = build(fs, max_feature_age=dt.timedelta(days=365 * 100))
    assert fv.get_feature_vector({"cc_num": 0, "mid": 1}, {"amount": 1.0})[-1] == 0.5
    _, _, _, old = build(fs, suffix="2", max_feature_age=dt.timedelta(seconds=1))
    assert old.get_feature_vector({"cc_num": 0, "mid": 1}, {"amount": 1.0})[-1] is None


def test_root_online_makes_its_key_a_serving_key(fs: fti.FeatureStore) -> None:
    card = fs.create_feature_group(
        "card", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
    )
    merchant = fs.create_feature_group("merchant", primary_key=["mid"], online_enabled=True)
    card.insert(
        pa.table(
            {
                "cc_num": pa.array([1, 2], pa.int64()),
                "event_ts": pa.array([ts(0), ts(1)], UTC_US),
                "home_mid": pa.array([7, 8], pa.int64()),
                "spend": pa.array([1.5, 2.5]),
            }
        )
    )
    merchant.insert(pa.table({"mid": pa.array([7, 8], pa.int64()), "rate": [0.1, 0.2]}))
    query = card.select_all().join(merchant.select_all(), left_on=["home_mid"], right_on=["mid"])
    fv = fs.create_feature_view("cards", query=query)
    assert fv.serving_keys == ["cc_num", "home_mid"]
    # the selected key, event time and join key come back, as Hopsworks returns them; a key
    # column holds the key looked up with (card 2's row says home_mid 8, the request 7)
    assert fv.vector_names == ["cc_num", "event_ts", "home_mid", "spend", "rate"]
    assert fv.feature_names == ["spend", "rate"]
    assert fv.get_feature_vector({"cc_num": 2, "home_mid": 8}) == [2, ts(1), 8, 2.5, 0.2]
    keys = [
        {"cc_num": 2, "home_mid": 8},
        {"cc_num": 1, "home_mid": 7},
        {"cc_num": 2, "home_mid": 7},
    ]
    assert fv.get_feature_vectors(keys) == [
        [2, ts(1), 8, 2.5, 0.2],
        [1, ts(0), 7, 1.5, 0.1],
        [2, ts(1), 7, 2.5, 0.1],
    ]
    assert [fv.get_feature_vector(k) for k in keys] == fv.get_feature_vectors(keys)
    assert fv.get_feature_vectors(keys, return_type="dict")[2] == {
        "cc_num": 2,
        "event_ts": ts(1),
        "home_mid": 7,
        "spend": 2.5,
        "rate": 0.1,
    }
    with pytest.raises(fti.FeatureVectorNotFound, match="home_mid"):
        fv.get_feature_vectors([*keys, {"cc_num": 1, "home_mid": 9}])
    fv.init_serving(missing="null")
    assert fv.get_feature_vectors([{"cc_num": 1, "home_mid": 9}, keys[0]]) == [
        [1, ts(0), 9, 1.5, None],
        [2, ts(1), 8, 2.5, 0.2],
    ]


# -- no skew ---------------------------------------------------------------------------------


def _rows(frame: pa.Table) -> list[dict[str, Any]]:
    return frame.to_pylist()


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    updates=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 50), st.one_of(st.none(), st.floats(0, 100))),
        min_size=1,
        max_size=15,
    ),
    tiers=st.lists(st.sampled_from(["a", "b", "c"]), min_size=6, max_size=6),
)
def test_vector_equals_latest_batch_row(
    fs: fti.FeatureStore, updates: list[tuple[int, int, float | None]], tiers: list[str]
) -> None:
    """For every entity, the online vector equals its row of get_batch_data(latest_features)
    with the same transformations (late rows and ties included)."""
    suffix = uuid.uuid4().hex[:8]
    card = fs.create_feature_group(
        f"c{suffix}", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
    )
    profile = fs.create_feature_group(f"p{suffix}", primary_key=["cc_num"], online_enabled=True)
    # inserted one by one: later inserts may carry older event times (late data)
    for key, second, spend in updates:
        card.insert(
            pa.table(
                {
                    "cc_num": pa.array([key], pa.int64()),
                    "event_ts": pa.array([ts(second)], UTC_US),
                    "spend": pa.array([spend], pa.float64()),
                }
            )
        )
    profile.insert(pa.table({"cc_num": pa.array(range(6), pa.int64()), "tier": tiers}))
    query = profile.select_all().join(card.select_except(["event_ts"]), on=["cc_num"])
    fv = fs.create_feature_view(
        f"v{suffix}",
        query=query,
        transformation_functions=[
            builtins.constant_imputer("spend", -1.0),
            builtins.min_max_scaler("spend"),
            builtins.label_encoder("tier"),
        ],
    )
    fv.training_data()
    fv.init_serving(1, missing="null")
    batch = _rows(fv.get_batch_data(latest_features=True, primary_key=True, dataframe_type="arrow"))
    assert len(batch) == 6
    for row in batch:  # the selected key in both
        assert fv.get_feature_vector({"cc_num": row["cc_num"]}, return_type="dict") == row


def test_training_rows_equal_what_serving_returned_at_their_time(fs: fti.FeatureStore) -> None:
    """Serve while features arrive; later, training rows at those times (point-in-time joins)
    equal the vectors served then, transformed with the training dataset's state."""
    tx = fs.create_feature_group("tx", primary_key=["tx_id"], event_time="event_ts")
    card = fs.create_feature_group(
        "card", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
    )
    rng = np.random.default_rng(7)
    served: list[tuple[int, int, dict[str, Any]]] = []  # (tx id, second, untransformed vector)
    fv = None
    tx_id = 0
    for step in range(6):
        second = 100 * (step + 1)
        card.insert(
            pa.table(
                {
                    "cc_num": pa.array(range(4), pa.int64()),
                    "event_ts": pa.array([ts(second - int(rng.integers(1, 50)))] * 4, UTC_US),
                    "spend": pa.array(rng.normal(size=4).round(3)),
                    "tier": pa.array(rng.choice(["a", "b"], size=4).tolist()),
                }
            )
        )
        if fv is None:
            tx.insert(  # one row so the view has a schema; not used below
                pa.table(
                    {
                        "tx_id": pa.array([-1], pa.int64()),
                        "cc_num": pa.array([0], pa.int64()),
                        "event_ts": pa.array([ts(0)], UTC_US),
                        "amount": pa.array([0.0]),
                    }
                )
            )
            fv = fs.create_feature_view(
                "fraud",
                query=tx.select_all().join(card.select_except(["event_ts"])),
                transformation_functions=[
                    builtins.standard_scaler("spend"),
                    builtins.one_hot_encoder("tier"),
                ],
            )
        for key in range(4):
            amount = float(rng.integers(1, 100))
            # the transaction being scored: its id and time are the request's
            event = {"amount": amount, "tx_id": tx_id, "event_ts": ts(second)}
            vector = fv.get_feature_vector(
                {"cc_num": key}, event, return_type="dict", transform=False
            )
            served.append((tx_id, second, vector))
            tx_id += 1
    assert fv is not None
    tx.insert(
        pa.table(
            {
                "tx_id": pa.array([t for t, _, _ in served], pa.int64()),
                "cc_num": pa.array([t % 4 for t, _, _ in served], pa.int64()),
                "event_ts": pa.array([ts(s) for _, s, _ in served], UTC_US),
                "amount": pa.array([v["amount"] for _, _, v in served]),
            }
        )
    )
    x, _ = fv.training_data(
        start_time=ts(1), primary_key=True, event_time=True, dataframe_type="arrow"
    )
    fv.init_serving(1)
    by_id = {row["tx_id"]: row for row in x.to_pylist()}
    for tx_id, _, vector in served:  # the same columns: the keys and time asked for
        expected = fv.transform(vector)
        assert by_id[tx_id] == expected, (tx_id, by_id[tx_id], expected)


# -- the Redis online store ------------------------------------------------------------------


def test_feature_vectors_on_redis(tmp_path: Any, redis_url: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    with fti.connect(tmp_path / "redis", online_store=redis_url) as project:
        fs = project.get_feature_store()
        try:
            _, _, _, fv = build(
                fs, transforms=(builtins.min_max_scaler("spend"),), odts=(), suffix=suffix
            )
            fv.training_data()
            fv.init_serving(1)
            state = fv.get_training_dataset(1).transformation_state["steps"][0]  # type: ignore[index]
            keys = [{"cc_num": c, "mid": 1} for c in (0, 1, 3)]
            vectors = fv.get_feature_vectors(keys, [{"amount": 1.0}] * 3, return_type="dict")
            spends = [7.0, 15.0, 25.0]
            assert [v["spend"] for v in vectors] == [
                (s - state["center"]) / state["scale"] for s in spends
            ]
            assert {v["m_rate"] for v in vectors} == {0.5}
        finally:
            for fg in fs.get_feature_groups():
                for view in fs.get_feature_views():
                    fs.delete_feature_view(view.name, view.version, force=True)
                fs.delete_feature_group(fg.name, fg.version)


def test_an_online_store_failure_follows_the_policy(
    fs: fti.FeatureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, _, fv = build(fs)
    fv.training_data()
    keys = {"cc_num": 1, "mid": 0}
    fv.init_serving(1, missing="last_known")
    served = fv.get_feature_vector(keys, {"amount": 1.0})
    assert served == [1.0, 15.0, "silver", 0.25]

    def down(requests: Any) -> Any:
        raise ConnectionError("connection refused")

    monkeypatch.setattr(fv._serving._store, "multi_get", down)  # type: ignore[union-attr]
    result = fv.get_feature_vector(keys, {"amount": 1.0}, details=True)
    assert result.vector == served
    assert "online store unavailable (ConnectionError: connection refused)" in result.reason
    assert "last known" in result.reason
    # a key never served before has no last known values: nulls
    assert fv.get_feature_vector({"cc_num": 3, "mid": 1}, {"amount": 1.0}) == [
        1.0,
        None,
        None,
        None,
    ]
    fv.init_serving(1, missing="impute")
    imputed = fv.get_feature_vector(keys, {"amount": 1.0}, details=True)
    assert imputed.imputed == ["spend", "tier", "m_rate"] and imputed.reason is not None
    fv.init_serving(1, missing="null")
    assert fv.get_feature_vectors([keys], [{"amount": 1.0}]) == [[1.0, None, None, None]]
    fv.init_serving(1)
    with pytest.raises(fti.OnlineStoreUnavailable, match="connection refused"):
        fv.get_feature_vector(keys, {"amount": 1.0})
