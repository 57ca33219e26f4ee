"""Worker processes of ``fti serve``: the supervisor accepts, the least busy worker serves.

How connections reach workers decides tail latency on a small machine. uvicorn's own
``--workers`` shares one listening socket, and the first worker to wake up accepts every
connection that is waiting; with ``SO_REUSEPORT`` the kernel hashes each connection to a
worker, and 8 keep-alive clients over 2 workers land 5/3, 6/2 or 7/1 more often than 4/4
(the busier worker's queue then sets p99: in paced runs at ~2,000 req/s, 3.1-4.6 ms with a
6/2 split, 2.0-3.7 ms with 4/4).
Here the supervisor accepts each connection and hands it (``SCM_RIGHTS`` over a Unix socket
pair) to the worker with the fewest open connections; the worker serves it as if it had
accepted it. Only connecting takes the extra hop, not requests: with keep-alive it is noise.

Open connections per worker: the supervisor counts those it handed over, the worker those
that closed (two counters in shared memory, each written by one process only). A worker
that is still loading the project (a restarted one) gets a connection only when no other
worker is serving.

Metrics: with several workers each process counts its own, so they run in prometheus-client's
multiprocess mode (a directory of memory-mapped files that ``/metrics`` in any worker sums).
The supervisor restarts a worker that dies, and stops them all on SIGINT/SIGTERM (each drains
its inference log first).

CPU pinning (Linux, on by default): worker *i* runs on the *i*-th CPU it may use (round
robin). A worker that migrates between cores loses its caches and waits for the scheduler to
move it; pinned, p99 at ~2,000 req/s on 2 cores went from 2.9-4.8 ms to 2.4-2.9 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import selectors
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from fti.errors import FtiError
from fti.serving.http_protocol import FastHttpProtocol
from fti.serving.limits import Limits

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def uvicorn_options() -> dict[str, Any]:
    return {
        "factory": True,
        "log_level": "warning",
        "access_log": False,  # a log line per request costs more than a prediction
        "timeout_graceful_shutdown": 30,
        "http": FastHttpProtocol,  # predictions answered in the protocol (see its module)
    }


class LimitedConfig(uvicorn.Config):
    """uvicorn's configuration with the connection limits the protocol enforces (an attribute
    of the configuration, so that uvicorn's own worker processes get them too)."""

    def __init__(self, app: Any, limits: Limits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.limits = limits
        self.timeout_keep_alive = limits.keep_alive  # type: ignore[assignment]


def serve(
    app: str,
    host: str,
    port: int,
    workers: int,
    pin_cpus: bool = True,
    limits: Limits | None = None,
) -> None:
    """Serve ``app`` (``"module:factory"``, the factory each worker calls for its app) until
    SIGINT/SIGTERM, with ``limits`` on every connection (the defaults of :class:`Limits`
    when None)."""
    limits = limits or Limits()
    if workers <= 1 or not hasattr(socket, "send_fds"):  # Windows: uvicorn's own workers
        config = LimitedConfig(
            app, limits, host=host, port=port, workers=workers, **uvicorn_options()
        )
        server = uvicorn.Server(config)
        if workers > 1:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
        return
    listener = _listen(host, port)
    own_dir = MULTIPROC_ENV not in os.environ
    if own_dir:
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="fti-metrics-")
    stopping = False

    def stop(signum: int, _: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    pool = _Pool(app, workers, _cpus() if pin_cpus else [], limits)
    try:
        pool.start_all()
        announced = False
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            while not stopping:
                if selector.select(0.2):
                    _accept(listener, pool)
                pool.restart_dead(stopping)
                if not announced and pool.all_serving():
                    # until then the first workers up take every connection
                    print(f"fti serve: all {workers} workers serve", flush=True)
                    announced = True
    finally:
        listener.close()  # no new connections while the workers drain
        pool.stop_all()
        for s, handler in previous.items():
            signal.signal(s, handler)
        if own_dir:
            shutil.rmtree(os.environ.pop(MULTIPROC_ENV), ignore_errors=True)


@contextlib.contextmanager
def in_thread(app: Any, host: str = "127.0.0.1", limits: Limits | None = None) -> Iterator[str]:
    """Serve ``app`` with uvicorn (and the predict fast path's protocol) in a thread of this
    process on a free port, for a demo or a test; yields its URL. Leaving stops it, gracefully:
    the deployments' inference logs are drained."""
    config = LimitedConfig(
        app, limits or Limits(), host=host, port=0, log_level="warning", http=FastHttpProtocol
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise FtiError("the in-process server did not start (see its log)")
            time.sleep(0.02)
        yield f"http://{host}:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(60)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise FtiError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _accept(listener: socket.socket, pool: _Pool) -> None:
    """Hand every waiting connection to the worker with the fewest open ones."""
    while True:
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # e.g. out of file descriptors: the client retries or times out
            return
        with conn:
            pool.hand_over(conn)


@dataclass
class _Worker:
    proc: Any
    channel: socket.socket  # the supervisor's end of the hand-over socket pair


class _Pool:
    def __init__(self, app: str, size: int, cpus: list[int], limits: Limits) -> None:
        self._app = app
        self._limits = limits
        self._context = multiprocessing.get_context("spawn")  # fresh interpreters: no forked locks
        self._cpus = cpus
        # [i]: connections handed to worker i; [size + i]: connections it closed; [2 * size + i]:
        # 1 once it serves (a restarted worker loading the project gets connections last)
        self._counts = self._context.RawArray("q", 3 * size)
        self._workers: list[_Worker | None] = [None] * size
        self._next = 0  # where the search for the least busy starts: ties go round robin

    def start_all(self) -> None:
        for i in range(len(self._workers)):
            self._start(i)

    def _start(self, i: int) -> None:
        size = len(self._workers)
        self._counts[i] = self._counts[size + i] = self._counts[2 * size + i] = 0
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        cpu = self._cpus[i % len(self._cpus)] if self._cpus else None
        proc = self._context.Process(
            target=_worker,
            args=(self._app, theirs, self._counts, i, size, cpu, self._limits),
            daemon=False,
        )
        proc.start()
        theirs.close()
        self._workers[i] = _Worker(proc, ours)

    def all_serving(self) -> bool:
        size = len(self._workers)
        return all(self._counts[2 * size + i] for i in range(size))

    def hand_over(self, conn: socket.socket) -> None:
        size = len(self._workers)
        order = sorted(
            range(size),
            key=lambda i: (
                -self._counts[2 * size + i],
                self._counts[i] - self._counts[size + i],
                (i - self._next) % size,
            ),
        )
        for i in order:
            worker = self._workers[i]
            if worker is None or not worker.proc.is_alive():
                continue
            try:
                socket.send_fds(worker.channel, [b"c"], [conn.fileno()])
            except OSError:  # the worker is going away: the next one
                continue
            self._counts[i] += 1
            self._next = (i + 1) % size
            return

    def restart_dead(self, stopping: bool) -> None:
        for i, worker in enumerate(self._workers):
            if worker is None or worker.proc.is_alive() or stopping:
                continue
            worker.channel.close()
            _dead(worker.proc.pid)
            print(
                f"fti serve: worker {worker.proc.pid} exited ({worker.proc.exitcode}); restarting"
            )
            self._start(i)

    def stop_all(self) -> None:
        live = [w for w in self._workers if w is not None]
        for w in live:
            if w.proc.is_alive():
                # graceful (a second SIGINT would make uvicorn skip draining connections)
                os.kill(w.proc.pid, signal.SIGTERM)
        for w in live:
            w.proc.join(60)
            if w.proc.is_alive():
                w.proc.kill()
            w.channel.close()


def _cpus() -> list[int]:
    getter = getattr(os, "sched_getaffinity", None)
    return sorted(getter(0)) if getter is not None else []


def _dead(pid: int | None) -> None:
    from prometheus_client import multiprocess

    if pid is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def _worker(
    app: str,
    channel: socket.socket,
    counts: Any,
    index: int,
    size: int,
    cpu: int | None,
    limits: Limits,
) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    config = LimitedConfig(app, limits, **uvicorn_options())
    HandedServer(config, channel, counts, index, size).run()


class HandedServer(uvicorn.Server):
    """A uvicorn server with no listening socket: it serves the connections the
    supervisor hands it over ``channel``."""

    def __init__(
        self, config: Any, channel: socket.socket, counts: Any, index: int, size: int
    ) -> None:
        super().__init__(config)
        self._channel = channel
        self._counts = counts
        self._index = index
        self._size = size
        self._protocol_class: type | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # lifespan start-up; no listeners of its own
        counts, slot = self._counts, self._size + self._index

        class Counted(self.config.http_protocol_class):  # type: ignore[name-defined,misc]
            def connection_lost(self, exc: Exception | None) -> None:
                super().connection_lost(exc)
                counts[slot] += 1

        self._protocol_class = Counted
        loop = asyncio.get_running_loop()
        self._channel.setblocking(False)
        loop.add_reader(self._channel.fileno(), self._receive, loop)
        counts[2 * self._size + self._index] = 1  # serving: new connections may come here

    def _protocol(self) -> asyncio.Protocol:
        assert self._protocol_class is not None
        return self._protocol_class(  # type: ignore[no-any-return]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )

    def _receive(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:  # one byte per connection, its descriptor attached
                data, fds, _, _ = socket.recv_fds(self._channel, 1, 16)
            except (BlockingIOError, InterruptedError):
                return
            if not data and not fds:  # the supervisor went away: serve what is open
                loop.remove_reader(self._channel.fileno())
                return
            for fd in fds:
                sock = socket.socket(fileno=fd)
                loop.create_task(loop.connect_accepted_socket(self._protocol, sock))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        with contextlib.suppress(ValueError, OSError):  # already closed
            asyncio.get_running_loop().remove_reader(self._channel.fileno())
        self._channel.close()
        await super().shutdown(sockets)
