"""Which columns come back, as Hopsworks returns them (docs/coming-from-hopsworks.md):
feature vectors hold the features and the key and event-time columns the query selects;
training and batch data hold the features, and the keys (the root's primary key and every
join key) and the root's event time when asked for (``primary_key=True``,
``event_time=True``), selected or not; helper columns only where Hopsworks returns them."""

from __future__ import annotations

import pyarrow as pa
import pytest

import fti
from tests.featurestore.helpers import ts

UTC_US = pa.timestamp("us", tz="UTC")


@pytest.fixture
def groups(fs: fti.FeatureStore) -> tuple[fti.FeatureGroup, fti.FeatureGroup]:
    tx = fs.create_feature_group("tx", primary_key=["tx_id"], event_time="event_ts")
    tx.insert(
        pa.table(
            {
                "tx_id": pa.array([10, 11, 12], pa.int64()),
                "cc_num": pa.array([1, 2, 1], pa.int64()),
                "event_ts": pa.array([ts(10), ts(20), ts(30)], UTC_US),
                "amount": [5.0, 7.0, 9.0],
                "note": ["a", "b", "c"],
                "y": [True, False, True],
            }
        )
    )
    card = fs.create_feature_group(
        "card", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
    )
    card.insert(
        pa.table(
            {
                "cc_num": pa.array([1, 2], pa.int64()),
                "event_ts": pa.array([ts(0), ts(0)], UTC_US),
                "spend": [1.5, 2.5],
                "tier": ["gold", "silver"],
            }
        )
    )
    return tx, card


def _features_only(
    fs: fti.FeatureStore, tx: fti.FeatureGroup, card: fti.FeatureGroup, name: str = "v"
) -> fti.FeatureView:
    return fs.create_feature_view(
        name, query=tx.select(["amount", "y"]).join(card.select(["spend"])), labels=["y"]
    )


def test_training_data_has_the_keys_and_time_when_asked_selected_or_not(
    fs: fti.FeatureStore, groups: tuple[fti.FeatureGroup, fti.FeatureGroup]
) -> None:
    fv = _features_only(fs, *groups)
    assert fv.primary_keys == ["tx_id", "cc_num"]  # the root's key, then the join key
    x, _ = fv.training_data(dataframe_type="arrow")
    assert x.column_names == ["amount", "spend"]  # nothing added unasked
    x, y = fv.training_data(primary_key=True, event_time=True, dataframe_type="arrow")
    assert x.to_pylist()[0] == {
        "tx_id": 10,
        "cc_num": 1,
        "event_ts": ts(10),
        "amount": 5.0,
        "spend": 1.5,
    }
    assert y.column_names == ["y"]
    x, _ = fv.get_training_data(2, event_time=True, dataframe_type="arrow")
    assert x.column_names == ["event_ts", "amount", "spend"]
    # a split by time reads the root's event time, which the view does not select
    x_train, x_test, _, _ = fv.train_test_split(test_start=ts(25), dataframe_type="arrow")
    assert (x_train.num_rows, x_test.num_rows) == (2, 1)
    assert x_test.column_names == ["amount", "spend"]
    # the written files hold them too, so reading a version back can give them
    version, _ = fv.create_training_data()
    x, _ = fv.get_training_data(version, primary_key=True, dataframe_type="arrow")
    assert x.column("tx_id").to_pylist() == [10, 11, 12]


def test_selected_keys_and_time_are_left_out_of_training_data_unless_asked(
    fs: fti.FeatureStore, groups: tuple[fti.FeatureGroup, fti.FeatureGroup]
) -> None:
    tx, card = groups
    fv = fs.create_feature_view(
        "v", query=tx.select(["amount", "tx_id", "event_ts", "y"]).join(card.select(["spend"]))
    )
    assert fv.feature_names == ["amount", "y", "spend"]  # no labels: y is a feature
    assert [f["role"] for f in fv.features][:3] == ["feature", "primary_key", "event_time"]
    x, _ = fv.training_data(dataframe_type="arrow")
    assert x.column_names == ["amount", "y", "spend"]
    x, _ = fv.training_data(primary_key=True, dataframe_type="arrow")
    assert x.column_names == ["tx_id", "cc_num", "amount", "y", "spend"]  # identity first


def test_batch_data_has_the_keys_and_time_when_asked_and_with_a_spine(
    fs: fti.FeatureStore, groups: tuple[fti.FeatureGroup, fti.FeatureGroup]
) -> None:
    fv = _features_only(fs, *groups)
    fv.training_data()
    fv.init_batch_scoring(1)
    assert fv.get_batch_data(dataframe_type="arrow").column_names == ["amount", "spend"]
    keyed = fv.get_batch_data(start_time=ts(15), primary_key=True, dataframe_type="arrow")
    assert keyed.to_pylist() == [
        {"tx_id": 11, "cc_num": 2, "amount": 7.0, "spend": 2.5},
        {"tx_id": 12, "cc_num": 1, "amount": 9.0, "spend": 1.5},
    ]
    latest = fv.get_batch_data(latest_features=True, event_time=True, dataframe_type="arrow")
    assert latest.column_names == ["event_ts", "amount", "spend"]
    spine = pa.table(
        {"tx_id": [99], "cc_num": [2], "event_ts": pa.array([ts(40)], UTC_US), "amount": [1.0]}
    )
    by_spine = fv.get_batch_data(spine=spine, dataframe_type="arrow")  # keys and time: yes
    assert by_spine.column_names == ["tx_id", "cc_num", "event_ts", "amount", "spend"]
    plain = fv.get_batch_data(spine=spine, primary_key=False, event_time=False)
    assert list(plain.columns) == ["amount", "spend"]
    assert [b.num_columns for b in fv.read_batches(primary_key=True)] == [4]


def test_a_key_or_time_another_group_names_alike_is_refused_not_confused(
    fs: fti.FeatureStore, groups: tuple[fti.FeatureGroup, fti.FeatureGroup]
) -> None:
    tx, card = groups
    # card's event time is selected under the name of the root's
    fv = fs.create_feature_view(
        "v", query=tx.select(["amount", "y"]).join(card.select(["event_ts", "spend"]))
    )
    assert (
        fv.training_data(dataframe_type="arrow")[0].column("event_ts").to_pylist() == [ts(0)] * 3
    )  # card's, a feature like any other
    with pytest.raises(fti.FtiError, match=r"\['event_ts'\].*give that join a prefix="):
        fv.training_data(event_time=True)
    with pytest.raises(fti.FtiError, match=r"\['event_ts'\].*prefix="):  # a time split
        fv.train_test_split(test_start=ts(25))
    assert fv.training_data(primary_key=True)[0].columns[0] == "tx_id"  # keys: no clash
    prefixed = fs.create_feature_view(
        "w",
        query=tx.select(["amount", "y"]).join(card.select(["event_ts", "spend"]), prefix="c_"),
    )
    x, _ = prefixed.training_data(event_time=True, dataframe_type="arrow")
    assert x.column_names == ["event_ts", "amount", "y", "c_event_ts", "c_spend"]


def test_vectors_hold_the_selected_keys_and_time(
    fs: fti.FeatureStore, groups: tuple[fti.FeatureGroup, fti.FeatureGroup]
) -> None:
    tx, card = groups
    fv = fs.create_feature_view(
        "v",
        query=tx.select(["tx_id", "cc_num", "event_ts", "amount", "y"]).join(
            card.select(["spend"])
        ),
        labels=["y"],
    )
    assert fv.vector_names == ["tx_id", "cc_num", "event_ts", "amount", "spend"]
    assert fv.feature_names == ["amount", "spend"]
    # the transaction's group is not online: its key and time are the request's, else null;
    # only its features must be passed
    schema = fv.serving_schema
    assert [f["name"] for f in schema["required_passed_features"]] == ["amount"]
    vector = fv.get_feature_vector({"cc_num": 2}, {"amount": 3.0})
    assert vector == [None, 2, None, 3.0, 2.5]
    event = {"amount": 3.0, "tx_id": 77, "event_ts": ts(50)}
    assert fv.get_feature_vector({"cc_num": 2}, event) == [77, 2, ts(50), 3.0, 2.5]
    assert fv.get_feature_vectors([{"cc_num": 1}], [event], return_type="dict") == [
        {"tx_id": 77, "cc_num": 1, "event_ts": ts(50), "amount": 3.0, "spend": 1.5}
    ]
    assert fv.transform(vector) == vector  # what vectors give, transform takes
    with pytest.raises(fti.InvalidDataError, match="passed feature"):
        fv.get_feature_vector({"cc_num": 2}, {"amount": 3.0, "tx_id": "x"})


def test_helper_columns_come_back_where_hopsworks_returns_them(
    fs: fti.FeatureStore, groups: tuple[fti.FeatureGroup, fti.FeatureGroup]
) -> None:
    tx, card = groups
    fv = fs.create_feature_view(
        "v",
        query=tx.select(["amount", "note", "y"]).join(card.select(["spend", "tier"])),
        labels=["y"],
        inference_helper_columns=["tier"],
        training_helper_columns=["note"],
    )
    assert fv.vector_names == fv.feature_names == ["amount", "spend"]
    x, _ = fv.training_data(dataframe_type="arrow")
    assert x.column_names == ["amount", "spend"]
    x, _ = fv.get_training_data(1, training_helper_columns=True, dataframe_type="arrow")
    assert x.column_names == ["amount", "note", "spend"]
    batch = fv.get_batch_data(inference_helper_columns=True, dataframe_type="arrow")
    assert batch.column_names == ["amount", "spend", "tier"]
    assert fv.get_feature_vector({"cc_num": 1}, {"amount": 1.0}) == [1.0, 1.5]
    helper = fv.get_inference_helper({"cc_num": 2})
    assert helper.to_dict("records") == [{"tier": "silver"}]
    assert fv.get_inference_helper({"cc_num": 1}, return_type="dict") == {"tier": "gold"}
    many = fv.get_inference_helpers([{"cc_num": 1}, {"cc_num": 2}], return_type="dict")
    assert many == [{"tier": "gold"}, {"tier": "silver"}]
    with pytest.raises(fti.FeatureVectorNotFound):
        fv.get_inference_helper({"cc_num": 9})
    assert fv.get_inference_helper({"cc_num": 9}, "dict", allow_missing=True) == {"tier": None}
    with pytest.raises(fti.FtiError, match="has no inference helper columns"):
        _features_only(fs, tx, card, "w").get_inference_helper({"cc_num": 1})
