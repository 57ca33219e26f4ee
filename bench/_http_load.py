"""The load generator of ``bench/http_predict.py`` and what it measures.

The client runs in its own process (``http_predict.py --client SPEC OUT``, started by
:func:`run_client`): a lean asyncio HTTP/1.1 client (uvloop, one keep-alive connection per
client, request bytes prepared up front) with ``clients`` concurrent requests in a closed loop
for a bounded time. :class:`Result` adds up one system's runs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from _http_data import FEAST_PATH, FTI_PATH

# the benchmark's script, which has ``--client``
ENTRY = Path(__file__).with_name("http_predict.py")

# -- the load generator (its own process: ``http_predict.py --client SPEC``) ----------------


class _Connection:
    """One HTTP/1.1 keep-alive connection on asyncio streams: the request bytes are built once,
    the answer is read by its Content-Length. A general client (httpx) spends ~2 ms of CPU per
    request here and became the bottleneck at a few hundred requests per second."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def _raw(method: str, host: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nhost: {host}\r\n"
    if body:
        head += f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def _client(spec: dict[str, Any]) -> dict[str, Any]:
    import gc
    from urllib.parse import urlparse

    url = urlparse(spec["url"])
    host, port = url.hostname or "127.0.0.1", int(url.port or 80)
    raws = [_raw("POST", url.netloc, spec["path"], b.encode()) for b in spec["bodies"]]
    n, concurrency = len(raws), spec["clients"]
    fti_answers = spec["kind"] == "fti"
    latency: list[int] = []
    ends: list[float] = []  # wall-clock time each timed answer arrived
    server_ms: dict[str, list[float]] = collections.defaultdict(list)
    status: collections.Counter[str] = collections.Counter()
    warm_status: collections.Counter[str] = collections.Counter()
    ids: list[str] = []
    now = time.perf_counter
    connections = [await _Connection.open(host, port) for _ in range(concurrency)]
    ping = _raw("GET", url.netloc, spec["ping"])
    await asyncio.gather(*(c.request(ping) for c in connections))  # open and warm each one
    gc.collect()
    gc.freeze()
    started = now()
    warm_end = started + spec["warmup"]
    end = warm_end + spec["seconds"]
    cpu = [0.0, 0.0]
    last_done = [warm_end]

    async def worker(w: int) -> None:
        connection = connections[w]
        j = w * n // concurrency
        while True:
            t0 = now()
            if t0 >= end:
                return
            raw = raws[j % n]
            j += 1
            code = "?"
            payload: Any = None
            begin = time.perf_counter_ns()
            try:
                answer, content = await asyncio.wait_for(connection.request(raw), spec["timeout"])
                code = str(answer)
                if answer == 200:
                    payload = json.loads(content)
            except Exception as exc:  # counted as an error; a new connection goes on
                code = type(exc).__name__
                connection.close()
                connection = await _Connection.open(host, port)
            took = time.perf_counter_ns() - begin
            if fti_answers and payload is not None:
                ids.append(payload["request_id"])
            if t0 < warm_end:
                warm_status[code] += 1
                continue
            status[code] += 1
            latency.append(took)
            ends.append(time.time())
            last_done[0] = max(last_done[0], now())
            if fti_answers and payload is not None:
                for step, ms in payload["timings_ms"].items():
                    server_ms[step].append(ms)
        connection.close()

    async def mark_cpu() -> None:  # the client's own CPU time over the timed part
        await asyncio.sleep(max(0.0, warm_end - now()))
        cpu[0] = time.process_time()
        await asyncio.sleep(max(0.0, end - now()))
        cpu[1] = time.process_time()

    await asyncio.gather(mark_cpu(), *(worker(w) for w in range(concurrency)))
    return {
        "latency_ns": latency,
        "ends": ends,
        "status": dict(status),
        "warm_status": dict(warm_status),
        "ids": ids,
        "server_ms": dict(server_ms),
        "seconds": last_done[0] - warm_end,
        "client_cpu": cpu[1] - cpu[0],
    }


def client_main(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    with contextlib.suppress(ImportError):  # the lighter event loop, when installed
        import uvloop

        uvloop.install()
    result = asyncio.run(_client(spec))
    Path(out_path).write_text(json.dumps(result))


def run_client(
    url: str,
    kind: str,
    bodies: list[str],
    args: argparse.Namespace,
    work: Path,
    seconds: float,
    warmup: float,
    path: str | None = None,
) -> dict[str, Any]:
    spec = {
        "url": url,
        "kind": kind,
        "path": path or (FTI_PATH if kind == "fti" else FEAST_PATH),
        "ping": "/v2/health/live" if kind == "fti" else "/health",
        "bodies": bodies,
        "clients": args.clients,
        "seconds": seconds,
        "warmup": warmup,
        "timeout": 30.0,
    }
    spec_path, out_path = work / "client_spec.json", work / "client_out.json"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, str(ENTRY), "--client", str(spec_path), str(out_path)],
        check=True,
        timeout=seconds + warmup + 120,
    )
    result: dict[str, Any] = json.loads(out_path.read_text())
    return result


# -- results --------------------------------------------------------------------------------------


@dataclass
class Result:
    system: str
    kind: str
    path: str | None = None
    latency_ns: list[np.ndarray] = field(default_factory=list)
    ends: list[np.ndarray] = field(default_factory=list)
    seconds: float = 0.0
    status: collections.Counter[str] = field(default_factory=collections.Counter)
    warm_status: collections.Counter[str] = field(default_factory=collections.Counter)
    server_ms: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    ids: list[str] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)  # per run: each worker's CPU, in cores

    def add(self, out: dict[str, Any], server_cpu: float) -> None:
        self.latency_ns.append(np.asarray(out["latency_ns"], np.int64))
        self.ends.append(np.asarray(out["ends"], np.float64))
        self.seconds += out["seconds"]
        self.status.update(out["status"])
        self.warm_status.update(out["warm_status"])
        for step, values in out["server_ms"].items():
            self.server_ms[step].extend(values)
        self.server_cpu += server_cpu
        self.client_cpu += out["client_cpu"]
        self.ids.extend(out["ids"])

    @property
    def lat(self) -> np.ndarray:
        return np.concatenate(self.latency_ns) if self.latency_ns else np.empty(0, np.int64)

    def ms(self, q: float) -> float:
        return float(np.percentile(self.lat, q)) / 1e6

    @property
    def requests(self) -> int:
        return int(sum(self.status.values()))

    @property
    def errors(self) -> int:
        return self.requests - self.status.get("200", 0)

    @property
    def ok_all(self) -> int:  # including the warm-up's
        return self.status.get("200", 0) + self.warm_status.get("200", 0)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def cpu_split(before: dict[int, float], after: dict[int, float], seconds: float) -> str:
    """Each worker's CPU over a run, in cores, busiest first: how the connections spread."""
    cores = sorted(((after[p] - before.get(p, 0.0)) / seconds for p in after), reverse=True)
    return " + ".join(f"{c:.2f}" for c in cores)


def error_counts(status: collections.Counter[str]) -> str:
    bad = {k: v for k, v in status.items() if k != "200"}
    return ", ".join(f"{v:,} × {k}" for k, v in sorted(bad.items())) if bad else "0"
