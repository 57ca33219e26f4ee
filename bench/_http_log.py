"""The inference log of ``bench/http_predict.py``'s fti servers: its Delta table version, request
ids and commits, the check that it holds exactly the successful requests (after a graceful
stop), and the tail latency around its commits.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import numpy as np

from _http_data import DEPLOYMENT, expected_row
from _http_load import Result


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


def log_ids(home: Path) -> set[str]:
    import fti

    project = fti.connect(home)
    try:
        fv = project.get_feature_store().get_feature_view(DEPLOYMENT, 1)
        return set(fv.read_log(dataframe_type="arrow").column("request_id").to_pylist())
    finally:
        project.close()


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
