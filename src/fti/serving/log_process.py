"""The inference log's commits in a separate, lower-priority process (``fti serve``).

Turning a second of log rows into Arrow, Parquet and a Delta commit takes tens of
milliseconds of CPU. In the serving process that work competes with requests for the
interpreter and for the cores, and it was what moved p99 latency from ~2.5 ms to ~5 ms under
load. Here a server worker's logger thread only pickles each batch down a pipe (about a
microsecond per row); a child process at idle priority converts and commits it and answers
``"ok"`` or the error, so the logger's counts and its drain on shutdown mean the same as with
the in-process writer. The logger retries a failed batch and spills it
(:mod:`fti.serving.log_spill`) also when the child died or hangs; the child replays the spilled
rows when it starts and after each commit, as the in-process writer does.

Priority: the child runs at ``SCHED_IDLE`` (Linux) on any core, so commits only use CPU no
request wants. Under sustained saturation that CPU runs out and the queue grows; once it is
over a tenth of its bound the worker moves the child to normal priority until it has caught
up (checked every 0.1 s, also in the middle of a commit), so the drop-oldest policy stays a
last resort.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fti.errors import FtiError

if TYPE_CHECKING:
    from fti.config import ProjectLocation
    from fti.featurestore import FeatureGroup
    from fti.settings import Settings

SLICE = 32  # rows per message: pickling one holds the GIL ~0.1 ms, a request may be waiting
COMMIT = "commit"  # after a batch's slices: commit them and answer
NICE = 10  # where there is no SCHED_IDLE: a share ~1/10 of a worker's when both want a core
BEHIND = 0.1  # queue fullness from which the writer runs at normal priority


class LogProcess:
    """A child process committing batches of log rows into one feature group."""

    def __init__(
        self, location: ProjectLocation, client: str, settings: Settings, group: FeatureGroup
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._proc = context.Process(
            target=_main,
            args=(child, location, client, settings, group.name, group.version),
            name="fti-inference-log",
            daemon=True,
        )
        self._proc.start()
        child.close()
        self._hurrying = True  # until the child sets itself idle

        ready = self._conn.recv()
        if ready != "ready":
            self.close()
            raise FtiError(f"the inference-log writer process did not start: {ready}")

    def __call__(
        self, batch: list[dict[str, Any]], fullness: Callable[[], float] = lambda: 0.0
    ) -> None:
        """Commit ``batch``; raises if the child could not. ``fullness``: the share of the
        logger's queue bound waiting now (read again while the commit runs)."""
        self._hurry(fullness() > BEHIND)
        # in slices: pickling a whole batch is one C call holding the GIL for milliseconds
        for i in range(0, len(batch), SLICE):
            self._conn.send(batch[i : i + SLICE])
        self._conn.send(COMMIT)
        # The priority is set from here, not by the child: a child starved at idle priority
        # in the middle of a commit would never read a message telling it to hurry.
        while not self._conn.poll(0.1):
            self._hurry(fullness() > BEHIND)
        status = self._conn.recv()
        if status != "ok":
            raise FtiError(f"inference-log commit failed: {status}")

    def _hurry(self, hurry: bool) -> None:
        if hurry != self._hurrying and self._proc.pid is not None:
            self._hurrying = hurry
            _set_priority(self._proc.pid, hurry)

    def close(self, timeout: float = 60.0) -> None:
        """Stop the child once it has finished its commit; killed after ``timeout`` seconds
        (a logger waiting on it then sees the pipe close and spills its batch)."""
        if self._proc.is_alive():
            with contextlib.suppress(OSError):  # the child died: nothing to tell it
                self._conn.send(None)
            self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._conn.close()


def _set_priority(pid: int, hurry: bool) -> None:
    """Normal priority when behind; else SCHED_IDLE where there is one (Linux): the writer
    then runs only on a core no worker wants, and a worker waking up preempts it at once (a
    niced process still takes whole time slices from a worker: milliseconds of p99).

    On Linux a policy is per thread, and most of a commit runs on the Delta writer's own
    threads, so every thread of the process is set (threads started later inherit it)."""
    idle = getattr(os, "SCHED_IDLE", None)
    with contextlib.suppress(OSError):  # not allowed (an unprivileged return to normal): stay
        if idle is None:
            os.setpriority(os.PRIO_PROCESS, pid, 0 if hurry else NICE)
            return
        policy = os.SCHED_OTHER if hurry else idle
        for tid in _threads(pid or os.getpid()):
            with contextlib.suppress(ProcessLookupError):  # the thread just ended
                os.sched_setscheduler(tid, policy, os.sched_param(0))


def _threads(pid: int) -> list[int]:
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:  # no /proc: the main thread only
        return [pid]


def _main(
    conn: Any,
    location: ProjectLocation,
    client: str,
    settings: Settings,
    name: str,
    version: int,
) -> None:
    # Ctrl+C reaches the whole process group: the server decides when this process stops
    # (after the last batch), not the terminal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # not on its worker's CPU (fti serve pins workers): idle time on any core will do
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    try:
        _set_priority(0, hurry=False)
        from fti.featurestore import FeatureStore
        from fti.featurestore.storage import open_storage
        from fti.serving.inference_log import LogWriter

        storage = open_storage(location, client, settings=settings)
        group = FeatureStore(storage).get_feature_group(name, version).append_only()
        write = LogWriter(group, location.home, settings.log_compact_every)
    except Exception as exc:
        conn.send(f"{type(exc).__name__}: {exc}")
        return
    conn.send("ready")
    write.replay()  # rows an earlier writer spilled (the logger's first batch waits in the pipe)
    try:
        batch: list[dict[str, Any]] = []
        while (message := conn.recv()) is not None:
            if message != COMMIT:
                batch += message
                continue
            try:
                write(batch)
                conn.send("ok")
            except Exception as exc:  # answered, so that the logger counts a failed batch
                conn.send(f"{type(exc).__name__}: {exc}")
            batch = []
    except EOFError:  # the server went away without closing
        pass
    finally:
        storage.close()
