"""Embedded online store on LMDB: a memory-mapped B+tree whose readers take no locks.

One named sub-database per table (``t:<table>``) and one for the watermarks
(``fti:watermarks``; a table name cannot contain ``:``, so the names never collide). A value
is the 8-byte big-endian ``event_time + 2**63`` followed by the payload: unsigned big-endian
bytes sort like the numbers, so newest-wins is a plain bytes comparison.

Readers never block the writer and see every committed write, from this process or another,
because each call begins a fresh read transaction (a snapshot at that moment). LMDB forbids
opening one environment twice in a process, so stores on the same path share one
environment, counted by reference.

A lookup timeout (a deployment's ``lookup_timeout_ms``) does not apply here, and
``with_timeout`` returns the store itself: a read is an MVCC snapshot that waits for no writer
and takes no lock a writer holds. Its only waits are page faults of the memory map on a cold
page cache, which nothing in the process could interrupt anyway.
"""

from __future__ import annotations

import operator
import re
import struct
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fti.errors import ConfigurationError
from fti.online.base import OnlineStore

if TYPE_CHECKING:
    import lmdb as lmdb_module

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WATERMARKS = b"fti:watermarks"
_MARKS = None  # handle-cache entry of the watermark database: no table name can equal it
_OFFSET = 1 << 63
_STAMP = struct.Struct(">Q")
# The map is address space, not disk: the file grows only as data is written. Growing the map
# later is unsafe while other threads read, so reserve plenty up front (64-bit only).
DEFAULT_MAP_SIZE = 1 << 36


def _db_name(table: str) -> bytes:
    if not _TABLE_NAME.match(table):
        raise ValueError(f"invalid online table name {table!r}")
    return b"t:" + table.encode()


class _SharedEnv:
    """One open environment and its database handles, shared by the stores of a process."""

    def __init__(self, env: lmdb_module.Environment) -> None:
        self.env = env
        self.handles: dict[str | None, lmdb_module._Database] = {}
        # mdb_dbi_open is not thread-safe, and a handle opened in a transaction becomes
        # visible to others only once that transaction commits.
        self.lock = threading.Lock()
        self.refs = 0


_OPEN: dict[str, _SharedEnv] = {}
_OPEN_LOCK = threading.Lock()


class LmdbOnlineStore(OnlineStore):
    """Online store in one LMDB directory, shared by processes; writers take turns.

    Keys must be 1 to 511 bytes (LMDB's key limit as built, :attr:`max_key_bytes`); a
    msgpack key of :mod:`fti.online.codec` is never empty, but a long string key can be too
    long, which inserts check before they write.
    """

    def __init__(
        self, path: str | Path, map_size: int = DEFAULT_MAP_SIZE, max_dbs: int = 1024
    ) -> None:
        import lmdb  # a core dependency, imported here to keep `import fti` light

        self._lmdb = lmdb
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._id = str(self.path.resolve())
        with _OPEN_LOCK:
            shared = _OPEN.get(self._id)
            if shared is None:
                # readahead=False: lookups are random, so reading ahead only evicts hot pages.
                # metasync=False: one fsync per commit instead of two; a power cut may undo
                # the last commit but never corrupts, and the watermark rolls back with the
                # rows, so catching up repairs it (SQLite's WAL synchronous=NORMAL is alike).
                env = lmdb.open(
                    self._id,
                    map_size=map_size,
                    max_dbs=max_dbs,
                    readahead=False,
                    metasync=False,
                )
                env.reader_check()  # free reader slots left by killed processes
                shared = _OPEN[self._id] = _SharedEnv(env)
            shared.refs += 1
        self._shared: _SharedEnv | None = shared
        self._env = shared.env
        self._handles = shared.handles
        self._max_key = self._env.max_key_size()

    @property
    def max_key_bytes(self) -> int:
        return self._max_key

    def _handle(self, table: str | None, create: bool) -> lmdb_module._Database | None:
        handle = self._handles.get(table)
        if handle is not None:
            return handle
        assert self._shared is not None, "store is closed"
        with self._shared.lock:
            handle = self._handles.get(table)
            if handle is None:
                name = _WATERMARKS if table is None else _db_name(table)
                if not create:
                    # Named databases are keys of the main database. Looking there first keeps
                    # a read of a missing table from taking the write lock, and a miss is not
                    # cached because another process may create the table later.
                    with self._env.begin() as txn:
                        if txn.get(name) is None:
                            return None
                # Without a transaction open_db uses a write one: a handle opened in a read
                # transaction is closed again when that transaction ends.
                handle = self._env.open_db(name, create=True)
                self._handles[table] = handle
        return handle

    def write(
        self,
        table: str,
        keys: Sequence[bytes],
        event_times: Sequence[int],
        values: Sequence[bytes],
        commit: int | None,
    ) -> None:
        if not len(keys) == len(event_times) == len(values):
            raise ValueError("keys, event_times and values must have the same length")
        if keys and not (min(map(len, keys)) > 0 and max(map(len, keys)) <= self._max_key):
            raise ValueError(f"LMDB keys must be 1 to {self._max_key} bytes long")
        db = self._handle(table, create=True)
        marks = self._handle(_MARKS, create=True) if commit is not None else None
        pack = _STAMP.pack
        try:
            stamped = [pack(t + _OFFSET) + v for t, v in zip(event_times, values, strict=True)]
        except struct.error as exc:
            raise ValueError("event times must fit in a signed 64-bit integer") from exc
        rows = list(zip(keys, stamped, strict=True))
        # B+tree reads and inserts in key order touch each page once.
        rows.sort(key=operator.itemgetter(0))
        try:
            with self._env.begin(write=True) as txn:
                cursor = txn.cursor(db)
                # One C-level pass reads the stored values, the comparison runs in Python, one
                # C-level pass writes: far cheaper than a get and a put call per key. An empty
                # table (the first load) needs no reads at all.
                if txn.stat(db)["entries"]:
                    stored = dict(cursor.getmulti([k for k, _ in rows]))
                    rows = [(k, v) for k, v in rows if k not in stored or v[:8] >= stored[k][:8]]
                cursor.putmulti(rows)
                if marks is not None:
                    txn.put(table.encode(), str(commit).encode(), db=marks)
        except self._lmdb.MapFullError as exc:
            raise ConfigurationError(
                f"the LMDB online store at {self.path} is full; reopen it with a map_size "
                f"above {self._env.info()['map_size']} bytes"
            ) from exc

    def get(self, table: str, key: bytes) -> bytes | None:
        db = self._handles.get(table)
        if db is None and (db := self._handle(table, create=False)) is None:
            return None
        try:
            with self._env.begin(db=db) as txn:
                value = txn.get(key)
        except self._lmdb.BadValsizeError:  # a key LMDB cannot hold was never written
            return None
        return None if value is None else value[8:]

    def _get_many(
        self,
        txn: lmdb_module.Transaction[bytes],
        db: lmdb_module._Database | None,
        keys: Sequence[bytes],
    ) -> list[bytes | None]:
        if db is None or not keys:
            return [None] * len(keys)
        # one get per key: measured ~15% faster than a cursor's getmulti for 100 keys; a key
        # LMDB cannot hold was never written
        get, longest = txn.get, self._max_key
        return [
            None if not 0 < len(k) <= longest or (v := get(k, db=db)) is None else v[8:]
            for k in keys
        ]

    # Handles are resolved before the read transaction begins: a transaction cannot use a
    # handle opened after it started (LMDB answers EINVAL).

    def get_many(self, table: str, keys: Sequence[bytes]) -> list[bytes | None]:
        db = self._handle(table, create=False)
        with self._env.begin() as txn:
            return self._get_many(txn, db, keys)

    def multi_get(
        self, requests: Sequence[tuple[str, Sequence[bytes]]]
    ) -> list[list[bytes | None]]:
        dbs = [self._handle(table, create=False) for table, _ in requests]
        # One snapshot for all tables: the vector never mixes two commits.
        if all(len(keys) == 1 for _, keys in requests):  # one feature vector: skip cursors
            return self._get_each(dbs, [keys[0] for _, keys in requests])
        with self._env.begin() as txn:
            return [
                self._get_many(txn, db, keys) for db, (_, keys) in zip(dbs, requests, strict=True)
            ]

    def _get_each(
        self, dbs: Sequence[lmdb_module._Database | None], keys: Sequence[bytes]
    ) -> list[list[bytes | None]]:
        out: list[list[bytes | None]] = []
        with self._env.begin() as txn:
            for db, key in zip(dbs, keys, strict=True):
                try:
                    value = None if db is None else txn.get(key, db=db)
                except self._lmdb.BadValsizeError:
                    value = None
                out.append([None if value is None else value[8:]])
        return out

    def applied_commit(self, table: str) -> int | None:
        marks = self._handle(_MARKS, create=False)
        if marks is None:
            return None
        with self._env.begin() as txn:
            raw = txn.get(table.encode(), db=marks)
        return None if raw is None else int(raw)

    def scan(self, table: str) -> Iterator[tuple[bytes, bytes]]:
        db = self._handle(table, create=False)
        if db is None:
            return
        with self._env.begin() as txn:
            for key, value in txn.cursor(db):
                yield key, value[8:]

    def count(self, table: str) -> int:
        db = self._handle(table, create=False)
        if db is None:
            return 0
        with self._env.begin() as txn:
            return int(txn.stat(db)["entries"])

    def drop(self, table: str) -> None:
        db = self._handle(table, create=False)
        marks = self._handle(_MARKS, create=False)
        with self._env.begin(write=True) as txn:
            # Emptied, not deleted: deleting closes the handle for every thread of this
            # process at once, and other processes keep theirs; an empty table reads as a
            # missing one, and the name is reused if the table comes back.
            if db is not None:
                txn.drop(db, delete=False)
            if marks is not None:
                txn.delete(table.encode(), db=marks)

    def close(self) -> None:
        shared, self._shared = self._shared, None
        if shared is None:
            return
        with _OPEN_LOCK:
            shared.refs -= 1
            if shared.refs == 0:
                del _OPEN[self._id]
                shared.env.close()
