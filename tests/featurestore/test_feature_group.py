"""Feature groups end to end on the embedded project: create, insert, upsert, read, evolve."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import fti
from tests.featurestore.helpers import T0, cards, sort, ts


def make_fg(fs: fti.FeatureStore, **kwargs: object) -> fti.FeatureGroup:
    args: dict[str, object] = {
        "primary_key": ["cc_num"],
        "event_time": "event_ts",
        "online_enabled": True,
        "description": "card spend",
    }
    args.update(kwargs)
    return fs.get_or_create_feature_group("cards", 1, **args)  # type: ignore[arg-type]


def test_insert_then_read_returns_the_rows(fs: fti.FeatureStore) -> None:
    fg = make_fg(fs)
    data = cards([1, 2, 3], [0, 10, 20], [1.5, None, 3.5])
    result = fg.insert(data)
    assert result is not None
    assert (result.commit_id, result.rows_inserted, result.rows_updated) == (0, 3, 0)
    assert result.online_rows == 3
    assert sort(fg.read(dataframe_type="arrow")).equals(sort(data.cast(fg.schema)))
    assert fg.schema is not None
    assert fg.schema.field("cc_num").nullable is False
    assert fg.schema.field("spend").nullable is True
    assert [f.name for f in fg.features] == ["cc_num", "event_ts", "spend"]


def test_same_key_and_event_time_replaces_in_a_new_commit(fs: fti.FeatureStore) -> None:
    fg = make_fg(fs)
    fg.insert(cards([1, 2], [0, 0], [1.0, 2.0]))
    result = fg.insert(cards([1, 3], [0, 0], [10.0, 30.0]))
    assert result is not None
    assert (result.commit_id, result.rows_inserted, result.rows_updated) == (1, 1, 1)
    latest = sort(fg.read(dataframe_type="arrow"))
    assert latest.column("cc_num").to_pylist() == [1, 2, 3]
    assert latest.column("spend").to_pylist() == [10.0, 2.0, 30.0]
    # history stays readable
    assert sort(fg.read(as_of=0, dataframe_type="arrow")).column("spend").to_pylist() == [1.0, 2.0]
    details = fg.commit_details()
    assert [(c.commit_id, c.rows_inserted, c.rows_updated) for c in details] == [
        (0, 2, 0),
        (1, 1, 1),
    ]
    assert all(c.client and "fti" in c.client for c in details)
    assert details[0].committed_at <= details[1].committed_at


def test_read_as_of_a_datetime(fs: fti.FeatureStore) -> None:
    fg = make_fg(fs)
    fg.insert(cards([1], [0], [1.0]))
    first = fg.commit_details()[0].committed_at
    fg.insert(cards([2], [0], [2.0]))
    second = fg.commit_details()[1].committed_at
    at_first = fg.read(as_of=first + (second - first) / 2, dataframe_type="arrow")
    assert at_first.column("cc_num").to_pylist() == [1]
    assert fg.read(as_of=second, dataframe_type="arrow").num_rows == 2
    with pytest.raises(fti.CommitNotFound):
        fg.read(as_of=first - dt.timedelta(days=1))
    with pytest.raises(fti.CommitNotFound):
        fg.read(as_of=7)
    # a time without a zone is UTC (as in Hopsworks), also as an ISO string
    naive = (first + (second - first) / 2).astimezone(dt.UTC).replace(tzinfo=None)
    assert fg.read(as_of=naive, dataframe_type="arrow").equals(at_first)
    assert fg.read(as_of=naive.isoformat(sep=" "), dataframe_type="arrow").equals(at_first)


def test_accepts_pandas_polars_and_arrow_and_returns_each(fs: fti.FeatureStore) -> None:
    fg = make_fg(fs)
    base = cards([1, 2], [0, 5], [1.0, 2.0])
    fg.insert(base.to_pandas())
    fg.insert(pl.from_arrow(cards([3], [0], [3.0])))
    fg.insert(cards([4], [0], [4.0]).to_batches()[0])
    assert isinstance(fg.read(), pd.DataFrame)
    assert isinstance(fg.read(dataframe_type="polars"), pl.DataFrame)
    table = fg.read(dataframe_type="arrow")
    assert isinstance(table, pa.Table)
    assert sorted(table.column("cc_num").to_pylist()) == [1, 2, 3, 4]
    with pytest.raises(fti.FtiError, match="dataframe_type"):
        fg.read(dataframe_type="excel")


def test_online_store_keeps_the_newest_event_time(fs: fti.FeatureStore) -> None:
    fg = make_fg(fs)
    fg.insert(cards([1, 1, 2], [0, 100, 50], [1.0, 2.0, 5.0]))
    fg.insert(cards([1, 2], [50, 60], [9.0, 6.0]))  # key 1 late: must not win online
    online = sort(fg.read(online=True, dataframe_type="arrow"))
    assert online.column("cc_num").to_pylist() == [1, 2]
    assert online.column("spend").to_pylist() == [2.0, 6.0]
    assert online.column("event_ts").to_pylist() == [ts(100), ts(60)]
    # equal event time: the later commit wins online as it does offline
    fg.insert(cards([1], [100], [7.0]))
    online = sort(fg.read(online=True, dataframe_type="arrow"))
    assert online.column("spend").to_pylist() == [7.0, 6.0]


def test_feature_group_without_event_time_upserts_on_the_key(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group("merchants", primary_key=["merchant_id"], online_enabled=True)
    fg.insert(pa.table({"merchant_id": [1, 2], "category": ["food", "fuel"]}))
    fg.insert(pa.table({"merchant_id": [2, 3], "category": ["travel", "food"]}))
    rows = fg.read(dataframe_type="arrow").sort_by("merchant_id")
    assert rows.column("category").to_pylist() == ["food", "travel", "food"]
    online = fg.read(online=True, dataframe_type="arrow").sort_by("merchant_id")
    assert online.column("category").to_pylist() == ["food", "travel", "food"]


def test_composite_primary_key(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group(
        "pairs", primary_key=["a", "b"], event_time="event_ts", online_enabled=True
    )
    data = pa.table(
        {
            "a": [1, 1, 2],
            "b": ["x", "y", "x"],
            "event_ts": pa.array([T0] * 3, pa.timestamp("us", tz="UTC")),
            "v": [1, 2, 3],
        }
    )
    fg.insert(data)
    fg.insert(data.set_column(3, "v", pa.array([10, 20, 30])).slice(0, 1))
    online = sort(fg.read(online=True, dataframe_type="arrow"), ["a", "b"])
    assert online.column("v").to_pylist() == [10, 2, 3]
    assert online.column("b").to_pylist() == ["x", "y", "x"]


def test_partitioned_feature_group(fs: fti.FeatureStore, tmp_path: object) -> None:
    fg = fs.create_feature_group(
        "by_day", primary_key=["cc_num"], event_time="event_ts", partition_key=["day"]
    )
    data = cards([1, 2, 3], [0, 86_400, 90_000], [1.0, 2.0, 3.0]).append_column(
        "day", pa.array(["d0", "d1", "d1"])
    )
    fg.insert(data)
    from deltalake import DeltaTable

    assert DeltaTable(fg.location).metadata().partition_columns == ["day"]
    assert sorted(fg.read(dataframe_type="arrow").column("cc_num").to_pylist()) == [1, 2, 3]


def test_declared_schema_with_descriptions_and_casts(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group(
        "declared",
        primary_key=["cc_num"],
        event_time="event_ts",
        features=[
            fti.Feature("cc_num", "int64", "card number"),
            fti.Feature("event_ts", "timestamp", "when"),
            fti.Feature("spend", pa.float64(), "spend in EUR"),
        ],
    )
    assert fg.schema is not None and fg.schema.field("spend").type == pa.float64()
    assert fg.features[2].description == "spend in EUR"
    # int32 spend is widened to the declared double
    fg.insert(
        pa.table(
            {
                "cc_num": pa.array([1], pa.int32()),
                "event_ts": pa.array([T0], pa.timestamp("ns", tz="Europe/Paris")),
                "spend": pa.array([3], pa.int32()),
            }
        )
    )
    row = fg.read(dataframe_type="arrow")
    assert row.schema.field("spend").type == pa.float64()
    assert row.column("event_ts").to_pylist() == [T0]


def test_append_nullable_feature_in_place(fs: fti.FeatureStore) -> None:
    fg = make_fg(fs)
    fg.insert(cards([1], [0], [1.0]))
    fg.append_features([fti.Feature("country", "string", "issuing country")])
    fg.insert(cards([2], [0], [2.0]).append_column("country", pa.array(["NL"])))
    with pytest.raises(fti.SchemaError, match=r"\['country'\] are missing"):
        fg.insert(cards([3], [0], [3.0]))
    fg.insert(cards([3], [0], [3.0]), allow_missing_columns=True)  # omitted on purpose: null
    rows = fg.read(dataframe_type="arrow").sort_by("cc_num")
    assert rows.column("country").to_pylist() == [None, "NL", None]
    assert fg.read(as_of=0, dataframe_type="arrow").column_names == ["cc_num", "event_ts", "spend"]
    online = fg.read(online=True, dataframe_type="arrow").sort_by("cc_num")
    assert online.column("country").to_pylist() == [None, "NL", None]
    assert fs.get_feature_group("cards", 1).features[-1].description == "issuing country"
    with pytest.raises(fti.SchemaError, match="new feature group version"):
        fg.append_features([fti.Feature("spend", "string")])


def test_get_list_and_delete(fs: fti.FeatureStore) -> None:
    v1 = make_fg(fs)
    v1.insert(cards([1], [0], [1.0]))
    v2 = fs.create_feature_group("cards", 2, primary_key=["cc_num"], event_time="event_ts")
    assert fs.get_feature_group("cards").version == 2
    assert fs.get_feature_group("cards", 1).description == "card spend"
    assert [(g.name, g.version) for g in fs.get_feature_groups()] == [("cards", 1), ("cards", 2)]
    assert make_fg(fs).id == v1.id  # get_or_create returns the existing version
    with pytest.raises(fti.AlreadyExistsError):
        fs.create_feature_group("cards", 2, primary_key=["cc_num"])
    v1.delete()
    with pytest.raises(fti.FeatureGroupNotFound, match=r"versions: \[2\]"):
        fs.get_feature_group("cards", 1)
    assert fs.get_feature_group("cards").id == v2.id
    with pytest.raises(fti.FeatureGroupNotFound, match="does not exist"):
        fs.get_feature_group("nope")
    # a recreated version starts empty, offline and online
    again = make_fg(fs)
    assert again.commit_details() == []
    again.insert(cards([5], [0], [5.0]))
    assert again.read(online=True, dataframe_type="arrow").column("cc_num").to_pylist() == [5]


def test_statistics_per_commit(fs: fti.FeatureStore) -> None:
    fg = make_fg(fs)
    fg.insert(cards([1, 2, 3, 4], [0, 0, 0, 0], [1.0, 2.0, None, 5.0]))
    fg.insert(cards([9], [0], [100.0]))
    first = fg.statistics(commit_id=0)
    assert first is not None
    spend = first["columns"]["spend"]
    assert first["row_count"] == 4
    assert (spend["count"], spend["null_count"], spend["min"], spend["max"]) == (3, 1, 1.0, 5.0)
    assert spend["mean"] == pytest.approx(8 / 3)
    assert sum(spend["histogram"]["counts"]) == 3
    latest = fg.statistics()
    assert latest is not None and latest["commit_id"] == 1
    assert latest["columns"]["spend"]["max"] == 100.0


def test_statistics_can_be_disabled(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group("nostats", primary_key=["cc_num"], statistics_enabled=False)
    fg.insert(pa.table({"cc_num": [1]}))
    assert fg.statistics() is None


def test_empty_insert_writes_nothing(fs: fti.FeatureStore) -> None:
    fg = make_fg(fs)
    assert fg.insert(cards([], [], [])) is None
    assert fg.insert(pd.DataFrame({"cc_num": []})) is None
    assert fg.commit_details() == []
    assert fg.schema is None


def test_connect_uses_fti_home(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    home = Path(str(tmp_path)) / "env_home"
    monkeypatch.setenv("FTI_HOME", str(home))
    with fti.connect() as project:
        assert project.home == home.resolve()
        project.get_feature_store().create_feature_group("x", primary_key=["k"])
    with fti.connect(home) as project:
        assert project.get_feature_store().get_feature_group("x").version == 1
    monkeypatch.delenv("FTI_HOME")
    monkeypatch.chdir(str(tmp_path))
    with fti.connect() as project:
        assert project.home == (Path(str(tmp_path)) / "fti_home").resolve()


def test_lookup_by_key(fs: fti.FeatureStore) -> None:
    fg = make_fg(fs)
    fg.insert(cards([1, 2, 1], [0, 5, 9], [1.0, 2.0, None]))
    assert fg.lookup(1) == {"event_ts": ts(9), "spend": None}
    assert fg.lookup({"cc_num": 2}, features=["spend"]) == {"spend": 2.0}
    assert fg.lookup((2,), features=["event_ts"]) == {"event_ts": ts(5)}
    assert fg.lookup(3) is None
    assert fg.lookup([2, 3, 1], features=["spend"]) == [{"spend": 2.0}, None, {"spend": None}]
    assert fg.lookup([]) == []
    with pytest.raises(fti.SchemaError, match=r"unknown feature\(s\) \['nope'\]"):
        fg.lookup(1, features=["nope"])
    with pytest.raises(fti.InvalidDataError, match=r"lacks primary key column\(s\) \['cc_num'\]"):
        fg.lookup({"card": 1})
    with pytest.raises(fti.InvalidDataError, match="invalid primary key value"):
        fg.lookup("not a number")
    with pytest.raises(fti.InvalidDataError, match="invalid primary key value"):
        fg.lookup(1.5)
    # after appending a feature the old rows read it as null
    fg.append_features([fti.Feature("country", "string")])
    assert fg.lookup(2) == {"event_ts": ts(5), "spend": 2.0, "country": None}
    offline_only = fs.create_feature_group("offline_only", primary_key=["k"])
    with pytest.raises(fti.FtiError, match="not online enabled"):
        offline_only.lookup(1)


def test_update_feature_description(fs: fti.FeatureStore) -> None:
    fg = make_fg(fs)
    fg.insert(cards([1], [0], [1.0]))
    fg.update_feature_description("spend", "spend in EUR over the day")
    assert fs.get_feature_group("cards").features[2].description == "spend in EUR over the day"
    with pytest.raises(fti.SchemaError, match="feature 'nope' does not exist"):
        fg.update_feature_description("nope", "x")


def test_insert_shows_progress_when_asked(
    fs: fti.FeatureStore, capsys: pytest.CaptureFixture[str]
) -> None:
    fg = make_fg(fs)
    fg.insert(cards([1, 2], [0, 0], [1.0, 2.0]), progress=True)
    err = capsys.readouterr().err
    assert "cards v1" in err and "5/5" in err
    fg.insert(cards([3], [0], [1.0]))  # small and not a terminal: silent
    assert capsys.readouterr().err == ""


def test_later_batches_append_and_overlapping_ones_merge(fs: fti.FeatureStore) -> None:
    fg = make_fg(fs)
    fg.insert(cards([1, 2], [0, 10], [1.0, 2.0]))
    fg.insert(cards([1, 2], [20, 30], [3.0, 4.0]))  # strictly later: a plain append
    fg.insert(cards([1, 3], [10, 30], [5.0, 6.0]))  # reaches back into stored times: a merge
    ops = [(c.operation, c.rows_inserted, c.rows_updated) for c in fg.commit_details()]
    assert ops == [("WRITE", 2, 0), ("WRITE", 2, 0), ("MERGE", 2, 0)]
    rows = sort(fg.read(dataframe_type="arrow"))
    assert rows.num_rows == 6
    fg.insert(cards([1], [10], [7.0]))  # same key and time as a stored row: replaces it
    assert fg.commit_details()[-1].rows_updated == 1
    assert sort(fg.read(dataframe_type="arrow")).num_rows == 6


def test_statistics_of_the_last_commit_and_of_the_whole_table(fs: fti.FeatureStore) -> None:
    fg = make_fg(fs)
    fg.insert(cards([1, 2], [0, 0], [1.0, 2.0]))
    fg.insert(cards([3], [0], [6.0]))
    last = fg.statistics()
    assert last is not None and last["commit_id"] == 1 and last["row_count"] == 1
    whole = fg.compute_statistics()
    assert (whole["commit_id"], whole["row_count"], whole["whole_table"]) == (1, 3, True)
    assert whole["columns"]["spend"]["mean"] == pytest.approx(3.0)
    assert fg.compute_statistics(as_of=0)["row_count"] == 2
    empty = fs.create_feature_group("empty", primary_key=["cc_num"], event_time="event_ts")
    with pytest.raises(fti.CommitNotFound, match="no commits yet"):
        empty.compute_statistics()


def test_local_tables_are_read_without_a_python_file_system(
    fs: fti.FeatureStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """delta-rs's default file system is written in Python: an Arrow I/O thread dropping it
    while the interpreter exits aborted a process now and then (SIGABRT after the script's
    last line). Local tables are read through Arrow's own file system."""
    import pyarrow.fs as pafs

    fg = make_fg(fs)
    fg.insert(cards([1, 2], [0, 0], [1.0, 2.0]))
    fg.insert(cards([1], [0], [3.0]))

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("a Python file system was made for a local table")

    monkeypatch.setattr(pafs, "PyFileSystem", refused)
    assert fg.read(dataframe_type="arrow").num_rows == 2
    assert fg.read(as_of=0, dataframe_type="arrow").num_rows == 2
    added, removed = fs._storage.offline.commit_changes(fg._record.location, 1)
    assert (added.num_rows, removed.num_rows) == (2, 2)
