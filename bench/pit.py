"""Point-in-time training data: fti vs raw DuckDB ASOF vs Feast, on the same rows.

The workload is docs/architecture.md §5: the ``transactions`` spine (1M rows at ``--scale 1``)
joined point in time with ``card_features`` (100k cards × 10 snapshots) and
``merchant_features`` (10k merchants × 30 snapshots) from :func:`fti.demo.generate`. A set-up
process generates the rows, inserts them into three fti feature groups and writes them as
plain Parquet files (row groups of 122,880 rows, DuckDB's own size). Each trial then runs in
a fresh process (so peak RSS is per system and nothing is inherited) and times only the read:

* **fti**: ``query.read()`` (pandas) and ``query.to_arrow()`` of
  ``tx.select_all().join(cards.select_except(["event_ts"])).join(mer.select_except(
  ["event_ts"]), prefix="m_")``: pins the latest Delta commit of each group, loads the needed
  columns and runs one DuckDB statement with an ``ASOF LEFT JOIN`` per feature group, rows
  ordered by the spine's primary key and event time;
* **raw DuckDB**: the same ``ASOF LEFT JOIN`` statement straight over the Parquet files,
  ordered the same way (the lower bound), into pandas (through Arrow, and with ``.df()``)
  and into Arrow; and, for reference, into pandas without the ``ORDER BY``;
* **Feast**: ``store.get_historical_features(entity_df=<the spine as pandas>, features=[...])
  .to_df()`` with FileSource feature views over the same Parquet files, with the ``file`` and
  the ``duckdb`` offline store (``apply`` and building the entity DataFrame are not timed).

Every trial is cross-checked: the number of rows and of distinct spine rows (``tx_id``) must
equal the spine, fti and DuckDB must return them ordered by ``tx_id``, and the features of a
seeded sample of spine rows must equal a brute-force reference computed in plain Python from
the input rows (exact values; missing features are null). A mismatch of fti or raw DuckDB
makes the script exit with status 1; Feast's dropped rows and mismatches are reported as
numbers. Systems run interleaved (one trial of each per repeat); the report gives medians.

A cost-growth run then times fti (pandas) and raw DuckDB at every ``--growth`` scale, skipping
a scale whose peak RSS, extrapolated linearly from the largest scale run, exceeds
``--max-rss-gb``.

    .venv-bench/bin/python bench/pit.py --scale 1 --repeat 5 --profile 25   # ~16 min
    .venv-bench/bin/python bench/pit.py --scale 0.05 --repeat 1 --growth '' --profile 20
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import gc
import io
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from _common import commit, cpu, feast_yaml

TABLES = ["transactions", "card_features", "merchant_features"]
SPINE_KEY = "tx_id"
EVENT_TIME = "event_ts"
CARD_FEATURES = ["spend_1d", "spend_7d", "avg_amt_30d", "tx_count_7d"]
MERCHANT_FEATURES = ["avg_daily_spend", "fraud_rate_30d"]
PREFIX = "m_"  # fti's join prefix for the merchant features
OUTPUT_FEATURES = CARD_FEATURES + [PREFIX + f for f in MERCHANT_FEATURES]
ROW_GROUP = 122_880  # rows per Parquet row group: DuckDB's own row-group size
TARGET_ROWS_PER_S = 1_000_000  # docs/architecture.md §5
TARGET_RATIO = 1.5  # fti ÷ raw DuckDB, seconds
TARGET_RSS_MB = 1.5 * 1024
UNORDERED = "pandas, no ORDER BY"  # raw DuckDB's join alone: a reference row, not a baseline
Sample = dict[int, tuple[float | None, ...]]  # tx_id -> features in OUTPUT_FEATURES order


@dataclass
class Dataset:
    """What the set-up process made: where the rows are, and the reference sample."""

    scale: float
    spine_rows: int
    card_rows: int
    merchant_rows: int
    home: str  # the fti project
    parquet: str  # directory of <table>.parquet
    sample_ids: list[int]
    reference: Sample
    generate_seconds: float
    insert_seconds: float
    fti_sql: str


@dataclass
class Trial:
    system: str
    seconds: float  # the timed read
    rows: int  # rows returned
    distinct: int  # distinct spine rows (tx_id) among them
    ordered: bool  # ordered by tx_id
    peak_rss: int  # bytes, whole process (imports, inputs and the read)
    sample: Sample


@dataclass
class Summary:
    system: str
    output: str
    trials: list[Trial] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(t.seconds for t in self.trials)

    @property
    def rows_per_s(self) -> float:
        return self.trials[0].rows / self.seconds if self.trials[0].rows else 0.0

    @property
    def peak_rss_mb(self) -> float:
        return max(t.peak_rss for t in self.trials) / 2**20


# -- the workers (each runs in its own spawned process) ------------------------------------------


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _value(v: Any) -> float | None:
    """A feature value comparable across systems: None for null/NaN/NA, else a float."""
    if v is None:
        return None
    import pandas as pd

    if pd.isna(v):
        return None
    return float(v)


def _from_pandas(system: str, df: Any, ids: list[int], seconds: float, peak: int) -> Trial:
    keys = df[SPINE_KEY]
    picked = df.loc[keys.isin(ids), [SPINE_KEY, *OUTPUT_FEATURES]]
    sample = {
        int(row[0]): tuple(_value(v) for v in row[1:])
        for row in picked.itertuples(index=False, name=None)
    }
    return Trial(
        system,
        seconds,
        len(df),
        int(keys.nunique()),
        bool(keys.is_monotonic_increasing),
        peak,
        sample,
    )


def _from_arrow(system: str, table: Any, ids: list[int], seconds: float, peak: int) -> Trial:
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = table.column(SPINE_KEY)
    picked = table.filter(pc.is_in(keys, value_set=pa.array(ids, pa.int64())))
    columns = [picked.column(c).to_pylist() for c in [SPINE_KEY, *OUTPUT_FEATURES]]
    sample = {row[0]: tuple(_value(v) for v in row[1:]) for row in zip(*columns, strict=True)}
    ordered = table.num_rows < 2 or bool(
        pc.all(pc.greater(keys.slice(1), keys.slice(0, len(keys) - 1))).as_py()
    )
    distinct = pc.count_distinct(keys).as_py()
    return Trial(system, seconds, table.num_rows, distinct, ordered, peak, sample)


def _fti_query(home: str) -> tuple[Any, Any]:
    import fti

    project = fti.connect(home)
    fs = project.get_feature_store()
    tx = fs.get_feature_group("transactions", 1)
    cards = fs.get_feature_group("card_features", 1)
    mer = fs.get_feature_group("merchant_features", 1)
    query = (
        tx.select_all()
        .join(cards.select_except([EVENT_TIME]))
        .join(mer.select_except([EVENT_TIME]), prefix=PREFIX)
    )
    return project, query


def setup(scale: float, seed: int, work: str, sample: int) -> Dataset:
    """Generate the rows, insert them into fti and write them as Parquet; the reference."""
    import pyarrow.parquet as pq

    import fti
    from fti.demo import generate

    started = time.perf_counter()
    data = generate(scale=scale, seed=seed)
    generate_seconds = time.perf_counter() - started
    parquet = Path(work) / "parquet"
    parquet.mkdir(parents=True)
    for name in TABLES:
        pq.write_table(getattr(data, name), parquet / f"{name}.parquet", row_group_size=ROW_GROUP)

    home = str(Path(work) / "fti_home")
    project = fti.connect(home)
    try:
        fs = project.get_feature_store()
        started = time.perf_counter()
        for name, key in [
            ("transactions", SPINE_KEY),
            ("card_features", "cc_num"),
            ("merchant_features", "merchant_id"),
        ]:
            group = fs.create_feature_group(name, primary_key=[key], event_time=EVENT_TIME)
            group.insert(getattr(data, name))
        insert_seconds = time.perf_counter() - started
    finally:
        project.close()
    project, query = _fti_query(home)
    fti_sql = query.to_string()
    project.close()

    spine = data.transactions
    rng = np.random.default_rng(seed)
    ids = sorted(int(i) for i in rng.choice(spine.column(SPINE_KEY).to_numpy(), sample, False))
    reference = brute_force(data, ids)
    return Dataset(
        scale,
        spine.num_rows,
        data.card_features.num_rows,
        data.merchant_features.num_rows,
        home,
        str(parquet),
        ids,
        reference,
        generate_seconds,
        insert_seconds,
        fti_sql,
    )


def brute_force(data: Any, ids: list[int]) -> Sample:
    """The point-in-time features of the spine rows ``ids``, in plain Python (no join engine).

    For each spine row and feature group: the row of the same key with the greatest event
    time <= the spine row's event time, or nulls when there is none.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    spine = data.transactions
    rows = spine.filter(pc.is_in(spine.column(SPINE_KEY), value_set=pa.array(ids, pa.int64())))
    rows = rows.to_pylist()

    def history(table: pa.Table, key: str, features: list[str]) -> dict[int, Any]:
        wanted = pa.array(sorted({r[key] for r in rows}), pa.int64())
        picked = table.filter(pc.is_in(table.column(key), value_set=wanted)).to_pylist()
        by_key: dict[int, list[tuple[Any, tuple[Any, ...]]]] = {}
        for r in picked:
            by_key.setdefault(r[key], []).append((r[EVENT_TIME], tuple(r[f] for f in features)))
        return {k: sorted(v, key=lambda item: item[0]) for k, v in by_key.items()}

    groups = [
        ("cc_num", CARD_FEATURES, history(data.card_features, "cc_num", CARD_FEATURES)),
        (
            "merchant_id",
            MERCHANT_FEATURES,
            history(data.merchant_features, "merchant_id", MERCHANT_FEATURES),
        ),
    ]
    reference: Sample = {}
    for r in rows:
        values: list[float | None] = []
        for key, features, by_key in groups:
            snapshots = by_key.get(r[key], [])
            i = bisect.bisect_right([t for t, _ in snapshots], r[EVENT_TIME])
            found = snapshots[i - 1][1] if i else (None,) * len(features)
            values += [_value(v) for v in found]
        reference[r[SPINE_KEY]] = tuple(values)
    return reference


def fti_trial(home: str, output: str, ids: list[int], profile: str | None = None) -> Trial:
    import pandas  # noqa: F401  # imported before the clock starts, as for every system

    project, query = _fti_query(home)
    try:
        read = query.read if output == "pandas" else query.to_arrow
        gc.collect()
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            start = time.perf_counter()
            result = profiler.runcall(read)
            seconds = time.perf_counter() - start
            profiler.dump_stats(profile)
        else:
            start = time.perf_counter()
            result = read()
            seconds = time.perf_counter() - start
        peak = _peak_rss()
    finally:
        project.close()
    if output == "pandas":
        return _from_pandas("fti", result, ids, seconds, peak)
    return _from_arrow("fti", result, ids, seconds, peak)


def raw_sql(parquet: str, ordered: bool = True) -> str:
    """One statement, an ASOF LEFT JOIN per feature group, ordered as fti orders its output."""

    def scan(name: str) -> str:
        return (
            f"read_parquet('{Path(parquet, name + '.parquet') if parquet else name + '.parquet'}')"
        )

    cards = ", ".join(f"c.{f}" for f in CARD_FEATURES)
    merchants = ", ".join(f"m.{f} AS {PREFIX}{f}" for f in MERCHANT_FEATURES)
    return (
        f"SELECT t.*, {cards}, {merchants}\n"
        f"FROM {scan('transactions')} AS t\n"
        f"ASOF LEFT JOIN {scan('card_features')} AS c\n"
        f"  ON t.cc_num = c.cc_num AND t.{EVENT_TIME} >= c.{EVENT_TIME}\n"
        f"ASOF LEFT JOIN {scan('merchant_features')} AS m\n"
        f"  ON t.merchant_id = m.merchant_id AND t.{EVENT_TIME} >= m.{EVENT_TIME}"
        + (f"\nORDER BY t.{SPINE_KEY}, t.{EVENT_TIME}" if ordered else "")
    )


def duckdb_trial(parquet: str, output: str, ids: list[int]) -> Trial:
    """``output``: ``pandas`` (Arrow, then ``to_pandas``), ``df`` (``.df()``), ``arrow``, or
    ``unordered`` (``pandas`` without the ORDER BY: the join alone, for reference)."""
    import duckdb
    import pandas  # noqa: F401

    con = duckdb.connect()
    sql = raw_sql(parquet, ordered=output != "unordered")
    gc.collect()
    start = time.perf_counter()
    if output == "df":
        result = con.sql(sql).df()
    else:
        result = con.sql(sql).to_arrow_table()
        if output in ("pandas", "unordered"):
            result = result.to_pandas()
    seconds = time.perf_counter() - start
    peak = _peak_rss()
    con.close()
    if output == "arrow":
        return _from_arrow("raw DuckDB", result, ids, seconds, peak)
    return _from_pandas("raw DuckDB", result, ids, seconds, peak)


def feast_trial(parquet: str, work: str, offline: str, ids: list[int]) -> Trial:
    warnings.simplefilter("ignore")  # Feast and ibis deprecation chatter
    import pyarrow.parquet as pq
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64

    repo = Path(work) / "feature_repo"
    (repo / "data").mkdir(parents=True)
    (repo / "feature_store.yaml").write_text(feast_yaml(repo, offline))
    card = Entity(name="card", join_keys=["cc_num"], value_type=ValueType.INT64)
    merchant = Entity(name="merchant", join_keys=["merchant_id"], value_type=ValueType.INT64)
    no_expiry = timedelta(days=0)  # as fti: any older snapshot matches
    cards = FeatureView(
        name="card_features",
        entities=[card],
        ttl=no_expiry,
        schema=[
            Field(name="spend_1d", dtype=Float64),
            Field(name="spend_7d", dtype=Float64),
            Field(name="avg_amt_30d", dtype=Float64),
            Field(name="tx_count_7d", dtype=Int64),
        ],
        source=FileSource(
            path=str(Path(parquet, "card_features.parquet")), timestamp_field=EVENT_TIME
        ),
    )
    merchants = FeatureView(
        name="merchant_features",
        entities=[merchant],
        ttl=no_expiry,
        schema=[
            Field(name="avg_daily_spend", dtype=Float64),
            Field(name="fraud_rate_30d", dtype=Float64),
        ],
        source=FileSource(
            path=str(Path(parquet, "merchant_features.parquet")), timestamp_field=EVENT_TIME
        ),
    )
    store = FeatureStore(repo_path=str(repo))
    store.apply([card, merchant, cards, merchants])
    features = [f"card_features:{f}" for f in CARD_FEATURES] + [
        f"merchant_features:{f}" for f in MERCHANT_FEATURES
    ]
    entity_df = pq.read_table(Path(parquet, "transactions.parquet")).to_pandas()
    gc.collect()
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        df = store.get_historical_features(entity_df=entity_df, features=features).to_df()
        seconds = time.perf_counter() - start
    peak = _peak_rss()
    df = df.rename(columns={f: PREFIX + f for f in MERCHANT_FEATURES})
    return _from_pandas(f"Feast ({offline})", df, ids, seconds, peak)


def _in_fresh_process(fn: Callable[..., Any], *args: Any) -> Any:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# -- checks and reporting ------------------------------------------------------------------------


def check(trial: Trial, data: Dataset, strict: bool, ordered: bool) -> str:
    """One line; starts with OK, MISMATCH (fails the run) or NOTE (Feast: reported only).

    ``ordered``: the rows must come ordered by ``tx_id``.
    """
    missing = [i for i in data.reference if i not in trial.sample]
    wrong = [i for i, v in data.reference.items() if i in trial.sample and trial.sample[i] != v]
    dropped = data.spine_rows - trial.distinct
    duplicates = trial.rows - trial.distinct
    ok = (
        trial.rows == data.spine_rows
        and dropped == 0
        and not missing
        and not wrong
        and (trial.ordered or not ordered)
    )
    verdict = "OK" if ok else "MISMATCH" if strict else "NOTE"
    line = (
        f"{verdict}: {trial.system}: {trial.rows:,} rows for {data.spine_rows:,} spine rows "
        f"({dropped:,} spine rows dropped = {dropped / data.spine_rows:.1%}, "
        f"{duplicates:,} duplicated); "
        f"{len(data.reference) - len(missing) - len(wrong):,}/{len(data.reference):,} sampled "
        f"rows hold the reference values, {len(wrong):,} differ, {len(missing):,} missing"
    )
    if ordered:
        line += "; ordered by tx_id" if trial.ordered else "; NOT ordered by tx_id"
    if missing:
        unmatched = sum(None in data.reference[i] for i in missing)
        line += (
            f" ({unmatched:,} of the {len(missing):,} missing have no earlier row in a "
            "feature group: null features in the reference)"
        )
    if wrong:
        i = wrong[0]
        line += f"; e.g. tx_id {i}: {trial.sample[i]} != {data.reference[i]}"
    return line


def agree(a: Trial, b: Trial) -> str:
    """fti against raw DuckDB directly, on the sampled rows (exact)."""
    differ = [i for i in a.sample if a.sample[i] != b.sample.get(i)]
    differ += [i for i in b.sample if i not in a.sample]
    verdict = "OK" if not differ else "MISMATCH"
    return (
        f"{verdict}: {a.system} ({a.rows:,} rows) vs {b.system} ({b.rows:,} rows): "
        f"{len(differ):,} of {len(a.sample | b.sample):,} sampled rows differ"
    )


def _versions() -> str:
    from importlib.metadata import version

    names = ["fti", "feast", "deltalake", "duckdb", "pyarrow", "pandas"]
    return ", ".join(f"{n} {version(n)}" for n in names)


def report(
    summaries: list[Summary], data: Dataset, args: argparse.Namespace, load: float
) -> list[str]:
    by = {(s.system, s.output): s for s in summaries}
    bound_pandas = min(
        (s for s in summaries if s.system == "raw DuckDB" and s.output not in ("Arrow", UNORDERED)),
        key=lambda s: s.seconds,
        default=None,
    )
    bound_arrow = by.get(("raw DuckDB", "Arrow"))
    fti_pandas = by.get(("fti", "pandas"))
    lines = [
        f"{data.spine_rows:,}-row transactions spine × card_features ({data.card_rows:,} rows) "
        f"× merchant_features ({data.merchant_rows:,} rows), scale {data.scale:g}, seed "
        f"{args.seed}; median of {args.repeat} runs, each in a fresh process; "
        f"{os.cpu_count()} CPUs ({cpu()}), Python {platform.python_version()}; {_versions()} "
        f"(commit {args.commit}); "
        f"1-minute load average {load:.2f} before the runs, {os.getloadavg()[0]:.2f} after",
        "",
        "| system | into | median s | rows/s | ÷ raw DuckDB | fti faster by | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        bound = bound_arrow if s.output == "Arrow" else bound_pandas
        ratio = f"{s.seconds / bound.seconds:.2f}×" if bound and s.output != UNORDERED else ""
        faster = ""
        if s.system.startswith("Feast") and fti_pandas:
            faster = f"{s.seconds / fti_pandas.seconds:.1f}×"
        lines.append(
            f"| {s.system} | {s.output} | {s.seconds:.2f} | {s.rows_per_s:,.0f} | {ratio} | "
            f"{faster} | {s.peak_rss_mb:,.0f} |"
        )
    lines.append("")
    if bound_pandas is not None:
        lines.append(
            f"÷ raw DuckDB: seconds divided by raw DuckDB's into the same kind of output (pandas: "
            f"the faster raw DuckDB path, {bound_pandas.output}). fti faster by: the Feast "
            "set-up's seconds divided by fti's into pandas. "
            f"{UNORDERED}: raw DuckDB's join without ordering the rows (for reference)."
        )
    if fti_pandas is not None:
        verdicts = [
            f"{fti_pandas.rows_per_s:,.0f} rows/s into pandas "
            f"({'meets' if fti_pandas.rows_per_s >= TARGET_ROWS_PER_S else 'MISSES'} "
            f"≥ {TARGET_ROWS_PER_S:,})",
        ]
        if bound_pandas is not None:
            ratio = fti_pandas.seconds / bound_pandas.seconds
            verdicts.append(
                f"{ratio:.2f}× raw DuckDB ({'meets' if ratio <= TARGET_RATIO else 'MISSES'} "
                f"≤ {TARGET_RATIO}×)"
            )
        verdicts.append(
            f"peak RSS {fti_pandas.peak_rss_mb:,.0f} MB "
            f"({'meets' if fti_pandas.peak_rss_mb <= TARGET_RSS_MB else 'MISSES'} ≤ 1.5 GB)"
        )
        lines.append(f"Targets (docs/architecture.md §5), fti into pandas: {'; '.join(verdicts)}.")
    return lines


def growth_report(rows: list[tuple[Dataset, Summary, Summary]], skipped: list[str]) -> list[str]:
    lines = [
        "| scale | spine rows | fti s | fti rows/s | fti s per 1M rows | raw DuckDB s | "
        "raw DuckDB rows/s | ÷ raw DuckDB | fti peak RSS MB | raw DuckDB peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for data, fti, raw in rows:
        lines.append(
            f"| {data.scale:g} | {data.spine_rows:,} | {fti.seconds:.2f} | "
            f"{fti.rows_per_s:,.0f} | {fti.seconds / data.spine_rows * 1e6:.2f} | "
            f"{raw.seconds:.2f} | {raw.rows_per_s:,.0f} | {fti.seconds / raw.seconds:.2f}× | "
            f"{fti.peak_rss_mb:,.0f} | {raw.peak_rss_mb:,.0f} |"
        )
    if len(rows) >= 2:
        (d0, f0, _), (d1, f1, _) = rows[0], rows[-1]
        growth = (f1.seconds / f0.seconds) / (d1.spine_rows / d0.spine_rows)
        lines += [
            "",
            f"From scale {d0.scale:g} to {d1.scale:g} the rows grow "
            f"{d1.spine_rows / d0.spine_rows:g}× and fti's time {f1.seconds / f0.seconds:.1f}× "
            f"({growth:.2f}× linear).",
        ]
    for line in skipped:
        lines.append(line)
    return lines


def print_profile(path: str, top: int) -> None:
    import pstats

    print(f"\ncProfile of one fti query.read() (pandas), top {top} by cumulative time:\n")
    stats = pstats.Stats(path).strip_dirs()
    stats.files = []  # type: ignore[attr-defined]  # no header naming the temporary file
    stats.sort_stats("cumulative").print_stats(top)


def run_trials(
    runs: list[tuple[Summary, Callable[[str], Trial]]],
    repeat: int,
    work: Path,
    data: Dataset,
    checks: list[str],
) -> None:
    for r in range(repeat):
        for i, (summary, run) in enumerate(runs):  # interleaved: drift hits all alike
            trial_dir = work / f"trial-{data.scale:g}-{r}-{i}"
            trial = run(str(trial_dir))
            shutil.rmtree(trial_dir, ignore_errors=True)
            trial.system = f"{summary.system} → {summary.output}"
            summary.trials.append(trial)
            strict = not summary.system.startswith("Feast")
            ordered = strict and summary.output != UNORDERED
            checks.append(check(trial, data, strict, ordered))
            print(
                f"scale {data.scale:g} run {r + 1}/{repeat}: {trial.system}: "
                f"{trial.seconds:.2f} s, {trial.rows / trial.seconds:,.0f} rows/s, "
                f"peak RSS {trial.peak_rss / 2**20:,.0f} MB",
                flush=True,
            )


def _plan(
    data: Dataset, feast: list[str], full: bool
) -> list[tuple[Summary, Callable[[str], Trial]]]:
    """What to run, in the order of one repeat (``full``: every output; else the growth pair)."""
    ids = data.sample_ids
    outputs = [("pandas", "pandas"), ("arrow", "Arrow")] if full else [("pandas", "pandas")]
    runs: list[tuple[Summary, Callable[[str], Trial]]] = []
    for output, label in outputs:

        def run_fti(work: str, output: str = output) -> Trial:
            return _in_fresh_process(fti_trial, data.home, output, ids)

        runs.append((Summary("fti", label), run_fti))
    raw = [
        ("pandas", "pandas (via Arrow)"),
        ("df", "pandas (.df())"),
        ("arrow", "Arrow"),
        ("unordered", UNORDERED),
    ]
    for output, label in raw if full else raw[:1]:

        def run_raw(work: str, output: str = output) -> Trial:
            return _in_fresh_process(duckdb_trial, data.parquet, output, ids)

        runs.append((Summary("raw DuckDB", label), run_raw))
    for offline in feast:

        def run_feast(work: str, offline: str = offline) -> Trial:
            return _in_fresh_process(feast_trial, data.parquet, work, offline, ids)

        runs.append((Summary(f"Feast ({offline})", "pandas"), run_feast))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = a 1M-row spine")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3, help="runs per system (median)")
    parser.add_argument("--sample", type=int, default=1_000, help="spine rows cross-checked")
    parser.add_argument("--growth", default="1,2,5,10", help="scales of the cost-growth run")
    parser.add_argument(
        "--max-rss-gb", type=float, default=8.0, help="skip growth scales predicted above this"
    )
    parser.add_argument("--skip-feast", action="store_true", help="leave Feast out")
    parser.add_argument("--feast-offline", default="file,duckdb", help="Feast offline stores")
    parser.add_argument("--profile", type=int, default=0, help="print cProfile's top N entries")
    parser.add_argument("--work-dir", help="where the data goes (default: the temp dir)")
    args = parser.parse_args()
    feast = [] if args.skip_feast else [o for o in args.feast_offline.split(",") if o]
    growth = [float(s) for s in args.growth.split(",") if s]

    load = os.getloadavg()[0]
    args.commit = commit()
    work = Path(tempfile.mkdtemp(prefix="fti-bench-pit-", dir=args.work_dir))
    checks: list[str] = []
    agreements: list[str] = []
    try:

        def prepare(scale: float) -> Dataset:
            data = _in_fresh_process(
                setup, scale, args.seed, str(work / f"scale-{scale:g}"), args.sample
            )
            print(
                f"scale {scale:g}: generated {data.spine_rows:,} spine rows in "
                f"{data.generate_seconds:.2f} s, inserted the three tables into fti in "
                f"{data.insert_seconds:.2f} s (not timed below)",
                flush=True,
            )
            return data

        data = prepare(args.scale)
        runs = _plan(data, feast, full=True)
        run_trials(runs, args.repeat, work, data, checks)
        summaries = [s for s, _ in runs]
        by = {(s.system, s.output): s for s in summaries}
        for output in ["pandas", "Arrow"]:
            raw = by[("raw DuckDB", "Arrow" if output == "Arrow" else "pandas (via Arrow)")]
            pairs = zip(by[("fti", output)].trials, raw.trials, strict=True)
            agreements += [agree(f, r) for f, r in pairs]
        main_report = report(summaries, data, args, load)

        grown: list[tuple[Dataset, Summary, Summary]] = []
        skipped: list[str] = []
        for scale in growth:
            if grown:
                last, fti_last, raw_last = grown[-1]
                predicted = max(fti_last.peak_rss_mb, raw_last.peak_rss_mb) * scale / last.scale
                if predicted > args.max_rss_gb * 1024:
                    skipped.append(
                        f"Scale {scale:g} skipped: peak RSS extrapolated from scale "
                        f"{last.scale:g} is {predicted / 1024:.1f} GB > {args.max_rss_gb:g} GB."
                    )
                    continue
            if scale == args.scale:
                grown.append(
                    (data, by[("fti", "pandas")], by[("raw DuckDB", "pandas (via Arrow)")])
                )
                continue
            scaled = prepare(scale)
            pair = _plan(scaled, [], full=False)
            run_trials(pair, args.repeat, work, scaled, checks)
            agreements += [
                agree(f, r) for f, r in zip(pair[0][0].trials, pair[1][0].trials, strict=True)
            ]
            grown.append((scaled, pair[0][0], pair[1][0]))
            shutil.rmtree(work / f"scale-{scale:g}", ignore_errors=True)

        print("\nCross-check against a brute-force reference of the sampled spine rows:")
        for line in dict.fromkeys(checks):
            print(f"  {line}")
        print("fti against raw DuckDB on the sampled rows:")
        for line in dict.fromkeys(agreements):
            print(f"  {line}")
        print()
        print("\n".join(main_report))
        if grown:
            print(
                f"\nCost growth: fti query.read() (pandas) and raw DuckDB (pandas via Arrow), "
                f"median of {args.repeat} runs per scale:\n"
            )
            print("\n".join(growth_report(grown, skipped)))
        print("\nfti's query.to_string():\n")
        print(data.fti_sql)
        print("\nraw DuckDB runs (over the Parquet files):\n")
        print(raw_sql(""))
        if commit() != args.commit:
            print(
                f"\nWARNING: the code changed during the run ({args.commit} → {commit()}): "
                "trials may have run different versions of fti"
            )
        if args.profile:
            profile = str(work / "fti.prof")
            _in_fresh_process(fti_trial, data.home, "pandas", data.sample_ids, profile)
            print_profile(profile, args.profile)
        if any(line.startswith("MISMATCH") for line in checks + agreements):
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
