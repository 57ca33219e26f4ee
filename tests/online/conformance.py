"""The conformance suite every online store backend runs (see ``fti.online.base.OnlineStore``).

A backend's test class subclasses :class:`OnlineStoreConformance` and provides the
``store_factory`` fixture: a picklable zero-argument callable that opens the store, so that a
second process can open the same store too.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sqlite3
import threading
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fti.online.base import OnlineStore

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Larger than every internal chunk of the backends (SQLite IN lists, Redis script and MGET
# chunks), so chunk boundaries are crossed.
LARGE = 25_000
# Keys that trip naive layouts: zero bytes, 0xff, separators, and the names of bookkeeping keys.
MODEL_KEYS = [b"\x00", b"a", b"b", b"\x00\x01", b"\xff"]
AWKWARD_KEYS = [b"\x00", b"\x00\x00", b"a\x00b", b"\xff" * 8, b"x:y", b"__commit", b"#keys", b"*"]


def _serve(factory: Callable[[], OnlineStore], conn: Connection) -> None:
    """Runs in a spawned process: one store kept open, calls made on the parent's request."""
    try:
        store = factory()
        while (request := conn.recv()) is not None:
            name, args = request
            result = getattr(store, name)(*args)
            conn.send(list(result) if name == "scan" else result)
        store.close()
        conn.send("closed")
    except BaseException:
        conn.send(("error", traceback.format_exc()))


class _OtherProcess:
    """A second process holding its own store, driven call by call."""

    def __init__(self, factory: Callable[[], OnlineStore]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(factory, child))
        self._proc.start()

    def call(self, name: str, *args: Any) -> Any:
        self._conn.send((name, args))
        return self._answer()

    def _answer(self) -> Any:
        assert self._conn.poll(60), "the second process did not answer"
        answer = self._conn.recv()
        assert not (isinstance(answer, tuple) and answer[:1] == ("error",)), answer[1]
        return answer

    def close(self) -> None:
        try:
            if self._proc.is_alive():  # not after it reported an error and exited
                self._conn.send(None)
                assert self._answer() == "closed"
        finally:
            self._proc.join(30)
            if self._proc.is_alive():
                self._proc.kill()
        assert self._proc.exitcode == 0


class OnlineStoreConformance:
    """Every rule of the :class:`OnlineStore` contract, checked against real values."""

    @pytest.fixture
    def store_factory(self) -> Callable[[], OnlineStore]:
        raise NotImplementedError("a backend's test class provides store_factory")

    @pytest.fixture
    def store(self, store_factory: Callable[[], OnlineStore]) -> Iterator[OnlineStore]:
        store = store_factory()
        yield store
        store.close()

    def test_miss_is_none(self, store: OnlineStore) -> None:
        store.write("t", [b"a"], [1], [b"va"], 1)
        assert store.get("t", b"b") is None
        assert store.get("t", b"a") == b"va"

    def test_reads_with_a_timeout_see_the_same_data(self, store: OnlineStore) -> None:
        store.write("t", [b"a", b"b"], [1, 1], [b"va", b"vb"], 1)
        timed = store.with_timeout(5.0)
        assert store.with_timeout(5.0) is timed  # one per timeout, owned by the store
        assert timed.get("t", b"a") == b"va"
        assert timed.get_many("t", [b"b", b"x", b"a"]) == [b"vb", None, b"va"]
        assert timed.multi_get([("t", [b"a"]), ("nope", [b"a"])]) == [[b"va"], [None]]
        store.write("t", [b"a"], [2], [b"va2"], 2)  # later writes are visible through it
        assert timed.get("t", b"a") == b"va2"

    def test_missing_table_behaves_empty(self, store: OnlineStore) -> None:
        store.write("other", [b"a"], [1], [b"va"], 1)
        assert store.get("nope", b"a") is None
        assert store.get_many("nope", [b"a", b"b"]) == [None, None]
        assert store.multi_get([("nope", [b"a"]), ("other", [b"a"])]) == [[None], [b"va"]]
        assert list(store.scan("nope")) == []
        assert store.count("nope") == 0
        assert store.applied_commit("nope") is None

    def test_newest_event_time_wins(self, store: OnlineStore) -> None:
        store.write("t", [b"k"], [10], [b"v10"], 1)
        store.write("t", [b"k"], [20], [b"v20"], 2)
        assert store.get("t", b"k") == b"v20"

    def test_older_write_is_ignored_per_key(self, store: OnlineStore) -> None:
        store.write("t", [b"a", b"b"], [20, 20], [b"a20", b"b20"], 1)
        # One batch mixing a late (older) event, a newer one and a new key.
        store.write("t", [b"a", b"b", b"c"], [19, 21, 1], [b"a19", b"b21", b"c1"], 2)
        assert store.get_many("t", [b"a", b"b", b"c"]) == [b"a20", b"b21", b"c1"]
        assert store.count("t") == 3
        assert store.applied_commit("t") == 2

    def test_equal_event_time_replaces(self, store: OnlineStore) -> None:
        store.write("t", [b"k"], [7], [b"first"], 1)
        store.write("t", [b"k"], [7], [b"second"], 2)
        assert store.get("t", b"k") == b"second"

    def test_negative_zero_and_extreme_event_times(self, store: OnlineStore) -> None:
        store.write("t", [b"k"], [-1], [b"minus one"], None)
        store.write("t", [b"k"], [0], [b"zero"], None)
        store.write("t", [b"k"], [-5], [b"minus five"], None)
        assert store.get("t", b"k") == b"zero"
        store.write("t", [b"lo", b"hi"], [INT64_MIN, INT64_MAX], [b"min", b"max"], None)
        store.write("t", [b"lo", b"hi"], [INT64_MIN, INT64_MAX - 1], [b"min2", b"max2"], None)
        assert store.get_many("t", [b"lo", b"hi"]) == [b"min2", b"max"]
        store.write("t", [b"lo"], [INT64_MIN + 1], [b"min3"], None)
        assert store.get("t", b"lo") == b"min3"

    def test_invalid_write_writes_nothing(self, store: OnlineStore) -> None:
        store.write("t", [b"a"], [1], [b"old"], 1)
        with pytest.raises((ValueError, OverflowError)):
            store.write("t", [b"a", b"b"], [2, 2**63], [b"new", b"bad"], 2)
        with pytest.raises(ValueError, match=r"length|shorter|longer"):
            store.write("t", [b"a", b"b"], [2], [b"new", b"bad"], 3)
        assert store.get_many("t", [b"a", b"b"]) == [b"old", None]
        assert store.applied_commit("t") == 1

    def test_max_key_bytes_is_what_the_store_holds(self, store: OnlineStore) -> None:
        # None: no limit an insert could reach (Redis: 512 MB; SQLite: 1 GB)
        limit = store.max_key_bytes
        longest = b"k" * (limit or 100_000)
        store.write("t", [longest], [1], [b"v"], 1)
        assert store.get("t", longest) == b"v"
        if limit is not None:
            with pytest.raises(ValueError, match=str(limit)):
                store.write("t", [longest + b"k"], [1], [b"v"], 2)
            assert store.applied_commit("t") == 1

    def test_watermark(self, store: OnlineStore) -> None:
        assert store.applied_commit("t") is None
        store.write("t", [b"a"], [1], [b"v"], 0)
        assert store.applied_commit("t") == 0
        store.write("t", [b"a"], [2], [b"v"], None)
        assert store.applied_commit("t") == 0
        store.write("t", [b"a"], [0], [b"older"], 5)  # ignored rows still move the watermark
        assert store.applied_commit("t") == 5
        store.write("t", [], [], [], 6)
        assert store.applied_commit("t") == 6
        assert store.get("t", b"a") == b"v"
        assert store.applied_commit("u") is None

    def test_get_many_order_misses_and_duplicates(self, store: OnlineStore) -> None:
        store.write("t", [b"a", b"b", b"c"], [1, 1, 1], [b"va", b"vb", b"vc"], 1)
        assert store.get_many("t", [b"c", b"x", b"a", b"c", b"b"]) == [
            b"vc",
            None,
            b"va",
            b"vc",
            b"vb",
        ]
        assert store.get_many("t", []) == []

    def test_multi_get_across_tables(self, store: OnlineStore) -> None:
        store.write("t1", [b"k", b"only1"], [1, 1], [b"t1k", b"o1"], 1)
        store.write("t2", [b"k"], [1], [b"t2k"], 1)
        got = store.multi_get(
            [
                ("t1", [b"only1", b"k", b"miss"]),
                ("t2", [b"k", b"only1"]),
                ("t3", [b"k"]),
                ("t2", []),
            ]
        )
        assert got == [[b"o1", b"t1k", None], [b"t2k", None], [None], []]
        assert store.multi_get([]) == []

    def test_large_batches(self, store: OnlineStore) -> None:
        keys = [i.to_bytes(4, "big") for i in range(LARGE)]
        store.write("big", keys, list(range(LARGE)), [b"v%d" % i for i in range(LARGE)], 1)
        assert store.count("big") == LARGE
        # Even keys get newer events, odd keys older ones: half the batch must be ignored.
        times = [i + 1 if i % 2 == 0 else i - 1 for i in range(LARGE)]
        store.write("big", keys, times, [b"w%d" % i for i in range(LARGE)], 2)
        expected = [(b"w%d" if i % 2 == 0 else b"v%d") % i for i in range(LARGE)]
        assert store.get_many("big", keys) == expected
        assert store.multi_get([("big", keys[::-1]), ("big", keys[:3])]) == [
            expected[::-1],
            expected[:3],
        ]
        assert dict(store.scan("big")) == dict(zip(keys, expected, strict=True))
        assert store.applied_commit("big") == 2

    def test_scan_and_count(self, store: OnlineStore) -> None:
        rows = {b"k%d" % i: b"v%d" % i for i in range(50)}
        store.write("t", list(rows), [1] * 50, list(rows.values()), 1)
        store.write("t", [b"k0", b"new"], [2, 2], [b"k0 newer", b"n"], 2)
        rows |= {b"k0": b"k0 newer", b"new": b"n"}
        scanned = list(store.scan("t"))
        assert len(scanned) == len(rows) == store.count("t") == 51
        assert dict(scanned) == rows

    def test_drop(self, store: OnlineStore) -> None:
        store.write("t", [b"a", b"b"], [100, 100], [b"va", b"vb"], 3)
        store.write("keep", [b"a"], [1], [b"kept"], 4)
        store.drop("t")
        assert store.get("t", b"a") is None
        assert store.get_many("t", [b"a", b"b"]) == [None, None]
        assert (store.count("t"), list(store.scan("t")), store.applied_commit("t")) == (0, [], None)
        assert (store.get("keep", b"a"), store.applied_commit("keep")) == (b"kept", 4)
        store.drop("t")
        store.drop("never_created")
        # A recreated table starts empty: an older event time than before the drop is kept.
        store.write("t", [b"a"], [1], [b"again"], 5)
        assert (store.get("t", b"a"), store.get("t", b"b"), store.count("t")) == (b"again", None, 1)
        assert store.applied_commit("t") == 5

    def test_binary_keys_and_values(self, store: OnlineStore) -> None:
        values = [b"\x00", b"", b"\x00\xff\x00", b"\xff" * 100, b"v\x00" * 3, b"c", b"#", b"?"]
        store.write("t", AWKWARD_KEYS, [1] * len(values), values, 1)
        assert store.get_many("t", AWKWARD_KEYS) == values
        assert [store.get("t", k) for k in AWKWARD_KEYS] == values
        assert dict(store.scan("t")) == dict(zip(AWKWARD_KEYS, values, strict=True))
        assert store.count("t") == len(AWKWARD_KEYS)
        assert store.applied_commit("t") == 1  # the key b"__commit" is not the watermark

    def test_tables_are_isolated(self, store: OnlineStore) -> None:
        tables = ["a", "ab", "a_b", "_"]
        for n, table in enumerate(tables):
            store.write(table, [b"k", table.encode()], [n, n], [b"v" + table.encode()] * 2, n)
        assert store.get("a", b"k") == b"va"
        assert store.get("ab", b"k") == b"vab"
        assert store.get("a", b"ab") is None
        assert dict(store.scan("a")) == {b"k": b"va", b"a": b"va"}
        assert [store.count(t) for t in tables] == [2] * 4
        assert [store.applied_commit(t) for t in tables] == [0, 1, 2, 3]
        store.drop("a")
        assert (store.get("ab", b"k"), store.count("ab"), store.applied_commit("ab")) == (
            b"vab",
            2,
            1,
        )

    def test_table_names_are_case_sensitive(self, store: OnlineStore) -> None:
        store.write("a", [b"k"], [2], [b"lower"], 1)
        store.write("A", [b"k"], [1], [b"upper"], 2)
        assert store.get_many("a", [b"k"]) + store.get_many("A", [b"k"]) == [b"lower", b"upper"]
        assert (store.count("a"), store.count("A")) == (1, 1)
        store.drop("A")
        assert (store.get("a", b"k"), store.count("a")) == (b"lower", 1)

    # Both suppressed checks are about state shared between examples: the test drops its
    # table first, so one store (fixture) and one test run by several subclasses are fine.
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(
        batches=st.lists(
            st.dictionaries(
                st.sampled_from(MODEL_KEYS),
                st.tuples(
                    st.integers(-2, 2) | st.sampled_from([INT64_MIN, INT64_MAX]),
                    st.binary(max_size=6),
                ),
                max_size=5,
            ),
            min_size=1,
            max_size=8,
        )
    )
    def test_matches_brute_force_model(
        self, store: OnlineStore, batches: list[dict[bytes, tuple[int, bytes]]]
    ) -> None:
        table = "model"
        store.drop(table)  # the store fixture lives across Hypothesis examples
        model: dict[bytes, tuple[int, bytes]] = {}
        for commit, batch in enumerate(batches):
            keys = list(batch)
            store.write(
                table, keys, [t for t, _ in batch.values()], [v for _, v in batch.values()], commit
            )
            for key, (when, value) in batch.items():
                if key not in model or when >= model[key][0]:
                    model[key] = (when, value)
            expected = {k: v for k, (_, v) in model.items()}
            assert dict(store.scan(table)) == expected
            assert store.count(table) == len(expected)
            assert store.get_many(table, MODEL_KEYS) == [expected.get(k) for k in MODEL_KEYS]
            assert store.applied_commit(table) == commit

    def test_second_process_sees_writes(
        self, store: OnlineStore, store_factory: Callable[[], OnlineStore]
    ) -> None:
        store.write("x", [b"k1"], [100], [b"v1"], 1)
        store.write("w", [b"k"], [1], [b"w"], 1)
        other = _OtherProcess(store_factory)
        try:
            # First touches of each table in that process: handles, caches and statements are
            # created inside a read call.
            assert other.call("multi_get", [("x", [b"k1"]), ("w", [b"k"]), ("n", [b"k"])]) == [
                [b"v1"],
                [b"w"],
                [None],
            ]
            assert other.call("get", "x", b"k1") == b"v1"
            # Both stores stay open: each must see what the other wrote after it opened.
            store.write("x", [b"k1", b"k2"], [200, 1], [b"v2", b"n2"], 2)
            assert other.call("get_many", "x", [b"k1", b"k2"]) == [b"v2", b"n2"]
            assert other.call("applied_commit", "x") == 2
            other.call("write", "y", [b"c1"], [5], [b"from child"], 7)
            other.call("write", "x", [b"k1", b"k2"], [300, 0], [b"child newer", b"older"], 8)
        finally:
            other.close()
        assert (store.get("y", b"c1"), store.applied_commit("y")) == (b"from child", 7)
        assert store.get_many("x", [b"k1", b"k2"]) == [b"child newer", b"n2"]
        assert (store.count("x"), store.applied_commit("x")) == (2, 8)

    def test_table_dropped_by_another_process_reads_empty(
        self, store: OnlineStore, store_factory: Callable[[], OnlineStore]
    ) -> None:
        store.write("z", [b"gone"], [1], [b"soon dropped"], 1)
        assert store.get("z", b"gone") == b"soon dropped"  # warms any per-table cache
        other = _OtherProcess(store_factory)
        try:
            assert other.call("count", "z") == 1
            other.call("drop", "z")
        finally:
            other.close()
        assert (store.get("z", b"gone"), store.get_many("z", [b"gone"])) == (None, [None])
        assert (store.count("z"), list(store.scan("z")), store.applied_commit("z")) == (0, [], None)
        store.write("z", [b"back"], [0], [b"again"], 2)
        assert dict(store.scan("z")) == {b"back": b"again"}


@contextlib.contextmanager
def sqlite_held_exclusively(path: Path) -> Iterator[None]:
    """Another connection holding an SQLite online store's file exclusively (in WAL mode it
    can take that lock only while no other connection is open: close the store's first)."""
    locked, release = threading.Event(), threading.Event()

    def holder() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("INSERT INTO fti_watermarks VALUES ('elsewhere', 7)")
        locked.set()
        release.wait(30)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(10)
        yield
    finally:
        release.set()
        thread.join(30)
