"""Runs the online store conformance suite against every backend, plus backend-only checks."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fti.errors import OnlineLookupTimeout
from fti.online.base import OnlineStore
from fti.online.lmdb import LmdbOnlineStore
from fti.online.redis import RedisOnlineStore
from fti.online.sqlite import SqliteOnlineStore
from tests.online.conformance import OnlineStoreConformance, sqlite_held_exclusively


class TestSqliteOnlineStore(OnlineStoreConformance):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> Callable[[], OnlineStore]:
        return functools.partial(SqliteOnlineStore, tmp_path / "online.sqlite")

    def test_a_lookup_blocked_by_a_writer_gives_up_after_its_timeout(self, tmp_path: Path) -> None:
        path = tmp_path / "online.sqlite"
        store = SqliteOnlineStore(path)
        store.write("t", [b"k"], [1], [b"v"], 1)
        timed = store.with_timeout(0.05)
        # WAL readers wait only for a connection holding the whole file, which it can take
        # once no other connection is open
        store.close()
        with sqlite_held_exclusively(path):
            started = time.monotonic()
            with pytest.raises(OnlineLookupTimeout, match="lookup timeout of 50 ms"):
                timed.multi_get([("t", [b"k"])])
            assert 0.04 < time.monotonic() - started < 1.0
            with pytest.raises(OnlineLookupTimeout):
                timed.get("t", b"k")
        assert timed.multi_get([("t", [b"k"])]) == [[b"v"]]  # the lock gone, it answers
        assert SqliteOnlineStore(path).applied_commit("elsewhere") == 7  # committed
        store.close()

    def test_a_slow_lookup_is_interrupted_at_its_deadline(self, tmp_path: Path) -> None:
        store = SqliteOnlineStore(tmp_path / "online.sqlite")
        keys = [b"%06d" % i for i in range(50_000)]
        store.write("t", keys, [1] * len(keys), [b"v"] * len(keys), 1)
        timed = store.with_timeout(0.002)
        started = time.monotonic()
        with pytest.raises(OnlineLookupTimeout, match="interrupted"):
            timed.get_many("t", keys * 4)  # hundreds of statements: far over 2 ms
        assert time.monotonic() - started < 0.5
        assert timed.get("t", keys[0]) == b"v"  # the next lookup has a deadline of its own
        assert len(store.get_many("t", keys)) == len(keys)  # the store itself has none
        store.close()


class TestLmdbOnlineStore(OnlineStoreConformance):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> Callable[[], OnlineStore]:
        return functools.partial(LmdbOnlineStore, tmp_path / "online.lmdb", map_size=1 << 30)

    def test_two_stores_on_one_path_share_the_environment(self, tmp_path: Path) -> None:
        # LMDB forbids opening one environment twice per process; the store must cope.
        first = LmdbOnlineStore(tmp_path / "db")
        second = LmdbOnlineStore(tmp_path / "db")
        first.write("t", [b"k"], [1], [b"v"], 1)
        first.close()
        assert second.get("t", b"k") == b"v"
        second.close()
        third = LmdbOnlineStore(tmp_path / "db")
        assert third.applied_commit("t") == 1
        third.close()

    def test_keys_lmdb_cannot_hold(self, tmp_path: Path) -> None:
        store = LmdbOnlineStore(tmp_path / "db")
        with pytest.raises(ValueError, match="1 to 511 bytes"):
            store.write("t", [b"ok", b""], [1, 1], [b"v", b"v"], 1)
        store.write("t", [b"ok"], [1], [b"v"], 1)
        # Keys that can never have been written are misses, not errors.
        assert (store.get("t", b""), store.get("t", b"x" * 600)) == (None, None)
        assert store.get_many("t", [b"", b"ok", b"x" * 600]) == [None, b"v", None]
        store.close()


@pytest.mark.redis
class TestRedisOnlineStore(OnlineStoreConformance):
    @pytest.fixture
    def namespace(self, redis_url: str) -> Iterator[str]:
        import redis

        namespace = f"fti_test_{uuid.uuid4().hex[:12]}"
        yield namespace
        client = redis.Redis.from_url(redis_url)
        leftovers = list(client.scan_iter(match=f"{namespace}:*", count=10_000))
        for start in range(0, len(leftovers), 1000):
            client.unlink(*leftovers[start : start + 1000])
        client.close()

    @pytest.fixture
    def store_factory(self, redis_url: str, namespace: str) -> Callable[[], OnlineStore]:
        return functools.partial(RedisOnlineStore, redis_url, namespace=namespace)

    def test_drop_deletes_every_key(
        self, store: OnlineStore, redis_url: str, namespace: str
    ) -> None:
        import redis

        store.write("t", [b"k%d" % i for i in range(12_000)], [1] * 12_000, [b"v"] * 12_000, 1)
        store.write("keep", [b"k"], [1], [b"v"], 1)
        store.drop("t")
        client = redis.Redis.from_url(redis_url)
        remaining = sorted(client.scan_iter(match=f"{namespace}:*", count=10_000))
        client.close()
        assert remaining == [
            f"{namespace}:keep#commit".encode(),
            f"{namespace}:keep#keys".encode(),
            f"{namespace}:keep:k".encode(),
        ]

    def test_a_lookup_gives_up_after_its_timeout(self, store: OnlineStore, redis_url: str) -> None:
        import redis

        store.write("t", [b"k"], [1], [b"v"], 1)
        timed = store.with_timeout(0.05)
        assert timed.multi_get([("t", [b"k"])]) == [[b"v"]]
        admin = redis.Redis.from_url(redis_url)
        admin.execute_command("CLIENT", "PAUSE", 3000, "ALL")  # the server stops answering
        try:
            started = time.monotonic()
            with pytest.raises(OnlineLookupTimeout, match="lookup timeout of 50 ms"):
                timed.multi_get([("t", [b"k"])])
            assert time.monotonic() - started < 1.0  # no retry
        finally:
            admin.execute_command("CLIENT", "UNPAUSE")
            admin.close()
        assert timed.multi_get([("t", [b"k"])]) == [[b"v"]]

    def test_namespaces_are_isolated(self, redis_url: str, namespace: str) -> None:
        one = RedisOnlineStore(redis_url, namespace=namespace)
        other = RedisOnlineStore(redis_url, namespace=namespace + "_b")
        try:
            one.write("t", [b"k"], [1], [b"one"], 1)
            assert (other.get("t", b"k"), other.count("t"), other.applied_commit("t")) == (
                None,
                0,
                None,
            )
        finally:
            other.drop("t")
            one.close()
            other.close()


def test_two_projects_on_one_redis_do_not_see_each_other(tmp_path: Path, redis_url: str) -> None:
    """Each project's online rows live under a namespace derived from its catalog, so two
    projects with a group of the same name and version keep their own values."""
    import pyarrow as pa

    import fti

    for name in ("a", "b"):
        with fti.connect(tmp_path / name, online_store=redis_url) as project:
            fg = project.get_feature_store().create_feature_group(
                "shared_name", primary_key=["k"], online_enabled=True
            )
            fg.insert(pa.table({"k": [1], "v": [1.0 if name == "a" else 2.0]}))
    for name, expected in (("a", 1.0), ("b", 2.0)):
        with fti.connect(tmp_path / name, online_store=redis_url) as project:
            fs = project.get_feature_store()
            fg = fs.get_feature_group("shared_name")
            assert fg.lookup(1) == {"v": expected}
            fs.delete_feature_group("shared_name", 1)


def test_redis_url_parameters(tmp_path: Path, redis_url: str) -> None:
    from fti.online import open_online_store

    separator = "&" if "?" in redis_url else "?"
    store = open_online_store(
        f"{redis_url}{separator}namespace=explicit_ns&socket_timeout=0.25", tmp_path
    )
    try:
        assert isinstance(store, RedisOnlineStore) and store.namespace == "explicit_ns"
        assert store._pool.connection_kwargs["socket_timeout"] == 0.25
        timed = store.with_timeout(0.02)  # a deployment's lookup timeout wins over the URL's
        assert isinstance(timed, RedisOnlineStore) and timed.namespace == "explicit_ns"
        assert timed._pool.connection_kwargs["socket_timeout"] == 0.02
    finally:
        store.close()
