"""Online store backends side by side: bulk write, point lookups and 100-key lookups.

Rows are shaped like docs/architecture.md §5 ``card_features``: the key is the msgpack-packed
``cc_num``, the value the msgpack list of the other five columns (spend_1d, spend_7d,
tx_count_7d, avg_amt_30d, event_ts), event times spread over 60 days. Every backend gets the
same rows and the same lookup order. Latencies are per call, measured with
``time.perf_counter_ns`` after a warm-up; the store is used in-process, as a serving worker
would.

    python bench/online_backends.py --keys 100000 --lookups 20000 --redis-url redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgpack

from fti.online.base import OnlineStore
from fti.online.lmdb import LmdbOnlineStore
from fti.online.redis import RedisOnlineStore
from fti.online.sqlite import SqliteOnlineStore

TABLE = "card_features_1"
DAY_US = 86_400 * 1_000_000
START_US = 1_700_000_000 * 1_000_000
BATCH = 100
Rows = tuple[list[bytes], list[int], list[bytes]]


def make_rows(n: int, rng: random.Random) -> Rows:
    cc_nums = rng.sample(range(4_000_000_000_000_000, 4_999_999_999_999_999), n)
    keys = [msgpack.packb(cc) for cc in cc_nums]
    times = [START_US + rng.randrange(60 * DAY_US) for _ in range(n)]
    values = [
        msgpack.packb(
            [
                round(rng.uniform(0, 500), 2),
                round(rng.uniform(0, 3000), 2),
                rng.randrange(60),
                round(rng.uniform(5, 300), 2),
                ts,
            ]
        )
        for ts in times
    ]
    return keys, times, values


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples_ns, n=100, method="inclusive")
    return cuts[49] / 1000, cuts[98] / 1000


def measure(
    store: OnlineStore,
    keys: list[bytes],
    times: list[int],
    values: list[bytes],
    args: argparse.Namespace,
) -> dict[str, float]:
    rng = random.Random(args.seed + 1)
    start = time.perf_counter()
    store.write(TABLE, keys, times, values, 1)
    write_s = time.perf_counter() - start
    expected = dict(zip(keys, values, strict=True))
    probe = rng.sample(keys, min(len(keys), 100))
    assert store.get_many(TABLE, probe) == [expected[k] for k in probe], "wrong values read"

    lookups = [keys[rng.randrange(len(keys))] for _ in range(args.lookups)]
    batches = [rng.sample(keys, BATCH) for _ in range(max(100, args.lookups // 10))]
    get, get_many = store.get, store.get_many
    for key in lookups[:2000]:  # warm-up: connections, handles, page cache, statements
        get(TABLE, key)
    for batch in batches[:50]:
        get_many(TABLE, batch)
    gc.collect()

    single: list[int] = []
    clock = time.perf_counter_ns
    for key in lookups:
        t0 = clock()
        get(TABLE, key)
        single.append(clock() - t0)
    many: list[int] = []
    for batch in batches:
        t0 = clock()
        get_many(TABLE, batch)
        many.append(clock() - t0)
    p50, p99 = percentiles(single)
    m50, m99 = percentiles(many)
    return {"write": len(keys) / write_s, "p50": p50, "p99": p99, "m50": m50, "m99": m99}


@contextmanager
def tempdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="fti-online-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run(
    name: str, factory: Callable[[], OnlineStore], data: Rows, args: argparse.Namespace
) -> dict[str, float]:
    store = factory()
    try:
        result = measure(store, *data, args)
    finally:
        store.drop(TABLE)
        store.close()
    print(f"  {name}: done", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--redis-url", help="also measure Redis, e.g. redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    data = make_rows(args.keys, random.Random(args.seed))
    mean_value = sum(map(len, data[2])) / len(data[2])
    print(
        f"{args.keys} rows, mean key {sum(map(len, data[0])) / args.keys:.0f} B, "
        f"mean value {mean_value:.0f} B",
        flush=True,
    )
    results: dict[str, dict[str, float]] = {}
    with tempdir() as root:
        results["SQLite (WAL)"] = run(
            "SQLite", lambda: SqliteOnlineStore(root / "online.sqlite"), data, args
        )
        results["LMDB"] = run("LMDB", lambda: LmdbOnlineStore(root / "online.lmdb"), data, args)
    if args.redis_url:
        namespace = f"fti_bench_{uuid.uuid4().hex[:8]}"
        results["Redis (localhost TCP)"] = run(
            "Redis", lambda: RedisOnlineStore(args.redis_url, namespace=namespace), data, args
        )

    print(
        f"\n{args.keys} keys, {args.lookups} single lookups, {max(100, args.lookups // 10)} "
        f"lookups of {BATCH} keys, seed {args.seed}; Python {platform.python_version()}\n"
    )
    print(
        "| backend | write rows/s | get p50 µs | get p99 µs | get_many(100) p50 µs "
        "| get_many(100) p99 µs |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['write']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} "
            f"| {r['m50']:.0f} | {r['m99']:.0f} |"
        )


if __name__ == "__main__":
    main()
