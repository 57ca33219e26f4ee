"""The inference-log writer: concurrent writers (server workers) append without merging, and
lose nothing; its counts reach an observer (the server's gauges); fti serve's writer process;
the log table is compacted as it grows."""

from __future__ import annotations

import threading
import uuid

import pyarrow as pa
import pytest
from deltalake import DeltaTable

import fti
from fti.serving.inference_log import InferenceLogger, LogWriter, log_group, row
from fti.serving.log_process import LogProcess
from tests.registry.conftest import build_view


def _row(i: int) -> dict[str, object]:
    return row(
        request_id=uuid.uuid4().hex,
        deployment="d",
        deployment_version=1,
        model_name="m",
        model_version=1,
        serving_keys={"cc_num": i % 6},
        untransformed={"amount": float(i), "spend": 1.0},
        transformed=[0.5, 1.0],
        prediction=bool(i % 2),
        latency_ms=0.5,
    )


def test_concurrent_writers_append_every_row_without_a_merge(project: fti.Project) -> None:
    fs = project.get_feature_store()
    fv = build_view(fs)
    group = log_group(fs, fv)
    writers = [
        InferenceLogger(log_group(fs, fv), project.home, flush_rows=50, flush_seconds=0.05)
        for _ in range(2)
    ]
    states: list[tuple[int, int]] = []
    writers[0].observer = lambda dropped, queued, **_: states.append((dropped, queued))

    def produce(logger: InferenceLogger, start: int) -> None:
        for i in range(start, start + 600):
            logger.log(_row(i))

    threads = [threading.Thread(target=produce, args=(w, k * 600)) for k, w in enumerate(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in writers:
        w.close()
    assert [w.written for w in writers] == [600, 600]
    assert [w.failed_batches for w in writers] == [0, 0]
    log = fv.read_log(dataframe_type="arrow")
    assert log.num_rows == 1200
    assert pa.compute.count_distinct(log.column("request_id")).as_py() == 1200
    assert sorted(log.column("amount").to_pylist()) == [float(i) for i in range(1200)]
    history = DeltaTable(group.location).history()
    operations = {h["operation"] for h in history}
    assert "MERGE" not in operations and len(history) >= 2 * 600 // 50
    assert states and states[-1] == (0, 0)


def test_a_log_process_commits_at_idle_priority_and_hurries_when_behind(
    project: fti.Project,
) -> None:
    import os

    fs = project.get_feature_store()
    fv = build_view(fs)
    group = log_group(fs, fv)
    sink = LogProcess(project.location, "tests", project.settings, group)
    child = sink._proc.pid
    assert os.sched_getscheduler(child) == os.SCHED_IDLE
    logger = InferenceLogger(
        group, project.home, max_queue=1_000, flush_rows=300, flush_seconds=0.05, sink=sink
    )
    for i in range(700):
        logger.log(_row(i))
    logger.flush()
    assert logger.written == 700 and logger.failed_batches == 0

    def policies() -> set[int]:  # of every thread: the Delta writer's threads do the work
        threads = os.listdir(f"/proc/{child}/task")
        assert len(threads) > 1
        return {os.sched_getscheduler(int(t)) for t in threads}

    assert policies() == {os.SCHED_IDLE}
    sink([_row(i) for i in range(700, 710)], lambda: 0.5)  # behind: normal priority
    assert policies() == {os.SCHED_OTHER}
    sink([_row(i) for i in range(710, 720)], lambda: 0.0)  # caught up: idle again
    assert policies() == {os.SCHED_IDLE}
    assert os.sched_getaffinity(child) == os.sched_getaffinity(0)  # any core
    bad = _row(0)
    bad["latency_ms"] = "slow"  # not a double: the child's commit fails, the writer goes on
    with pytest.raises(fti.FtiError, match="inference-log commit failed"):
        sink([bad])
    logger.log(_row(720))
    logger.close()  # drains, then stops the child
    assert not sink._proc.is_alive() and sink._proc.exitcode == 0
    log = fv.read_log(dataframe_type="arrow")
    assert log.num_rows == 721
    assert pa.compute.count_distinct(log.column("request_id")).as_py() == 721


def test_the_writer_compacts_the_log_table_every_so_many_commits(
    project: fti.Project, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fs = project.get_feature_store()
    group = log_group(fs, build_view(fs))
    write = LogWriter(group, project.home, compact_every=4)
    for k in range(8):
        write([_row(i) for i in range(10 * k, 10 * k + 10)])
    table = DeltaTable(group.location)
    operations = [h["operation"] for h in reversed(table.history())]
    assert operations.count("WRITE") == 8 and operations.count("OPTIMIZE") == 2
    assert operations.index("OPTIMIZE") == 4  # after the 4th write (version 0 is the 1st)
    assert len(table.file_uris()) == 1  # 4 files -> 1, then 1 + 4 -> 1
    rows = table.to_pyarrow_table()
    assert sorted(rows.column("amount").to_pylist()) == [float(i) for i in range(80)]
    # no rows changed: a read at the version before a compaction equals one at it, and the
    # files compacted away are kept (within the retention) for time travel
    for before in (3, 8):
        assert DeltaTable(group.location, version=before).to_pyarrow_table().sort_by(
            "request_id"
        ) == DeltaTable(group.location, version=before + 1).to_pyarrow_table().sort_by("request_id")
    assert DeltaTable(group.location, version=0).to_pyarrow_table().num_rows == 10
    # a failed compaction (say another writer's won) is a warning; the rows are committed
    offline = group._storage.offline

    def conflict(uri: str) -> int:
        raise RuntimeError("commit conflict")

    monkeypatch.setattr(offline, "compact", conflict)
    with caplog.at_level("WARNING"):
        for k in range(8, 12):
            write([_row(i) for i in range(10 * k, 10 * k + 10)])
    assert "compaction failed: commit conflict" in caplog.text
    assert DeltaTable(group.location).to_pyarrow_table().num_rows == 120
    assert offline.__class__.compact(offline, group.location + "-missing") == 0
