"""``bench/http_predict.py``'s sustained run: fti only, a fresh server under the load for
``--sustain`` seconds, its memory, inference-log queue and garbage-collection pauses recorded,
then a graceful stop and the check of its inference log.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from _http_load import Result, cpu_split, error_counts, run_client
from _http_log import check_log, commit_times, log_commits, log_version
from _http_servers import Launcher, Server, queued, scrape_metrics, stop_server, wait_ready


@dataclass
class Sustained:
    """What the sustained run measured: the load generator's :class:`Result` and the rest."""

    result: Result
    rss: list[tuple[float, int, list[int]]]  # (s since the timed start, total, per process)
    queue: list[tuple[float, float | None]]  # (s since the timed start, rows queued)
    metrics: list[dict[str, float]]  # /metrics at the end
    stop: tuple[float, int | None]  # seconds the graceful stop took, exit status
    log_rows: int  # rows the run added to the inference log
    commits: str  # the log's commits during the run, described
    commit_times: np.ndarray
    gc: dict[int, tuple[list[int], np.ndarray]]  # per process, see gc_pauses
    roles: dict[int, str]  # per process: "worker" or "log writer"


def sustain(
    launcher: Launcher,
    bodies: list[str],
    args: argparse.Namespace,
    logged: set[str],
    cards: dict[int, dict[str, Any]],
    merchants: dict[int, dict[str, Any]],
    names: list[str],
    checks: list[str],
) -> Sustained:
    """The sustained run (``logged``: the request ids already in the inference log); its checks
    are appended to ``checks``."""
    home, work = launcher.home, launcher.work
    rss: list[tuple[float, int, list[int]]] = []
    queue: list[tuple[float, float | None]] = []
    sustain_gc: dict[int, tuple[list[int], np.ndarray]] = {}
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
    server = launcher.fti("fti (sustained)", gc_env)
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
    out = run_client(server.url, "fti", bodies, args, work, args.sustain, args.warmup)
    sustained.add(out, (server.cpu_seconds() - cpu) * args.sustain / (args.sustain + args.warmup))
    sustained.splits.append(cpu_split(workers, server.worker_cpu(), args.sustain + args.warmup))
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
            f"requests failed ({error_counts(sustained.status)}; warm-up "
            f"{error_counts(sustained.warm_status)})"
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
    return Sustained(
        sustained, rss, queue, sustain_metrics, sustain_stop, sustain_log_rows, sustain_commits,
        sustain_commit_times, sustain_gc, sustain_roles,
    )  # fmt: skip


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
