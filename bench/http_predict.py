"""HTTP predict: fti serve vs the Feast feature server, side by side on the same rows, in one run.

The rows are docs/architecture.md §5's credit-card data from :func:`fti.demo.generate`
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

    .venv-bench/bin/python bench/http_predict.py --scale 1
    .venv-bench/bin/python bench/http_predict.py --scale 0.05 --seconds 5 --sustain 10 \
        --wrk-seconds 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import CARD, MERCHANT, commit, newest, src_state
from _http_data import (
    FEATURES_PATH,
    check_feast_http,
    check_fti_http,
    corrected_cards,
    fti_reference,
    make_requests,
)
from _http_load import Result, client_main, cpu_split, error_counts, run_client
from _http_log import check_log, commit_times, log_commits, log_ids, log_version
from _http_profile import profile_worker
from _http_report import print_setup, print_sustained, print_targets, print_timed, print_wrk
from _http_servers import (
    Launcher,
    Server,
    alone,
    build_feast,
    build_fti,
    scrape_metrics,
    stop_server,
    wait_ready,
)
from _http_sustain import Sustained, sustain
from _http_wrk import WrkResult, wrk_runs


def parse_args() -> argparse.Namespace:
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
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.client:
        client_main(*args.client)
        return

    from fti.demo import generate

    load_before = os.getloadavg()
    head, state = commit(), src_state()
    work = Path(tempfile.mkdtemp(prefix="fti-bench-http-", dir=args.work_dir))
    home = work / "fti_home"
    checks: list[str] = []
    notes: list[str] = []
    launcher = Launcher(home, work, args.workers)
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

        # -- phase 1: timed, interleaved ------------------------------------------------------
        version_before = log_version(home)
        fti_servers = [launcher.fti("fti", {})]
        if args.omp1:
            fti_servers.append(launcher.fti("fti, OMP_NUM_THREADS=1", {"OMP_NUM_THREADS": "1"}))
        feast_server = None if args.skip_feast else launcher.feast(repo)
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
                with alone(server, launcher.servers):
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
                    f"requests failed ({error_counts(result.status)})"
                )
            bad_warm = sum(v for k, v in result.warm_status.items() if k != "200")
            if bad_warm:
                checks.append(
                    f"MISMATCH: {server.name}: {bad_warm:,} warm-up requests failed "
                    f"({error_counts(result.warm_status)})"
                )

        # -- wrk --------------------------------------------------------------------------------
        wrk_results: list[WrkResult] = []
        if args.wrk_seconds and shutil.which("wrk"):
            wrk_results = wrk_runs(launcher, feast_server, req, args)
            logged = log_ids(home)  # wrk cuts requests in flight: no exact log check here
        elif args.wrk_seconds:
            notes.append("wrk is not installed: its run is skipped (apt-get install wrk).")
        if feast_server is not None:
            stop_server(feast_server)

        # -- sustained ------------------------------------------------------------------------
        sustained: Sustained | None = None
        if args.sustain:
            sustained = sustain(launcher, req.fti, args, logged, cards, merchants, names, checks)
    finally:
        for server in launcher.servers:
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
    print_setup(
        args, data, cards, merchants, demo_seconds, feast_seconds, head, load_before, load_after
    )
    print_timed(timed, phase1_commits, phase1_metrics, phase1_stop, args)
    if wrk_results:
        print_wrk(wrk_results, args)
    if sustained is not None and sustained.rss:
        print_sustained(sustained, args)
    for line in notes:
        print(f"\n{line}")
    if profile_lines:
        print()
        for line in profile_lines:
            print(line)
    print_targets(timed[0][1], wrk_results, args)
    if src_state() != state:
        print(f"\nWARNING: fti's code (src/) changed during the run ({head} → {commit()})")
    if any(not line.startswith("OK") for line in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
