"""``bench/http_predict.py``'s report: the run described (data, load, machine, versions), Markdown
tables of the timed runs, wrk's and the sustained run, and the verdicts on docs/architecture.md §5's
targets.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import subprocess
from typing import Any

import numpy as np

from _common import cpu, versions
from _http_data import FEATURES_PATH
from _http_load import Result, error_counts
from _http_log import during_commits
from _http_servers import LOG_FLUSH_SECONDS, Server
from _http_sustain import Sustained, during_gc
from _http_wrk import WrkResult

TARGET_P99_MS = 3.0  # docs/architecture.md §5: HTTP predict p99 at 8 concurrent clients
TARGET_RPS = 2_000.0  # docs/architecture.md §5: and at least this throughput


def _versions() -> str:
    out = versions([
        "fti", "feast", "fastapi", "starlette", "pydantic", "uvicorn", "uvloop", "httptools",
        "gunicorn", "httpx", "xgboost-cpu", "xgboost", "numpy", "pyarrow", "lmdb",
    ])  # fmt: skip
    if shutil.which("wrk"):
        with contextlib.suppress(Exception):
            text = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
            out.append(text.split()[0] + " " + text.split()[1])
    return ", ".join(out)


def _verdict(value: float, limit: float, below: bool) -> str:
    ok = value <= limit if below else value >= limit
    return "met" if ok else "MISSED"


def print_setup(
    args: argparse.Namespace,
    data: Any,
    cards: dict[int, dict[str, Any]],
    merchants: dict[int, dict[str, Any]],
    demo_seconds: float,
    feast_seconds: float,
    commit: str,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> None:
    """The data, the set-up times, the load, the machine and the software of the run."""
    rounds = max(1, args.rounds)
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
        f"client-side. {os.cpu_count()} CPUs ({cpu()}), Python {platform.python_version()}; "
        f"{_versions()} (commit {commit}); load average (1/5/15 min) "
        f"{'/'.join(f'{x:.2f}' for x in load_before)} before the run, "
        f"{'/'.join(f'{x:.2f}' for x in load_after)} after\n"
    )


def print_timed(
    timed: list[tuple[Server, Result, list[str]]],
    commits: np.ndarray,
    metrics: dict[str, list[dict[str, float]]],
    stops: dict[str, tuple[float, int | None]],
    args: argparse.Namespace,
) -> None:
    """The timed runs: latency and throughput per system, the ratios to Feast, the time inside
    fti's handler, the tail around the inference log's commits (``commits``: their times) and
    the fti servers' ``/metrics`` and graceful stop."""
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
            f"{res.lat.mean() / 1e6:.2f} | {error_counts(res.status)} | "
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
    lines = [during_commits(res, commits) for _, res, _ in timed if res.kind == "fti"]
    if any(lines):
        print(
            "\nTail latency and the inference log's Delta commits (each fti worker's writer "
            f"commits its queued rows every {LOG_FLUSH_SECONDS:g} s, or sooner at 5,000):\n"
        )
        for line in lines:
            if line:
                print(f"- {line}")
    for name, per_worker in metrics.items():
        dropped = sum(m.get("fti_inference_log_dropped", 0) for m in per_worker)
        served = sum(m.get("fti_requests_total", 0) for m in per_worker)
        seconds, code = stops[name]
        print(
            f"\n{name}: /metrics (all {args.workers} workers): "
            f"fti_requests_total {served:,.0f}, fti_inference_log_dropped {dropped:g}; stopped "
            f"by SIGINT in {seconds:.1f} s (exit {code})."
        )


def print_wrk(wrk_results: list[WrkResult], args: argparse.Namespace) -> None:
    """wrk's runs: at saturation and paced."""
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


def print_sustained(run: Sustained, args: argparse.Namespace) -> None:
    """The sustained run: latency, memory over time, the log's queue and commits, GC pauses."""
    sustained, rss, queue = run.result, run.rss, run.queue
    mb = [t / 2**20 for _, t, _ in rss]
    first, last, peak = mb[0], mb[-1], max(mb)
    dropped = sum(m.get("fti_inference_log_dropped", 0) for m in run.metrics)
    served = sum(m.get("fti_requests_total", 0) for m in run.metrics)
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
        f"{sustained.ms(99):.2f} | {sustained.ms(100):.1f} | {error_counts(sustained.status)} | "
        f"{first:,.0f} | {last:,.0f} | {peak:,.0f} | {(last - first) / first:+.1%} | "
        f"{run.log_rows:,} / {ok_total:,} | {dropped:g} (/metrics: "
        f"{served:,.0f} requests) | SIGINT, {run.stop[0]:.1f} s, "
        f"exit {run.stop[1]} |"
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
    print(f"\n{run.commits}")
    line = during_commits(sustained, run.commit_times)
    if line:
        print(f"\nTail and log commits, {line}.")
    if run.gc:
        print(
            "\nGarbage collection in the sustained server's processes (recorded by a "
            "sitecustomize on its PYTHONPATH):\n"
        )
        for line in during_gc(sustained, run.gc, run.roles):
            print(f"- {line}")


def print_targets(
    fti_default: Result, wrk_results: list[WrkResult], args: argparse.Namespace
) -> None:
    """The verdicts on the targets: fti's default configuration at saturation, and paced."""
    print(
        f"\nTargets (architecture §5) apply to fti's default configuration; with the Python load "
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
