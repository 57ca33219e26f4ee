"""A failing inference log is never silent and loses nothing it can keep: failed commits are
retried, logged once per error, counted in the metrics, spilled to local files, reported by
flush and close, and replayed (each row once) when the log commits again; also through fti
serve's writer process."""

from __future__ import annotations

import fcntl
import functools
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import fti
from fti.featurestore import FeatureGroup, FeatureView
from fti.serving.inference_log import InferenceLogger, LogWriter, log_group, log_table
from fti.serving.log_process import LogProcess
from fti.serving.log_spill import LogSpill
from fti.serving.metrics import ServingMetrics
from tests.registry.conftest import build_view
from tests.serving.test_log_writer import _row

FAST = (0.01, 0.01)  # retry delays


def _setup(project: fti.Project) -> tuple[FeatureView, FeatureGroup]:
    fs = project.get_feature_store()
    fv = build_view(fs)
    return fv, log_group(fs, fv)


def _spilled(project: fti.Project, group: FeatureGroup) -> list[Path]:
    return LogSpill.of(project.home, group).pending()


def _ids(fv: FeatureView) -> list[str]:
    ids: list[str] = fv.read_log(dataframe_type="arrow").column("request_id").to_pylist()
    return ids


def _faulty(group: FeatureGroup, monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[bool]]:
    """The group's commits fail while ``fault[0]``; ``calls``: rows of each attempt."""
    calls: list[int] = []
    fault = [True]
    real: Callable[..., Any] = group.insert

    def insert(table: pa.Table, **kwargs: Any) -> Any:
        calls.append(table.num_rows)
        if fault[0]:
            raise OSError(28, "No space left on device")
        return real(table, **kwargs)

    monkeypatch.setattr(group, "insert", insert)
    return calls, fault


def test_failed_commits_are_logged_counted_spilled_reported_and_replayed_once(
    project: fti.Project, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fv, group = _setup(project)
    calls, fault = _faulty(group, monkeypatch)
    metrics = ServingMetrics()
    logger = InferenceLogger(
        group, project.home, flush_rows=1_000, flush_seconds=30, retry_delays=FAST
    )
    logger.observer = functools.partial(metrics.log_state, "d")
    rows = [_row(i) for i in range(25)]
    with caplog.at_level("WARNING", logger="fti.serving"):
        for r in rows[:10]:
            logger.log(r)
        with pytest.raises(fti.InferenceLogError, match="10 rows failed to commit: 10 spilled"):
            logger.flush()
        assert calls == [10, 10, 10]  # retried twice
        for r in rows[10:20]:
            logger.log(r)
        with pytest.raises(fti.InferenceLogError, match="10 rows failed to commit: 10 spilled"):
            logger.flush()
    failures = [r for r in caplog.records if "failed after 3 attempt(s)" in r.getMessage()]
    assert len(failures) == 1 and failures[0].levelname == "ERROR"  # once per distinct error
    assert "OSError: [Errno 28] No space left on device" in failures[0].getMessage()
    assert "spilled to" in failures[0].getMessage()
    assert (logger.failed_batches, logger.failed_rows, logger.lost_rows) == (2, 20, 0)

    def metric(name: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"deployment": "d"})

    assert metric("fti_inference_log_failed_batches_total") == 2
    assert metric("fti_inference_log_failed_rows_total") == 20
    assert metric("fti_inference_log_lost_rows_total") == 0
    spilled = _spilled(project, group)
    assert len(spilled) == 2 and all(p.parent.parent == project.home / "log_spill" for p in spilled)
    assert not list(spilled[0].parent.glob(".*"))  # no temporary file left
    assert _ids(fv) == []

    fault[0] = False
    caplog.clear()
    with caplog.at_level("WARNING", logger="fti.serving"):
        for r in rows[20:]:
            logger.log(r)
        logger.flush()  # the commit succeeds, then the spilled rows are replayed
    assert "commits succeed again after 2 failed batch(es)" in caplog.text
    assert "20 spilled rows replayed" in caplog.text
    assert _spilled(project, group) == []
    assert sorted(_ids(fv)) == sorted(str(r["request_id"]) for r in rows)
    assert logger.close() is True
    assert metric("fti_inference_log_failed_batches_total") == 2  # nothing new


def test_rows_that_cannot_be_spilled_either_are_counted_lost(
    project: fti.Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, group = _setup(project)
    _faulty(group, monkeypatch)

    def full(self: LogSpill, table: pa.Table) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(LogSpill, "write", full)
    metrics = ServingMetrics()
    logger = InferenceLogger(
        group, project.home, flush_rows=1_000, flush_seconds=30, retry_delays=()
    )
    logger.observer = functools.partial(metrics.log_state, "d")
    for i in range(4):
        logger.log(_row(i))
    with pytest.raises(fti.InferenceLogError, match=r"0 spilled .*, 4 lost"):
        logger.flush()
    labels = {"deployment": "d"}
    assert metrics.registry.get_sample_value("fti_inference_log_lost_rows_total", labels) == 4
    assert logger.close() is True  # reported by the flush already


def test_replay_is_idempotent_and_leaves_a_file_another_writer_holds(
    project: fti.Project,
) -> None:
    fv, group = _setup(project)
    assert group.schema is not None
    spill = LogSpill.of(project.home, group)
    crashed = [_row(i) for i in range(10)]
    spill.write(log_table(group.schema, crashed))
    # a writer committed these, then died before deleting the file
    group.insert(log_table(group.schema, crashed[:4]), progress=False)
    held = [_row(i) for i in range(10, 13)]
    other = spill.write(log_table(group.schema, held))
    with open(other, "rb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # another worker is replaying it
        assert LogWriter(group, project.home).replay() == 6
        assert _spilled(project, group) == [other]
    assert LogWriter(group, project.home).replay() == 3
    assert _spilled(project, group) == []
    assert sorted(_ids(fv)) == sorted(str(r["request_id"]) for r in crashed + held)


def test_flush_and_close_honour_their_timeouts_and_close_spills_the_queue(
    project: fti.Project, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fv, group = _setup(project)
    entered, gate = threading.Event(), threading.Event()
    real = group.insert

    def stuck(table: pa.Table, **kwargs: Any) -> Any:  # a commit that hangs (a stalled disk)
        entered.set()
        assert gate.wait(30)
        return real(table, **kwargs)

    monkeypatch.setattr(group, "insert", stuck)
    logger = InferenceLogger(group, project.home, flush_rows=5, flush_seconds=30, retry_delays=FAST)
    rows = [_row(i) for i in range(8)]
    for r in rows[:5]:
        logger.log(r)
    assert entered.wait(10)
    for r in rows[5:]:
        logger.log(r)
    started = time.monotonic()
    with pytest.raises(fti.InferenceLogError, match=r"flush timed out after 0\.2 s, 8 rows"):
        logger.flush(timeout=0.2)
    with caplog.at_level("ERROR", logger="fti.serving"):
        assert logger.close(timeout=0.2) is False
    assert time.monotonic() - started < 5
    assert "close timed out after 0.2 s with a commit of 5 rows running; 3 rows failed" in (
        caplog.text
    )
    assert len(_spilled(project, group)) == 1  # the queued rows
    gate.set()  # the stalled commit ends after all, and its writer replays them
    logger._thread.join(10)
    assert not logger._thread.is_alive() and logger.written == 5
    assert _spilled(project, group) == []
    assert sorted(_ids(fv)) == sorted(str(r["request_id"]) for r in rows)


def test_a_dead_writer_process_rows_are_spilled_and_replayed_by_the_next(
    project: fti.Project, caplog: pytest.LogCaptureFixture
) -> None:
    fv, group = _setup(project)
    sink = LogProcess(project.location, "tests", project.settings, group)
    logger = InferenceLogger(
        group, project.home, flush_rows=1_000, flush_seconds=30, sink=sink, retry_delays=FAST
    )
    rows = [_row(i) for i in range(30)]
    for r in rows[:10]:
        logger.log(r)
    logger.flush()
    assert sink._proc.pid is not None
    os.kill(sink._proc.pid, signal.SIGKILL)
    sink._proc.join(10)
    assert not sink._proc.is_alive()
    for r in rows[10:20]:
        logger.log(r)
    with (
        caplog.at_level("ERROR", logger="fti.serving"),
        pytest.raises(fti.InferenceLogError, match="10 rows failed to commit: 10 spilled"),
    ):
        logger.flush()
    assert "a commit of 10 rows failed after 3 attempt(s)" in caplog.text
    assert len(_spilled(project, group)) == 1
    assert logger.close(timeout=5) is True  # reported by the flush already

    # the next writer process replays what was spilled when it starts, and after each commit
    sink = LogProcess(project.location, "tests", project.settings, group)
    logger = InferenceLogger(group, project.home, flush_rows=1_000, flush_seconds=30, sink=sink)
    for r in rows[20:25]:
        logger.log(r)
    logger.flush()  # the child replays before it reads this batch
    assert _spilled(project, group) == []
    assert group.schema is not None
    LogSpill.of(project.home, group).write(log_table(group.schema, rows[25:]))
    rows.append(_row(30))
    logger.log(rows[-1])
    logger.flush()
    assert _spilled(project, group) == []
    assert logger.close() is True
    assert sorted(_ids(fv)) == sorted(str(r["request_id"]) for r in rows)  # each once


def test_a_commit_that_raises_after_it_landed_is_not_retried_into_duplicates(
    project: fti.Project, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fv, group = _setup(project)
    real = group.insert

    def late_error(table: pa.Table, **kwargs: Any) -> Any:
        real(table, **kwargs)
        raise fti.BackendUnavailable("catalog: the commit could not be recorded")

    monkeypatch.setattr(group, "insert", late_error)
    logger = InferenceLogger(
        group, project.home, flush_rows=1_000, flush_seconds=30, retry_delays=FAST
    )
    rows = [_row(i) for i in range(6)]
    for r in rows:
        logger.log(r)
    with caplog.at_level("WARNING", logger="fti.serving"):
        logger.flush()
    assert "commit reported an error, yet landed" in caplog.text
    assert logger.failed_batches == 0 and logger.written == 6 and _spilled(project, group) == []
    assert sorted(_ids(fv)) == sorted(str(r["request_id"]) for r in rows)
    assert logger.close() is True
