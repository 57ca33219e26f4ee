"""Ingest into offline + online storage: fti vs Feast side by side, on the same rows.

The rows are docs/architecture.md §5 ``card_features`` (100k cards × 10 snapshots = 1M rows at
``--scale 1``) from :func:`fti.demo.generate`. Each trial runs in a fresh process (so peak RSS
is per system and no system inherits another's caches or imports) that receives the same Arrow
table, then times only the ingest:

* **fti**: ``fg.insert(table)`` into a new project: one Delta commit, statistics, the newest row
  per key into the online store (LMDB, the default, and SQLite, Feast's embedded store).
* **Feast**: the table is written to a Parquet file (timed apart, it is Feast's "offline
  write"), a FileSource FeatureView is applied in a new repo (sqlite online store; file or
  duckdb offline store), then ``store.materialize(start, end)`` is timed. Rows/s divides the
  *source* rows by the materialize time, the way Feast's materialization rate is usually quoted.

fti's two other insert paths are timed too (``--fti-paths``): the next batch of a daily
pipeline (later event times: a Delta append, every online key compared) and a correction of
every row (same keys and event times: a Delta MERGE).

After every trial, the online store is checked against the newest row per key computed
independently (DuckDB): the number of keys and the values of a seeded sample of keys must
match exactly, for fti and for Feast; any mismatch makes the script exit with status 1.
Systems run interleaved (one trial of each per repeat) and the report gives the median.

With ``--wide-columns`` the script times wide tables instead (``_ingest_wide``): one insert
of ``--wide-rows`` rows per width into a group with statistics enabled, and the statistics
alone; they should grow linearly with the number of columns.

    .venv-bench/bin/python bench/ingest.py --scale 1            # the full comparison, ~3 min
    .venv-bench/bin/python bench/ingest.py --scale 0.01 --repeat 1 --profile 20
    .venv-bench/bin/python bench/ingest.py --wide-columns 250,1000,2500,10000 --wide-rows 10000
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from _common import cpu, feast_yaml, versions

FEATURES = ["spend_1d", "spend_7d", "avg_amt_30d", "tx_count_7d"]
KEY = "cc_num"
EVENT_TIME = "event_ts"
TARGET_ROWS_PER_S = 500_000  # docs/architecture.md §5
Sample = dict[int, tuple[Any, ...]]  # key -> (feature values in FEATURES order)


@dataclass
class Trial:
    system: str
    seconds: float  # the timed ingest
    rows: int
    online_keys: int
    peak_rss: int  # bytes, whole process (input table, imports and the ingest)
    sample: Sample
    offline_write_seconds: float | None = None  # Feast: writing its Parquet source


@dataclass
class Summary:
    system: str
    offline: str
    online: str
    scenario: str
    trials: list[Trial] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(t.seconds for t in self.trials)

    @property
    def rows_per_s(self) -> float:
        return self.trials[0].rows / self.seconds

    @property
    def peak_rss_mb(self) -> float:
        return max(t.peak_rss for t in self.trials) / 2**20


# -- the workers (each runs in its own spawned process) ------------------------------------------


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _later(table: pa.Table, by: timedelta) -> pa.Table:
    """The same rows with every event time moved ``by`` later."""
    import pyarrow.compute as pc

    column = table.schema.get_field_index(EVENT_TIME)
    shifted = pc.add(table.column(EVENT_TIME), pa.scalar(by, pa.duration("us")))
    return table.set_column(column, EVENT_TIME, shifted.cast(table.schema.field(column).type))


def fti_trial(
    source: str,
    work: str,
    online_store: str,
    keys: list[int],
    scenario: str = "load",
    profile: str | None = None,
) -> Trial:
    """Time one ``fg.insert`` of the rows; ``scenario`` says into what.

    ``load``: into a new, empty feature group (the first load). ``append``: the rows 60 days
    later into a group that already holds them (a daily pipeline: a Delta append, and every
    key is compared with the stored one online). ``upsert``: the same rows again (a
    correction of every row: a Delta MERGE updating 1M rows, equal event times online).
    """
    import fti

    table = pq.read_table(source)
    project = fti.connect(Path(work) / "fti_home", online_store=online_store)
    try:
        fs = project.get_feature_store()
        fg = fs.get_or_create_feature_group(
            "card_features",
            1,
            primary_key=[KEY],
            event_time=EVENT_TIME,
            online_enabled=True,
        )
        if scenario != "load":
            fg.insert(table)
            if scenario == "append":
                table = _later(table, timedelta(days=60))
        gc.collect()
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            start = time.perf_counter()
            result = profiler.runcall(fg.insert, table)
            seconds = time.perf_counter() - start
            profiler.dump_stats(profile)
        else:
            start = time.perf_counter()
            result = fg.insert(table)
            seconds = time.perf_counter() - start
        peak = _peak_rss()
        assert result is not None
        online_keys = len(fg.read(online=True))
        if online_keys != result.online_rows:
            raise AssertionError(f"insert reported {result.online_rows} online rows")
        found = fg.lookup(keys, FEATURES)
        sample = {k: tuple(v[f] for f in FEATURES) for k, v in zip(keys, found, strict=True) if v}
    finally:
        project.close()
    name = f"fti ({online_store})" if scenario == "load" else f"fti ({online_store}, {scenario})"
    return Trial(name, seconds, table.num_rows, online_keys, peak, sample)


def feast_trial(
    source: str, work: str, offline: str, keys: list[int], window: tuple[datetime, datetime]
) -> Trial:
    warnings.simplefilter("ignore")  # Feast and ibis deprecation chatter
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64

    table = pq.read_table(source)
    repo = Path(work) / "feature_repo"
    (repo / "data").mkdir(parents=True)
    (repo / "feature_store.yaml").write_text(feast_yaml(repo, offline))
    parquet = repo / "data" / "card_features.parquet"
    start = time.perf_counter()
    pq.write_table(table, parquet)
    offline_seconds = time.perf_counter() - start

    card = Entity(name="card", join_keys=[KEY], value_type=ValueType.INT64)
    view = FeatureView(
        name="card_features",
        entities=[card],
        ttl=timedelta(days=0),  # no expiry: every materialized value stays servable
        schema=[
            Field(name="spend_1d", dtype=Float64),
            Field(name="spend_7d", dtype=Float64),
            Field(name="avg_amt_30d", dtype=Float64),
            Field(name="tx_count_7d", dtype=Int64),
        ],
        source=FileSource(path=str(parquet), timestamp_field=EVENT_TIME),
        online=True,
    )
    store = FeatureStore(repo_path=str(repo))
    store.apply([card, view])
    gc.collect()
    # Feast prints progress: kept out of the report (printing costs next to nothing).
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        # Both ends widened by a second: every row of the window is inside.
        store.materialize(window[0] - timedelta(seconds=1), window[1] + timedelta(seconds=1))
        seconds = time.perf_counter() - start
    peak = _peak_rss()

    with sqlite3.connect(repo / "data" / "online.db") as con:
        (name,) = con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%card_features'"
        ).fetchone()
        ((online_keys,),) = con.execute(f'SELECT count(DISTINCT entity_key) FROM "{name}"')
    found = store.get_online_features(
        features=[f"card_features:{f}" for f in FEATURES],
        entity_rows=[{KEY: k} for k in keys],
    ).to_dict()
    sample = {
        k: tuple(values)
        for k, *values in zip(found[KEY], *(found[f] for f in FEATURES), strict=True)
        if any(v is not None for v in values)
    }
    return Trial(
        f"Feast ({offline} + sqlite)",
        seconds,
        table.num_rows,
        online_keys,
        peak,
        sample,
        offline_seconds,
    )


def _in_fresh_process(fn: Callable[..., Trial], *args: Any) -> Trial:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# -- ground truth and reporting ------------------------------------------------------------------


def expected(table: pa.Table, keys: list[int]) -> tuple[int, Sample]:
    """Number of keys and the newest row per sampled key, straight from the input (DuckDB)."""
    import duckdb

    con = duckdb.connect()
    con.register("cards", table)
    con.register("wanted", pa.table({KEY: keys}))
    ((distinct,),) = con.sql(f"SELECT count(DISTINCT {KEY}) FROM cards").fetchall()
    rows = con.sql(
        f"SELECT {KEY}, {', '.join(FEATURES)} FROM cards SEMI JOIN wanted USING ({KEY}) "
        f"QUALIFY row_number() OVER (PARTITION BY {KEY} ORDER BY {EVENT_TIME} DESC) = 1"
    ).fetchall()
    con.close()
    return distinct, {row[0]: tuple(row[1:]) for row in rows}


def check(trial: Trial, keys: int, truth: Sample) -> str:
    wrong = [k for k, v in truth.items() if trial.sample.get(k) != v]
    ok = trial.online_keys == keys and not wrong and len(trial.sample) == len(truth)
    verdict = "OK" if ok else "MISMATCH"
    return (
        f"{verdict}: {trial.system}: {trial.online_keys:,} keys online (expected {keys:,}); "
        f"{len(truth) - len(wrong):,}/{len(truth):,} sampled keys hold the newest values"
        + (
            f", e.g. key {wrong[0]}: {trial.sample.get(wrong[0])} != {truth[wrong[0]]}"
            if wrong
            else ""
        )
    )


def _versions() -> str:
    # the installed ones: the wide-table case and fti-only runs need no Feast
    return ", ".join(versions(["fti", "feast", "deltalake", "duckdb", "pyarrow", "pandas", "lmdb"]))


def _table(summaries: list[Summary], baseline: Summary | None) -> list[str]:
    lines = [
        "| system | offline store | online store | median s | rows/s | ÷ Feast | peak RSS MB |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for s in summaries:
        ratio = "" if baseline is None else f"{s.rows_per_s / baseline.rows_per_s:.1f}×"
        lines.append(
            f"| {s.system} | {s.offline} | {s.online} | {s.seconds:.2f} | "
            f"{s.rows_per_s:,.0f} | {ratio} | {s.peak_rss_mb:,.0f} |"
        )
    return lines


def report(summaries: list[Summary], args: argparse.Namespace, rows: int, load: float) -> str:
    loads = [s for s in summaries if s.scenario == "load"]
    feast = [s for s in loads if s.system.startswith("Feast")]
    baseline = max(feast, key=lambda s: s.rows_per_s) if feast else None
    lines = [
        f"{rows:,} card_features rows (scale {args.scale:g}, seed {args.seed}), median of "
        f"{args.repeat} runs, each in a fresh process; {os.cpu_count()} CPUs ({cpu()}), "
        f"Python {platform.python_version()}; {_versions()}; 1-minute load average "
        f"{load:.2f} before the runs, {os.getloadavg()[0]:.2f} after (other work on the machine "
        "shows here)",
        "",
        *_table(loads, baseline),
        "",
    ]
    if baseline is not None:
        lines.append(
            f"÷ Feast: rows/s divided by the faster Feast set-up's ({baseline.offline} "
            "offline store)."
        )
    for s in feast:
        write = statistics.median(t.offline_write_seconds or 0.0 for t in s.trials)
        lines.append(
            f"Feast with the {s.offline} offline store: rows/s counts materialize only; "
            f"writing the Parquet source took {write:.2f} s more "
            f"({rows / (write + s.seconds):,.0f} rows/s end to end)."
        )
    verdicts = [
        f"{s.online} {'meets' if s.rows_per_s >= TARGET_ROWS_PER_S else 'MISSES'} it"
        for s in loads
        if s.system == "fti"
    ]
    if verdicts:
        lines.append(
            f"Target (architecture §5): ≥ {TARGET_ROWS_PER_S:,} rows/s into offline + online; "
            f"fti with {'; with '.join(verdicts)}."
        )
    others = [s for s in summaries if s.scenario != "load"]
    if others:
        lines += [
            "",
            "fti's other insert paths (same rows, one insert into a group already holding them):",
            "",
            *_table(others, baseline),
            "",
            "append: the rows 60 days later (Delta append; every key compared online, all newer).",
            "upsert: the same rows again (Delta MERGE updating every row; equal event times "
            "replace online).",
        ]
    return "\n".join(lines)


def print_profile(path: str, top: int, scenario: str) -> None:
    import pstats

    print(f"\ncProfile of one fti insert (LMDB, {scenario}), top {top} by cumulative time:\n")
    stats = pstats.Stats(path).strip_dirs()
    stats.files = []  # type: ignore[attr-defined]  # no header naming the temporary file
    stats.sort_stats("cumulative").print_stats(top)


def _plan(
    args: argparse.Namespace, source: str, keys: list[int], window: tuple[datetime, datetime]
) -> list[tuple[Summary, Callable[[str], Trial]]]:
    """What to run, in the order of one repeat."""
    runs: list[tuple[Summary, Callable[[str], Trial]]] = []
    stores = [s for s in args.fti_online.split(",") if s]
    for scenario in ["load", *(s for s in args.fti_paths.split(",") if s)]:
        for store in stores:
            name = "fti" if scenario == "load" else f"fti, {scenario}"
            summary = Summary(name, "Delta Lake", _ONLINE[store], scenario)

            def run_fti(work: str, store: str = store, scenario: str = scenario) -> Trial:
                return _in_fresh_process(fti_trial, source, work, store, keys, scenario)

            runs.append((summary, run_fti))
        if scenario != "load":
            continue
        for offline in (o for o in args.feast_offline.split(",") if o):

            def run_feast(work: str, offline: str = offline) -> Trial:
                return _in_fresh_process(feast_trial, source, work, offline, keys, window)

            runs.append((Summary("Feast", f"{offline} (Parquet)", "SQLite", "load"), run_feast))
    return runs


_ONLINE = {"lmdb": "LMDB", "sqlite": "SQLite"}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 1M card_features rows")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3, help="runs per system (median)")
    parser.add_argument("--sample", type=int, default=1_000, help="keys cross-checked")
    parser.add_argument("--fti-online", default="lmdb,sqlite", help="fti online stores")
    parser.add_argument(
        "--fti-paths", default="append,upsert", help="fti insert paths besides the first load"
    )
    parser.add_argument("--feast-offline", default="file,duckdb", help="Feast offline stores")
    parser.add_argument("--profile", type=int, default=0, help="print cProfile's top N entries")
    parser.add_argument("--profile-path", default="load", help="fti insert path to profile")
    parser.add_argument("--work-dir", help="where the projects go (default: the temp dir)")
    parser.add_argument(
        "--wide-columns",
        default="",
        help="time one insert of a table this wide instead (a comma-separated list: one per width)",
    )
    parser.add_argument("--wide-rows", type=int, default=10_000, help="rows of the wide tables")
    args = parser.parse_args()
    if args.wide_columns:
        import _ingest_wide

        widths = [int(w) for w in args.wide_columns.split(",") if w]
        sys.exit(_ingest_wide.main(widths, args.wide_rows, args.seed, args.work_dir))

    from fti.demo import generate

    load = os.getloadavg()[0]
    started = time.perf_counter()
    data = generate(scale=args.scale, seed=args.seed)
    table = data.card_features
    print(f"generated {table.num_rows:,} rows in {time.perf_counter() - started:.2f} s")
    work = Path(tempfile.mkdtemp(prefix="fti-bench-ingest-", dir=args.work_dir))
    try:
        source = str(work / "card_features.parquet")
        pq.write_table(table, source)
        rng = np.random.default_rng(args.seed)
        cc_nums = np.unique(table.column(KEY).to_numpy())
        keys = [int(k) for k in rng.choice(cc_nums, min(args.sample, len(cc_nums)), False)]
        distinct, truth = expected(table, keys)
        runs = _plan(args, source, keys, (data.window_start, data.window_end))

        checks: list[str] = []
        for repeat in range(args.repeat):
            for i, (summary, run) in enumerate(runs):  # interleaved: drift hits all alike
                trial_dir = work / f"trial-{repeat}-{i}"
                trial = run(str(trial_dir))
                shutil.rmtree(trial_dir, ignore_errors=True)
                summary.trials.append(trial)
                checks.append(check(trial, distinct, truth))
                print(
                    f"run {repeat + 1}/{args.repeat}: {trial.system}: {trial.seconds:.2f} s, "
                    f"{trial.rows / trial.seconds:,.0f} rows/s",
                    flush=True,
                )

        print("\nCross-check against the newest row per key of the input:")
        for line in dict.fromkeys(checks):
            print(f"  {line}")
        print()
        print(report([summary for summary, _ in runs], args, table.num_rows, load))
        if args.profile:
            profile = str(work / "fti.prof")
            _in_fresh_process(
                fti_trial, source, str(work / "profile"), "lmdb", keys, args.profile_path, profile
            )
            print_profile(profile, args.profile, args.profile_path)
        if any(not line.startswith("OK") for line in checks):
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
