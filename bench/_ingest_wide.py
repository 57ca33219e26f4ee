"""``bench/ingest.py --wide-columns``: one insert of a wide table, statistics enabled.

Each width runs in a fresh process that generates the table (seeded; a third each of float
columns with NaN and nulls, integer columns with nulls and string columns of 50 values, plus
an ``id`` key), then times ``fg.insert(table)`` into a new offline feature group with
statistics enabled (input checks, one Delta commit, the statistics computed while Delta
writes), and apart from it ``fti.statistics.describe(table)``, the statistics alone. The
statistics stored with the commit are checked, for every column, against count, nulls, min,
max and mean computed with NumPy from the input; any mismatch makes the script exit with
status 1.
"""

from __future__ import annotations

import math
import os
import platform
import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from _common import cpu, versions

# The target: statistics of 10,000 columns × 10,000 rows in seconds, growing linearly.
TARGET_SECONDS = 10.0
TARGET_SHAPE = (10_000, 10_000)  # columns, rows


@dataclass
class WideTrial:
    columns: int
    rows: int
    insert_seconds: float
    statistics_seconds: float  # describe(table) alone
    peak_rss: int  # bytes, whole process
    mismatches: list[str]


def wide_table(columns: int, rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    data: dict[str, pa.Array] = {"id": pa.array(np.arange(rows))}
    for i in range(columns):
        nulls = rng.random(rows) < 0.05
        if i % 3 == 0:
            values = rng.normal(size=rows)
            values[rng.random(rows) < 0.05] = np.nan
            data[f"f{i}"] = pa.array(values, mask=nulls)
        elif i % 3 == 1:
            data[f"i{i}"] = pa.array(rng.integers(0, 1_000, rows), mask=nulls)
        else:
            data[f"s{i}"] = pa.array(rng.integers(0, 50, rows).astype(str), mask=nulls)
    return pa.table(data)


def wide_trial(columns: int, rows: int, seed: int, work: str) -> WideTrial:
    import fti
    from fti.statistics import describe

    table = wide_table(columns, rows, seed)
    project = fti.connect(Path(work) / "fti_home")
    try:
        fs = project.get_feature_store()
        fg = fs.create_feature_group("wide", 1, primary_key=["id"], statistics_enabled=True)
        start = time.perf_counter()
        fg.insert(table)
        insert_seconds = time.perf_counter() - start
        stored = fg.statistics()
    finally:
        project.close()
    start = time.perf_counter()
    describe(table)
    statistics_seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    mismatches = check(table, stored)
    return WideTrial(columns, rows, insert_seconds, statistics_seconds, peak, mismatches)


def check(table: pa.Table, stored: dict[str, Any] | None) -> list[str]:
    """Each column's stored count, nulls, min, max and mean against NumPy on the input."""
    if stored is None or set(stored["columns"]) != set(table.column_names):
        return ["the commit's statistics are missing or lack columns"]
    wrong = []
    for name in table.column_names:
        got, column = stored["columns"][name], table.column(name)
        if name.startswith("s"):
            distinct = pc.count_distinct(column).as_py()
            expected: dict[str, Any] = {"count": len(column) - column.null_count}
            expected["distinct_count"] = distinct
        else:
            values = column.to_numpy()  # nulls as NaN
            finite = values[np.isfinite(values)]
            expected = {"count": len(finite), "min": finite.min(), "max": finite.max()}
            expected["mean"] = finite.mean()
        expected["null_count"] = column.null_count
        for key, want in expected.items():
            if not math.isclose(got[key], want, rel_tol=1e-9, abs_tol=1e-12):
                wrong.append(f"{name}.{key}: {got[key]} != {want}")
    return wrong


def _fresh(columns: int, rows: int, seed: int, work: str) -> WideTrial:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(wide_trial, columns, rows, seed, work).result()


def report(trials: list[WideTrial], seed: int, load: float) -> str:
    lines = [
        f"One insert of a wide table per width (seed {seed}), each in a fresh process; "
        f"{os.cpu_count()} CPUs ({cpu()}), Python {platform.python_version()}; "
        f"{', '.join(versions(['fti', 'deltalake', 'duckdb', 'pyarrow', 'numpy']))}; 1-minute "
        f"load average {load:.2f} before the runs, {os.getloadavg()[0]:.2f} after",
        "",
        "| columns | rows | insert s | statistics s | statistics µs per column | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for t in trials:
        lines.append(
            f"| {t.columns:,} | {t.rows:,} | {t.insert_seconds:.2f} | "
            f"{t.statistics_seconds:.2f} | {t.statistics_seconds / t.columns * 1e6:,.0f} | "
            f"{t.peak_rss / 2**20:,.0f} |"
        )
    lines += [
        "",
        "insert: fg.insert of the table into a new offline group, statistics enabled (they run "
        "while Delta writes); statistics: describe(table) alone, on the same table.",
    ]
    target = [t for t in trials if (t.columns, t.rows) == TARGET_SHAPE]
    if target:
        verdict = "meets" if target[0].statistics_seconds <= TARGET_SECONDS else "MISSES"
        lines.append(
            f"Target: statistics of {TARGET_SHAPE[0]:,} columns × {TARGET_SHAPE[1]:,} rows in "
            f"≤ {TARGET_SECONDS:.0f} s, growing linearly with the columns: {verdict} it "
            f"({target[0].statistics_seconds:.2f} s)."
        )
    return "\n".join(lines)


def main(widths: list[int], rows: int, seed: int, work_dir: str | None) -> int:
    """Run every width, print the report; the exit status (1 when a check failed)."""
    load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="fti-bench-wide-", dir=work_dir))
    trials = []
    try:
        for i, columns in enumerate(widths):
            trial = _fresh(columns, rows, seed, str(work / f"trial-{i}"))
            trials.append(trial)
            print(
                f"{columns:,} columns × {rows:,} rows: insert {trial.insert_seconds:.2f} s, "
                f"statistics {trial.statistics_seconds:.2f} s",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\nCross-check of the stored statistics against NumPy on the input:")
    for t in trials:
        verdict = "OK" if not t.mismatches else f"MISMATCH ({len(t.mismatches)})"
        detail = f", e.g. {t.mismatches[0]}" if t.mismatches else ""
        print(f"  {verdict}: {t.columns:,} columns{detail}")
    print()
    print(report(trials, seed, load))
    return 1 if any(t.mismatches for t in trials) else 0
