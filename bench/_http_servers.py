"""The systems of ``bench/http_predict.py`` and their servers: the set-up (``fti demo``, a Feast
feature repo), starting the servers, waiting until they are ready, freezing the ones not being
measured, reading their processes' CPU and memory and fti's ``/metrics``, and stopping them
gracefully.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import feast_online

BIN = Path(sys.executable).parent

# -- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    kind: str  # "fti" or "feast"

    def tree(self) -> list[Any]:
        import psutil

        try:
            parent = psutil.Process(self.proc.pid)
            return [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in self.tree():
            with contextlib.suppress(Exception):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def worker_cpu(self) -> dict[int, float]:
        """CPU seconds of each worker process (not the supervisor)."""
        out = {}
        for p in self.tree()[1:]:
            with contextlib.suppress(Exception):
                if "resource_tracker" in " ".join(_cmd(p)):
                    continue
                t = p.cpu_times()
                out[p.pid] = t.user + t.system
        return out

    def rss(self) -> tuple[int, list[int]]:
        sizes = []
        for p in self.tree():
            with contextlib.suppress(Exception):
                sizes.append(p.memory_info().rss)
        return sum(sizes), sizes

    def roles(self) -> dict[int, str]:
        """Each process under the supervisor: a worker (its child) or a worker's inference-log
        writer (a grandchild); multiprocessing's resource tracker left out."""
        top = self.tree()[0].pid
        out = {}
        for p in self.tree()[1:]:
            with contextlib.suppress(Exception):
                if "resource_tracker" not in " ".join(_cmd(p)):
                    out[p.pid] = "worker" if p.ppid() == top else "log writer"
        return out


@contextlib.contextmanager
def alone(server: Server, servers: list[Server]) -> Any:
    """Every other running server frozen (SIGSTOP on its whole process tree) while
    ``server`` is measured: idle servers still wake up (timers, heartbeats, log writers) and
    on 2 cores that showed in the measured one's tail (p99 2.8 ms alone vs 3.6-4.9 ms at
    ~2,000 req/s with Feast's idle server beside fti). An fti server's inference log is
    settled first (:func:`settle`)."""
    frozen = [p for other in servers if other is not server for p in other.tree()]
    for p in frozen:
        with contextlib.suppress(Exception):
            p.send_signal(signal.SIGSTOP)
    try:
        settle(server)
        yield
    finally:
        for p in frozen:
            with contextlib.suppress(Exception):
                p.send_signal(signal.SIGCONT)


def _cmd(p: Any) -> list[str]:
    try:
        return list(p.cmdline())
    except Exception:
        return []


def start_server(
    name: str, kind: str, argv: list[str], env: dict[str, str], work: Path, url: str
) -> Server:
    log = work / f"{name.replace(' ', '_').replace(',', '').replace('=', '')}.log"
    proc = subprocess.Popen(
        argv,
        env={**os.environ, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped (or killed) as a whole
    )
    return Server(name, proc, url, log, kind)


def wait_ready(server: Server, timeout: float = 300.0) -> float:
    """Wait until the server answers its health check and its processes are idle."""
    import httpx

    path = "/v2/health/ready" if server.kind == "fti" else "/health"
    started = time.perf_counter()
    while True:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.proc.returncode}:\n{_tail(server.log)}"
            )
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.get(server.url + path, timeout=2)
            if r.status_code == 200 and (server.kind != "fti" or r.json().get("ready")):
                break
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{server.name} not ready after {timeout:.0f} s")
        time.sleep(0.2)
    # every worker starts on its own (loading the project and model): wait until all are idle
    for _ in range(120):
        before = server.cpu_seconds()
        time.sleep(0.5)
        if server.cpu_seconds() - before < 0.05:
            break
    return time.perf_counter() - started


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop_server(server: Server, timeout: float = 180.0) -> tuple[float, int | None]:
    """SIGINT to the server (uvicorn's graceful shutdown: each worker drains its inference log);
    the process group is killed only if it has not exited after ``timeout``."""
    if server.proc.poll() is not None:
        return 0.0, server.proc.returncode
    started = time.perf_counter()
    server.proc.send_signal(signal.SIGINT)
    try:
        code: int | None = server.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.proc.pid, signal.SIGKILL)
        server.proc.wait(30)
        code = None
    return time.perf_counter() - started, code


def scrape_metrics(server: Server) -> list[dict[str, float]]:
    """``/metrics`` once, as a one-item list: with several workers fti serve reports their sum
    (prometheus multiprocess mode), each worker adding its counts once a second."""
    import httpx

    time.sleep(1.5)
    text = httpx.get(server.url + "/metrics", timeout=30).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"(fti_\w+)(\{[^}]*\})?\s+(\S+)$", line)
        if m and m.group(1) in ("fti_requests_total", "fti_inference_log_dropped"):
            values[m.group(1)] = values.get(m.group(1), 0.0) + float(m.group(3))
    return [values]


def queued(server: Server) -> float | None:
    """``fti_inference_log_queued``: the rows waiting in every worker, all deployments."""
    import httpx

    try:
        text = httpx.get(server.url + "/metrics", timeout=5).text
    except httpx.HTTPError:
        return None
    found = re.findall(r"^fti_inference_log_queued\{[^}]*\}\s+(\S+)$", text, re.M)
    return sum(map(float, found)) if found else None


LOG_FLUSH_SECONDS = 5.0  # the deployments' default log_flush_seconds


def settle(server: Server, timeout: float = 180.0) -> None:
    """Wait until an fti server has committed the log rows of the runs before: a saturated
    run leaves a backlog (and the server is frozen while another system runs), which would
    be committed during the next run and put the previous load into its tail. The queue gauge
    is reported after each commit, so it is read once a flush interval has passed."""
    if server.kind != "fti":
        return
    started = time.perf_counter()
    time.sleep(LOG_FLUSH_SECONDS + 1)
    while queued(server) != 0 and time.perf_counter() - started < timeout:
        time.sleep(0.5)
    print(f"{server.name}: inference log settled in {time.perf_counter() - started:.1f} s")


@dataclass
class Launcher:
    """Starts the run's servers, each on a free port with ``workers`` worker processes and its
    output in a log file in ``work``, and keeps them all in ``servers``: the ones not being
    measured are frozen meanwhile (:func:`alone`) and every one is stopped at the end."""

    home: Path  # fti's project
    work: Path
    workers: int
    servers: list[Server] = field(default_factory=list)

    def fti(self, name: str, env: dict[str, str]) -> Server:
        port = free_port()
        argv = [*_fti_cmd(), "--home", str(self.home), "serve", "--port", str(port),
                "--workers", str(self.workers)]  # fmt: skip
        return self._start(name, "fti", argv, env, port)

    def feast(self, repo: Path) -> Server:
        port = free_port()
        argv = [str(BIN / "feast"), "-c", str(repo), "serve", "-h", "127.0.0.1", "-p",
                str(port), "-w", str(self.workers), "--no-access-log",
                "--max-requests", "0"]  # fmt: skip
        return self._start("Feast", "feast", argv, {}, port)

    def _start(
        self, name: str, kind: str, argv: list[str], env: dict[str, str], port: int
    ) -> Server:
        server = start_server(name, kind, argv, env, self.work, f"http://127.0.0.1:{port}")
        self.servers.append(server)
        return server


# -- set-up ---------------------------------------------------------------------------------------


def build_fti(home: Path, args: argparse.Namespace) -> float:
    """``fti demo``: groups, view, model, deployment (a subprocess, as a user would)."""
    started = time.perf_counter()
    out = subprocess.run(
        [*_fti_cmd(), "--home", str(home), "demo", "--scale", str(args.scale), "--seed",
         str(args.seed)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"fti demo failed ({out.returncode}):\n{out.stdout[-3000:]}")
    return time.perf_counter() - started


def _fti_cmd() -> list[str]:
    script = BIN / "fti"
    return (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from fti.cli import main; main()"]
    )


def build_feast(work: Path, data: Any, cards_table: Any) -> tuple[Path, float]:
    """A feature repo with two FileSource views (the same rows as Parquet), materialized into
    the sqlite online store (as bench/vector.py): the repo and the seconds it took."""
    repo, _, seconds = feast_online(work, data, cards_table, project="bench_http")
    return repo, seconds
