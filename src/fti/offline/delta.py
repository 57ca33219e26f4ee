"""The offline store: one Delta Lake table per feature-group version.

Every insert is exactly one Delta commit, so a reader (or a process killed mid-insert) only
ever sees whole commits. Rows are upserted on (primary key, event time). When a batch starts
after everything the table holds (the common append-only pipeline), it is appended without a
merge: the Delta file statistics prove no key can collide, and appends are several times cheaper.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake.exceptions import DeltaError, TableNotFoundError

from fti._duckdb import quote
from fti.errors import CommitNotFound

# Readers (pyarrow, DuckDB) parallelize over row groups; delta-rs would otherwise write one
# row group per file, so a 1M-row commit would be read by one thread. 122,880 rows is
# DuckDB's own row-group size.
ROW_GROUP_ROWS = 122_880
# Reader features under which a table's Parquet files still hold its rows as they are.
_PLAIN_PARQUET_READER_FEATURES = {"timestampNtz", "v2Checkpoint", "vacuumProtocolCheck"}

# Custom commit metadata fti adds to every Delta commit; Delta itself records the commit time
# and the rows inserted / updated (operationMetrics).
META_CLIENT = "fti.client"


@dataclass(frozen=True)
class CommitResult:
    version: int
    rows_inserted: int
    rows_updated: int


@dataclass(frozen=True)
class CommitInfo:
    """One commit of a feature group's offline table, as ``fg.commit_details()`` lists it."""

    commit_id: int
    committed_at: dt.datetime
    operation: str
    rows_inserted: int
    rows_updated: int
    client: str | None


def _sql_name(column: str) -> str:
    return quote(column)


class DeltaOfflineStore:
    """Delta tables under one root URI (a local path now; ``s3://`` takes storage options)."""

    def __init__(self, root: str, storage_options: dict[str, str] | None = None) -> None:
        self.root = root.rstrip("/")
        self.storage_options = storage_options
        # tables kept open for append-only writers: re-reading a long log per commit is most
        # of a small commit's cost
        self._appending: dict[str, DeltaTable] = {}
        self._appending_lock = threading.Lock()

    @staticmethod
    def table_location(name: str, version: int) -> str:
        """Where a feature group version's table lives, relative to the root: the catalog
        stores this, so a copied or moved home uses its own tables, never the original's."""
        return f"{name}/v{version}"

    def uri(self, location: str) -> str:
        """The table's URI: a relative location under this store's root. An absolute path or
        URI is taken as it is (a table placed explicitly outside the root)."""
        if "://" in location or location.startswith("/"):
            return location
        return f"{self.root}/{location}"

    def is_local(self) -> bool:
        return urlparse(self.root).scheme in ("", "file")

    def exists(self, location: str) -> bool:
        """Whether the location holds a Delta table (a local check is one stat)."""
        uri = self.uri(location)
        if urlparse(uri).scheme in ("", "file"):
            return os.path.isdir(os.path.join(urlparse(uri).path or uri, "_delta_log"))
        return self._open(location) is not None

    def _open(self, location: str, version: int | None = None) -> DeltaTable | None:
        try:
            return DeltaTable(
                self.uri(location), version=version, storage_options=self.storage_options
            )
        except TableNotFoundError:
            return None

    def latest_version(self, location: str) -> int | None:
        table = self._open(location)
        return None if table is None else int(table.version())

    def write(
        self,
        location: str,
        data: pa.Table,
        *,
        upsert_keys: Sequence[str],
        event_time: str | None,
        partition_by: Sequence[str],
        metadata: dict[str, str],
        append: bool = False,
    ) -> CommitResult:
        """Upsert ``data`` as one commit and report what it did (``append``: the caller knows
        no key of ``data`` is stored yet)."""
        props = CommitProperties(custom_metadata=metadata)
        if append:
            return self._append(location, data, partition_by, props)
        table = self._open(location)
        if table is None or self._appends_only(table, data, event_time):
            self._write_append(location, data, partition_by, props)
            version = self.latest_version(location)
            assert version is not None
            return CommitResult(version, data.num_rows, 0)
        predicate = " AND ".join(f"t.{_sql_name(k)} = s.{_sql_name(k)}" for k in upsert_keys)
        metrics = (
            table.merge(
                data,
                predicate,
                source_alias="s",
                target_alias="t",
                commit_properties=props,
                writer_properties=self._writer_properties(),
            )
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
        return CommitResult(
            int(table.version()),
            int(metrics["num_target_rows_inserted"]),
            int(metrics["num_target_rows_updated"]),
        )

    def _append(
        self, location: str, data: pa.Table, partition_by: Sequence[str], props: CommitProperties
    ) -> CommitResult:
        with self._appending_lock:
            table = self._appending.pop(location, None)
            if table is not None:
                try:
                    table.update_incremental()  # only the commits since the last one we saw
                except DeltaError:  # the table was dropped (and maybe re-created): reopen
                    table = None
            table = table or self._open(location)
            self._write_append(table if table is not None else location, data, partition_by, props)
            table = table or self._open(location)
            assert table is not None
            self._appending[location] = table
            return CommitResult(int(table.version()), data.num_rows, 0)  # the commit just made

    def _write_append(
        self,
        target: str | DeltaTable,
        data: pa.Table,
        partition_by: Sequence[str],
        props: CommitProperties,
    ) -> None:
        write_deltalake(
            self.uri(target) if isinstance(target, str) else target,
            data,
            mode="append",
            partition_by=list(partition_by) or None,
            storage_options=self.storage_options,
            commit_properties=props,
            writer_properties=self._writer_properties(),
        )

    def compact(self, location: str) -> int:
        """Rewrite the table's small files into large ones, then delete the files that were
        compacted away longer ago than the table's retention (Delta's default: 7 days).

        A table written by many small commits (the inference log: one per flush) otherwise
        grows a file per commit, and every later commit and read pays for all of them. The
        compaction is a commit that changes no rows: a read at any version, before or after
        it, returns the same rows. Returns how many files it removed."""
        table = self._open(location)
        if table is None:
            return 0
        metrics = table.optimize.compact(writer_properties=self._writer_properties())
        table.vacuum(dry_run=False)  # the table's own retention: time travel stays possible
        return int(metrics.get("numFilesRemoved", 0))

    @staticmethod
    def _writer_properties() -> WriterProperties:
        return WriterProperties(max_row_group_size=ROW_GROUP_ROWS)

    @staticmethod
    def _appends_only(table: DeltaTable, data: pa.Table, event_time: str | None) -> bool:
        """True when every new event time is later than every stored one (no collision)."""
        if event_time is None:
            return False
        actions = pa.table(table.get_add_actions(flatten=True))
        if actions.num_rows == 0:
            return True
        column = f"max.{event_time}"
        if column not in actions.column_names or actions.column(column).null_count:
            return False  # no statistics for some file: cannot prove anything
        stored_max = pc.max(actions.column(column)).as_py()
        new_min = pc.min(data.column(event_time)).as_py()
        return bool(stored_max is not None and new_min is not None and new_min > stored_max)

    def read(
        self,
        location: str,
        as_of: int | dt.datetime | None = None,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """The table as of a commit version or a point in time (latest when omitted)."""
        table = self.snapshot(location, as_of)
        if table is None:
            raise CommitNotFound(f"the offline table at {self.uri(location)} has no commits yet")
        return table.to_pyarrow_table(
            columns=list(columns) if columns else None, filesystem=self._filesystem(location)
        )

    def _filesystem(self, location: str) -> Any:
        """Arrow's own file system for a local table, rooted at it. delta-rs would otherwise
        hand Arrow a file system written in Python, whose last reference can be dropped by
        one of Arrow's I/O threads after a scan; when that happens while the interpreter
        exits, the thread cannot take the GIL and the process aborts ("terminate called
        without an active exception")."""
        uri = self.uri(location)
        if urlparse(uri).scheme not in ("", "file"):
            return None
        import pyarrow.fs as pafs

        return pafs.SubTreeFileSystem(urlparse(uri).path or uri, pafs.LocalFileSystem())

    def parquet_files(self, location: str, version: int) -> list[str] | None:
        """The local Parquet files that hold exactly the rows of commit ``version``, or None
        when the files alone do not (remote storage, partition values kept in the log,
        deletion vectors or column mapping): then read through ``read``.

        Engines that scan Parquet themselves (DuckDB) read these in parallel and overlap the
        scan with their own work, which a materialized Arrow snapshot cannot.
        """
        if not self.is_local():
            return None
        try:
            table = self._open(location, version)
        except DeltaError:
            return None  # e.g. no such commit: ``read`` says so clearly
        if table is None:
            return None
        protocol = table.protocol()
        if protocol.min_reader_version == 2:  # column mapping
            return None
        if not set(protocol.reader_features or ()) <= _PLAIN_PARQUET_READER_FEATURES:
            return None
        if table.metadata().partition_columns:
            return None
        return list(table.file_uris()) or None

    def row_count(self, location: str, version: int) -> int | None:
        """Rows in commit ``version`` from the log's file statistics (None when unknown)."""
        try:
            table = self._open(location, version)
        except DeltaError:
            return None
        if table is None:
            return None
        counts = pa.table(table.get_add_actions(flatten=True)).column("num_records")
        return None if counts.null_count else int(pc.sum(counts).as_py() or 0)

    def snapshot(self, location: str, as_of: int | dt.datetime | None = None) -> DeltaTable | None:
        table = self._open(location)
        if table is None or as_of is None:
            return table
        table.load_as_version(self.version_at(location, as_of))
        return table

    def version_at(self, location: str, as_of: int | dt.datetime) -> int:
        """The commit id ``as_of`` names: itself, or the newest commit at or before a time."""
        commits = self.history(location)
        if not commits:
            raise CommitNotFound(f"the offline table at {self.uri(location)} has no commits yet")
        if isinstance(as_of, dt.datetime):
            # The newest commit at or before as_of; delta-rs would silently return the first
            # commit for an earlier time, but there was no data then.
            eligible = [c.commit_id for c in commits if c.committed_at <= as_of]
            version = eligible[-1] if eligible else None
        else:
            version = as_of if any(c.commit_id == as_of for c in commits) else None
        if version is None:
            raise CommitNotFound(
                f"no commit at {_when(as_of)}: this table has commits {commits[0].commit_id} "
                f"({commits[0].committed_at.isoformat()}) to {commits[-1].commit_id} "
                f"({commits[-1].committed_at.isoformat()})"
            )
        return version

    def history(self, location: str, limit: int | None = None) -> list[CommitInfo]:
        """Every commit, oldest first; only the newest ``limit`` when given (each commit is
        a file of the log to read)."""
        table = self._open(location)
        if table is None:
            return []
        commits = [_commit_info(entry) for entry in table.history(limit)]
        return sorted(commits, key=lambda c: c.commit_id)

    def commit_changes(self, location: str, version: int) -> tuple[pa.Table, pa.Table]:
        """The rows of the files commit ``version`` added, and of the files it removed, in
        the table's schema at ``version``.

        fti's tables keep no change data feed, so this is what Delta knows of a commit's rows:
        an append adds files of its rows alone; a merge rewrites every file it touched, so the
        files it added also hold the rows it copied unchanged from the files it removed.
        """
        import pyarrow.dataset as ds

        table = self._open(location, version)
        if table is None:
            raise CommitNotFound(f"the offline table at {self.uri(location)} has no commits yet")
        filesystem = self._filesystem(location)
        now = table.to_pyarrow_dataset(filesystem=filesystem)
        previous = self._open(location, version - 1) if version > 0 else None
        before = (
            {}
            if previous is None
            else _fragments(previous.to_pyarrow_dataset(filesystem=filesystem))
        )
        after = _fragments(now)

        def rows(fragments: list[Any]) -> pa.Table:
            return ds.FileSystemDataset(
                fragments, now.schema, now.format, now.filesystem
            ).to_table()

        added = [f for path, f in after.items() if path not in before]
        return rows(added), rows([f for path, f in before.items() if path not in after])

    def delete(self, location: str) -> None:
        uri = self.uri(location)
        if self.is_local():
            shutil.rmtree(urlparse(uri).path or uri, ignore_errors=True)
            return
        import pyarrow.fs as pafs

        fs, path = pafs.FileSystem.from_uri(uri)
        fs.delete_dir(path)


def _fragments(dataset: Any) -> dict[str, Any]:
    return {fragment.path: fragment for fragment in dataset.get_fragments()}


def _when(as_of: int | dt.datetime) -> str:
    return as_of.isoformat() if isinstance(as_of, dt.datetime) else str(as_of)


def _commit_info(entry: dict[str, Any]) -> CommitInfo:
    metrics = entry.get("operationMetrics") or {}
    operation = str(entry.get("operation", ""))
    if operation == "MERGE":
        inserted = int(metrics.get("num_target_rows_inserted", 0))
        updated = int(metrics.get("num_target_rows_updated", 0))
    else:
        inserted = int(metrics.get("num_added_rows", 0))
        updated = 0
    return CommitInfo(
        commit_id=int(entry["version"]),
        committed_at=dt.datetime.fromtimestamp(int(entry["timestamp"]) / 1000, dt.UTC),
        operation=operation,
        rows_inserted=inserted,
        rows_updated=updated,
        client=entry.get(META_CLIENT),
    )
