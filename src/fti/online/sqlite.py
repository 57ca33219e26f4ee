"""Embedded online store on SQLite in WAL mode: the reference backend.

WAL lets any number of processes read while one writes, and a point lookup through a cached
prepared statement costs a few microseconds. Each thread gets its own connection because
sqlite3 connections must not be shared across threads.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from fti.online.base import OnlineStore

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# SQLite's default limit of host parameters per statement is 32766; stay well below it.
_IN_CHUNK = 900


def _quoted(table: str) -> str:
    # SQLite identifiers are case-insensitive; hex keeps "a" and "A" apart.
    if not _TABLE_NAME.match(table):
        raise ValueError(f"invalid online table name {table!r}")
    return f'"t_{table.encode().hex()}"'


def _missing_table(exc: sqlite3.OperationalError) -> bool:
    # Another process (or store instance) may drop a table at any time: it then reads as empty.
    return "no such table" in str(exc)


class SqliteOnlineStore(OnlineStore):
    """Online store in one SQLite file; safe for many reader processes and one writer."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
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
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

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
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
