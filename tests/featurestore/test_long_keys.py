"""Primary keys longer than the online store holds: refused before anything is written, and a
group that already holds some still opens and keeps its other keys online."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import fti
from fti.online.lmdb import LmdbOnlineStore

LIMIT = 511  # LMDB's key limit as built; an encoded str key of n <= 65535 bytes takes n + 3


def rows(keys: list[str], values: list[float] | None = None) -> pa.Table:
    return pa.table({"k": keys, "v": values or [float(i) for i in range(len(keys))]})


def test_a_key_the_online_store_cannot_hold_is_refused_and_nothing_written(
    fs: fti.FeatureStore,
) -> None:
    fg = fs.create_feature_group("long", primary_key=["k"], online_enabled=True)
    message = r"row 2 .*512 bytes.*at most 511.*nothing was written"
    with pytest.raises(fti.InvalidDataError, match=message):
        fg.insert(rows(["a", "b", "x" * 509, "y" * 600]))
    assert fg.commit_details() == []
    assert fs._storage.online.count(fg._online_table) == 0
    fg.insert(rows(["a", "x" * 508]))  # 511 bytes: the longest that fits
    # counted in bytes, not characters: 255 two-byte characters take 513
    with pytest.raises(fti.InvalidDataError, match=r"row 0 .*513 bytes"):
        fg.insert(rows(["é" * 255]))
    assert len(fg.commit_details()) == 1
    assert fg.read(dataframe_type="arrow").num_rows == 2
    assert fg.read(online=True, dataframe_type="arrow").num_rows == 2
    assert fg.lookup("x" * 508) == {"v": 1.0}


def test_a_composite_key_counts_every_column(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group("pairs", primary_key=["k", "n"], online_enabled=True)
    data = pa.table({"k": ["x" * 505] * 2, "n": [5, 1000], "v": [1.0, 2.0]})
    # an array header, the string (3 + 505) and the int: 1 byte for 5, 3 for 1000
    with pytest.raises(fti.InvalidDataError, match=r"row 1 .*512 bytes"):
        fg.insert(data)
    fg.insert(data.slice(0, 1))
    assert fg.lookup({"k": "x" * 505, "n": 5}) == {"v": 1.0}


def test_an_offline_group_takes_long_keys(fs: fti.FeatureStore) -> None:
    fg = fs.create_feature_group("offline", primary_key=["k"])
    fg.insert(rows(["x" * 2000]))
    assert fg.read(dataframe_type="arrow").column("k").to_pylist() == ["x" * 2000]


def test_a_group_already_holding_a_key_too_long_opens_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    long_key = "x" * 600
    with fti.connect(home) as project:
        fg = project.get_feature_store().create_feature_group(
            "long", primary_key=["k"], online_enabled=True
        )
        fg.insert(rows(["a"]))
        # written the way fti did before it checked: offline committed, online refused
        monkeypatch.setattr(
            LmdbOnlineStore, "max_key_bytes", property(lambda self: None), raising=False
        )
        with pytest.raises(fti.OnlineWriteFailed):
            fg.insert(rows(["b", long_key], [2.0, 3.0]))
        monkeypatch.undo()
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        with pytest.warns(fti.OnlineStoreWarning, match=r"1 key .*603 bytes.*not online"):
            fg = fs.get_feature_group("long")
        assert fg.read(dataframe_type="arrow").num_rows == 3
        # every other key of the commit is online, and the watermark is past it
        assert fg.lookup(["a", "b", long_key]) == [{"v": 0.0}, {"v": 2.0}, None]
        assert fs._storage.online.applied_commit(fg._online_table) == 1
        with pytest.warns(fti.OnlineStoreWarning, match="not online"):
            assert fg.online_sync(full=True) == 2
        fg.insert(rows(["c"], [4.0]))  # no warning, no error: the online store is current
        assert fg.lookup("c") == {"v": 4.0}
