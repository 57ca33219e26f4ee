"""Inference-log rows that could not be committed, kept on local disk until the log commits.

When a batch's commit keeps failing (the disk under the table is full, a Delta conflict, the
catalog is down, the writer process died), the logger writes the batch to
``<home>/log_spill/<group>_<version>/<uuid>.arrow`` instead of dropping it. A writer of the
group replays the directory when it starts and after each commit that succeeds: each file is
committed, then deleted.

A row is committed once. A crash between a replay's commit and its delete leaves a file whose
rows are already in the table, so a replay first leaves out the rows whose request id the
table holds (request ids are unique). The workers of a server share the directory: a replaying
writer holds an exclusive lock on the file, which the system releases if the writer dies, and
a writer that finds a file locked leaves it to its holder.

The directory is per log group, not per deployment: deployments serving one feature view share
its log, and any of them (or the next start of a deleted one's view) replays what was kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from fti.featurestore import FeatureGroup

_log = logging.getLogger("fti.serving")


class LogSpill:
    """The spill directory of one log group."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._last_error = ""

    @classmethod
    def of(cls, home: Path, group: FeatureGroup) -> LogSpill:
        """Under the home of the project the rows are written for."""
        return cls(home / "log_spill" / f"{group.name}_{group.version}")

    def write(self, table: pa.Table) -> Path:
        """Keep ``table``; the file appears whole or not at all (written aside, then renamed:
        a replay never reads half a file)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        temp = self.directory / f".{name}.tmp"
        try:
            with open(temp, "wb") as f:
                with pa.ipc.new_file(f, table.schema) as writer:
                    writer.write_table(table)
                f.flush()
                os.fsync(f.fileno())  # the rows survive a power cut once the name is there
            path = self.directory / f"{name}.arrow"
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        return path

    def pending(self) -> list[Path]:
        """The files waiting (their order does not matter: every row has its own id)."""
        try:
            return sorted(self.directory.glob("*.arrow"))
        except OSError:  # no directory: nothing was ever spilled
            return []

    def replay(self, group: FeatureGroup) -> int:
        """Commit every file not being replayed by another writer, then delete it; returns
        the rows committed. A failure is logged (once until it changes) and the files wait
        for the next replay."""
        committed = 0
        for path in self.pending():
            try:
                committed += self._replay(group, path)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                if error != self._last_error:
                    _log.warning(
                        "inference log %s: replaying %s failed (%s); it stays for the next replay",
                        group.name,
                        path.name,
                        error,
                    )
                self._last_error = error
                break  # the log is failing again: the rest waits too
        if committed:
            self._last_error = ""
            _log.warning(
                "inference log %s: %d spilled rows replayed into the log", group.name, committed
            )
        return committed

    def _replay(self, group: FeatureGroup, path: Path) -> int:
        with _locked(path) as f:
            if f is None:
                return 0
            table = pa.ipc.open_file(f).read_all()
            ids = table.column("request_id")
            present = committed_ids(group, ids)
            if len(present):  # committed before a crash kept the file from being deleted
                table = table.filter(pc.invert(pc.is_in(ids, present)))
            if table.num_rows:
                group.insert(table, progress=False)
            path.unlink()
            return int(table.num_rows)


def committed_ids(group: FeatureGroup, ids: pa.ChunkedArray) -> pa.ChunkedArray:
    """Which of the request ids ``ids`` the log table holds."""
    present = (
        group.select(["request_id"])
        .filter(group.request_id.isin(ids.to_pylist()))
        .read(dataframe_type="arrow")
    )
    return present.column("request_id")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[IO[bytes] | None]:
    """``path`` open and locked by this process, or None when another holds it or it is gone
    (replayed by another writer between the listing and the lock)."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, after the lock is released
    except FileNotFoundError:
        yield None
        return
    with f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        try:
            same = os.stat(path).st_ino == os.fstat(f.fileno()).st_ino
        except FileNotFoundError:
            same = False
        yield f if same else None


class FailureLog:
    """Logs a log group's failed commits once per distinct error (again at its 10th, 100th,
    ... batch), and once when commits succeed again: a log failing for hours writes a few
    lines, not one per batch, and each line says what became of the rows."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: dict[str, int] = {}

    def failed(self, error: BaseException | None, rows: int, attempts: int, outcome: str) -> None:
        key = f"{type(error).__name__}: {error}"[:500]
        n = self.counts[key] = self.counts.get(key, 0) + 1
        if str(n).rstrip("0") == "1":
            _log.error(
                "inference log %s: a commit of %d rows failed after %d attempt(s) (%s; %d "
                "batch(es) so far with this error); %s",
                self.name,
                rows,
                attempts,
                key,
                n,
                outcome,
            )

    def resumed(self) -> None:
        if self.counts:
            _log.warning(
                "inference log %s: commits succeed again after %d failed batch(es)",
                self.name,
                sum(self.counts.values()),
            )
            self.counts.clear()
