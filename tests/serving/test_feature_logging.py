"""Feature logging outside deployments, in Hopsworks' spelling: ``logging_enabled=True``,
``fv.log(...)`` from batch scoring or a custom server into the view's inference log beside
the deployments' rows, ``pause_logging`` / ``resume_logging``, ``materialize_log`` and
``read_log(transformed=...)``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import fti
from tests.featurestore.helpers import ts

UTC_US = pa.timestamp("us", tz="UTC")


class Half:
    def predict(self, x: list[list[float]]) -> list[float]:
        return [row[0] / 2 for row in x]


@pytest.fixture
def fv(fs: fti.FeatureStore) -> fti.FeatureView:
    tx = fs.create_feature_group("tx", primary_key=["tx_id"], event_time="event_ts")
    tx.insert(
        pa.table(
            {
                "tx_id": pa.array([1, 2, 3], pa.int64()),
                "cc_num": pa.array([1, 2, 1], pa.int64()),
                "event_ts": pa.array([ts(10), ts(20), ts(30)], UTC_US),
                "amount": [5.0, 7.0, 9.0],
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
            }
        )
    )
    return fs.create_feature_view(
        "fraud",
        query=tx.select(["amount", "y"]).join(card.select(["spend"])),
        labels=["y"],
        transformation_functions=[fti.builtins.min_max_scaler("amount")],
        logging_enabled=True,
        extra_log_columns=[fti.Feature("batch", "string", "the scoring job")],
    )


def test_batch_scoring_logs_into_the_views_log(fv: fti.FeatureView) -> None:
    fv.training_data()
    fv.init_batch_scoring(1)
    assert fv.logging_enabled and not fv.logging_paused
    raw = fv.get_batch_data(transformed=False, primary_key=True)
    features = fv.get_batch_data()
    predictions = pd.DataFrame({"y": [True, False, True]})
    ids = fv.log(
        raw,
        predictions=predictions,
        transformed_features=features,
        event_time=ts(100),
        extra_logging_features=[{"batch": "nightly"}] * 3,
    )
    assert ids is not None and len(set(ids)) == 3
    log = fv.read_log(dataframe_type="arrow")
    order = {request: i for i, request in enumerate(ids)}  # one time: the log's order is free
    log = log.take(sorted(range(3), key=lambda i: order[log.column("request_id")[i].as_py()]))
    assert log.column("amount").to_pylist() == [5.0, 7.0, 9.0]  # untransformed
    assert [json.loads(p) for p in log.column("prediction").to_pylist()] == [True, False, True]
    assert [json.loads(k) for k in log.column("serving_keys").to_pylist()] == [
        {"cc_num": 1},
        {"cc_num": 2},
        {"cc_num": 1},
    ]  # the rows' key columns
    assert set(log.column("logged_at").to_pylist()) == {ts(100)}
    assert log.column("batch").to_pylist() == ["nightly"] * 3
    assert log.column("deployment").to_pylist() == [None] * 3
    transformed = fv.read_log(transformed=True, dataframe_type="arrow").sort_by("amount")
    assert transformed.column("amount").to_pylist() == [0.0, 0.5, 1.0]  # the model's inputs
    assert fv.materialize_log(wait=True) == []  # committed as written: no job


def test_vectors_of_a_custom_server_and_a_model_version(
    project: fti.Project, fv: fti.FeatureView
) -> None:
    fv.training_data()
    fv.init_serving(1)
    mr = project.get_model_registry()

    model = mr.python.create_model("fraud", feature_view=fv).save(Half())
    raw = fv.get_feature_vector({"cc_num": 2}, {"amount": 7.0}, transform=False)
    vector = fv.transform(raw)
    fv.log([raw], predictions=[0.25], transformed_features=[vector], model=model)
    # and one from a deployment of the same view: both in one log
    deployment = model.deploy().start()
    try:
        deployment.predict({"cc_num": 1, "amount": 9.0})
        deployment.flush_log()
    finally:
        deployment.stop()
    log = fv.read_log(model=model, dataframe_type="arrow")
    assert log.num_rows == 2 and log.column("model_version").to_pylist() == [1, 1]
    assert sorted(log.column("deployment").to_pylist(), key=str) == [None, "fraud"]
    assert fv.read_log(model_name="other", dataframe_type="arrow").num_rows == 0
    transformed = fv.read_log(transformed=True, dataframe_type="arrow").sort_by("amount")
    assert transformed.column("amount").to_pylist() == [0.5, 1.0]
    assert transformed.column("spend").to_pylist() == [2.5, 1.5]


def test_paused_logging_writes_nothing_and_says_so(fv: fti.FeatureView) -> None:
    fv.pause_logging()
    again = fv._storage.catalog.get_feature_view_by_id(fv.id)
    assert again.logging is not None and again.logging["paused"] is True  # recorded
    with pytest.warns(UserWarning, match="paused: nothing was logged"):
        assert fv.log({"amount": 1.0, "spend": 2.0}) is None
    fv.resume_logging()
    assert fv.log({"amount": 1.0, "spend": 2.0}) is not None
    assert fv.read_log().shape[0] == 1


def test_bad_rows_are_refused_and_write_nothing(fs: fti.FeatureStore, fv: fti.FeatureView) -> None:
    for call, message in [
        ({"untransformed_features": {"amount": 1.0}}, r"lack the view's feature\(s\) \['spend'\]"),
        (
            {"untransformed_features": [{"amount": 1.0, "spend": 2.0}] * 2, "predictions": [1]},
            "predictions hold 1 rows for 2",
        ),
        ({"untransformed_features": [[1.0, 2.0, 3.0]]}, "each vector must hold"),
        (
            {"untransformed_features": {"amount": 1.0, "spend": 2.0}, "serving_keys": [5]},
            "a dict per row",
        ),
        (
            {
                "untransformed_features": {"amount": 1.0, "spend": 2.0},
                "extra_logging_features": {"nope": 1},
            },
            r"\['nope'\] are not the view's extra log columns \['batch'\]",
        ),
        ({}, "needs the untransformed features"),
    ]:
        with pytest.raises(fti.FtiError, match=message):
            fv.log(**call)
    with pytest.raises(fti.FtiError, match="filter the frame it returns"):
        fv.read_log(filter=fv.query.group.amount > 1)
    assert fv.read_log().shape[0] == 0
    with pytest.warns(fti.IgnoredOptionWarning, match=r"\['write_options'\]"):
        fv.log({"amount": 1.0, "spend": 2.0}, write_options={"start_offline_materialization": 1})
    plain = fs.create_feature_view("plain", query=fv.query)
    with pytest.raises(fti.FtiError, match="not enabled: create the view with logging_enabled"):
        plain.log({"amount": 1.0, "spend": 2.0})
    plain.enable_logging()
    assert plain.log({"amount": 1.0, "spend": 2.0, "y": True}) is not None
    with pytest.warns(fti.IgnoredOptionWarning, match=r"\['feature_logger'\]"):
        plain.init_serving(feature_logger=object())


def test_a_view_created_before_feature_logging_reads_as_not_enabled(tmp_path: Path) -> None:
    from tests.catalog.test_catalog import _migrate_to

    home = tmp_path / "project"
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        group = fs.create_feature_group("g", primary_key=["k"])
        group.insert(pa.table({"k": [1], "x": [1.0]}))
        fs.create_feature_view("v", query=group.select_all(), logging_enabled=True)
    _migrate_to(f"sqlite:///{home / 'catalog.sqlite'}", "0010", downgrade=True)
    with fti.connect(home) as project:  # upgrades to the head
        fv = project.get_feature_store().get_feature_view("v")
        assert not fv.logging_enabled
        fv.enable_logging()
        assert project.get_feature_store().get_feature_view("v").logging_enabled
