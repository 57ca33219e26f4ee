"""Recovering the catalog records of commits whose writer died before storing them.

An insert commits its rows offline (one Delta commit), then records the commit's statistics
and validation report in the catalog, which also advances the group's ``last_commit``. The two
cannot share a transaction, so a writer killed between them leaves a commit the catalog never
recorded: the offline table is at version N while ``last_commit`` is below N. Whoever next
holds the group's write lock (the first open of the group in a process, or the next insert)
recovers the records from the commit's rows and marks them recovered.

The rows of a commit come from the files it added (Delta's change data is not enabled on
fti's tables). An append's files hold its rows exactly. A merge rewrites whole files, so its
files also hold rows copied unchanged from the files it removed: those are taken away again
(every column equal, as a multiset). A row the merge re-wrote with exactly its stored values
is then indistinguishable from a copied one; Delta's metrics say how many rows the merge
wrote, so the record says how many such rows it could not tell (``rows_unknown``) and that
its statistics describe the others.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fti import _duckdb
from fti.errors import CommitRecordsWarning

if TYPE_CHECKING:
    from fti.featurestore.feature_group import FeatureGroup
    from fti.featurestore.storage import Storage
    from fti.offline import CommitInfo

# What fg.insert commits: an append (WRITE) or an upsert (MERGE). The other commits change
# no row (ADD COLUMN of append_features, OPTIMIZE and VACUUM of a compaction) and have no
# statistics or report to miss.
INSERTS = frozenset({"WRITE", "MERGE"})


def repair_on_open(storage: Storage, fg: FeatureGroup, latest: int | None) -> None:
    """Recover the records of commits newer than the catalog's ``last_commit``. ``latest``
    is the offline table's latest commit as just read: when the catalog has it, this costs
    nothing more; otherwise the check is repeated under the group's write lock, which orders
    it after any insert still running."""
    if not _behind(fg._record.last_commit, latest):
        return
    with storage.write_lock(fg):
        last = fg._refresh().last_commit
        latest = storage.offline.latest_version(fg.location)
        if latest is None or not _behind(last, latest):
            return
        recover(storage, fg, -1 if last is None else last, latest, latest)
        # past the commits that are not inserts too, so that the next open has nothing to do
        storage.catalog.record_commit(fg.id, latest, None, None)


def repair_gap(storage: Storage, fg: FeatureGroup, last: int | None, commit: int) -> None:
    """After an insert under the lock recorded ``commit``: recover the commits between the
    catalog's ``last`` and it, which another writer committed and died before recording (a
    long-lived process opened the group before they did). Never fails the insert, whose own
    commit is whole and recorded: a failure warns, and the next open tries again."""
    after = -1 if last is None else last
    if commit - 1 <= after:
        return
    try:
        recover(storage, fg, after, commit - 1, commit)
    except Exception as exc:  # any backend failure
        storage.forget(fg.id, online=False)
        warn_unrecovered(fg, exc)


def warn_unrecovered(fg: FeatureGroup, exc: Exception) -> None:
    warnings.warn(
        f"{fg.name} v{fg.version}: the statistics and validation reports of commits a writer "
        f"did not record could not be recovered ({type(exc).__name__}: {exc}); the group's "
        "next open in a process tries again",
        CommitRecordsWarning,
        stacklevel=4,
    )


def recover(storage: Storage, fg: FeatureGroup, after: int, upto: int, newest: int) -> list[int]:
    """Record every insert commit in ``(after, upto]`` from its rows; returns those commits.
    ``newest`` is the table's latest commit: the log is read back to ``after`` only."""
    suite = fg.expectation_suite
    if not fg.statistics_config.enabled and suite is None:
        return []  # nothing to record but last_commit
    offline = storage.offline
    commits = offline.history(fg.location, limit=newest - after)
    if commits and commits[0].commit_id > after + 1:  # the table moved on meanwhile
        commits = offline.history(fg.location)
    done = []
    for commit in commits:
        if not (after < commit.commit_id <= upto and commit.operation in INSERTS):
            continue
        try:
            _record(storage, fg, commit)
        except FileNotFoundError as exc:
            # its files were vacuumed: no later attempt can do better, so go on past it
            warnings.warn(
                f"{fg.name} v{fg.version}: commit {commit.commit_id} has no statistics or "
                f"validation report, and they cannot be recovered: its files are gone ({exc})",
                CommitRecordsWarning,
                stacklevel=2,
            )
            continue
        done.append(commit.commit_id)
    return done


def _record(storage: Storage, fg: FeatureGroup, commit: CommitInfo) -> None:
    rows, unknown = commit_rows(storage, fg, commit)
    how = {
        "exact": unknown == 0,
        "rows_unknown": unknown,
        "note": _note(commit.commit_id, rows.num_rows, unknown),
    }
    stats = None
    config = fg.statistics_config
    if config.enabled:
        stats = {**storage.describe(rows, config), "recovered": how}
    report, success = None, True
    suite = fg.expectation_suite
    if suite is not None:
        from fti.validation import validate

        checked = validate(rows, suite)
        report, success = {**checked.to_dict(), "note": how["note"]}, checked.success
    storage.catalog.record_commit(
        fg.id, commit.commit_id, stats, report, report_success=success, ingestion="RECOVERED"
    )


def commit_rows(storage: Storage, fg: FeatureGroup, commit: CommitInfo) -> tuple[pa.Table, int]:
    """The rows ``commit`` wrote, as far as they can be told, and how many could not be."""
    added, removed = storage.offline.commit_changes(fg.location, commit.commit_id)
    rows = added if removed.num_rows == 0 else _multiset_difference(added, removed)
    schema = fg.schema or storage.offline_schema(fg)
    if schema is not None:  # the types an insert describes, whatever Delta hands back
        fields = [
            schema.field(n) if n in schema.names else rows.field(n) for n in rows.column_names
        ]
        rows = rows.cast(pa.schema(fields))
    written = commit.rows_inserted + commit.rows_updated
    return rows, max(written - rows.num_rows, 0)


def _multiset_difference(added: pa.Table, removed: pa.Table) -> pa.Table:
    con = _duckdb.connect()
    try:
        con.register("added", added)
        con.register("removed", removed)
        # EXCEPT ALL compares whole rows, nulls and NaNs equal: copied rows cancel out
        result: Any = con.sql("SELECT * FROM added EXCEPT ALL SELECT * FROM removed")
        return result.to_arrow_table()
    finally:
        con.close()


def _note(commit: int, rows: int, unknown: int) -> str:
    note = (
        f"recovered from the offline table: the writer of commit {commit} stopped before "
        f"recording it; these describe the {rows} row{'s' if rows != 1 else ''} it wrote"
    )
    if unknown:
        note += (
            f", less {unknown} row{'s' if unknown != 1 else ''} it re-wrote with the values "
            "they had, which the table cannot tell from rows it copied unchanged"
        )
    return note


def _behind(last: int | None, latest: int | None) -> bool:
    return latest is not None and latest > (-1 if last is None else last)
