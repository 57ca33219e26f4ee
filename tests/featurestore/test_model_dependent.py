"""Model-dependent transformations on feature views: fitted on the train split of a training
dataset, stored with it and applied with that state to every split, re-created data and batch
data; ``transform=False`` everywhere gives the untransformed values."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import fti
from fti import builtins
from tests.featurestore.helpers import ts

UTC_US = pa.timestamp("us", tz="UTC")


@fti.udf(float)
def amount_z(amount, statistics):  # type: ignore[no-untyped-def]
    return (amount - statistics.amount.mean) / statistics.amount.std


@fti.udf(float, drop=["spend"])
def spend_share(amount, spend):  # type: ignore[no-untyped-def]
    return amount / (amount + spend)


def transactions(n: int, amounts: list[float] | None = None) -> pa.Table:
    amounts = amounts or [float(i % 17) + 1.0 for i in range(n)]
    return pa.table(
        {
            "tx_id": pa.array(range(n), pa.int64()),
            "cc_num": pa.array([i % 5 for i in range(n)], pa.int64()),
            "event_ts": pa.array([ts(100 + i) for i in range(n)], UTC_US),
            "amount": pa.array(amounts, pa.float64()),
            "channel": pa.array([("web", "pos", "app")[i % 3] for i in range(n)]),
            "is_fraud": pa.array([i % 7 == 0 for i in range(n)]),
        }
    )


def build(
    fs: fti.FeatureStore, transforms: list, n: int = 60, amounts: list[float] | None = None
) -> fti.FeatureView:  # type: ignore[type-arg]
    tx = fs.create_feature_group("tx", primary_key=["tx_id"], event_time="event_ts")
    card = fs.create_feature_group(
        "card", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
    )
    tx.insert(transactions(n, amounts))
    card.insert(
        pa.table(
            {
                "cc_num": pa.array(range(5), pa.int64()),
                "event_ts": pa.array([ts(0)] * 5, UTC_US),
                "spend": pa.array([10.0, 20.0, None, 40.0, 50.0]),
            }
        )
    )
    query = tx.select_all().join(card.select_except(["event_ts"]))
    return fs.create_feature_view(
        "fraud", query=query, labels=["is_fraud"], transformation_functions=transforms
    )


def test_training_data_is_transformed_with_state_fitted_on_it(fs: fti.FeatureStore) -> None:
    fv = build(
        fs,
        [
            builtins.mean_imputer("spend"),
            builtins.standard_scaler("spend"),
            builtins.one_hot_encoder("channel"),
            amount_z,
        ],
    )
    x, _ = fv.training_data(dataframe_type="arrow")
    raw, _ = fv.get_training_data(1, dataframe_type="arrow", transform=False)
    assert raw.column_names == ["amount", "channel", "spend"]
    assert x.column_names == [
        "amount",
        "channel_app",
        "channel_pos",
        "channel_web",
        "spend",
        "amount_z",
    ]
    spend = np.array(raw.column("spend").to_pylist(), dtype=float)
    filled = np.where(np.isnan(spend), np.nanmean(spend), spend)
    expected = (filled - filled.mean()) / filled.std()
    np.testing.assert_allclose(x.column("spend").to_numpy(), expected, rtol=1e-12)
    amount = np.array(raw.column("amount").to_pylist())
    np.testing.assert_allclose(
        x.column("amount_z").to_numpy(), (amount - amount.mean()) / amount.std(ddof=1)
    )
    channel = raw.column("channel").to_pylist()
    assert x.column("channel_pos").to_pylist() == [c == "pos" for c in channel]
    assert x.column("amount").to_pylist() == raw.column("amount").to_pylist()  # not transformed
    state = fv.get_training_dataset(1).transformation_state
    assert state is not None and len(state["steps"]) == 4
    assert state["steps"][2] == {"categories": ["app", "pos", "web"]}
    # the stored state re-creates the same data
    again, _ = fv.get_training_data(1, dataframe_type="arrow")
    assert again.equals(x)


def test_splits_use_the_train_split_state_only(fs: fti.FeatureStore) -> None:
    """Leakage check: rows of the test split carry extreme amounts; the fitted state must not
    move, because it is fitted on the train split alone."""
    n = 80
    amounts = [1000.0 if i >= 60 else float(i % 10) for i in range(n)]
    fv = build(
        fs, [builtins.standard_scaler("amount"), builtins.min_max_scaler("amount")], n, amounts
    )
    x_train, x_test, _, _ = fv.train_test_split(
        test_start=ts(100 + 60), dataframe_type="arrow", statistics_config=False
    )
    raw_train, raw_test, _, _ = fv.get_train_test_split(1, dataframe_type="arrow", transform=False)
    train_amounts = np.array(raw_train.column("amount").to_pylist())
    assert train_amounts.max() < 1000  # the split put the outliers in test
    scaler, min_max = fv.get_training_dataset(1).transformation_state["steps"]  # type: ignore[index]
    assert scaler == {"center": train_amounts.mean(), "scale": train_amounts.std()}
    scaled = (train_amounts - train_amounts.mean()) / train_amounts.std()
    assert min_max == {"center": scaled.min(), "scale": scaled.max() - scaled.min()}
    # the test split is transformed with the train state: far outside [0, 1]
    assert min(x_train.column("amount").to_pylist()) == 0.0
    assert max(x_train.column("amount").to_pylist()) == 1.0
    assert min(x_test.column("amount").to_pylist()) > 1.0
    test_amounts = np.array(raw_test.column("amount").to_pylist())
    expected = ((test_amounts - scaler["center"]) / scaler["scale"] - min_max["center"]) / min_max[
        "scale"
    ]
    assert x_test.column("amount").to_pylist() == expected.tolist()


def test_random_split_and_three_way_split_are_transformed_alike(fs: fti.FeatureStore) -> None:
    fv = build(fs, [builtins.label_encoder("channel"), builtins.robust_scaler("amount")])
    parts = fv.train_validation_test_split(
        validation_size=0.2, test_size=0.2, dataframe_type="arrow"
    )
    raws = fv.get_train_validation_test_split(1, dataframe_type="arrow", transform=False)
    state = fv.get_training_dataset(1).transformation_state["steps"]  # type: ignore[index]
    train_channels = set(raws[0].column("channel").to_pylist())
    assert state[0]["categories"] == sorted(train_channels)
    for x, raw in zip(parts[:3], raws[:3], strict=True):
        codes = x.column("channel").to_pylist()
        assert codes == [state[0]["categories"].index(c) for c in raw.column("channel").to_pylist()]
        expected = (np.array(raw.column("amount").to_pylist()) - state[1]["center"]) / state[1][
            "scale"
        ]
        assert x.column("amount").to_pylist() == expected.tolist()


def test_udf_mdt_with_drop_and_rebuilt_in_another_project_object(
    fs: fti.FeatureStore, project: fti.Project
) -> None:
    fv = build(fs, [spend_share])
    x, _ = fv.training_data(dataframe_type="arrow")
    assert x.column_names == ["amount", "channel", "spend_share"]
    with fti.connect(project.home) as other:
        again = other.get_feature_store().get_feature_view("fraud", 1)
        assert [t.name for t in again.transformation_functions] == ["spend_share"]
        y, _ = again.get_training_data(1, dataframe_type="arrow")
        assert y.equals(x)


def test_batch_data_needs_a_training_dataset_and_applies_its_state(fs: fti.FeatureStore) -> None:
    fv = build(fs, [builtins.standard_scaler("amount")])
    x, _ = fv.training_data(dataframe_type="arrow")
    with pytest.raises(fti.FtiError, match="init_batch_scoring"):
        fv.get_batch_data()
    raw = fv.get_batch_data(transform=False, dataframe_type="arrow")
    assert raw.column("amount").to_pylist() == [float(i % 17) + 1.0 for i in range(60)]
    fv.init_batch_scoring(1)
    batch = fv.get_batch_data(dataframe_type="arrow")
    assert batch.equals(x)
    streamed = pa.Table.from_batches(list(fv.read_batches(batch_size=7)))
    assert streamed.column("amount").to_pylist() == x.column("amount").to_pylist()
    # transform() of untransformed data: frames and single vectors
    assert fv.transform(raw).equals(x)
    row = fv.transform({"amount": 1.0, "channel": "web", "spend": 2.0})
    assert row["amount"] == x.column("amount")[0].as_py()
    assert fv.transform(raw.to_pandas())["amount"].tolist() == x.column("amount").to_pylist()


def test_bad_definitions_are_refused_and_write_nothing(fs: fti.FeatureStore) -> None:
    for transforms, message in [
        ([builtins.standard_scaler("is_fraud")], "it is a label column"),
        ([builtins.standard_scaler("tx_id")], "it is a primary key column"),
        ([builtins.standard_scaler("nope")], "not in the view"),
        ([builtins.standard_scaler("channel")], "needs a numeric column"),
        ([builtins.label_encoder("amount")], "string, integer or boolean"),
        ([builtins.one_hot_encoder("channel"), builtins.label_encoder("channel")], "channel"),
        (["standard_scaler"], "takes fti.builtins"),
        ([builtins.constant_imputer("amount", "x")], "is not a double"),
    ]:
        with pytest.raises(fti.FtiError, match=message):
            build_view_only(fs, transforms)
    assert fs.get_feature_views() == []


def build_view_only(fs: fti.FeatureStore, transforms: list) -> fti.FeatureView:  # type: ignore[type-arg]
    try:
        tx = fs.get_feature_group("tx", 1)
        card = fs.get_feature_group("card", 1)
    except fti.NotFoundError:
        return build(fs, transforms)
    query = tx.select_all().join(card.select_except(["event_ts"]))
    return fs.create_feature_view(
        "fraud", query=query, labels=["is_fraud"], transformation_functions=transforms
    )


def test_a_fit_failure_records_no_training_dataset(fs: fti.FeatureStore) -> None:
    fv = build(fs, [builtins.standard_scaler("spend")])
    with pytest.raises(fti.TransformationError, match="no finite values"):
        fv.training_data(extra_filter=fv.query.group.cc_num == 2)  # card 2 has no spend
    assert fv.get_training_datasets() == []
