"""``fti serve --workers 2`` as a user runs it: connections are spread evenly over both
workers, /metrics sums them, a killed worker is replaced, and SIGINT drains every worker's
inference log."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

import fti
from tests.registry.conftest import _free_port
from tests.serving.conftest import deployed

pytestmark = pytest.mark.slow


def _wait_ready(url: str, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "fti serve exited"
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1).json().get("ready"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("fti serve did not become ready")


def _eventually(check: Callable[[], bool], what: str, timeout: float = 120) -> None:
    """Poll for a condition another process brings about (no fixed sleep that a slow
    machine could outrun)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def _requests(
    url: str, connections: int, each: int, during: Callable[[], None] | None = None
) -> int:
    """``each`` requests on each of ``connections`` keep-alive connections; ``during`` runs
    while they are all open."""
    ok = 0
    clients = [httpx.Client(base_url=url) for _ in range(connections)]  # keep-alive each
    try:
        for i in range(each):
            for c, client in enumerate(clients):
                body = {"cc_num": (i + c) % 6, "amount": float(i)}
                ok += client.post("/v1/deployments/fraud/predict", json=body).status_code == 200
        if during is not None:
            during()
    finally:
        for client in clients:
            client.close()
    return ok


def _open_connections(parent: int, port: int) -> list[int]:
    """How many established TCP connections to ``port`` each child of ``parent`` that holds
    any has (Linux /proc)."""
    pids = [int(p) for p in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
    inodes: dict[str, int] = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes[target[8:-1]] = pid
    held = dict.fromkeys(pids, 0)
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in list(f)[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "01" and fields[9] in inodes:
                    held[inodes[fields[9]]] += 1
    return sorted(n for n in held.values() if n)


def test_two_workers_share_connections_metrics_and_drain_on_sigint(
    project: fti.Project, tmp_path: Path
) -> None:
    fv, _, _ = deployed(project, resources={"log_flush_seconds": 1})
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    home = str(tmp_path / "home")
    command = "from fti.cli import main; main()"
    args = ["--home", home, "serve", "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen(
        [sys.executable, "-c", command, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        _wait_ready(url, proc)
        # both workers up, or the first one would take every connection
        _eventually(lambda: any("all 2 workers serve" in line for line in lines), "both serve")
        held: list[int] = []

        def count() -> None:
            if sys.platform == "linux":
                held.extend(_open_connections(proc.pid, port))

        assert _requests(url, connections=16, each=5, during=count) == 80
        # every worker counts requests in its own file (reported every second); /metrics of
        # either reports the sum
        total = 'fti_requests_total{deployment="fraud",model_version="1"} 80.0'
        _eventually(lambda: total in httpx.get(f"{url}/metrics").text, "the metrics sum to 80")
        pids = {p.stem.rsplit("_", 1)[1] for p in metrics_dir.glob("counter_*.db")}
        assert len(pids) == 2, pids
        # the supervisor handed 8 of the 16 connections to each worker
        assert held == ([8, 8] if sys.platform == "linux" else []), held
        # each worker pinned to one CPU of its own (round robin over the allowed ones)
        pinned = [os.sched_getaffinity(int(pid)) for pid in sorted(pids)]
        assert all(len(cpus) == 1 for cpus in pinned), pinned
        if len(os.sched_getaffinity(0)) > 1:
            assert pinned[0] != pinned[1]
        # a worker that dies is replaced and the server keeps answering (rows it had queued
        # but not written are lost: wait until every row is in the log, so that there are none)
        _eventually(lambda: fv.read_log().shape[0] == 80, "the log holds all 80 requests")
        os.kill(int(sorted(pids)[0]), signal.SIGKILL)
        _eventually(lambda: any("restarting" in line for line in lines), "it is replaced")
        _wait_ready(url, proc)
        assert _requests(url, connections=4, each=5) == 20
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        reader.join(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == 0, lines
    log = fv.read_log(dataframe_type="arrow")  # SIGINT drained both workers' queues
    assert log.num_rows == 100
    assert pa.compute.count_distinct(log.column("request_id")).as_py() == 100
