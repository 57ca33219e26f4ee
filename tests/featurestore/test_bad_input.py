"""Bad input at every edge: a clear error naming the column or row, and nothing written."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

import fti
from tests.featurestore.helpers import T0, cards


@pytest.fixture
def fg(fs: fti.FeatureStore) -> fti.FeatureGroup:
    group = fs.create_feature_group(
        "cards", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
    )
    group.insert(cards([1], [0], [1.0]))
    return group


def assert_unchanged(fg: fti.FeatureGroup) -> None:
    assert [c.commit_id for c in fg.commit_details()] == [0]
    assert fg.read(dataframe_type="arrow").num_rows == 1
    assert fg.read(online=True, dataframe_type="arrow").column("spend").to_pylist() == [1.0]
    assert fg.schema is not None and fg.schema.names == ["cc_num", "event_ts", "spend"]


def utc(values: list[dt.datetime]) -> pa.Array:
    return pa.array(values, pa.timestamp("us", tz="UTC"))


BAD_INPUTS = {
    "wrong type": (
        pa.table({"cc_num": [2], "event_ts": utc([T0]), "spend": ["a lot"]}),
        fti.SchemaError,
        r"column 'spend' has type string but the feature group stores double.*new feature group",
    ),
    "float into int key": (
        pa.table({"cc_num": [2.5], "event_ts": utc([T0]), "spend": [1.0]}),
        fti.SchemaError,
        "column 'cc_num'",
    ),
    "missing primary key": (
        pa.table({"event_ts": utc([T0]), "spend": [1.0]}),
        fti.SchemaError,
        r"column 'cc_num' is missing",
    ),
    "missing feature column": (
        pa.table({"cc_num": [2], "event_ts": utc([T0])}),
        fti.SchemaError,
        r"column\(s\) \['spend'\] are missing; nothing was written.*allow_missing_columns=True",
    ),
    "missing event time": (
        pa.table({"cc_num": [2], "spend": [1.0]}),
        fti.SchemaError,
        "event time column 'event_ts' is missing",
    ),
    "null primary key": (
        pa.table({"cc_num": [2, None, 4], "event_ts": utc([T0] * 3), "spend": [1.0] * 3}),
        fti.InvalidDataError,
        r"primary key column 'cc_num' has 1 null value\(s\), e.g. at rows \[1\]",
    ),
    "null event time": (
        pa.table({"cc_num": [2, 3], "event_ts": utc([T0, None]), "spend": [1.0] * 2}),  # type: ignore[list-item]
        fti.InvalidDataError,
        r"event time column 'event_ts' has 1 null.*rows \[1\]",
    ),
    "event time not a timestamp": (
        pa.table({"cc_num": [2], "event_ts": ["2026-01-01"], "spend": [1.0]}),
        fti.SchemaError,
        "must be a timestamp, a date or integers of epoch milliseconds, got string",
    ),
    "duplicate key and event time": (
        pa.table({"cc_num": [2, 3, 2], "event_ts": utc([T0] * 3), "spend": [1.0, 2.0, 3.0]}),
        fti.InvalidDataError,
        r"duplicate \(primary key, event time\).*'cc_num': 2.*rows \[0, 2\]",
    ),
    "unknown column": (
        pa.table({"cc_num": [2], "event_ts": utc([T0]), "spend": [1.0], "extra": [1]}),
        fti.SchemaError,
        r"unknown column\(s\) \['extra'\].*append_features",
    ),
    "invalid column name": (
        pa.table({"cc_num": [2], "event_ts": utc([T0]), "spend amount": [1.0]}),
        fti.SchemaError,
        "invalid column name 'spend amount'",
    ),
    "overflowing integer": (
        pa.table(
            {"cc_num": pa.array([2**64 - 1], pa.uint64()), "event_ts": utc([T0]), "spend": [1.0]}
        ),
        fti.SchemaError,
        "column 'cc_num'",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_insert_is_rejected_and_writes_nothing(fg: fti.FeatureGroup, case: str) -> None:
    data, error, message = BAD_INPUTS[case]
    with pytest.raises(error, match=message):
        fg.insert(data)
    assert_unchanged(fg)


def test_uint64_that_fits_is_accepted(fg: fti.FeatureGroup) -> None:
    fg.insert(
        pa.table({"cc_num": pa.array([7], pa.uint64()), "event_ts": utc([T0]), "spend": [1.0]})
    )
    assert sorted(fg.read(dataframe_type="arrow").column("cc_num").to_pylist()) == [1, 7]


def test_not_a_dataframe(fg: fti.FeatureGroup) -> None:
    with pytest.raises(fti.InvalidDataError, match="pandas or Polars DataFrame"):
        fg.insert([{"cc_num": 1}])
    assert_unchanged(fg)


def test_pandas_mixed_object_column(fg: fti.FeatureGroup) -> None:
    frame = pd.DataFrame(
        {"cc_num": [2, 3], "event_ts": pd.to_datetime([T0, T0], utc=True), "spend": [1.0, "x"]}
    )
    with pytest.raises(fti.SchemaError, match="spend"):
        fg.insert(frame)
    assert_unchanged(fg)


def test_first_insert_with_only_null_column_needs_a_declared_type(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group("fresh", primary_key=["k"])
    with pytest.raises(fti.SchemaError, match=r"\['note'\] hold only nulls"):
        fg.insert(pa.table({"k": [1], "note": pa.nulls(1)}))
    assert fg.commit_details() == [] and fg.schema is None


def test_bad_definitions(fs: fti.FeatureStore) -> None:
    with pytest.raises(fti.SchemaError, match="invalid feature group name"):
        fs.create_feature_group("bad name", primary_key=["k"])
    with pytest.raises(fti.SchemaError, match="positive integer"):
        fs.create_feature_group("ok", 0, primary_key=["k"])
    with pytest.raises(fti.SchemaError, match="needs a primary key"):
        fs.create_feature_group("ok", primary_key=[])
    with pytest.raises(fti.SchemaError, match="lack the key column"):
        fs.create_feature_group("ok", primary_key=["k"], features=[fti.Feature("v", "int64")])
    with pytest.raises(fti.SchemaError, match="must be a timestamp, a date or integers"):
        fs.create_feature_group(
            "ok",
            primary_key=["k"],
            event_time="t",
            features=[fti.Feature("k", "int64"), fti.Feature("t", "string")],
        )
    with pytest.raises(fti.SchemaError, match="unknown type 'integer'"):
        fti.Feature("k", "integer")
    assert fs.get_feature_groups() == []


def test_a_missing_column_is_filled_only_when_the_insert_says_so(fg: fti.FeatureGroup) -> None:
    fg.append_features([fti.Feature("note", pa.string()), fti.Feature("level", pa.int32())])
    rows = pa.table({"cc_num": [2], "event_ts": utc([T0])})
    with pytest.raises(fti.SchemaError, match=r"\['spend', 'note', 'level'\] are missing"):
        fg.insert(rows)
    with pytest.raises(fti.SchemaError, match=r"\['spend', 'level'\] are missing"):
        fg.insert(rows, defaults={"note": "n/a"})
    with pytest.raises(fti.SchemaError, match=r"default 'high' of 'level' is not a int32"):
        fg.insert(rows, defaults={"level": "high"}, allow_missing_columns=True)
    with pytest.raises(fti.SchemaError, match=r"defaults name unknown column\(s\) \['nope'\]"):
        fg.insert(rows, defaults={"nope": 1}, allow_missing_columns=True)
    assert [c.commit_id for c in fg.commit_details()] == [0, 1]  # 1: the appended features
    result = fg.insert(rows, defaults={"note": "n/a", "level": 3}, allow_missing_columns=True)
    assert result is not None
    assert result.filled_columns == {"spend": None, "note": "n/a", "level": 3}
    stored = fg.read(dataframe_type="arrow").sort_by("cc_num").to_pylist()[-1]
    assert (stored["spend"], stored["note"], stored["level"]) == (None, "n/a", 3)
    complete = fg.insert(
        pa.table({"cc_num": [3], "event_ts": utc([T0]), "spend": [1.0]}), allow_missing_columns=True
    )
    assert complete is not None and complete.filled_columns == {"note": None, "level": None}
