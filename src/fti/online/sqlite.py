"""Embedded online store on SQLite in WAL mode: the reference backend.

WAL lets any number of processes read while one writes, and a point lookup through a cached
prepared statement costs a few microseconds. Each thread gets its own connection because
sqlite3 connections must not be shared across threads.

Readers still wait in a few cases: a connection holding the file exclusively
(``PRAGMA locking_mode=EXCLUSIVE``, backup tools), recovery of a crashed writer's WAL, a slow
disk. :meth:`SqliteOnlineStore.with_timeout` bounds a lookup with SQLite's own mechanisms: the
busy timeout stops waiting for the lock, and a progress handler interrupts a statement that
runs past the deadline.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from fti._duckdb import quote
from fti.errors import OnlineLookupTimeout
from fti.online.base import OnlineStore

_T = TypeVar("_T")

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# SQLite's default limit of host parameters per statement is 32766; stay well below it.
_IN_CHUNK = 900
# VM instructions between deadline checks: a point lookup runs fewer, so it never pays for one.
_PROGRESS_STEPS = 1000


def _quoted(table: str) -> str:
    # SQLite identifiers are case-insensitive; hex keeps "a" and "A" apart.
    if not _TABLE_NAME.match(table):
        raise ValueError(f"invalid online table name {table!r}")
    return quote(f"t_{table.encode().hex()}")


def _missing_table(exc: sqlite3.OperationalError) -> bool:
    # Another process (or store instance) may drop a table at any time: it then reads as empty.
    return "no such table" in str(exc)


class SqliteOnlineStore(OnlineStore):
    """Online store in one SQLite file; safe for many reader processes and one writer."""

    def __init__(self, path: str | Path, *, lookup_timeout: float | None = None) -> None:
        self.path = Path(path)
        self.lookup_timeout = lookup_timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._timed: dict[float, SqliteOnlineStore] = {}
        if lookup_timeout is not None:
            return  # a reader of a store that exists: creating anything would take the lock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._conn()
        conn.execute(
            "CREATE TABLE IF NOT EXISTS fti_watermarks "
            "(tbl TEXT PRIMARY KEY, commit_version INTEGER)"
        )

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves so reads never hold locks.
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=30.0 if self.lookup_timeout is None else self.lookup_timeout,
            )
            if self.lookup_timeout is None:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            else:  # WAL is a property of the file, set by the store that created it
                deadline = self._local.deadline = [math.inf]
                conn.set_progress_handler(lambda: time.monotonic() > deadline[0], _PROGRESS_STEPS)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def with_timeout(self, seconds: float) -> OnlineStore:
        with self._lock:
            timed = self._timed.get(seconds)
            if timed is None:
                timed = self._timed[seconds] = SqliteOnlineStore(self.path, lookup_timeout=seconds)
        return timed

    def _read(self, read: Callable[[], _T]) -> _T:
        """``read()``, bounded by the lookup timeout when this store has one."""
        if self.lookup_timeout is None:
            return read()
        started = time.monotonic()
        try:
            self._conn()  # this thread's connection, and with it its deadline
            deadline = self._local.deadline
            deadline[0] = started + self.lookup_timeout
            try:
                return read()
            finally:
                deadline[0] = math.inf  # statements outside a lookup are not cut short
        except sqlite3.OperationalError as exc:
            # "database is locked": the busy timeout ran out; "interrupted": the deadline did
            message = str(exc)
            if "locked" in message or "busy" in message or "interrupted" in message:
                waited = (time.monotonic() - started) * 1000
                raise OnlineLookupTimeout(
                    f"the SQLite online store did not answer within the lookup timeout of "
                    f"{self.lookup_timeout * 1000:g} ms ({message} after {waited:.0f} ms)"
                ) from exc
            raise

    def write(
        self,
        table: str,
        keys: Sequence[bytes],
        event_times: Sequence[int],
        values: Sequence[bytes],
        commit: int | None,
    ) -> None:
        name = _quoted(table)
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {name} "
                "(k BLOB PRIMARY KEY, ts INTEGER NOT NULL, v BLOB NOT NULL) WITHOUT ROWID"
            )
            # ts >= stored ts: an equal event time comes from a later commit and replaces.
            conn.executemany(
                f"INSERT INTO {name}(k, ts, v) VALUES (?, ?, ?) "
                "ON CONFLICT(k) DO UPDATE SET ts=excluded.ts, v=excluded.v "
                f"WHERE excluded.ts >= {name}.ts",
                zip(keys, event_times, values, strict=True),
            )
            if commit is not None:
                conn.execute(
                    "INSERT INTO fti_watermarks(tbl, commit_version) VALUES (?, ?) "
                    "ON CONFLICT(tbl) DO UPDATE SET commit_version=excluded.commit_version",
                    (table, commit),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def get(self, table: str, key: bytes) -> bytes | None:
        return self._read(lambda: self._get(table, key))

    def _get(self, table: str, key: bytes) -> bytes | None:
        try:
            row = (
                self._conn().execute(f"SELECT v FROM {_quoted(table)} WHERE k=?", (key,)).fetchone()
            )
        except sqlite3.OperationalError as exc:
            if _missing_table(exc):
                return None
            raise
        return None if row is None else bytes(row[0])

    def get_many(self, table: str, keys: Sequence[bytes]) -> list[bytes | None]:
        return self._read(lambda: self._get_many(table, keys))

    def multi_get(
        self, requests: Sequence[tuple[str, Sequence[bytes]]]
    ) -> list[list[bytes | None]]:
        # one deadline for the whole lookup, not one per table
        return self._read(lambda: [self._get_many(table, keys) for table, keys in requests])

    def _get_many(self, table: str, keys: Sequence[bytes]) -> list[bytes | None]:
        if not keys:
            return []
        name = _quoted(table)
        conn = self._conn()
        found: dict[bytes, bytes] = {}
        try:
            for start in range(0, len(keys), _IN_CHUNK):
                chunk = keys[start : start + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                for k, v in conn.execute(f"SELECT k, v FROM {name} WHERE k IN ({marks})", chunk):
                    found[bytes(k)] = bytes(v)
        except sqlite3.OperationalError as exc:
            if not _missing_table(exc):
                raise
        return [found.get(k) for k in keys]

    def applied_commit(self, table: str) -> int | None:
        row = (
            self._conn()
            .execute("SELECT commit_version FROM fti_watermarks WHERE tbl=?", (table,))
            .fetchone()
        )
        return None if row is None else int(row[0])

    def scan(self, table: str) -> Iterator[tuple[bytes, bytes]]:
        try:
            rows = self._conn().execute(f"SELECT k, v FROM {_quoted(table)}").fetchall()
        except sqlite3.OperationalError as exc:
            if _missing_table(exc):
                return
            raise
        for k, v in rows:
            yield bytes(k), bytes(v)

    def count(self, table: str) -> int:
        try:
            row = self._conn().execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()
        except sqlite3.OperationalError as exc:
            if _missing_table(exc):
                return 0
            raise
        return int(row[0])

    def drop(self, table: str) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"DROP TABLE IF EXISTS {_quoted(table)}")
            conn.execute("DELETE FROM fti_watermarks WHERE tbl=?", (table,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            timed = list(self._timed.values())
        for store in timed:
            store.close()
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
