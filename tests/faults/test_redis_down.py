"""The online store under faults: a Redis that is down for one insert and comes back empty
loses no row, and the failure says what was and was not written."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import fti
from tests.conftest import PrivateRedis
from tests.featurestore.helpers import cards

pytestmark = pytest.mark.redis


def _online(fg: fti.FeatureGroup) -> dict[int, float]:
    table = fg.read(online=True, dataframe_type="arrow")
    keys, values = table.column("cc_num").to_pylist(), table.column("spend").to_pylist()
    return dict(zip(keys, values, strict=True))


def _group(project: fti.Project) -> fti.FeatureGroup:
    return project.get_feature_store().get_or_create_feature_group(
        "cards", 1, primary_key=["cc_num"], event_time="event_ts", online_enabled=True
    )


def _insert_while_down(fg: fti.FeatureGroup, redis: PrivateRedis, rows: pa.Table) -> None:
    redis.stop()
    with pytest.raises(fti.OnlineWriteFailed) as failed:
        fg.insert(rows)
    message = str(failed.value)
    assert f"Redis at 127.0.0.1:{redis.port}/0" in message
    assert "offline commit 1 was written" in message and "not online yet" in message
    assert failed.value.commit_id == 1
    assert isinstance(failed.value, fti.BackendUnavailable)
    assert fg.read(dataframe_type="arrow").num_rows == 4  # the offline commit is whole


def test_rows_of_an_insert_made_while_redis_was_down_reach_it_with_the_next_insert(
    tmp_path: Path, private_redis: PrivateRedis
) -> None:
    with fti.connect(tmp_path / "home", online_store=private_redis.url) as project:
        fg = _group(project)
        fg.insert(cards([1, 2], [0, 0], [1.0, 2.0]))
        _insert_while_down(fg, private_redis, cards([2, 3], [5, 5], [20.0, 3.0]))
        private_redis.start()  # back, and empty: no persistence
        fg.insert(cards([4], [9], [4.0]))
        assert _online(fg) == {1: 1.0, 2: 20.0, 3: 3.0, 4: 4.0}


def test_reopening_the_group_catches_up_a_redis_that_came_back_empty(
    tmp_path: Path, private_redis: PrivateRedis
) -> None:
    home = tmp_path / "home"
    with fti.connect(home, online_store=private_redis.url) as project:
        fg = _group(project)
        fg.insert(cards([1, 2], [0, 0], [1.0, 2.0]))
        _insert_while_down(fg, private_redis, cards([2, 3], [5, 5], [20.0, 3.0]))
    with (
        fti.connect(home, online_store=private_redis.url) as project,
        pytest.warns(fti.OnlineStoreWarning, match=r"Redis at .* could not catch up"),
    ):
        # still down: the offline data reads, the online store is named as stale
        assert _group(project).read(dataframe_type="arrow").num_rows == 4
    private_redis.start()
    with fti.connect(home, online_store=private_redis.url) as project:
        assert _online(_group(project)) == {1: 1.0, 2: 20.0, 3: 3.0}


def test_online_sync_rebuilds_the_online_rows_from_the_offline_table(
    tmp_path: Path, private_redis: PrivateRedis
) -> None:
    with fti.connect(tmp_path / "home", online_store=private_redis.url) as project:
        fg = _group(project)
        fg.insert(cards([1, 2], [0, 0], [1.0, 2.0]))
        fg.insert(cards([2], [3], [5.0]))
        assert fg.online_sync() is None  # current: nothing to do
        private_redis.stop()
        private_redis.start()
        assert _online(fg) == {}
        assert fg.online_sync() == 2
        assert _online(fg) == {1: 1.0, 2: 5.0}
        assert fg.online_sync(full=True) == 2
        assert _online(fg) == {1: 1.0, 2: 5.0}


def test_append_features_does_not_read_as_a_gap(tmp_path: Path) -> None:
    """A schema change is a commit without rows: the watermark moves over it, so the next
    insert writes only its own rows."""
    with fti.connect(tmp_path / "home") as project:
        fg = _group(project)
        fg.insert(cards([1], [0], [1.0]))
        fg.append_features([fti.Feature("note", pa.string())])
        assert fg.online_sync() is None
