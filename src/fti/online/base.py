"""The online store interface: latest feature values per primary key.

Backends store opaque bytes. Encoding keys and rows is the caller's job (see
:mod:`fti.online.codec`), so every backend has the same small surface and the same semantics,
checked by one conformance suite (``tests/online/conformance.py``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence


class OnlineStore(ABC):
    """A key-value store of the newest row per primary key, one table per feature-group version.

    Semantics every backend must keep:

    * **newest event time wins**: :meth:`write` keeps, per key, the value with the greatest
      event time; a write with an *older* event time than the stored one is ignored; a write
      with an *equal* event time replaces the stored value (it comes from a later commit).
    * **commit watermark**: :meth:`write` records ``commit`` (the offline commit the rows come
      from) atomically with the rows, so a reader can tell how far the store has caught up.
    * **misses are not errors**: a key that was never written reads as ``None``.
    * reading a table that was never created behaves like an empty table.
    """

    @abstractmethod
    def write(
        self,
        table: str,
        keys: Sequence[bytes],
        event_times: Sequence[int],
        values: Sequence[bytes],
        commit: int | None,
    ) -> None:
        """Upsert rows by key with newest-event-time-wins, then record ``commit`` as applied.

        ``keys`` must be unique within one call. ``event_times`` are integers (microseconds since
        the epoch, or 0 for feature groups without event time). The whole call is atomic where
        the backend allows it (SQLite, LMDB, Redis scripts per chunk).
        """

    @abstractmethod
    def get(self, table: str, key: bytes) -> bytes | None:
        """The stored value for one key, or ``None`` on a miss."""

    @abstractmethod
    def get_many(self, table: str, keys: Sequence[bytes]) -> list[bytes | None]:
        """Values for many keys in the order given, ``None`` for each miss."""

    def multi_get(
        self, requests: Sequence[tuple[str, Sequence[bytes]]]
    ) -> list[list[bytes | None]]:
        """Values for keys of several tables, in one round trip where the backend allows."""
        return [self.get_many(table, keys) for table, keys in requests]

    @abstractmethod
    def applied_commit(self, table: str) -> int | None:
        """The last offline commit recorded by :meth:`write`, ``None`` if none."""

    @abstractmethod
    def scan(self, table: str) -> Iterator[tuple[bytes, bytes]]:
        """Every ``(key, value)`` pair of the table, in no particular order."""

    @abstractmethod
    def count(self, table: str) -> int:
        """Number of keys stored in the table."""

    @abstractmethod
    def drop(self, table: str) -> None:
        """Delete the table and its watermark; dropping a missing table is not an error."""

    @property
    def max_key_bytes(self) -> int | None:
        """The longest key :meth:`write` takes, in bytes, or ``None`` when no key an insert
        could make is too long (Redis holds 512 MB, SQLite 1 GB). Inserts into an online
        group check their encoded keys against it before anything is written."""
        return None

    @property
    def address(self) -> str:
        """What the store is and where, for error messages (never a password)."""
        path = getattr(self, "path", None)
        kind = type(self).__name__.removesuffix("OnlineStore")
        return kind if path is None else f"{kind} at {path}"

    def with_timeout(self, seconds: float) -> OnlineStore:
        """This store for lookups that must answer within ``seconds``: :meth:`get`,
        :meth:`get_many` and :meth:`multi_get` of the returned store raise
        :class:`fti.errors.OnlineLookupTimeout` instead of waiting longer. It reads the same
        data, belongs to this store (closed with it) and is the same object for the same
        ``seconds``. Backends whose reads never wait return themselves (LMDB)."""
        return self

    def close(self) -> None:  # noqa: B027 - optional hook, most backends need nothing
        """Release connections; the store must not be used afterwards."""
