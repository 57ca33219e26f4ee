"""Feature views: definition, training-dataset versions, exact re-creation, batch data."""

from __future__ import annotations

import itertools
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fti
from tests.featurestore.helpers import cards, ts

UTC_US = pa.timestamp("us", tz="UTC")
_names = itertools.count()


def spine_rows(ids: list[int], keys: list[int], seconds: list[int], labels: list[bool]) -> pa.Table:
    return pa.table(
        {
            "tx_id": pa.array(ids, pa.int64()),
            "cc_num": pa.array(keys, pa.int64()),
            "event_ts": pa.array([ts(s) for s in seconds], UTC_US),
            "amount": pa.array([float(i) for i in ids]),
            "is_fraud": pa.array(labels),
        }
    )


def build(
    fs: fti.FeatureStore, suffix: str = ""
) -> tuple[fti.FeatureGroup, fti.FeatureGroup, fti.FeatureView]:
    tx = fs.create_feature_group(f"tx{suffix}", primary_key=["tx_id"], event_time="event_ts")
    card = fs.create_feature_group(
        f"card{suffix}", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
    )
    tx.insert(spine_rows([1, 2, 3, 4], [1, 1, 2, 3], [10, 30, 30, 50], [False, True, False, False]))
    card.insert(cards([1, 1, 2], [0, 20, 40], [1.0, 2.0, 3.0]))
    query = tx.select_all().join(card.select_except(["event_ts"]))
    fv = fs.create_feature_view(f"fraud{suffix}", query=query, labels=["is_fraud"])
    return tx, card, fv


def test_feature_view_definition_and_feature_order(fs: fti.FeatureStore) -> None:
    _, _, fv = build(fs)
    assert [(f["name"], f["role"]) for f in fv.features] == [
        ("tx_id", "primary_key"),
        ("cc_num", "primary_key"),
        ("event_ts", "event_time"),
        ("amount", "feature"),
        ("is_fraud", "label"),
        ("spend", "feature"),
    ]
    again = fs.get_feature_view("fraud", 1)
    assert again.query.to_string() == fv.query.to_string()
    assert [v.name for v in fs.get_feature_views()] == ["fraud"]
    assert fs.get_or_create_feature_view("fraud", 1, query=fv.query).id == fv.id
    with pytest.raises(fti.FeatureViewNotFound, match="does not exist"):
        fs.get_feature_view("nope")
    with pytest.raises(fti.SchemaError, match=r"label column\(s\) \['nope'\] are not in the query"):
        fs.create_feature_view("bad", query=fv.query, labels=["nope"])


def test_training_data_point_in_time_and_columns(fs: fti.FeatureStore) -> None:
    _, _, fv = build(fs)
    x, y = fv.training_data(dataframe_type="arrow")
    assert x.column_names == ["amount", "spend"]
    assert x.column("spend").to_pylist() == [1.0, 2.0, None, None]  # tx 3 at 30s: card 2 at 40s
    assert y.column("is_fraud").to_pylist() == [False, True, False, False]
    x, _ = fv.training_data(primary_key=True, event_time=True, dataframe_type="arrow")
    assert x.column_names == ["tx_id", "cc_num", "event_ts", "amount", "spend"]
    assert [td.version for td in fv.get_training_datasets()] == [1, 2]
    td = fv.get_training_dataset(1)
    assert td.commits == {"tx:1": 0, "card:1": 0}
    assert td.statistics is not None and td.statistics["row_count"] == 4


def test_statistics_config(fs: fti.FeatureStore) -> None:
    _, _, fv = build(fs)
    fv.training_data(statistics_config=False)
    assert fv.get_training_dataset(1).statistics is None
    fv.training_data(statistics_config={"columns": ["amount", "spend"], "correlations": True})
    stats = fv.get_training_dataset(2).statistics
    assert stats is not None and set(stats["columns"]) == {"amount", "spend"}
    assert "histogram" in stats["columns"]["amount"]
    corr = stats["correlations"]
    assert corr["columns"] == ["amount", "spend"]
    assert corr["matrix"][0][0] == 1.0 and corr["matrix"][0][1] == corr["matrix"][1][0]
    fv.training_data(statistics_config=fti.StatisticsConfig(histograms=False))
    stats = fv.get_training_dataset(3).statistics
    assert stats is not None and "histogram" not in stats["columns"]["amount"]
    assert "correlations" not in stats
    for bad, match in [
        ({"columns": ["nope"]}, r"unknown column\(s\) \['nope'\]"),
        ({"histogram": True}, r"unknown statistics_config key\(s\) \['histogram'\]"),
        ({"enabled": "yes"}, "must be a bool"),
        ("yes", "must be a bool, a dict or a StatisticsConfig"),
    ]:
        with pytest.raises(fti.FtiError, match=match):
            fv.training_data(statistics_config=bad)  # type: ignore[arg-type]
    assert len(fv.get_training_datasets()) == 3  # the refused calls recorded nothing


def test_late_rows_leave_a_version_unchanged_and_a_new_version_sees_them(
    fs: fti.FeatureStore,
) -> None:
    tx, card, fv = build(fs)
    x1, y1 = fv.training_data(dataframe_type="arrow")
    card.insert(cards([2, 1], [25, 20], [9.0, 7.0]))  # a late row and a correction
    tx.insert(spine_rows([5], [2], [60], [True]))  # a new transaction
    again_x, again_y = fv.get_training_data(1, dataframe_type="arrow")
    assert again_x.equals(x1) and again_y.equals(y1)
    x2, _ = fv.training_data(dataframe_type="arrow")
    assert x2.column("spend").to_pylist() == [1.0, 7.0, 9.0, None, 3.0]
    assert fv.get_training_dataset(2).commits == {"tx:1": 1, "card:1": 1}


def test_time_window_and_extra_filter(fs: fti.FeatureStore) -> None:
    tx, _, fv = build(fs)
    x, _ = fv.training_data(start_time=ts(20), end_time=ts(50), dataframe_type="arrow")
    assert x.column("amount").to_pylist() == [2.0, 3.0]
    x, _ = fv.training_data(extra_filter=tx.amount > 2, dataframe_type="arrow")
    assert x.column("amount").to_pylist() == [3.0, 4.0]
    assert fv.get_training_data(2, dataframe_type="arrow")[0].column("amount").to_pylist() == [
        3.0,
        4.0,
    ]
    # the same window without a zone (UTC), as a string, as epoch milliseconds
    for start, end in [
        (ts(20).replace(tzinfo=None), ts(50).replace(tzinfo=None)),
        (ts(20).strftime("%Y-%m-%d %H:%M:%S"), ts(50).strftime("%Y%m%d%H%M%S")),
        (int(ts(20).timestamp() * 1000), int(ts(50).timestamp() * 1000)),
    ]:
        x, _ = fv.training_data(start_time=start, end_time=end, dataframe_type="arrow")
        assert x.column("amount").to_pylist() == [2.0, 3.0], (start, end)
    with pytest.raises(fti.FtiError, match="start_time 'soon' is not a time fti can read"):
        fv.training_data(start_time="soon")
    with pytest.raises(fti.FtiError, match="start_time must be before end_time"):
        fv.training_data(start_time=ts(50), end_time=ts(20))


def test_random_and_time_splits_recreate_exactly(fs: fti.FeatureStore) -> None:
    tx, _, fv = build(fs)
    tx.insert(spine_rows(list(range(10, 60)), [1] * 50, list(range(10, 60)), [False] * 50))
    x_train, x_test, y_train, y_test = fv.train_test_split(test_size=0.3, seed=7)
    assert len(x_train) + len(x_test) == 54 and 5 < len(x_test) < 30
    assert set(x_train["amount"]).isdisjoint(set(x_test["amount"]))
    again = fv.get_train_test_split(1)
    assert all(a.equals(b) for a, b in zip(again, (x_train, x_test, y_train, y_test), strict=True))
    other = fv.train_test_split(test_size=0.3, seed=8)
    assert not other[1].equals(x_test)
    x_tr, x_te, *_ = fv.train_test_split(test_start=ts(40), event_time=True, dataframe_type="arrow")
    assert max(x_tr.column("event_ts").to_pylist()) < ts(40)
    assert min(x_te.column("event_ts").to_pylist()) >= ts(40)
    parts = fv.train_validation_test_split(validation_size=0.2, test_size=0.2)
    assert sum(len(p) for p in parts[:3]) == 54 and len(parts) == 6
    timed = fv.train_validation_test_split(validation_start=ts(30), test_start=ts(45))
    assert [len(p) for p in timed[:3]] == [21, 17, 16]  # event times <30, 30..44, >=45
    assert [len(p) for p in fv.get_train_validation_test_split(5)[:3]] == [21, 17, 16]
    with pytest.raises(fti.FtiError, match="test_size"):
        fv.train_test_split(test_size=1.5)
    with pytest.raises(fti.FtiError, match="give test_size"):
        fv.train_test_split()


def test_batch_data(fs: fti.FeatureStore) -> None:
    tx, _, fv = build(fs)
    batch = fv.get_batch_data(start_time=ts(30), dataframe_type="arrow")
    assert batch.column_names == ["amount", "spend"]
    assert batch.column("amount").to_pylist() == [2.0, 3.0, 4.0]
    spine = pa.table(
        {
            "tx_id": [100, 101],
            "cc_num": [2, 1],
            "event_ts": pa.array([ts(45), ts(5)], UTC_US),
            "amount": [5.0, 6.0],
        }
    )
    by_spine = fv.get_batch_data(spine=spine, primary_key=True, dataframe_type="arrow")
    assert by_spine.column("tx_id").to_pylist() == [100, 101]  # the spine's order
    assert by_spine.column("spend").to_pylist() == [3.0, 1.0]
    latest = fv.get_batch_data(latest_features=True, primary_key=True, dataframe_type="arrow")
    assert latest.column("spend").to_pylist() == [2.0, 2.0, 3.0, None]  # newest card values
    fv.training_data(extra_filter=tx.amount > 2)
    fv.init_batch_scoring(1)
    assert fv.get_batch_data(dataframe_type="arrow").column("amount").to_pylist() == [3.0, 4.0]


def test_deleting_views_and_groups_respects_dependencies(fs: fti.FeatureStore) -> None:
    _, card, fv = build(fs)
    with pytest.raises(fti.FtiError, match="fraud v1 read this feature group"):
        card.delete()
    fv.training_data()
    with pytest.raises(fti.FtiError, match=r"training dataset version\(s\) \[1\]"):
        fv.delete()
    fv.delete(force=True)
    with pytest.raises(fti.FeatureViewNotFound, match="does not exist"):
        fs.get_feature_view("fraud", 1)
    card.delete()


# How a training dataset is split: none, random (test and validation fractions, seed) or by
# time (test from a second, validation from an earlier one).
SPLITS = st.one_of(
    st.just(("none",)),
    st.tuples(
        st.just("random"),
        st.sampled_from([0.2, 0.5]),
        st.sampled_from([0.0, 0.25]),
        st.integers(0, 2**32 - 1),
    ),
    st.tuples(st.just("time"), st.integers(20, 60), st.one_of(st.none(), st.integers(5, 19))),
)


def create(fv: fti.FeatureView, split: tuple[Any, ...]) -> tuple[Any, ...]:
    """A new training dataset version split as drawn, as Arrow frames."""
    if split[0] == "none":
        return fv.training_data(dataframe_type="arrow")
    if split[0] == "random":
        _, test, validation, seed = split
        if validation:
            return fv.train_validation_test_split(
                validation_size=validation, test_size=test, seed=seed, dataframe_type="arrow"
            )
        return fv.train_test_split(test_size=test, seed=seed, dataframe_type="arrow")
    _, test_start, validation_start = split
    if validation_start is None:
        return fv.train_test_split(test_start=ts(test_start), dataframe_type="arrow")
    return fv.train_validation_test_split(
        validation_start=ts(validation_start), test_start=ts(test_start), dataframe_type="arrow"
    )


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    later=st.lists(
        st.tuples(st.sampled_from(["tx", "card"]), st.integers(1, 3), st.integers(0, 60)),
        min_size=1,
        max_size=6,
    ),
    split=SPLITS,
)
def test_training_data_is_recreated_bit_identically(
    fs: fti.FeatureStore, later: list[tuple[str, int, int]], split: tuple[Any, ...]
) -> None:
    suffix = f"_{next(_names)}"
    tx, card, fv = build(fs, suffix)
    # enough rows that two seeds almost never split them alike
    ids = list(range(10, 40))
    tx.insert(
        spine_rows(ids, [1 + i % 3 for i in ids], [i + 20 for i in ids], [i % 2 == 0 for i in ids])
    )
    before = create(fv, split)
    stored = fv.get_training_dataset(1).spec["split"]
    assert stored["kind"] == split[0]
    if split[0] == "random":
        assert (stored["test_size"], stored["validation_size"], stored["seed"]) == split[1:]
    for i, (which, key, second) in enumerate(later):  # late rows, corrections, new entities
        if which == "tx":
            tx.insert(spine_rows([100 + i], [key], [second], [bool(i % 2)]))
        else:
            card.insert(cards([key], [second], [float(i)]))
    after = fv.get_training_data(1, dataframe_type="arrow")
    assert len(after) == len(before)
    for a, b in zip(after, before, strict=True):
        assert a.equals(b)


@pytest.mark.parametrize("data_format", ["parquet", "csv"])
def test_create_training_data_writes_files(fs: fti.FeatureStore, data_format: str) -> None:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    _, _, fv = build(fs)
    version, job = fv.create_training_data(data_format=data_format, test_size=0.5, seed=1)
    assert job is None  # Hopsworks returns (version, job); fti writes in the call
    td = fv.get_training_dataset(version)
    assert td.data_format == data_format and td.location is not None
    read = pq.read_table if data_format == "parquet" else pcsv.read_csv
    train, test = (read(f"{td.location}/{s}.{data_format}") for s in ("train", "test"))
    assert train.num_rows + test.num_rows == 4
    assert "tx_id" in train.column_names and "is_fraud" in train.column_names
    x_train, _, _, _ = fv.get_train_test_split(version, primary_key=True, dataframe_type="arrow")
    assert sorted(train.column("tx_id").to_pylist()) == sorted(x_train.column("tx_id").to_pylist())
    with pytest.raises(fti.FtiError, match="data_format"):
        fv.create_training_data(data_format="xlsx")


def test_read_batches_streams_the_batch_data(fs: fti.FeatureStore) -> None:
    tx, _, fv = build(fs)
    tx.insert(spine_rows(list(range(10, 30)), [1] * 20, list(range(60, 80)), [False] * 20))
    batches = list(fv.read_batches(start_time=ts(30), batch_size=7))
    assert len(batches) >= 3 and all(b.num_rows <= 7 for b in batches)
    streamed = pa.Table.from_batches(batches)
    assert streamed.equals(fv.get_batch_data(start_time=ts(30), dataframe_type="arrow"))


def test_helper_columns(fs: fti.FeatureStore) -> None:
    tx, card, _ = build(fs)
    fv = fs.create_feature_view(
        "helpers",
        query=tx.select_all().join(card.select_except(["event_ts"])),
        labels=["is_fraud"],
        training_helper_columns=["amount"],
        inference_helper_columns=["spend"],
    )
    roles = {f["name"]: f["role"] for f in fv.features}
    assert (roles["amount"], roles["spend"]) == ("training_helper", "inference_helper")
    x, _ = fv.training_data(dataframe_type="arrow")
    assert x.column_names == []  # both non-key columns are helpers here
    x, _ = fv.training_data(training_helper_columns=True, dataframe_type="arrow")
    assert x.column_names == ["amount"]
    assert fv.get_batch_data(dataframe_type="arrow").column_names == []
    batch = fv.get_batch_data(inference_helpers=True, dataframe_type="arrow")
    assert batch.column_names == ["spend"]
    with pytest.raises(fti.SchemaError, match="both label and training_helper"):
        fs.create_feature_view(
            "clash", query=fv.query, labels=["amount"], training_helper_columns=["amount"]
        )
