"""Hopsworks' spellings of feature-store calls, as tutorial notebooks write them: what they
do on fti (the same, or what the docs' mapping table says), and options with no meaning here
ignored with one warning naming each, or refused with what to do instead."""

from __future__ import annotations

import warnings

import numpy as np
import pyarrow as pa
import pytest

import fti
from tests.featurestore.helpers import cards, ts

UTC_US = pa.timestamp("us", tz="UTC")


def _rows(keys: list[int], seconds: list[int], spend: list[float]) -> pa.Table:
    return cards(keys, seconds, spend)


@pytest.fixture
def fg(fs: fti.FeatureStore) -> fti.FeatureGroup:
    return fs.create_feature_group(
        "cards", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
    )


def test_insert_takes_hopsworks_options(fg: fti.FeatureGroup) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the waits are what an insert does: no warning
        result = fg.insert(
            _rows([1, 2], [0, 0], [1.0, 2.0]),
            wait=True,
            write_options={"wait_for_job": True, "wait_for_online_ingestion": True},
        )
    job, report = result  # type: ignore[misc]  # Hopsworks' (job, report)
    assert job is None and report is None
    with pytest.warns(fti.IgnoredOptionWarning, match=r"\['kafka_producer_config'\]"):
        fg.insert(_rows([3], [0], [3.0]), write_options={"kafka_producer_config": {"x": 1}})
    with pytest.warns(fti.IgnoredOptionWarning, match="operation: fti upserts"):
        fg.insert(_rows([3], [0], [4.0]), operation="insert")
    assert fg.read(online=True).sort_values("cc_num")["spend"].tolist() == [1.0, 2.0, 4.0]
    commits = len(fg.commit_details())
    with pytest.raises(fti.FtiError, match=r"insert\(overwrite=True\) would delete every row"):
        fg.insert(_rows([9], [0], [9.0]), overwrite=True)
    with pytest.raises(fti.FtiError, match="writes both stores in every insert"):
        fg.insert(_rows([9], [0], [9.0]), storage="online")
    assert len(fg.commit_details()) == commits  # nothing written
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['nope'\]"):
        fg.insert(_rows([9], [0], [9.0]), nope=1)


def test_run_validation_false_skips_the_suite(fs: fti.FeatureStore) -> None:
    suite = fti.ExpectationSuite("s", [fti.expect.between("spend", max=10)])
    fg = fs.create_feature_group("g", primary_key=["cc_num"], expectation_suite=suite)
    rows = _rows([1], [0], [100.0]).drop_columns(["event_ts"])
    with pytest.raises(fti.ValidationFailed):
        fg.insert(rows)
    result = fg.insert(rows, validation_options={"run_validation": False})
    assert result is not None and result.validation_report is None
    assert fg.read()["spend"].tolist() == [100.0]


def test_show_and_select_features(fg: fti.FeatureGroup) -> None:
    fg.insert(_rows([1, 2, 3], [0, 1, 2], [1.0, 2.0, 3.0]))
    shown = fg.show(2)
    assert list(shown["cc_num"]) == [1, 2] and list(shown.columns) == [
        "cc_num",
        "event_ts",
        "spend",
    ]
    assert len(fg.select(["spend"]).show(5)) == 3
    assert len(fg.show(1, online=True)) == 1
    with pytest.raises(fti.FtiError, match="number of rows >= 0"):
        fg.show(-1)
    assert fg.select_features().output_columns == ["spend"]
    assert (
        fg.select_all(include_primary_key=False, include_event_time=False).output_columns
        == fg.select_features().output_columns
    )
    assert fg.select_all(include_event_time=False).output_columns == ["cc_num", "spend"]


def _view(fs: fti.FeatureStore, fg: fti.FeatureGroup) -> fti.FeatureView:
    tx = fs.create_feature_group("tx", primary_key=["tx_id"], event_time="event_ts")
    tx.insert(
        pa.table(
            {
                "tx_id": [10, 11, 12],
                "cc_num": [1, 2, 1],
                "event_ts": pa.array([ts(10), ts(10), ts(30)], UTC_US),
                "amount": [5.0, 7.0, 9.0],
                "y": [True, False, True],
            }
        )
    )
    fg.insert(_rows([1, 2], [0, 0], [1.0, 2.0]))
    return fs.create_feature_view(
        "v",
        query=tx.select(["amount", "y"]).join(fg.select(["spend"]), on=["cc_num"]),
        labels=["y"],
        transformation_functions=[fti.builtins.min_max_scaler("amount")],
    )


def test_feature_vectors_in_hopsworks_spelling(fs: fti.FeatureStore, fg: fti.FeatureGroup) -> None:
    fv = _view(fs, fg)
    fv.training_data()
    fv.init_serving()  # the training dataset created last
    assert fv.get_feature_vector({"cc_num": 1}, {"amount": 7.0}) == [0.5, 1.0]
    fv.training_data(end_time=ts(15))  # version 2: amount 5..7
    again = fs.get_feature_view("v")
    with pytest.warns(UserWarning, match=r"has training datasets \[1, 2\].*version 1"):
        again.init_serving()  # several and none created here: version 1, as Hopsworks
    assert again.get_feature_vector({"cc_num": 1}, {"amount": 7.0}) == [0.5, 1.0]
    with pytest.warns(DeprecationWarning, match="entry= is deprecated"):
        assert fv.get_feature_vector(entry={"cc_num": 1}, passed_features={"amount": 7.0}) == [
            0.5,
            1.0,
        ]
    with pytest.raises(fti.FeatureVectorNotFound):
        fv.get_feature_vector({"cc_num": 99}, {"amount": 7.0})
    assert fv.get_feature_vector({"cc_num": 99}, {"amount": 7.0}, allow_missing=True) == [
        0.5,
        None,
    ]
    many = fv.get_feature_vectors(
        [{"cc_num": 99}, {"cc_num": 2}], [{"amount": 5.0}] * 2, allow_missing=True
    )
    assert many == [[0.0, None], [0.0, 2.0]]
    with pytest.warns(fti.IgnoredOptionWarning, match=r"\['force_rest_client'\]"):
        fv.get_feature_vector({"cc_num": 1}, {"amount": 7.0}, force_rest_client=True)
    with pytest.warns(fti.IgnoredOptionWarning, match=r"\['init_rest_client'\]"):
        fv.init_serving(1, init_rest_client=True)


def test_transform_takes_what_feature_vectors_give(
    fs: fti.FeatureStore, fg: fti.FeatureGroup
) -> None:
    fv = _view(fs, fg)
    fv.training_data()
    fv.init_serving(1)
    raw = fv.get_feature_vector({"cc_num": 1}, {"amount": 7.0}, transform=False)
    assert raw == [7.0, 1.0]
    assert fv.transform(raw) == fv.get_feature_vector({"cc_num": 1}, {"amount": 7.0}) == [0.5, 1.0]
    assert fv.transform([raw, [9.0, 2.0]]) == [[0.5, 1.0], [1.0, 2.0]]
    with pytest.raises(
        fti.FtiError, match=r"holds 2 values, the view's columns \['amount', 'spend'\]"
    ):
        fv.transform([1.0])


def test_batch_data_in_hopsworks_spelling(fs: fti.FeatureStore, fg: fti.FeatureGroup) -> None:
    fv = _view(fs, fg)
    fv.training_data()
    fv.init_batch_scoring(1)
    raw = fv.get_batch_data(transformed=False, dataframe_type="default")
    assert raw["amount"].tolist() == [5.0, 7.0, 9.0]
    numpy = fv.get_batch_data(dataframe_type="numpy")
    assert isinstance(numpy, np.ndarray) and numpy.shape == (3, 2)
    assert fv.get_batch_data(dataframe_type="python")[2] == [1.0, 1.0]
    spine = pa.table(
        {"tx_id": [50], "cc_num": [2], "event_ts": pa.array([ts(60)], UTC_US), "amount": [5.0]}
    )
    with_keys = fv.get_batch_data(spine_df=spine, dataframe_type="arrow")
    # with a spine the keys (the root's and the join's) and the event time come back
    assert with_keys.to_pylist() == [
        {"tx_id": 50, "cc_num": 2, "event_ts": ts(60), "amount": 0.0, "spend": 2.0}
    ]
    filtered = fv.get_batch_data(extra_filter=fv.query.group.amount > 6, dataframe_type="arrow")
    assert filtered.num_rows == 2
    with pytest.warns(fti.IgnoredOptionWarning, match=r"\['read_options'\]"):
        fv.get_batch_data(read_options={"use_hive": True})


def test_materialized_splits_return_version_and_job(
    fs: fti.FeatureStore, fg: fti.FeatureGroup
) -> None:
    fv = _view(fs, fg)
    version, job = fv.create_train_test_split(test_start=ts(20), test_end=ts(40))
    assert (version, job) == (1, None)
    x_train, x_test, _, _ = fv.get_train_test_split(version, dataframe_type="arrow")
    assert (x_train.num_rows, x_test.num_rows) == (2, 1)
    version, job = fv.create_train_validation_test_split(validation_size=0.3, test_size=0.3, seed=3)
    assert version == 2 and job is None
    with pytest.raises(fti.FtiError, match="spine_df=: a training dataset is re-created"):
        fv.training_data(spine_df=pa.table({"x": [1]}))
    with pytest.warns(fti.IgnoredOptionWarning, match=r"\['tags'\]"):
        fv.training_data(tags={"team": "fraud"})


def test_create_feature_group_takes_hopsworks_options(fs: fti.FeatureStore) -> None:
    with pytest.warns(fti.IgnoredOptionWarning) as caught:
        first = fs.create_feature_group(
            "hops",
            version=None,  # the one after the latest: 1
            primary_key=["cc_num"],
            event_time="event_ts",
            partitioned_by=["cc_num"],
            time_travel_format="HUDI",
            stream=True,
            topic_name="hops_topic",
            online_config=None,  # at its default: nothing to say
        )
    assert len(caught) == 1
    said = str(caught[0].message)
    assert "['time_travel_format', 'stream', 'topic_name']" in said and "Delta Lake" in said
    assert (first.version, first.partition_key) == (1, ["cc_num"])
    second = fs.create_feature_group("hops", version=None, primary_key=["cc_num"])
    assert second.version == 2
    for option, message in [
        ({"ttl": 3600}, "online rows do not expire: give the view's joins max_feature_age="),
        ({"embedding_index": object()}, "no similarity search"),
        ({"storage_connector": object()}, "no external feature groups"),
        ({"partition_key": ["a"], "partitioned_by": ["a"]}, "not both"),
    ]:
        with pytest.raises(fti.FtiError, match=message):
            fs.create_feature_group("refused", primary_key=["cc_num"], **option)
    with pytest.raises(TypeError, match=r"\['nope'\]"):
        fs.create_feature_group("refused", primary_key=["cc_num"], nope=1)
    assert [g.name for g in fs.get_feature_groups()].count("refused") == 0


def test_a_views_max_feature_age_applies_to_every_join_without_its_own(
    fs: fti.FeatureStore, fg: fti.FeatureGroup
) -> None:
    import datetime as dt

    tx = fs.create_feature_group("tx", primary_key=["tx_id"], event_time="event_ts")
    tx.insert(
        pa.table(
            {
                "tx_id": [1, 2],
                "cc_num": [1, 2],
                "event_ts": pa.array([ts(100), ts(100)], UTC_US),
                "amount": [1.0, 2.0],
            }
        )
    )
    fg.insert(_rows([1, 2], [95, 0], [1.0, 2.0]))  # card 2's row is 100 s old
    with pytest.warns(fti.IgnoredOptionWarning, match=r"\['tags'\]"):
        fv = fs.create_feature_view(
            "aged",
            version=None,
            query=tx.select(["amount"]).join(fg.select(["spend"])),
            max_feature_age=dt.timedelta(seconds=30),
            tags={"team": "fraud"},
        )
    assert fv.version == 1
    assert fv.query.joins[0].max_feature_age == dt.timedelta(seconds=30)
    x, _ = fv.training_data(dataframe_type="arrow")
    assert x.column("spend").to_pylist() == [1.0, None]
    with pytest.raises(fti.FtiError, match="must not be negative"):
        fs.create_feature_view("aged", 2, query=fv.query, max_feature_age=dt.timedelta(seconds=-1))
