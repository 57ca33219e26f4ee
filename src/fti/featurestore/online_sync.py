"""Keeping a feature group's online rows equal to the newest rows of its offline table.

The online store records the offline commit it last applied (its watermark, kept in the same
store as the rows, so an emptied store shows as one that applied nothing). Delta versions are
consecutive, so an insert's rows alone are enough only when the watermark is the commit just
before it; otherwise a write failed, a process died between the two writes, or the store lost
its data, and the rows are rebuilt from the offline table as of the new commit.
Newest-event-time-wins makes re-applying the latest state per key idempotent.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from fti import _duckdb
from fti.errors import OnlineStoreWarning, OnlineWriteFailed
from fti.offline import DeltaOfflineStore
from fti.online import OnlineStore
from fti.online.codec import key_sizes, oversized_keys

if TYPE_CHECKING:
    from fti.featurestore.feature_group import FeatureGroup


class OnlineSync:
    """Applies offline commits of online-enabled feature groups to the online store."""

    def __init__(
        self,
        offline: DeltaOfflineStore,
        online: OnlineStore,
        lock: Callable[[FeatureGroup], AbstractContextManager[None]],
    ) -> None:
        self._offline = offline
        self._online = online
        self._lock = lock

    def after_commit(self, fg: FeatureGroup, table: pa.Table, commit: int) -> int:
        """Apply the rows of offline commit ``commit`` (under the group's write lock); returns
        the keys written. A failure raises :class:`OnlineWriteFailed` and leaves the watermark
        where it was, so the next insert or :meth:`catch_up` repairs it."""
        try:
            applied = self._online.applied_commit(fg._online_table)
            if (-1 if applied is None else applied) == commit - 1:
                return self._write(fg, table, commit)
            return self._write(fg, self._offline.read(fg.location, commit), commit)
        except Exception as exc:  # any backend failure: the offline commit is already whole
            raise OnlineWriteFailed(
                f"{fg.name} v{fg.version}: offline commit {commit} was written and recorded, "
                f"but the online store ({self._online.address}) failed, so its rows are not "
                f"online yet ({type(exc).__name__}: {exc}). The online store catches up on "
                "the group's next insert, or run fg.online_sync() (fti fg sync) once it is "
                "back.",
                commit,
            ) from exc

    def catch_up(
        self, fg: FeatureGroup, *, full: bool = False, latest: int | None = None
    ) -> int | None:
        """Bring the online rows to the offline table's latest commit when the watermark is
        behind it (``full``: drop the online rows and rebuild them whatever the watermark
        says). Returns the keys written, or None when there was nothing to do.

        ``latest``: the latest commit as the caller read it before taking the lock. A
        watermark at or past it needs nothing (a commit since then was applied by its own
        insert, under the lock), so the table is read again only when there is work."""
        with self._lock(fg):
            applied = self._online.applied_commit(fg._online_table)
            if not full and latest is not None and applied is not None and applied >= latest:
                return None
            latest = self._offline.latest_version(fg.location)
            if full:
                self._online.drop(fg._online_table)
            elif latest is None or (applied is not None and applied >= latest):
                return None
            if latest is None:
                return 0
            fg._refresh()
            return self._write(fg, self._offline.read(fg.location, latest), latest)

    def advance(self, fg: FeatureGroup, before: int | None, after: int | None) -> None:
        """Move the watermark over a commit that changed no rows (a schema change), so that
        it does not read as a gap later."""
        if after is None or self._online.applied_commit(fg._online_table) != before:
            return
        self._online.write(fg._online_table, [], [], [], after)

    def _write(self, fg: FeatureGroup, table: pa.Table, commit: int) -> int:
        latest = self._holdable(fg, _latest_per_key(fg, table))
        keys, times, values = fg._codec().encode_table(latest)
        self._online.write(fg._online_table, keys, times, values, commit)
        return len(keys)

    def _holdable(self, fg: FeatureGroup, table: pa.Table) -> pa.Table:
        """The rows whose keys the online store can hold. Inserts refuse longer keys, but a
        row committed before they did would otherwise fail every catch-up of the group, and
        with it every later insert: such rows stay offline, with a warning."""
        limit = self._online.max_key_bytes
        if limit is None or not oversized_keys(table, fg.primary_key, limit, shown=1):
            return table
        sizes = key_sizes(table, fg.primary_key)
        fits = pc.less_equal(sizes, limit)
        skipped = table.num_rows - int(pc.sum(fits).as_py() or 0)
        warnings.warn(
            f"{fg.name} v{fg.version}: {skipped} key{'s' if skipped != 1 else ''} of the "
            f"offline table {'are' if skipped != 1 else 'is'} longer than the online store "
            f"({self._online.address}) holds ({limit} bytes; the longest is "
            f"{pc.max(sizes).as_py()} bytes encoded), so {'they are' if skipped != 1 else 'it is'}"
            " not online: lookups find nothing for them, offline reads have them",
            OnlineStoreWarning,
            stacklevel=2,
        )
        return table.filter(fits)


def _latest_per_key(fg: FeatureGroup, table: pa.Table) -> pa.Table:
    if fg.event_time is None:
        return table  # keys are unique within an insert already
    keys = ", ".join(_duckdb.quote(k) for k in fg.primary_key)
    con = _duckdb.connect()
    try:
        con.register("batch", table)
        return con.sql(
            f"SELECT * FROM batch QUALIFY row_number() OVER (PARTITION BY {keys} "
            f"ORDER BY {_duckdb.quote(fg.event_time)} DESC) = 1"
        ).to_arrow_table()
    finally:
        con.close()
