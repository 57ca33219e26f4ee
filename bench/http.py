"""HTTP predict: fti serve vs the Feast feature server, side by side on the same rows, in one run.

The rows are DESIGN.md section 5's credit-card data from :func:`fti.demo.generate`
(``card_features`` 100k cards × 10 snapshots, ``merchant_features`` 10k × 30, ``transactions``
1M at ``--scale 1``). ``fti demo`` builds the fti project (feature groups, the view ``cc_fraud``
with 2 model-dependent transformations, an XGBoost model and the deployment ``cc_fraud``); the
same generated rows, with the demo's late correction of 5 cards, are materialized into Feast's
sqlite online store. Then, over loopback HTTP/1.1 keep-alive:

* **fti**: ``fti serve --workers N`` (uvicorn), ``POST /v1/deployments/cc_fraud/predict`` with
  ``{"cc_num": c, "merchant_id": m, "amount": a}``: online lookup of 2 groups + the MDTs +
  XGBoost + an inference-log row queued per request.
* **fti, features only** (``--no-features-only`` to skip): the same server, a feature-view
  deployment of the same view (``fv.deploy``): lookups + MDTs + log row, no model; the
  like-for-like counterpart of Feast's server.
* **fti, OMP_NUM_THREADS=1** (diagnostic, ``--no-omp1`` to skip): the same server with OpenMP
  limited to one thread per worker process, so that XGBoost's per-call thread pool does not
  fight the other processes for the 2 cores.
* **Feast**: ``feast serve --workers N`` (gunicorn + uvicorn workers, no access log, no periodic
  worker restarts), ``POST /get-online-features`` for the 6 features (features only, no model).

The load generator is a separate process: a lean asyncio HTTP/1.1 client (uvloop, one
keep-alive connection per client, request bytes prepared up front) with ``--clients``
concurrent requests in a closed loop for a bounded time, the requests built from seeded random
real transactions. The systems are timed in ``--rounds`` interleaved rounds (rotating order;
the servers not being measured are frozen with SIGSTOP meanwhile),
after a warm-up; latency is client-side (send to full response). ``wrk`` (if installed) repeats
the measurement with a C load generator. A sustained run (``--sustain`` seconds, fti only, a
fresh server) samples the servers' RSS and garbage-collection pauses, then stops the server with
SIGINT and checks that the inference log holds exactly the successful requests.

Correctness (any failure exits with status 1): every request of the timed and sustained runs
answers 200; ``--sample`` requests are answered by fti with the prediction computed in-process
(the same feature view and model) and untransformed features equal to the newest rows of the
generated data, by Feast with those same values; after a graceful stop the inference log holds
one row per successful request (the same request ids), the sampled rows with the right values.

    .venv-bench/bin/python bench/http.py --scale 1
    .venv-bench/bin/python bench/http.py --scale 0.05 --seconds 5 --sustain 10 --wrk-seconds 5
"""

from __future__ import annotations

import os
import sys

# This file is named like the standard library's ``http`` package, and Python puts the
# script's folder first on sys.path: drop it before anything imports ``http.client``.
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import io
import json
import platform
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CARD = ["spend_1d", "spend_7d", "tx_count_7d", "avg_amt_30d"]
MERCHANT = ["avg_daily_spend", "fraud_rate_30d"]
FEATURES = CARD + MERCHANT
DEPLOYMENT = "cc_fraud"
FTI_PATH = f"/v1/deployments/{DEPLOYMENT}/predict"
FEATURES_DEPLOYMENT = f"{DEPLOYMENT}_features"  # a feature-view deployment of the same view
FEATURES_PATH = f"/v1/deployments/{FEATURES_DEPLOYMENT}/predict"
FEAST_PATH = "/get-online-features"
FEAST_REFS = [f"card_features:{f}" for f in CARD] + [f"merchant_features:{f}" for f in MERCHANT]
TARGET_P99_MS = 3.0  # DESIGN.md section 5: HTTP predict p99 at 8 concurrent clients
TARGET_RPS = 2_000.0  # DESIGN.md section 5: and at least this throughput
CORRECTED_CARDS = 5  # the demo re-inserts the newest snapshot of the 5 lowest cc_num
BIN = Path(sys.executable).parent

# -- the load generator (its own process: ``http.py --client SPEC``) ------------------------------


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
    try:
        import uvloop

        uvloop.install()  # the lighter event loop, when installed, for the client too
    except ImportError:
        pass
    result = asyncio.run(_client(spec))
    Path(out_path).write_text(json.dumps(result))


# -- data, reference values -----------------------------------------------------------------------


@dataclass
class Requests:
    fti: list[str]  # JSON bodies for fti
    feast: list[str]  # JSON bodies for Feast, the same transactions
    sample: list[dict[str, Any]]  # {"cc_num", "merchant_id", "amount"} for the checks


def make_requests(tx: Any, count: int, sample: int, seed: int) -> Requests:
    rng = np.random.default_rng(seed)
    cc = tx.column("cc_num").to_numpy()
    mer = tx.column("merchant_id").to_numpy()
    amount = tx.column("amount").to_numpy()
    rows = rng.integers(0, tx.num_rows, count)
    fti_bodies, feast_bodies = [], []
    for i in rows:
        c, m, a = int(cc[i]), int(mer[i]), float(amount[i])
        fti_bodies.append(json.dumps({"cc_num": c, "merchant_id": m, "amount": a}))
        feast_bodies.append(
            json.dumps({"features": FEAST_REFS, "entities": {"cc_num": [c], "merchant_id": [m]}})
        )
    picked = rng.choice(tx.num_rows, min(sample, tx.num_rows), replace=False)
    checks = [
        {"cc_num": int(cc[i]), "merchant_id": int(mer[i]), "amount": float(amount[i])}
        for i in picked
    ]
    return Requests(fti_bodies, feast_bodies, checks)


def corrected_cards(cards: Any) -> Any:
    """``card_features`` as the demo leaves it: the newest snapshot of the 5 lowest card numbers
    re-inserted with ``spend_7d * 1.1`` (same event time, so it replaces the row)."""
    import duckdb

    con = duckdb.connect()
    con.register("cards", cards)
    out = con.sql(
        f"""
        WITH five AS (SELECT DISTINCT cc_num FROM cards ORDER BY cc_num LIMIT {CORRECTED_CARDS}),
        last AS (SELECT cc_num, max(event_ts) AS ts FROM cards
                 WHERE cc_num IN (SELECT cc_num FROM five) GROUP BY cc_num)
        SELECT c.* REPLACE (
            CASE WHEN l.cc_num IS NULL THEN c.spend_7d ELSE c.spend_7d * 1.1 END AS spend_7d)
        FROM cards c LEFT JOIN last l ON c.cc_num = l.cc_num AND c.event_ts = l.ts
        """
    ).to_arrow_table()
    con.close()
    return out.cast(cards.schema)


def newest(table: Any, key: str, columns: list[str]) -> dict[int, dict[str, Any]]:
    """The newest row per key (by event time), straight from the table (DuckDB)."""
    import duckdb

    con = duckdb.connect()
    con.register("t", table)
    rows = con.sql(
        f"SELECT {key}, {', '.join(columns)} FROM t "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY event_ts DESC) = 1"
    ).fetchall()
    con.close()
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows}


def expected_row(
    req: dict[str, Any], cards: dict[int, dict[str, Any]], merchants: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """The untransformed features of the demo's view for one request (merchant columns m_)."""
    row = {"amount": req["amount"], **cards[req["cc_num"]]}
    row.update({f"m_{k}": v for k, v in merchants[req["merchant_id"]].items()})
    return row


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
        [sys.executable, __file__, "--client", str(spec_path), str(out_path)],
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


def _err(status: collections.Counter[str]) -> str:
    bad = {k: v for k, v in status.items() if k != "200"}
    return ", ".join(f"{v:,} × {k}" for k, v in sorted(bad.items())) if bad else "0"


# -- phases ---------------------------------------------------------------------------------------


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


def fti_reference(
    home: Path,
    sample: list[dict[str, Any]],
    cards: dict[int, dict[str, Any]],
    merchants: dict[int, dict[str, Any]],
    features_deployment: bool,
) -> tuple[list[Any], list[Any], list[str], set[str], str]:
    """In-process, before any server runs: the predictions and the transformed vectors for the
    sampled requests (the deployment's view, transformation state and model), a check of their
    untransformed features against the generated data, the feature names and the request ids
    already in the inference log. With ``features_deployment``, also deploys the view itself
    (``fv.deploy``: transformed vectors, no model) for the features-only comparison."""
    import fti

    project = fti.connect(home)
    try:
        record = project.get_model_serving().get_deployment(DEPLOYMENT)
        fs = project.get_feature_store()
        fv = fs.get_feature_view(DEPLOYMENT, 1)
        fv.init_serving(record._record.training_dataset_version)
        names = [f["name"] for f in fv.serving_schema["features"]]
        model = record.model
        assert model is not None
        estimator = model.load()
        raw, vectors = [], []
        for r in sample:
            keys = {"cc_num": r["cc_num"], "merchant_id": r["merchant_id"]}
            passed = {"amount": r["amount"]}
            raw.append(fv.get_feature_vector(keys, passed_features=passed, transform=False))
            vectors.append(fv.get_feature_vector(keys, passed_features=passed))
        predictions = [
            v.item() if hasattr(v, "item") else v for v in estimator.predict(np.asarray(vectors))
        ]
        wrong = [
            i
            for i, (got, r) in enumerate(zip(raw, sample, strict=True))
            if got != [expected_row(r, cards, merchants)[n] for n in names]
        ]
        if wrong:
            i = wrong[0]
            check = (
                f"MISMATCH: fti in-process: {len(wrong):,} of {len(sample):,} untransformed "
                f"vectors differ from the generated data, e.g. {sample[i]}: {raw[i]}"
            )
        else:
            check = (
                f"OK: fti in-process: {len(sample):,}/{len(sample):,} sampled untransformed "
                "vectors equal the newest rows of the generated data (with the demo's correction)"
            )
        logged = set(fv.read_log(dataframe_type="arrow").column("request_id").to_pylist())
        if features_deployment:
            fv.deploy(
                FEATURES_DEPLOYMENT,
                training_dataset_version=record._record.training_dataset_version,
            )
    finally:
        project.close()
    return predictions, vectors, names, logged, check


def check_fti_http(
    server: Server,
    sample: list[dict[str, Any]],
    predictions: list[Any],
    path: str = FTI_PATH,
    label: str = "",
    what: str = "the prediction",
) -> tuple[str, list[str]]:
    import httpx

    wrong, ids = [], []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for r, want in zip(sample, predictions, strict=True):
            answer = client.post(path, json=r)
            if answer.status_code != 200:
                wrong.append(f"{r}: HTTP {answer.status_code} {answer.text[:200]}")
                continue
            body = answer.json()
            ids.append(body["request_id"])
            if body["prediction"] != want or body["degraded"]:
                wrong.append(f"{r}: {body['prediction']} (degraded {body['degraded']}) != {want}")
    n = len(sample)
    label = label or server.name
    if wrong:
        return f"MISMATCH: {label}: {len(wrong):,} of {n:,} answers wrong, e.g. {wrong[0]}", ids
    return (
        f"OK: {label}: {n:,}/{n:,} sampled requests answered 200 with {what} computed "
        "in-process (same view, transformation state and model), none degraded"
    ), ids


def check_log(
    home: Path,
    before: set[str],
    ok_ids: list[str],
    label: str,
    sample_ids: list[str],
    sample: list[dict[str, Any]],
    predictions: list[Any],
    cards: dict[int, dict[str, Any]],
    merchants: dict[int, dict[str, Any]],
    names: list[str],
) -> tuple[str, set[str], int]:
    """After a graceful stop: the log's new request ids equal the successful requests' ids; the
    sampled requests' rows hold their untransformed features and prediction."""
    import fti

    project = fti.connect(home)
    try:
        fv = project.get_feature_store().get_feature_view(DEPLOYMENT, 1)
        log = fv.read_log(dataframe_type="arrow")
    finally:
        project.close()
    all_ids = log.column("request_id").to_pylist()
    new = [i for i in all_ids if i not in before]
    new_set, sent = set(new), set(ok_ids)
    problems = []
    if len(new) != len(new_set):
        problems.append(f"{len(new) - len(new_set):,} duplicate request ids")
    missing, extra = sent - new_set, new_set - sent
    if len(sent) != len(ok_ids):
        problems.append(f"{len(ok_ids) - len(sent):,} request ids answered twice")
    if missing:
        problems.append(f"{len(missing):,} successful requests not logged")
    if extra:
        problems.append(f"{len(extra):,} logged rows no client saw answered")
    if sample_ids:
        rows = {r["request_id"]: r for r in log.to_pylist() if r["request_id"] in set(sample_ids)}
        bad = 0
        for rid, req, want in zip(sample_ids, sample, predictions, strict=False):
            got = rows.get(rid)
            ref = expected_row(req, cards, merchants)
            if (
                got is None
                or [got[n] for n in names] != [ref[n] for n in names]
                or json.loads(got["prediction"]) != want
                or json.loads(got["serving_keys"])
                != {"cc_num": req["cc_num"], "merchant_id": req["merchant_id"]}
            ):
                bad += 1
        if bad:
            problems.append(f"{bad:,} of {len(sample_ids):,} sampled log rows hold wrong values")
    if problems:
        return f"MISMATCH: inference log ({label}): " + "; ".join(problems), set(all_ids), len(new)
    extra_note = (
        f"; the {len(sample_ids):,} sampled requests' rows hold their features and prediction"
        if sample_ids
        else ""
    )
    return (
        (
            f"OK: inference log ({label}): {len(new):,} new rows = {len(sent):,} successful "
            f"requests, the same request ids{extra_note}"
        ),
        set(all_ids),
        len(new),
    )


_FEAST_YAML = """\
project: bench_http
registry: {repo}/data/registry.db
provider: local
online_store:
  type: sqlite
  path: {repo}/data/online.db
offline_store:
  type: file
entity_key_serialization_version: 3
"""


def build_feast(work: Path, data: Any, cards_table: Any) -> tuple[Path, float]:
    """A feature repo with two FileSource views (the same rows as Parquet), materialized into
    the sqlite online store (as bench/vector.py)."""
    import pyarrow.parquet as pq

    warnings.simplefilter("ignore")  # Feast and ibis deprecation chatter
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64

    repo = work / "feature_repo"
    (repo / "data").mkdir(parents=True)
    (repo / "feature_store.yaml").write_text(_FEAST_YAML.format(repo=repo))
    card_path, merchant_path = repo / "data" / "cards.parquet", repo / "data" / "merchants.parquet"
    pq.write_table(cards_table, card_path)
    pq.write_table(data.merchant_features, merchant_path)
    card = Entity(name="card", join_keys=["cc_num"], value_type=ValueType.INT64)
    merchant = Entity(name="merchant", join_keys=["merchant_id"], value_type=ValueType.INT64)
    types = {"tx_count_7d": Int64}
    views = [
        FeatureView(
            name=name,
            entities=[entity],
            ttl=dt.timedelta(days=0),  # no expiry: every materialized value stays servable
            schema=[Field(name=f, dtype=types.get(f, Float64)) for f in features],
            source=FileSource(path=str(path), timestamp_field="event_ts"),
            online=True,
        )
        for name, entity, features, path in (
            ("card_features", card, CARD, card_path),
            ("merchant_features", merchant, MERCHANT, merchant_path),
        )
    ]
    store = FeatureStore(repo_path=str(repo))
    store.apply([card, merchant, *views])
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        store.materialize(
            data.window_start - dt.timedelta(seconds=1), data.window_end + dt.timedelta(seconds=1)
        )
        seconds = time.perf_counter() - start
    return repo, seconds


def check_feast_http(
    server: Server,
    sample: list[dict[str, Any]],
    cards: dict[int, dict[str, Any]],
    merchants: dict[int, dict[str, Any]],
) -> str:
    import httpx

    wrong = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for r in sample:
            body = {
                "features": FEAST_REFS,
                "entities": {"cc_num": [r["cc_num"]], "merchant_id": [r["merchant_id"]]},
            }
            answer = client.post(FEAST_PATH, json=body)
            if answer.status_code != 200:
                wrong.append(f"{r}: HTTP {answer.status_code} {answer.text[:200]}")
                continue
            found = answer.json()
            names = found["metadata"]["feature_names"]
            values = {n: res["values"][0] for n, res in zip(names, found["results"], strict=True)}
            want = {**cards[r["cc_num"]], **merchants[r["merchant_id"]]}
            if [values.get(f) for f in FEATURES] != [want[f] for f in FEATURES]:
                wrong.append(f"{r}: {[values.get(f) for f in FEATURES]}")
    n = len(sample)
    if wrong:
        return f"MISMATCH: {server.name}: {len(wrong):,} of {n:,} answers wrong, e.g. {wrong[0]}"
    return (
        f"OK: {server.name}: {n:,}/{n:,} sampled requests answered 200 with the newest values "
        "(the same as fti's untransformed features)"
    )


# -- wrk ------------------------------------------------------------------------------------------

_WRK_LUA = """\
local bodies = {}
for line in io.lines("%(bodies)s") do bodies[#bodies + 1] = line end
local i = 0
local headers = {["Content-Type"] = "application/json"}
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "%(path)s", headers, bodies[i])
end
%(delay)s
done = function(summary, latency, requests)
  io.write(string.format("BENCH %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d %%.1f\\n",
    summary.duration, summary.requests, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.min, latency.mean))
end
"""


@dataclass
class WrkResult:
    system: str
    seconds: float
    requests: int
    errors: dict[str, int]
    p50: float  # ms
    p90: float
    p99: float
    max: float
    mean: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def run_wrk(
    server: Server,
    bodies: list[str],
    args: argparse.Namespace,
    work: Path,
    seconds: float,
    path: str | None = None,
    label: str | None = None,
    delay_ms: int = 0,
) -> WrkResult:
    """wrk's closed loop; with ``delay_ms`` each connection waits that long between an answer
    and its next request (a paced load below saturation)."""
    path = path or (FTI_PATH if server.kind == "fti" else FEAST_PATH)
    body_file = work / f"wrk_{server.kind}.txt"
    body_file.write_text("\n".join(bodies) + "\n")
    script = work / f"wrk_{server.kind}.lua"
    delay = f"delay = function() return {delay_ms} end" if delay_ms else ""
    script.write_text(_WRK_LUA % {"bodies": body_file, "path": path, "delay": delay})
    argv = ["wrk", "-t1", f"-c{args.clients}", "-s", str(script), "--timeout", "30s"]
    subprocess.run([*argv, "-d1s", server.url], capture_output=True, check=True)  # warm-up
    out = subprocess.run(
        [*argv, f"-d{seconds:g}s", server.url], capture_output=True, text=True, check=True
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("BENCH "))
    v = line.split()[1:]
    errors = dict(
        zip(["non-2xx", "connect", "read", "write", "timeout"], map(int, v[2:7]), strict=True)
    )
    return WrkResult(
        label or server.name,
        int(v[0]) / 1e6,
        int(v[1]),
        {k: n for k, n in errors.items() if n},
        int(v[7]) / 1e3,
        int(v[8]) / 1e3,
        int(v[9]) / 1e3,
        int(v[10]) / 1e3,
        float(v[12]) / 1e3,
    )


# -- py-spy ---------------------------------------------------------------------------------------


def profile_worker(
    server: Server, bodies: list[str], args: argparse.Namespace, work: Path, ids: list[str]
) -> list[str]:
    """py-spy (sampling, no instrumentation) of one fti worker under the same load, twice: the
    threads on CPU (native code such as XGBoost or a Delta commit included, idle waits left out
    as far as py-spy can tell), then only the thread holding the GIL (the Python work)."""
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(spy).exists():
        return ["py-spy not installed: no profile (pip install py-spy)"]
    lines: list[str] = []
    rate = 250
    for mode, flags in (("on CPU", []), ("holding the GIL", ["--gil"])):
        raw = work / "py-spy.txt"
        raw.unlink(missing_ok=True)
        seconds = int(args.profile)
        outs: list[dict[str, Any]] = []
        client = threading.Thread(
            target=lambda o=outs, n=seconds: o.append(
                run_client(server.url, "fti", bodies, args, work, n + 4, 0.0)
            )
        )
        client.start()
        # the connections may all sit on one worker: profile the busiest one
        time.sleep(2.0)
        before = server.worker_cpu()
        time.sleep(1.0)
        after = server.worker_cpu()
        pid = max(after, key=lambda p: after[p] - before.get(p, 0.0))
        busy = after[pid] - before.get(pid, 0.0)
        proc = subprocess.run(
            [spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate",
             str(rate), "--format", "raw", "--output", str(raw), "--nonblocking", *flags],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=seconds + 60,
        )  # fmt: skip
        err = proc.stderr
        client.join()
        ids += outs[0]["ids"] if outs else []  # these requests are in the inference log too
        if not raw.exists():
            return [f"py-spy failed: {err.strip()[-500:]}"]
        own: collections.Counter[str] = collections.Counter()
        inclusive: collections.Counter[str] = collections.Counter()
        total = 0
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            n = int(count)
            total += n
            frames = [_frame(f) for f in stack.split(";")]
            own[frames[-1]] += n
            for f in set(frames):
                inclusive[f] += n
        total = max(total, 1)
        lines += [
            f"py-spy of the busiest fti worker (pid {pid}, {busy:.2f} cores just before), "
            f"{seconds:g} s under the same load, threads {mode}: {total:,} samples at {rate}/s "
            f"({total / (rate * seconds):.0%} of the samples one busy thread would give)",
            "",
            "| own | inclusive | function |",
            "|---:|---:|---|",
        ]
        for name, n in own.most_common(args.profile_top):
            lines.append(f"| {n / total:.1%} | {inclusive[name] / total:.1%} | `{name}` |")
        lines += ["", "Inclusive:", "", "| inclusive | function |", "|---:|---|"]
        for name, n in inclusive.most_common(args.profile_top * 2):
            lines.append(f"| {n / total:.1%} | `{name}` |")
        lines.append("")
    return lines


def _frame(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py)``: functions, not lines."""
    m = re.match(r"(.*) \((.*?):?(\d+)?\)$", frame)
    if not m:
        return frame
    return f"{m.group(1)} ({Path(m.group(2)).name})"


# -- report helpers -------------------------------------------------------------------------------


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in [
        "fti", "feast", "fastapi", "starlette", "pydantic", "uvicorn", "uvloop", "httptools",
        "gunicorn", "httpx", "xgboost-cpu", "xgboost", "numpy", "pyarrow", "lmdb",
    ]:  # fmt: skip
        with contextlib.suppress(PackageNotFoundError):
            out.append(f"{name} {version(name)}")
    if shutil.which("wrk"):
        with contextlib.suppress(Exception):
            text = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
            out.append(text.split()[0] + " " + text.split()[1])
    return ", ".join(out)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "src"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + (" + uncommitted changes under src/" if dirty else "")


def _src_state() -> str:
    """What fti's code is now (fti is installed editable): a hash of ``git diff HEAD -- src``
    plus the tree of ``src`` at HEAD, so commits elsewhere (docs, bench) do not count."""
    import hashlib

    root = Path(__file__).resolve().parent.parent
    try:
        tree = subprocess.run(
            ["git", "rev-parse", "HEAD:src"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "diff", "HEAD", "--", "src"], cwd=root, capture_output=True
        ).stdout
    except OSError:
        return "unknown"
    return tree + hashlib.sha256(diff).hexdigest()


def _verdict(value: float, limit: float, below: bool) -> str:
    ok = value <= limit if below else value >= limit
    return "met" if ok else "MISSED"


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 100k cards, 1M transactions")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (each)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent requests in flight")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per system")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (split seconds)")
    parser.add_argument("--warmup", type=float, default=3.0, help="untimed seconds first")
    parser.add_argument("--requests", type=int, default=10_000, help="distinct request bodies")
    parser.add_argument("--sample", type=int, default=200, help="requests checked for values")
    parser.add_argument("--sustain", type=float, default=60.0, help="sustained run (0 skips)")
    parser.add_argument("--rss-interval", type=float, default=2.0, help="RSS sampling period")
    parser.add_argument("--wrk-seconds", type=float, default=10.0, help="wrk run (0 skips)")
    parser.add_argument(
        "--paced-ms",
        type=int,
        default=3,
        help="wrk again with each connection waiting this long between requests (8 x 3 ms: "
        "about 2,000 req/s); 0 skips",
    )
    parser.add_argument(
        "--omp1",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also time fti with OMP_NUM_THREADS=1 in the server environment (diagnostic)",
    )
    parser.add_argument(
        "--features-only",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time a feature-view deployment (fti's counterpart of Feast's server)",
    )
    parser.add_argument(
        "--gc-stats",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="record the sustained server's garbage-collection pauses (a sitecustomize)",
    )
    parser.add_argument("--skip-feast", action="store_true")
    parser.add_argument("--profile", type=float, default=0.0, help="py-spy N s of one fti worker")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--work-dir", help="where the projects go (default: the temp dir)")
    parser.add_argument("--client", nargs=2, metavar=("SPEC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(*args.client)
        return

    from fti.demo import generate

    load_before = os.getloadavg()
    commit, src_state = _commit(), _src_state()
    work = Path(tempfile.mkdtemp(prefix="fti-bench-http-", dir=args.work_dir))
    home = work / "fti_home"
    checks: list[str] = []
    notes: list[str] = []
    servers: list[Server] = []
    try:
        print(f"fti demo --scale {args.scale:g} (feature pipeline, XGBoost, deployment) ...",
              flush=True)  # fmt: skip
        demo_seconds = build_fti(home, args)
        data = generate(scale=args.scale, seed=args.seed)
        cards_table = corrected_cards(data.card_features)
        cards = newest(cards_table, "cc_num", CARD)
        merchants = newest(data.merchant_features, "merchant_id", MERCHANT)
        req = make_requests(data.transactions, args.requests, args.sample, args.seed)
        predictions, vectors, names, logged, check = fti_reference(
            home, req.sample, cards, merchants, args.features_only
        )
        checks.append(check)
        print(f"fti set-up {demo_seconds:.1f} s; {check}", flush=True)
        feast_seconds = 0.0
        if not args.skip_feast:
            repo, feast_seconds = build_feast(work, data, cards_table)
            print(f"Feast set-up: materialize {feast_seconds:.1f} s", flush=True)

        def start_fti(name: str, env: dict[str, str]) -> Server:
            port = free_port()
            argv = [*_fti_cmd(), "--home", str(home), "serve", "--port", str(port),
                    "--workers", str(args.workers)]  # fmt: skip
            server = start_server(name, "fti", argv, env, work, f"http://127.0.0.1:{port}")
            servers.append(server)
            return server

        def start_feast() -> Server:
            port = free_port()
            argv = [str(BIN / "feast"), "-c", str(repo), "serve", "-h", "127.0.0.1", "-p",
                    str(port), "-w", str(args.workers), "--no-access-log",
                    "--max-requests", "0"]  # fmt: skip
            server = start_server("Feast", "feast", argv, {}, work, f"http://127.0.0.1:{port}")
            servers.append(server)
            return server

        # -- phase 1: timed, interleaved ------------------------------------------------------
        version_before = log_version(home)
        fti_servers = [start_fti("fti", {})]
        if args.omp1:
            fti_servers.append(start_fti("fti, OMP_NUM_THREADS=1", {"OMP_NUM_THREADS": "1"}))
        feast_server = None if args.skip_feast else start_feast()
        timed: list[tuple[Server, Result, list[str]]] = []
        sample_ids: list[str] = []
        for server in fti_servers:
            took = wait_ready(server)
            print(f"{server.name} ready in {took:.1f} s", flush=True)
            check, ids = check_fti_http(server, req.sample, predictions)
            checks.append(check)
            sample_ids += ids
            timed.append((server, Result(server.name, "fti"), req.fti))
            if args.features_only and server is fti_servers[0]:
                label = "fti, features only"
                check, ids = check_fti_http(
                    server, req.sample, vectors, FEATURES_PATH, label, "the feature vector"
                )
                checks.append(check)
                sample_ids += ids
                timed.append((server, Result(label, "fti", FEATURES_PATH), req.fti))
        if feast_server is not None:
            took = wait_ready(feast_server)
            print(f"Feast ready in {took:.1f} s", flush=True)
            checks.append(check_feast_http(feast_server, req.sample, cards, merchants))
            timed.append((feast_server, Result("Feast", "feast"), req.feast))
        rounds = max(1, args.rounds)
        slice_seconds = args.seconds / rounds
        for r in range(rounds):
            order = timed[r % len(timed) :] + timed[: r % len(timed)]
            for server, result, bodies in order:
                cpu, workers = server.cpu_seconds(), server.worker_cpu()
                warmup = args.warmup if r == 0 else 0.5
                with alone(server, servers):
                    out = run_client(
                        server.url, server.kind, bodies, args, work, slice_seconds, warmup,
                        result.path,
                    )  # fmt: skip
                # the server's CPU over the whole client run (warm-up included), per timed second
                share = slice_seconds / (slice_seconds + warmup)
                result.add(out, (server.cpu_seconds() - cpu) * share)
                result.splits.append(
                    cpu_split(workers, server.worker_cpu(), slice_seconds + warmup)
                )
                print(
                    f"round {r + 1}/{rounds} {result.system}: {len(out['latency_ns']):,} requests, "
                    f"{len(out['latency_ns']) / out['seconds']:,.0f} req/s, p99 "
                    f"{np.percentile(out['latency_ns'], 99) / 1e6:.2f} ms, status {out['status']}",
                    flush=True,
                )
        profile_lines: list[str] = []
        if args.profile:
            profile_lines = profile_worker(fti_servers[0], req.fti, args, work, sample_ids)
        # stop fti gracefully, then the log must hold every successful request
        phase1_metrics = {s.name: scrape_metrics(s) for s in fti_servers}
        phase1_stop = {s.name: stop_server(s) for s in fti_servers}
        ok_ids = sample_ids + [i for _, res, _ in timed if res.kind == "fti" for i in res.ids]
        check, logged, _ = check_log(
            home, logged, ok_ids, "timed run", sample_ids[: len(req.sample)], req.sample,
            predictions, cards, merchants, names,
        )  # fmt: skip
        checks.append(check)
        notes.append(log_commits(home, version_before, "timed run (all fti servers)"))
        phase1_commits = commit_times(home, version_before)
        for name, (_, code) in phase1_stop.items():
            if code != 0:
                checks.append(f"MISMATCH: {name} did not stop cleanly on SIGINT (exit {code})")
        for server, result, _ in timed:
            if result.errors:
                checks.append(
                    f"MISMATCH: {server.name}: {result.errors:,} of {result.requests:,} timed "
                    f"requests failed ({_err(result.status)})"
                )
            bad_warm = sum(v for k, v in result.warm_status.items() if k != "200")
            if bad_warm:
                checks.append(
                    f"MISMATCH: {server.name}: {bad_warm:,} warm-up requests failed "
                    f"({_err(result.warm_status)})"
                )

        # -- wrk --------------------------------------------------------------------------------
        wrk_results: list[WrkResult] = []
        if args.wrk_seconds and shutil.which("wrk"):
            wrk_fti = start_fti("fti", {})
            wait_ready(wrk_fti)
            runs: list[tuple[Server, list[str], str | None, str | None]] = [
                (wrk_fti, req.fti, None, None)
            ]
            if args.features_only:
                runs.append((wrk_fti, req.fti, FEATURES_PATH, "fti, features only"))
            if feast_server is not None:
                runs.append((feast_server, req.feast, None, None))
            for server, bodies, path, label in runs:
                with alone(server, servers):
                    wrk_results.append(
                        run_wrk(server, bodies, args, work, args.wrk_seconds, path, label)
                    )
                w = wrk_results[-1]
                print(f"wrk {w.system}: {w.rps:,.0f} req/s, p99 {w.p99:.2f} ms", flush=True)
            if args.paced_ms:  # the same systems below saturation: latency at ~2,000 req/s
                paced = [runs[0], runs[-1]] if feast_server else runs[:1]
                for server, bodies, path, label in paced:
                    name = f"{label or server.name}, paced {args.paced_ms} ms"
                    with alone(server, servers):
                        wrk_results.append(
                            run_wrk(server, bodies, args, work, args.wrk_seconds, path, name,
                                    args.paced_ms)
                        )  # fmt: skip
                    w = wrk_results[-1]
                    print(f"wrk {w.system}: {w.rps:,.0f} req/s, p99 {w.p99:.2f} ms", flush=True)
            stop_server(wrk_fti)
            logged = _log_ids(home)  # wrk cuts requests in flight: no exact log check here
        elif args.wrk_seconds:
            notes.append("wrk is not installed: its run is skipped (apt-get install wrk).")
        if feast_server is not None:
            stop_server(feast_server)

        # -- sustained ------------------------------------------------------------------------
        sustained: Result | None = None
        rss: list[tuple[float, int, list[int]]] = []
        queue: list[tuple[float, float | None]] = []
        sustain_metrics: list[dict[str, float]] = []
        sustain_stop: tuple[float, int | None] = (0.0, None)
        sustain_log_rows = 0
        sustain_commits = ""
        sustain_commit_times = np.empty(0)
        sustain_gc: dict[int, tuple[list[int], np.ndarray]] = {}
        sustain_roles: dict[int, str] = {}
        if args.sustain:
            gc_env: dict[str, str] = {}
            gc_prefix = work / "gc" / "pauses"
            if args.gc_stats:
                gc_prefix.parent.mkdir()
                (gc_prefix.parent / "sitecustomize.py").write_text(_GC_SITECUSTOMIZE)
                gc_env = {
                    "PYTHONPATH": os.pathsep.join(
                        p for p in (str(gc_prefix.parent), os.environ.get("PYTHONPATH")) if p
                    ),
                    "FTI_BENCH_GC_LOG": str(gc_prefix),
                }
            server = start_fti("fti (sustained)", gc_env)
            wait_ready(server)
            version_before = log_version(home)
            sustained = Result(server.name, "fti")
            stop_sampling = threading.Event()
            sustain_start = time.perf_counter() + args.warmup

            def sample_rss(srv: Server = server) -> None:
                while not stop_sampling.is_set():
                    if time.perf_counter() >= sustain_start:
                        total, sizes = srv.rss()
                        rss.append((time.perf_counter() - sustain_start, total, sizes))
                        queue.append((time.perf_counter() - sustain_start, queued(srv)))
                    stop_sampling.wait(args.rss_interval)

            sampler = threading.Thread(target=sample_rss, daemon=True)
            sampler.start()
            cpu, workers = server.cpu_seconds(), server.worker_cpu()
            out = run_client(server.url, "fti", req.fti, args, work, args.sustain, args.warmup)
            sustained.add(
                out, (server.cpu_seconds() - cpu) * args.sustain / (args.sustain + args.warmup)
            )
            sustained.splits.append(
                cpu_split(workers, server.worker_cpu(), args.sustain + args.warmup)
            )
            stop_sampling.set()
            sampler.join()
            rss.append((time.perf_counter() - sustain_start, *server.rss()))
            time.sleep(2.5)  # the log writers' next flush, so their queues read as drained
            sustain_metrics = scrape_metrics(server)
            sustain_roles = server.roles()
            sustain_stop = stop_server(server)
            check, _, sustain_log_rows = check_log(
                home, logged, sustained.ids, "sustained run", [], [], [], cards, merchants, names
            )
            checks.append(check)
            sustain_commits = log_commits(home, version_before, "sustained run")
            sustain_commit_times = commit_times(home, version_before)
            if args.gc_stats:
                sustain_gc = gc_pauses(gc_prefix)
            if sustained.errors or any(k != "200" for k in sustained.warm_status):
                checks.append(
                    f"MISMATCH: sustained run: {sustained.errors:,} of {sustained.requests:,} "
                    f"requests failed ({_err(sustained.status)}; warm-up "
                    f"{_err(sustained.warm_status)})"
                )
            else:
                checks.append(
                    f"OK: sustained run: {sustained.ok_all:,} requests (warm-up included), all 200"
                )
            if sustain_stop[1] != 0:
                checks.append(f"MISMATCH: the sustained server's exit on SIGINT: {sustain_stop[1]}")
            dropped = sum(m.get("fti_inference_log_dropped", 0) for m in sustain_metrics)
            if dropped:
                checks.append(f"MISMATCH: fti_inference_log_dropped = {dropped:g}")
    finally:
        for server in servers:
            if server.proc.poll() is None:
                stop_server(server, timeout=60)
        load_after = os.getloadavg()
        if os.environ.get("FTI_BENCH_KEEP"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    # -- report -------------------------------------------------------------------------------
    print("\nChecks:")
    for line in checks:
        print(f"  {line}")
    n_tx = data.transactions.num_rows
    print(
        f"\n{data.card_features.num_rows:,} card_features rows ({len(cards):,} cards), "
        f"{data.merchant_features.num_rows:,} merchant_features rows ({len(merchants):,} "
        f"merchants), {n_tx:,} transactions (scale {args.scale:g}, seed {args.seed}); fti set-up "
        f"(`fti demo`) {demo_seconds:.0f} s, Feast materialize {feast_seconds:.0f} s. Servers on "
        f"loopback with {args.workers} worker processes each; load: {args.clients} concurrent "
        f"clients (asyncio streams on uvloop, HTTP/1.1 keep-alive, one separate process) in a "
        f"closed "
        f"loop over {args.requests:,} seeded random real transactions, {args.seconds:g} s per "
        f"system in {rounds} interleaved rounds after a {args.warmup:g} s warm-up; latency "
        f"client-side. {os.cpu_count()} CPUs ({_cpu()}), Python {platform.python_version()}; "
        f"{_versions()} (commit {commit}); load average (1/5/15 min) "
        f"{'/'.join(f'{x:.2f}' for x in load_before)} before the run, "
        f"{'/'.join(f'{x:.2f}' for x in load_after)} after\n"
    )
    fti_default = timed[0][1]
    feast_result = next((res for _, res, _ in timed if res.kind == "feast"), None)
    print(
        "| system | serves | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | mean ms "
        "| errors | server CPU (cores) | each worker's CPU per run (cores) | client CPU (cores) "
        "| p99 ≤ 3 ms | ≥ 2,000 req/s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---|---|")
    for _, res, _ in timed:
        serves = {
            "fti": "prediction: 2 lookups + 2 MDTs + XGBoost + log",
            "feast": "6 features: 2 lookups",
        }[res.kind]
        if res.path == FEATURES_PATH:
            serves = "7 features: 2 lookups + 2 MDTs + log"
        verdict = ["", ""]
        if res.kind == "fti" and res.path != FEATURES_PATH:
            verdict = [
                _verdict(res.ms(99), TARGET_P99_MS, below=True),
                _verdict(res.rps, TARGET_RPS, below=False),
            ]
        print(
            f"| {res.system} | {serves} | {res.requests:,} | {res.rps:,.0f} | {res.ms(50):.2f} | "
            f"{res.ms(90):.2f} | {res.ms(99):.2f} | {res.ms(100):.1f} | "
            f"{res.lat.mean() / 1e6:.2f} | {_err(res.status)} | "
            f"{res.server_cpu / res.seconds:.2f} | {'; '.join(res.splits)} | "
            f"{res.client_cpu / res.seconds:.2f} | "
            f"{verdict[0]} | {verdict[1]} |"
        )
    if feast_result is not None:
        print(
            "\nRatios to Feast (Feast serves features only; fti's rows a whole prediction, "
            "except the features-only deployment):\n"
        )
        print("| fti configuration | req/s fti ÷ Feast | p50 Feast ÷ fti | p99 Feast ÷ fti |")
        print("|---|---:|---:|---:|")
        for _, res, _ in timed:
            if res.kind == "fti":
                print(
                    f"| {res.system} | {res.rps / feast_result.rps:.2f}× | "
                    f"{feast_result.ms(50) / res.ms(50):.2f}× | "
                    f"{feast_result.ms(99) / res.ms(99):.2f}× |"
                )
    print(
        "\nInside fti's handler (the `timings_ms` of each timed answer, measured by the server "
        "around `Deployment.predict`; the rest of the client-side latency is HTTP, ASGI, "
        "FastAPI/pydantic, JSON and waiting for a worker):\n"
    )
    steps = [
        "feature_lookup",
        "model_dependent",
        "feature_vector",
        "predict",
        "log_enqueue",
        "total",
    ]
    print(
        "| system | " + " | ".join(f"{s} p50 / p99 ms" for s in steps) + " | client p50 / p99 ms |"
    )
    print("|---|" + "---:|" * (len(steps) + 1))
    for _, res, _ in timed:
        if res.kind != "fti":
            continue
        cells = []
        for s in steps:
            v = np.asarray(res.server_ms.get(s, [np.nan]))
            cells.append(f"{np.percentile(v, 50):.3f} / {np.percentile(v, 99):.3f}")
        print(
            f"| {res.system} | " + " | ".join(cells) + f" | {res.ms(50):.3f} / {res.ms(99):.3f} |"
        )
    lines = [during_commits(res, phase1_commits) for _, res, _ in timed if res.kind == "fti"]
    if any(lines):
        print(
            "\nTail latency and the inference log's Delta commits (each fti worker's writer "
            f"commits its queued rows every {LOG_FLUSH_SECONDS:g} s, or sooner at 5,000):\n"
        )
        for line in lines:
            if line:
                print(f"- {line}")
    for name, per_worker in phase1_metrics.items():
        dropped = sum(m.get("fti_inference_log_dropped", 0) for m in per_worker)
        served = sum(m.get("fti_requests_total", 0) for m in per_worker)
        seconds, code = phase1_stop[name]
        print(
            f"\n{name}: /metrics (all {args.workers} workers): "
            f"fti_requests_total {served:,.0f}, fti_inference_log_dropped {dropped:g}; stopped "
            f"by SIGINT in {seconds:.1f} s (exit {code})."
        )
    if wrk_results:
        print(
            f"\nThe same with wrk (C, 1 thread, {args.clients} connections, {args.wrk_seconds:g} s "
            'after a 1 s warm-up, a fresh fti server; latency as wrk measures it; "paced": '
            f"each connection waits {args.paced_ms} ms between an answer and its next request, "
            "a load below saturation):\n"
        )
        print("| system | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | mean ms | errors "
              "| p99 ≤ 3 ms | ≥ 2,000 req/s |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
        for w in wrk_results:
            verdict = ["", ""]
            if w.system == "fti":
                verdict = [
                    _verdict(w.p99, TARGET_P99_MS, below=True),
                    _verdict(w.rps, TARGET_RPS, below=False),
                ]
            elif w.system.startswith("fti, paced"):  # the target's p99, at ~2,000 req/s
                verdict = [
                    _verdict(w.p99, TARGET_P99_MS, below=True),
                    _verdict(w.rps, TARGET_RPS * 0.95, below=False),
                ]
            errors = ", ".join(f"{n:,} {k}" for k, n in w.errors.items()) or "0"
            print(
                f"| {w.system} | {w.requests:,} | {w.rps:,.0f} | {w.p50:.2f} | {w.p90:.2f} | "
                f"{w.p99:.2f} | {w.max:.1f} | {w.mean:.2f} | {errors} | {verdict[0]} | "
                f"{verdict[1]} |"
            )
    if sustained is not None and rss:
        mb = [t / 2**20 for _, t, _ in rss]
        first, last, peak = mb[0], mb[-1], max(mb)
        dropped = sum(m.get("fti_inference_log_dropped", 0) for m in sustain_metrics)
        served = sum(m.get("fti_requests_total", 0) for m in sustain_metrics)
        print(
            f"\nSustained: fti only, a fresh server ({args.workers} workers), {args.clients} "
            f"clients for {args.sustain:g} s after a {args.warmup:g} s warm-up; RSS of all the "
            f"server's processes (supervisor + workers) every {args.rss_interval:g} s:\n"
        )
        print(
            "| requests | req/s | p50 ms | p99 ms | max ms | errors | RSS first MB | RSS last MB "
            "| RSS max MB | growth | log rows / successful requests | log dropped | stop |"
        )
        print("|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---|")
        ok_total = sustained.ok_all
        print(
            f"| {sustained.requests:,} | {sustained.rps:,.0f} | {sustained.ms(50):.2f} | "
            f"{sustained.ms(99):.2f} | {sustained.ms(100):.1f} | {_err(sustained.status)} | "
            f"{first:,.0f} | {last:,.0f} | {peak:,.0f} | {(last - first) / first:+.1%} | "
            f"{sustain_log_rows:,} / {ok_total:,} | {dropped:g} (/metrics: "
            f"{served:,.0f} requests) | SIGINT, {sustain_stop[0]:.1f} s, "
            f"exit {sustain_stop[1]} |"
        )
        per = " ".join(
            f"{t:.0f}s:{m:,.0f}"
            for (t, _, _), m in zip(
                rss[:: max(1, len(rss) // 12)], mb[:: max(1, len(rss) // 12)], strict=False
            )
        )
        print(f"\nRSS over time (s since the timed start: MB): {per}")
        print("Per process at the end (MB): " + ", ".join(f"{s / 2**20:,.0f}" for s in rss[-1][2]))
        print(
            "CPU over the run of each process under the supervisor (workers, their "
            f"inference-log writers; cores): {'; '.join(sustained.splits)}"
        )
        step = max(1, len(queue) // 12)
        print(
            "Inference log queue, all workers (reported after each commit) "
            "(`fti_inference_log_queued`, s: rows): "
            + " ".join(f"{t:.0f}s:{'?' if q is None else f'{q:,.0f}'}" for t, q in queue[::step])
        )
        print(f"\n{sustain_commits}")
        line = during_commits(sustained, sustain_commit_times)
        if line:
            print(f"\nTail and log commits, {line}.")
        if sustain_gc:
            print(
                "\nGarbage collection in the sustained server's processes (recorded by a "
                "sitecustomize on its PYTHONPATH):\n"
            )
            for line in during_gc(sustained, sustain_gc, sustain_roles):
                print(f"- {line}")
    for line in notes:
        print(f"\n{line}")
    if profile_lines:
        print()
        for line in profile_lines:
            print(line)
    print(
        f"\nTargets (DESIGN.md §5) apply to fti's default configuration; with the Python load "
        f"generator at saturation: p99 {fti_default.ms(99):.2f} ms "
        f"({_verdict(fti_default.ms(99), TARGET_P99_MS, True)}), {fti_default.rps:,.0f} req/s "
        f"({_verdict(fti_default.rps, TARGET_RPS, False)})."
    )
    paced = [w for w in wrk_results if w.system == f"fti, paced {args.paced_ms} ms"]
    if paced:  # 8 clients at ~2,000 req/s: the load the p99 target names, without queueing
        w = paced[0]
        print(
            f"With wrk paced ({args.clients} connections, {w.rps:,.0f} req/s): p99 "
            f"{w.p99:.2f} ms ({_verdict(w.p99, TARGET_P99_MS, True)})."
        )
    if _src_state() != src_state:
        print(f"\nWARNING: fti's code (src/) changed during the run ({commit} → {_commit()})")
    if any(not line.startswith("OK") for line in checks):
        sys.exit(1)


def log_version(home: Path) -> int:
    """The inference log's Delta table version now (-1 before its first commit)."""
    from deltalake import DeltaTable

    import fti

    project = fti.connect(home)
    try:
        group = project.get_feature_store().get_feature_group(f"{DEPLOYMENT}_inference_log", 1)
        return int(DeltaTable(group.location).version())
    except Exception:  # no log group or no commit yet
        return -1
    finally:
        project.close()


def log_commits(home: Path, since: int, label: str) -> str:
    """What the inference log's writers did in Delta since version ``since``: commits by
    operation (an append is a WRITE; a batch whose times overlap the stored ones is a MERGE on
    the request id, which scans the table), files scanned and time of the MERGEs."""
    from deltalake import DeltaTable

    import fti

    project = fti.connect(home)
    try:
        group = project.get_feature_store().get_feature_group(f"{DEPLOYMENT}_inference_log", 1)
        history = [c for c in DeltaTable(group.location).history() if c["version"] > since]
        files = len(DeltaTable(group.location).file_uris())
    finally:
        project.close()
    ops = collections.Counter(c["operation"] for c in history)
    merges = sorted((c for c in history if c["operation"] == "MERGE"), key=lambda c: c["version"])
    text = (
        f"Inference log commits during the {label}: {len(history):,} ("
        + ", ".join(f"{n:,} {op}" for op, n in sorted(ops.items()))
        + f"); the table now has {files:,} data files"
    )
    if merges:
        ms = [c["operationMetrics"].get("execution_time_ms", 0) for c in merges]
        scanned = [c["operationMetrics"].get("num_target_files_scanned", 0) for c in merges]
        rows = [c["operationMetrics"].get("num_source_rows", 0) for c in merges]
        k = max(1, len(merges) // 10)
        text += (
            f". MERGE: {np.median(rows):,.0f} rows per commit (median); execution time median "
            f"{np.median(ms):,.0f} ms, max {max(ms):,} ms; first tenth {np.mean(ms[:k]):,.0f} ms "
            f"scanning {np.mean(scanned[:k]):,.0f} files, last tenth {np.mean(ms[-k:]):,.0f} ms "
            f"scanning {np.mean(scanned[-k:]):,.0f} files"
        )
    return text + "."


COMMIT_WINDOW = (0.25, 0.02)  # seconds before and after a log commit's timestamp

# Put on the sustained server's PYTHONPATH (``--gc-stats``): every garbage collection of 1 ms or
# more is appended to a file per process (wall-clock end, generation, milliseconds). It only
# observes: thresholds and code are untouched.
_GC_SITECUSTOMIZE = """\
import atexit, gc, os, time

_path = os.environ.get("FTI_BENCH_GC_LOG")
if _path:
    _out = open(f"{_path}.{os.getpid()}", "a", buffering=1)
    _start = [0.0]
    _counts = [0, 0, 0]

    def _observe(phase, info):
        if phase == "start":
            _start[0] = time.perf_counter()
            return
        took = time.perf_counter() - _start[0]
        _counts[info["generation"]] += 1
        if took >= 0.001:
            _out.write(f"{time.time():.6f} {info['generation']} {took * 1e3:.3f}\\n")
        if info["generation"] or _counts[0] % 100 == 0:  # workers may end without atexit
            _out.write("# collections %d %d %d\\n" % tuple(_counts))

    gc.callbacks.append(_observe)
    atexit.register(lambda: _out.write("# collections %d %d %d\\n" % tuple(_counts)))
"""


def gc_pauses(prefix: Path) -> dict[int, tuple[list[int], np.ndarray]]:
    """Per process: collections per generation and the pauses of 1 ms or more (end, gen, ms)."""
    out = {}
    for path in prefix.parent.glob(prefix.name + ".*"):
        counts, rows = [0, 0, 0], []
        for line in path.read_text().splitlines():
            if line.startswith("# collections"):
                counts = [int(x) for x in line.split()[2:]]
            elif line.strip():
                rows.append([float(x) for x in line.split()])
        out[int(path.suffix[1:])] = (counts, np.asarray(rows).reshape(-1, 3))
    return out


def during_gc(
    res: Result, pauses: dict[int, tuple[list[int], np.ndarray]], roles: dict[int, str]
) -> list[str]:
    """Collections per worker and log writer (pauses within the timed run), and whether the
    slowest requests were in flight during a long pause of a worker (a log writer's pause
    holds up no request)."""
    if not res.ends:
        return []
    ends = np.concatenate(res.ends)
    lat = res.lat / 1e9
    starts = ends - lat
    lo, hi = starts.min(), ends.max()
    lines, timed = [], []
    for pid, (counts, rows) in sorted(pauses.items()):
        if pid not in roles:
            continue  # the supervisor and multiprocessing's resource tracker
        if len(rows):
            rows = rows[(rows[:, 0] >= lo) & (rows[:, 0] <= hi)]
        if roles[pid] == "worker":
            timed.append(rows)
        parts = []
        for g in range(3):
            mine = rows[rows[:, 1] == g, 2] if len(rows) else np.empty(0)
            parts.append(
                f"gen {g} {len(mine):,}" + (f" (max {mine.max():.0f} ms)" if len(mine) else "")
            )
        total = rows[:, 2].sum() if len(rows) else 0.0
        lines.append(
            f"{roles[pid]} {pid}: {counts[0]:,} / {counts[1]:,} / {counts[2]:,} collections of "
            "generation 0 / 1 / 2 since it started; during the timed run, pauses of ≥ 1 ms: "
            + ", ".join(parts)
            + f", {total:,.0f} ms in all"
        )
    rows = np.concatenate(timed) if timed else np.empty((0, 3))
    rows = rows[rows[:, 2] >= 5]
    p99 = np.percentile(lat, 99)
    slow = lat > p99
    hit = np.zeros(len(ends), bool)
    for end, _, ms in rows:
        hit |= (starts <= end) & (ends >= end - ms / 1e3)
    share = rows[:, 2].sum() / 1e3 / max(1e-9, hi - lo)
    lines.append(
        f"{hit[slow].mean():.0%} of the slowest 1% of requests (> {p99 * 1e3:.0f} ms) were in "
        f"flight during a worker's collection of 5 ms or more ({len(rows):,} such pauses, "
        f"{share:.1%} of the time), {hit.mean():.1%} of all requests"
    )
    return lines


def commit_times(home: Path, since: int) -> np.ndarray:
    """Wall-clock times (s) of the inference log's Delta commits after version ``since``."""
    from deltalake import DeltaTable

    import fti

    project = fti.connect(home)
    try:
        group = project.get_feature_store().get_feature_group(f"{DEPLOYMENT}_inference_log", 1)
        history = DeltaTable(group.location).history()
    finally:
        project.close()
    return np.sort(np.asarray([c["timestamp"] / 1000 for c in history if c["version"] > since]))


def during_commits(res: Result, commits: np.ndarray) -> str:
    """Latency of the requests in flight around a log commit vs the others: whether the
    writer's commits make the tail."""
    if not len(commits) or not res.ends:
        return ""
    ends = np.concatenate(res.ends)
    lat = res.lat / 1e9
    starts = ends - lat
    before, after = COMMIT_WINDOW
    # a request overlaps [c - before, c + after] of some commit c
    i = np.searchsorted(commits, starts - after)  # first commit that could overlap
    hit = np.zeros(len(ends), bool)
    ok = i < len(commits)
    hit[ok] = commits[i[ok]] - before <= ends[ok]
    span = ends.max() - starts.min()
    inside = np.clip(
        np.minimum(commits + after, ends.max()) - np.maximum(commits - before, starts.min()),
        0,
        None,
    ).sum()
    cells = []
    for label, mask in (("around a commit", hit), ("the others", ~hit)):
        if mask.any():
            ms = lat[mask] * 1e3
            cells.append(
                f"{label}: {mask.sum():,} requests, p50 {np.percentile(ms, 50):.2f} ms, "
                f"p99 {np.percentile(ms, 99):.2f} ms"
            )
    slow = lat * 1e3 > np.percentile(lat * 1e3, 99)
    share = hit[slow].mean() if slow.any() else 0.0
    return (
        f"{res.system}: {len(commits):,} log commits, their windows ({before * 1e3:.0f} ms before "
        f"to {after * 1e3:.0f} ms after each commit) cover {inside / span:.0%} of the time; "
        + "; ".join(cells)
        + f"; {share:.0%} of the slowest 1% of requests were in flight around a commit"
    )


def _log_ids(home: Path) -> set[str]:
    import fti

    project = fti.connect(home)
    try:
        fv = project.get_feature_store().get_feature_view(DEPLOYMENT, 1)
        return set(fv.read_log(dataframe_type="arrow").column("request_id").to_pylist())
    finally:
        project.close()


if __name__ == "__main__":
    main()
