"""Inference logging: every prediction, asynchronously, into a feature group per feature view.

A request only puts a row on a bounded in-memory queue (microseconds); a background thread
batches rows into one Delta commit per batch (every ``flush_rows`` rows or ``flush_seconds``).
Back-pressure policy when the queue is full (the writer cannot keep up): the **oldest** queued
row is dropped and counted (``dropped``), so a request never blocks on logging; the count is
exported as a metric by the server. ``close()`` drains the queue before returning (graceful
shutdown loses nothing).

A failed commit is retried (``retry_delays``); when every attempt failed the batch is spilled
to a local file (:mod:`fti.serving.log_spill`) that the writer replays once a commit succeeds
again, and at its next start. Failures are logged (once per distinct error), counted
(``failed_batches``, ``failed_rows``, ``lost_rows``: rows that could not even be spilled) and
reported by ``flush()``, which raises :class:`~fti.errors.InferenceLogError`, and ``close()``,
which returns False.

The rows and their group are built by :mod:`fti.serving.log_rows`.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fti.errors import InferenceLogError
from fti.serving.log_rows import LOG_COLUMNS, log_group, log_table, row
from fti.serving.log_spill import FailureLog, LogSpill, committed_ids
from fti.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path

    import pyarrow as pa

    from fti.featurestore import FeatureGroup

__all__ = ["LOG_COLUMNS", "InferenceLogger", "LogWriter", "log_group", "log_table", "row"]

# waits before the retries of a failed commit: a conflict with another worker's commit or a
# catalog restart passes in seconds; a longer outage would only hold up the queue
RETRY_DELAYS = (0.5, 2.0, 5.0)
_log = logging.getLogger("fti.serving")


class LogWriter:
    """Commits batches of log rows into the log group (in the serving process, or in the
    separate process of :mod:`fti.serving.log_process`).

    Each commit adds a file; every ``compact_every`` commits (the project's
    :class:`fti.Settings`) the writer compacts the table
    (:meth:`DeltaOfflineStore.compact`), so a server running for days neither slows its own
    commits (an append took ~9 ms on a new table, 25-33 ms after 400 commits, ~20 ms once
    compacted) nor leaves ``fv.read_log`` a hundred thousand files to open."""

    def __init__(
        self, group: FeatureGroup, home: Path, compact_every: int = Settings.log_compact_every
    ) -> None:
        schema = group.schema
        assert schema is not None
        self.group = group
        self.schema = schema
        self.commits = 0
        self.compact_every = compact_every
        self.spill = LogSpill.of(home, group)

    def __call__(self, batch: list[dict[str, Any]]) -> None:
        table = log_table(self.schema, batch)
        try:
            self.group.insert(table, progress=False)
        except Exception:
            if not self._landed(table):
                raise
            _log.warning("inference log %s: commit reported an error, yet landed", self.group.name)
        self.commits += 1
        if self.commits % self.compact_every == 0:
            self.compact()
        self.replay()  # the log commits again: rows spilled while it did not go in now

    def _landed(self, table: pa.Table) -> bool:
        """Whether a commit that raised is in the table all the same (the error came after it,
        recording it in the catalog, say): then a retry would log its rows twice."""
        ids = table.column("request_id")
        try:
            return len(committed_ids(self.group, ids)) == len(ids)
        except Exception:  # the table cannot be read either: the commit's error tells why
            return False

    def replay(self) -> int:
        """Commit the rows spilled by failed commits (see :mod:`fti.serving.log_spill`)."""
        return self.spill.replay(self.group)

    def compact(self) -> None:
        try:
            self.group.compact()
        except Exception as exc:  # the rows are committed; compaction can wait for next time
            # (another worker's writer compacting at the same moment is the usual cause)
            _log.warning("inference log %s: compaction failed: %s", self.group.name, exc)


class InferenceLogger:
    """A bounded queue and a background writer of log rows into ``group``."""

    def __init__(
        self,
        group: FeatureGroup,
        home: Path,
        *,
        compact_every: int = Settings.log_compact_every,
        max_queue: int = 100_000,
        flush_rows: int = 5_000,
        flush_seconds: float = 1.0,
        sink: Callable[[list[dict[str, Any]], Callable[[], float]], None] | None = None,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        observer: Callable[..., None] | None = None,
    ) -> None:
        self.group = group
        # what commits a batch: this process (default) or a LogProcess of fti serve
        self._sink = sink
        self.max_queue = max_queue
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.retry_delays = tuple(retry_delays)
        self.dropped = 0
        self.written = 0
        # called by the writer thread after each batch and wake-up with (dropped, queued) and
        # the keywords failed_batches, failed_rows, lost_rows (see ServingMetrics.log_state)
        self.observer = observer
        self.failed_batches = 0  # batches not committed after every retry
        self.failed_rows = 0  # their rows, spilled or lost
        self.lost_rows = 0  # rows that could not be spilled either
        self._reported = (0, 0)  # failed_rows, lost_rows told by the last flush or close
        self._spill = LogSpill.of(home, group)
        self._failures = FailureLog(group.name)
        self._rows: collections.deque[dict[str, Any]] = collections.deque()
        self._lock = threading.Condition()
        self._closing = False
        self._stop = threading.Event()  # closing: a failing batch is spilled, not retried
        self._flushing = False
        self._in_flight = 0  # rows of the batch being committed
        self._writer = LogWriter(group, home, compact_every) if sink is None else None
        self._thread = threading.Thread(target=self._run, name="fti-inference-log", daemon=True)
        self._thread.start()

    def log(self, row: dict[str, Any]) -> None:
        """Queue one row; never blocks (drops the oldest row when full)."""
        with self._lock:
            if len(self._rows) >= self.max_queue:
                self._rows.popleft()
                self.dropped += 1
            self._rows.append(row)  # row() builds a fresh dict per request: no copy
            if len(self._rows) >= self.flush_rows:
                self._lock.notify()

    @property
    def queued(self) -> int:
        return len(self._rows)

    def flush(self, timeout: float = 60.0) -> None:
        """Commit every queued row now and wait for it, at most ``timeout`` seconds.

        Raises :class:`~fti.errors.InferenceLogError` when the timeout expired first, or when
        rows failed to commit since the last flush (or close): spilled, to be replayed, or
        lost; the message says how many of each."""
        with self._lock:
            self._flushing = True
            self._lock.notify()
            done = self._lock.wait_for(lambda: not self._rows and not self._in_flight, timeout)
            left = len(self._rows) + self._in_flight
        late = None if done else f"flush timed out after {timeout:g} s, {left} rows not written"
        problem = self._problem(late)
        if problem is not None:
            raise InferenceLogError(problem)

    def close(self, timeout: float = 60.0) -> bool:
        """Drain the queue, then stop the writer, within ``timeout`` seconds; a batch failing
        now is spilled at once. Returns False, after logging why, when rows were not committed
        since the last flush: failed, or still queued when the timeout expired (those are
        spilled here; a commit still running is left to finish or fail on its own)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closing = True
            self._lock.notify()
        self._stop.set()
        self._thread.join(timeout)
        late = None
        if self._thread.is_alive():  # stuck in a commit
            with self._lock:
                rows, self._rows = list(self._rows), collections.deque()
                in_flight = self._in_flight
            late = f"close timed out after {timeout:g} s with a commit of {in_flight} rows running"
            if rows:  # reported below with the failed rows
                self._keep(rows)
        close = getattr(self._sink, "close", None)
        if close is not None:  # a writer process stuck in that commit is killed
            close(max(0.0, deadline - time.monotonic()))
        problem = self._problem(late)
        if problem is not None:
            _log.error("%s", problem)
        return problem is None

    def _problem(self, late: str | None) -> str | None:
        failed, lost = self.failed_rows - self._reported[0], self.lost_rows - self._reported[1]
        self._reported = (self.failed_rows, self.lost_rows)
        problems = [late] if late else []
        if failed:
            problems.append(
                f"{failed} rows failed to commit: {failed - lost} spilled to "
                f"{self._spill.directory} (replayed once the log commits again), {lost} lost"
            )
        return f"inference log {self.group.name}: {'; '.join(problems)}" if problems else None

    def _run(self) -> None:
        if self._writer is not None:  # what an earlier run spilled (a LogProcess replays its own)
            self._writer.replay()
        while True:
            with self._lock:
                self._lock.wait_for(
                    lambda: self._closing or self._flushing or len(self._rows) >= self.flush_rows,
                    self.flush_seconds,
                )
                if len(self._rows) <= self.flush_rows:  # the usual case: no loop holding the GIL
                    batch, self._rows = list(self._rows), collections.deque()
                else:  # behind: one batch of flush_rows
                    batch = [self._rows.popleft() for _ in range(self.flush_rows)]
                self._flushing = self._flushing and bool(self._rows)
                self._in_flight = len(batch)
                closing = self._closing and not self._rows
            if batch:
                self._write(batch)
            with self._lock:
                self._in_flight = 0
                self._lock.notify_all()
            if self.observer is not None:
                self.observer(
                    self.dropped,
                    len(self._rows),
                    failed_batches=self.failed_batches,
                    failed_rows=self.failed_rows,
                    lost_rows=self.lost_rows,
                )
            if closing:
                return

    def _write(self, batch: list[dict[str, Any]]) -> None:
        error: Exception | None = None
        attempts = 0
        for delay in (*self.retry_delays, None):
            attempts += 1
            try:
                if self._sink is not None:  # told how full the queue is: it may hurry up
                    self._sink(batch, lambda: len(self._rows) / self.max_queue)
                else:
                    assert self._writer is not None
                    self._writer(batch)
            except Exception as exc:  # a failed commit must not kill the writer
                error = exc
                if delay is None or self._stop.wait(delay):
                    break
            else:
                self.written += len(batch)
                self._failures.resumed()
                return
        self.failed_batches += 1
        self._failures.failed(error, len(batch), attempts, self._keep(batch))

    def _keep(self, batch: list[dict[str, Any]]) -> str:
        """Spill rows that were not committed; says what became of them."""
        self.failed_rows += len(batch)
        try:
            self._spill.write(log_table(self._spill_schema(), batch))
        except Exception as exc:  # a full disk, or rows that do not fit the schema
            self.lost_rows += len(batch)
            return f"LOST: they could not be spilled ({type(exc).__name__}: {exc})"
        return f"spilled to {self._spill.directory}, replayed once the log commits again"

    def _spill_schema(self) -> pa.Schema:
        schema = self.group.schema
        assert schema is not None
        return schema
