"""Named write locks shared by every process that opens a catalog, on any host.

A feature group's writers hold its lock from the offline commit until the online store has
applied it: commits then reach the online store in commit order, which is what makes equal
event times resolve to the same row online as offline, and upserts (Delta merges) of one
group never race each other into a conflict. The lock lives with the catalog, not with a
home, because a team's processes share the catalog but not a disk.

PostgreSQL: a session-level advisory lock on a connection of its own. The server releases
it when that connection ends, so a writer that is killed (or whose host vanishes) never
leaves it held; ``pg_advisory_lock`` waits in the server, without polling.

SQLite: the catalog is a file on one machine, so the lock is a file beside it
(``locks/<name>.lock``, flock via filelock): every process opening that catalog file, from
whichever home, takes the same one, and the kernel releases it when its holder dies.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock


def _advisory_key(name: str) -> int:
    """A signed 64-bit key for ``pg_advisory_lock``; a collision only serializes two groups."""
    digest = hashlib.blake2b(f"fti.lock:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class CatalogLocks:
    """``hold(name)``: an exclusive lock on ``name`` among every user of one catalog."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        database = engine.url.database
        self._dir = (
            Path(database).parent / "locks"
            if self._dialect == "sqlite" and database and database != ":memory:"
            else None
        )
        self._local: dict[str, threading.Lock] = {}  # an in-memory catalog: one process
        self._local_guard = threading.Lock()

    @contextlib.contextmanager
    def hold(self, name: str) -> Iterator[None]:
        if self._dialect == "postgresql":
            with self._advisory(name):
                yield
        elif self._dir is not None:
            self._dir.mkdir(exist_ok=True)
            with FileLock(self._dir / f"{name}.lock"):
                yield
        else:
            with self._local_guard:
                lock = self._local.setdefault(name, threading.Lock())
            with lock:
                yield

    @contextlib.contextmanager
    def _advisory(self, name: str) -> Iterator[None]:
        key = _advisory_key(name)
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                try:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                except Exception:
                    # Unlocking failed (the connection broke): a connection returned to the
                    # pool must never still hold the lock, so it is discarded, which ends
                    # its session and with it the lock.
                    conn.invalidate()
                    raise
        finally:
            conn.close()
