"""Writers on several hosts sharing one project: each host is a process with a home of its own
(nothing on the local disk shared with the others but the offline root, as machines sharing a
bucket), all using one PostgreSQL catalog and one Redis of the test's own.

The checks compare the stores with a reference built from what the writers did: the offline
table must equal the inserts applied in the order of their commits, the online store its
newest row per key, and every insert's commit must have its catalog records. An insert a
kill interrupted may or may not have committed; which one did is read from the Delta log
(the rows of the files its commit added), not from fti.
"""

from __future__ import annotations

import json
import queue
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

import fti
from tests.conftest import PrivateRedis
from tests.featurestore.helpers import T0

pytestmark = [pytest.mark.slow, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
KEYS = 24
ROWS = 8  # per insert

# One host's pipeline: ``inserts`` upserts of random keys at random event times overlapping
# with the other hosts' (so most commits are merges of rows others wrote, some appends). It
# prints each insert's rows before inserting ("intent") and what the insert reported once it
# returned ("done"); an insert whose online write failed is done too (its commit is whole).
WRITER = textwrap.dedent(
    """
    import json, random, sys
    import pyarrow as pa
    import fti
    from tests.featurestore.helpers import ts
    home, writer, inserts, key_count, rows = sys.argv[1], *map(int, sys.argv[2:6])
    rng = random.Random(writer)
    with fti.connect(home, **json.loads(sys.argv[6])) as project:
        fg = project.get_feature_store().get_feature_group("team", 1)
        for i in range(inserts):
            keys = rng.sample(range(key_count), rows)
            secs = [rng.randrange(i * 3, i * 3 + 8) for _ in keys]
            spend = [float((writer * 1000 + i) * 100 + n) for n in range(rows)]
            print(json.dumps({"intent": [writer, i], "keys": keys, "secs": secs,
                              "spend": spend}), flush=True)
            data = pa.table({
                "cc_num": pa.array(keys, pa.int64()),
                "event_ts": pa.array([ts(s) for s in secs], pa.timestamp("us", tz="UTC")),
                "spend": pa.array(spend, pa.float64()),
            })
            try:
                commit, online = fg.insert(data).commit_id, True
            except fti.OnlineWriteFailed as failed:
                commit, online = failed.commit_id, False
            print(json.dumps({"done": [writer, i], "commit": commit, "online": online}),
                  flush=True)
    """
)


class Hosts:
    """Writer processes on homes of their own; their reports arrive on one queue."""

    def __init__(self, tmp_path: Path, backends: dict[str, str]) -> None:
        self.tmp_path, self.backends = tmp_path, backends
        self.events: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
        self.procs: dict[int, subprocess.Popen[str]] = {}
        self.intents: dict[tuple[int, int], dict[str, Any]] = {}
        self.done: dict[tuple[int, int], dict[str, Any]] = {}

    def start(self, writer: int, inserts: int) -> None:
        """Writer ``writer`` (unique per start: it seeds the rows and numbers the values) on
        the home of host ``writer % 10``, which a restarted writer reuses."""
        home = self.tmp_path / f"host{writer % 10}"
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(home)]
            + [str(v) for v in (writer, inserts, KEYS, ROWS)]
            + [json.dumps(self.backends)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs[writer] = proc
        threading.Thread(target=self._read, args=(writer, proc), daemon=True).start()

    def _read(self, writer: int, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                self.events.put((writer, json.loads(line)))
        self.events.put((writer, {"exit": proc.wait()}))

    def run_until(self, condition: Callable[[], bool], timeout: float = 300) -> None:
        """Take reports until ``condition`` holds; a writer that fails fails the test."""
        deadline = time.monotonic() + timeout
        while not condition():
            writer, event = self.events.get(timeout=max(deadline - time.monotonic(), 0.1))
            if "intent" in event:
                self.intents[tuple(event["intent"])] = event  # type: ignore[index]
            elif "done" in event:
                self.done[tuple(event["done"])] = event  # type: ignore[index]
            elif event["exit"] not in (0, -signal.SIGKILL):
                proc = self.procs[writer]
                assert proc.stderr is not None
                pytest.fail(f"writer {writer} exited with {event['exit']}: {proc.stderr.read()}")

    def running(self) -> list[int]:
        return [w for w, p in self.procs.items() if p.poll() is None]

    def kill(self, writer: int) -> None:
        self.procs[writer].send_signal(signal.SIGKILL)
        self.procs[writer].wait()

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


@pytest.fixture
def hosts(tmp_path: Path, postgres_url: str, private_redis: PrivateRedis) -> Any:  # Iterator[Hosts]
    backends = {
        "catalog_url": postgres_url,
        "offline_root": str(tmp_path / "bucket"),
        "online_store": private_redis.url,
    }
    with fti.connect(tmp_path / "setup", **backends) as project:
        project.get_feature_store().create_feature_group(
            "team", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
        )
    running = Hosts(tmp_path, backends)
    try:
        yield running
    finally:
        running.stop_all()


def _committed(hosts: Hosts, location: str) -> list[dict[str, Any]]:
    """Every insert whose rows were committed, with its commit, oldest first. A reported
    insert has its commit; an interrupted one is found by its values in the files its commit
    added, read from the Delta log directly."""
    reported = {event["commit"]: hosts.intents[key] for key, event in hosts.done.items()}
    assert len(reported) == len(hosts.done), "two inserts reported the same commit"
    unreported = {
        value: intent
        for key, intent in hosts.intents.items()
        if key not in hosts.done
        for value in intent["spend"]
    }
    table = DeltaTable(location)
    history = {entry["version"]: entry["operation"] for entry in table.history()}
    committed = []
    for version in sorted(history):
        if history[version] not in ("WRITE", "MERGE"):
            continue
        if version in reported:
            committed.append({**reported[version], "commit": version})
            continue
        now = set(DeltaTable(location, version=version).file_uris())
        before = set(DeltaTable(location, version=version - 1).file_uris()) if version else set()
        values = {
            v
            for f in now - before
            for v in pq.read_table(f, columns=["spend"])["spend"].to_pylist()
        }
        owners = {id(unreported[v]): unreported[v] for v in values if v in unreported}
        assert len(owners) == 1, f"commit {version} is no insert the writers made"
        committed.append({**owners.popitem()[1], "commit": version})
    return committed


def _expected(inserts: list[dict[str, Any]]) -> dict[tuple[int, int], float]:
    """The offline rows the inserts make when applied in the order of their commits."""
    rows: dict[tuple[int, int], float] = {}
    for insert in sorted(inserts, key=lambda r: r["commit"]):
        for key, sec, spend in zip(insert["keys"], insert["secs"], insert["spend"], strict=True):
            rows[(key, sec)] = spend
    return rows


def _newest(rows: dict[tuple[int, int], float]) -> dict[int, float]:
    newest: dict[int, tuple[int, float]] = {}
    for (key, sec), spend in rows.items():
        if key not in newest or sec > newest[key][0]:
            newest[key] = (sec, spend)
    return {key: spend for key, (_, spend) in newest.items()}


def _seconds(table: pa.Table) -> list[int]:
    micros = pc.cast(table.column("event_ts"), pa.int64()).to_pylist()
    return [int(m // 1_000_000 - T0.timestamp()) for m in micros]


def _check(hosts: Hosts) -> int:
    """The stores against the reference; returns how many inserts committed."""
    with fti.connect(hosts.tmp_path / "checker", **hosts.backends) as project:
        fg = project.get_feature_store().get_feature_group("team", 1)  # catches up online
        committed = _committed(hosts, fg.location)
        offline = fg.read(dataframe_type="arrow")
        keys = zip(offline.column("cc_num").to_pylist(), _seconds(offline), strict=True)
        stored = dict(zip(keys, offline.column("spend").to_pylist(), strict=True))
        expected = _expected(committed)
        assert stored == expected
        online = fg.read(online=True, dataframe_type="arrow")
        served = online.column("cc_num").to_pylist(), online.column("spend").to_pylist()
        assert dict(zip(*served, strict=True)) == _newest(expected)
        unrecorded = [c["commit"] for c in committed if fg.statistics(c["commit"]) is None]
        assert unrecorded == [], "commits without statistics"
        return len(committed)


def test_writers_on_four_hosts_all_succeed_and_converge(hosts: Hosts) -> None:
    for writer in range(4):
        hosts.start(writer, 8)
    hosts.run_until(lambda: len(hosts.done) == 32 and not hosts.running())
    assert all(event["online"] for event in hosts.done.values())
    assert _check(hosts) == 32


def test_hosts_killed_at_random_points_and_redis_restarted_empty_converge(
    hosts: Hosts, private_redis: PrivateRedis
) -> None:
    rng = random.Random(11)
    for writer in range(3):
        hosts.start(writer, 12)

    def kill_one_and_restart(generation: int) -> None:
        # where in its inserts the kill lands; not a wait for anything
        time.sleep(rng.uniform(0, 0.3))
        victim = rng.choice(hosts.running())
        hosts.kill(victim)
        hosts.start(victim % 10 + 10 * generation, 5)

    hosts.run_until(lambda: len(hosts.done) >= 5)
    kill_one_and_restart(1)
    hosts.run_until(lambda: len(hosts.done) >= 12)
    private_redis.stop()
    failed = lambda: sum(not e["online"] for e in hosts.done.values())  # noqa: E731
    hosts.run_until(lambda: failed() >= 2)
    private_redis.start()  # empty: no persistence
    hosts.run_until(lambda: len(hosts.done) >= 20)
    kill_one_and_restart(2)
    hosts.run_until(lambda: not hosts.running())
    assert _check(hosts) >= len(hosts.done)
