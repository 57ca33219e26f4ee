"""Latest feature values per entity: offline history vs the online store, by history depth.

``get_batch_data(latest_features=True)`` needs the newest row per key of every group. DuckDB
can pick it from the offline snapshot (cost grows with the rows of history) or fti can scan
the online store, which holds exactly one row per key (cost grows with keys). This times
``query.to_arrow(latest=True)`` on one online-enabled group of ``--keys`` keys with 1 to
N snapshots per key, forcing each source, and prints where the online store starts to win:
the crossover behind ``fti.Settings.online_scan_factor``.

    .venv/bin/python bench/latest.py --keys 20000 --depths 1,10,50,200
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time

import numpy as np
import pyarrow as pa

import fti

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def group_rows(keys: int, depth: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    n = keys * depth
    seconds = np.repeat(np.arange(depth, dtype=np.int64), keys) * 1_000_000
    start = int(T0.timestamp() * 1_000_000)
    return pa.table(
        {
            "k": np.tile(np.arange(keys, dtype=np.int64), depth),
            "ts": pa.array(start + seconds, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "a": rng.random(n),
            "b": rng.random(n),
            "c": rng.integers(0, 100, n),
        }
    )


def best_of(repeat: int, query: fti.Query) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        query.to_arrow(latest=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=20_000)
    parser.add_argument("--depths", default="1,10,50,200", help="snapshots per key")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many reads")
    args = parser.parse_args()
    print("| keys | rows per key | offline s | online s | offline ÷ online | fti picks |")
    print("|---:|---:|---:|---:|---:|---|")
    for depth in (int(d) for d in args.depths.split(",")):
        with tempfile.TemporaryDirectory() as home:
            with fti.connect(home) as project:
                group = project.get_feature_store().create_feature_group(
                    "g", primary_key=["k"], event_time="ts", online_enabled=True
                )
                group.insert(group_rows(args.keys, depth, seed=depth))
            results = {}
            for source, forced in [("offline", 10**12), ("online", 0)]:
                settings = fti.Settings(online_scan_factor=forced)
                with fti.connect(home, settings=settings) as project:
                    query = project.get_feature_store().get_feature_group("g", 1).select_all()
                    results[source] = best_of(args.repeat, query)
            factor = fti.Settings.online_scan_factor
            picks = "online" if depth >= factor else "offline"
            ratio = results["offline"] / results["online"]
            print(
                f"| {args.keys:,} | {depth} | {results['offline']:.3f} | "
                f"{results['online']:.3f} | {ratio:.2f} | {picks} |"
            )


if __name__ == "__main__":
    main()
