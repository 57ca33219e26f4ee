"""Kill -9 during inserts, a crash between the offline and online writes, concurrent writers."""

from __future__ import annotations

import multiprocessing as mp
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import fti
from fti.featurestore.online_sync import OnlineSync
from tests.featurestore.helpers import cards

KEYS = 10

WRITER = textwrap.dedent(
    """
    import sys, fti
    from tests.featurestore.helpers import cards
    home, start, KEYS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with fti.connect(home) as project:
        fg = project.get_feature_store().get_or_create_feature_group(
            "crash", 1, primary_key=["cc_num"], event_time="event_ts", online_enabled=True)
        for i in range(start, start + 1000):
            # every commit: all keys at event time i, value i (and an upsert of time i - 1)
            keys = list(range(KEYS)) * (2 if i else 1)
            secs = [i] * KEYS + ([i - 1] * KEYS if i else [])
            fg.insert(cards(keys, secs, [float(s) for s in secs]))
            print(i, flush=True)  # the test kills only once it has seen commits land
    """
)


def check_consistent(home: Path) -> int:
    """Offline holds whole commits only; online equals the newest row per key; every commit
    has its statistics (a kill between the commit and its records is repaired on open).
    Returns the number of commits."""
    with fti.connect(home) as project:
        fg = project.get_feature_store().get_feature_group("crash", 1)  # catches up online
        commits = fg.commit_details()
        unrecorded = [c.commit_id for c in commits if fg.statistics(c.commit_id) is None]
        assert unrecorded == [], "commits without statistics"
        table = fg.read(dataframe_type="arrow")
        seconds = sorted(set(pc.cast(table.column("event_ts"), pa.int64()).to_pylist()))
        assert len(seconds) == len(commits), "every commit adds exactly one event time"
        counts = table.group_by("event_ts").aggregate([("cc_num", "count")])
        assert set(counts.column("cc_num_count").to_pylist()) <= {KEYS}
        # value == event second for every row: no half-applied upsert
        spend_secs = pc.cast(
            pc.divide(pc.cast(table.column("event_ts"), pa.int64()), 1_000_000), pa.int64()
        )
        offsets = pc.subtract(spend_secs, pc.cast(table.column("spend"), pa.int64()))
        assert set(offsets.to_pylist()) == {int(fti_t0_seconds())}
        online = fg.read(online=True, dataframe_type="arrow")
        if commits:
            assert online.num_rows == KEYS
            newest = max(table.column("spend").to_pylist())
            assert set(online.column("spend").to_pylist()) == {newest}
        return len(commits)


def fti_t0_seconds() -> float:
    from tests.featurestore.helpers import T0

    return T0.timestamp()


@pytest.mark.slow
def test_sigkill_during_inserts_leaves_whole_commits(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rng = random.Random(7)
    root = str(Path(__file__).resolve().parents[2])
    done = 0
    log = tmp_path / "writer.log"
    for _ in range(4):
        with log.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-c", WRITER, str(home), str(done), str(KEYS)],
                cwd=root,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
            assert proc.stdout is not None
            # a signal, not a sleep: however slow the machine, the writer has committed
            # `wanted` inserts and is inside the next one (or between two) when killed
            wanted = rng.randint(1, 6)
            seen = [line for _, line in zip(range(wanted), proc.stdout, strict=False)]
            # where in the following inserts the kill lands; not a wait for anything
            time.sleep(rng.uniform(0, 0.3))
            alive = proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        assert alive and len(seen) == wanted, log.read_text()
        done = check_consistent(home)
    assert done > 0


def test_crash_between_offline_commit_and_online_write_is_repaired(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    with fti.connect(home) as project:
        fg = project.get_feature_store().create_feature_group(
            "crash", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
        )
        fg.insert(cards([1, 2], [0, 0], [0.0, 0.0]))

        def crash(*args: object) -> int:
            raise KeyboardInterrupt("simulated crash after the offline commit")

        monkeypatch.setattr(OnlineSync, "_write", crash)
        with pytest.raises(KeyboardInterrupt):
            fg.insert(cards([1, 3], [5, 5], [5.0, 5.0]))
        monkeypatch.undo()
        assert len(fg.commit_details()) == 2
        stale = fg.read(online=True, dataframe_type="arrow").sort_by("cc_num")
        assert stale.column("spend").to_pylist() == [0.0, 0.0]
    with fti.connect(home) as project:  # reopening catches the online store up
        fg = project.get_feature_store().get_feature_group("crash")
        online = fg.read(online=True, dataframe_type="arrow").sort_by("cc_num")
        assert online.column("cc_num").to_pylist() == [1, 2, 3]
        assert online.column("spend").to_pylist() == [5.0, 0.0, 5.0]


def _get_or_create(home: str, barrier: mp.synchronize.Barrier, out: mp.Queue) -> None:  # type: ignore[type-arg]
    with fti.connect(home) as project:
        barrier.wait()
        fg = project.get_feature_store().get_or_create_feature_group(
            "race", 1, primary_key=["k"], description="from a racing process"
        )
        out.put(fg.id)


def _insert_many(home: str, worker: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    with fti.connect(home) as project:
        fg = project.get_feature_store().get_feature_group("shared", 1)
        for i in range(8):
            fg.insert(pa.table({"k": [worker * 100 + i], "v": [float(i)]}))
    out.put(worker)


def test_two_processes_creating_the_same_version_get_one_group(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(3), ctx.Queue()
    procs = [
        ctx.Process(target=_get_or_create, args=(str(tmp_path), barrier, out)) for _ in range(3)
    ]
    for p in procs:
        p.start()
    ids = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert len(set(ids)) == 1
    with fti.connect(tmp_path) as project:
        assert len(project.get_feature_store().get_feature_groups("race")) == 1


@pytest.mark.slow
def test_concurrent_writers_lose_no_commit(tmp_path: Path) -> None:
    with fti.connect(tmp_path) as project:
        project.get_feature_store().create_feature_group(
            "shared", primary_key=["k"], online_enabled=True
        )
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_insert_many, args=(str(tmp_path), w, out)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with fti.connect(tmp_path) as project:
        fg = project.get_feature_store().get_feature_group("shared", 1)
        assert len(fg.commit_details()) == 24
        assert sorted(fg.read(dataframe_type="arrow").column("k").to_pylist()) == sorted(
            w * 100 + i for w in range(3) for i in range(8)
        )
        assert fg.read(online=True, dataframe_type="arrow").num_rows == 24


def test_crash_before_the_catalog_learned_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fti.featurestore.feature_group import FeatureGroup

    home = tmp_path / "home"
    with fti.connect(home) as project:
        fg = project.get_feature_store().create_feature_group(
            "crash", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
        )

        def crash(*args: object) -> None:
            raise KeyboardInterrupt("simulated crash after the first offline commit")

        monkeypatch.setattr(FeatureGroup, "_store_schema", crash)
        with pytest.raises(KeyboardInterrupt):
            fg.insert(cards([1], [0], [1.0]))
        monkeypatch.undo()
    with fti.connect(home) as project:
        fg = project.get_feature_store().get_feature_group("crash")
        assert fg.read(online=True, dataframe_type="arrow").column("spend").to_pylist() == [1.0]
        fg.insert(cards([2], [0], [2.0]))
        assert fg.schema is not None and fg.schema.names == ["cc_num", "event_ts", "spend"]
        assert fg.read(dataframe_type="arrow").num_rows == 2
