"""A commit whose catalog records (statistics, validation report) were lost gets them back.

An insert commits offline first and records its statistics and validation report in the
catalog second; a process killed in between leaves a commit without them. Opening the group
(or its next insert) recovers them from the commit's own rows.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fti
from fti import expect
from fti.catalog import Catalog
from fti.offline import DeltaOfflineStore
from tests.featurestore.helpers import cards

Rows = list[tuple[int, int, float | None]]

# Inserts one batch and dies (SIGKILL, no clean-up of any kind) the moment the offline commit
# is written: where the catalog would record it.
KILLED_WRITER = textwrap.dedent(
    """
    import json, os, signal, sys
    import fti
    from fti.catalog import Catalog
    from tests.featurestore.helpers import cards

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    Catalog.record_commit = die
    home, rows = sys.argv[1], json.loads(sys.argv[2])
    with fti.connect(home) as project:
        fg = project.get_feature_store().get_feature_group("cards", 1)
        fg.insert(cards(*zip(*rows)))
    """
)


def suite() -> fti.ExpectationSuite:
    return fti.ExpectationSuite(
        name="spend_checks",
        expectations=[expect.not_null("spend"), expect.between("spend", min=0, max=100)],
        policy="warn",
    )


def create(fs: fti.FeatureStore, name: str) -> fti.FeatureGroup:
    return fs.create_feature_group(
        name,
        primary_key=["cc_num"],
        event_time="event_ts",
        online_enabled=True,
        expectation_suite=suite(),
    )


def table(rows: Rows) -> pa.Table:
    return cards([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])


def content(stats: dict[str, Any] | None) -> Any:
    """What describes the rows: without when, for which commit and how it was recorded, and
    with floats rounded (sums over the same rows in another order may differ in the last bit)."""
    assert stats is not None
    return _rounded(
        {k: v for k, v in stats.items() if k not in ("computed_at", "commit_id", "recovered")}
    )


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def report_of(fg: fti.FeatureGroup, commit: int) -> fti.catalog.StoredReport:
    (report,) = [r for r in fg.validation_reports() if r.commit_id == commit]
    return report


FIRST: Rows = [(1, 0, 1.0), (2, 0, 2.0), (3, 0, None)]
# event time 0 again for key 1: an upsert, so Delta commits a MERGE rewriting the first file
SECOND: Rows = [(1, 0, 10.0), (4, 0, 400.0), (2, 5, 20.0)]


@pytest.mark.parametrize(
    ("before", "killed"), [([], FIRST), ([FIRST], SECOND)], ids=["append", "merge"]
)
def test_a_commit_whose_writer_was_killed_before_recording_it_is_recorded_on_open(
    tmp_path: Path, before: list[Rows], killed: Rows
) -> None:
    home = tmp_path / "home"
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        fg, reference = create(fs, "cards"), create(fs, "reference")
        for rows in before:
            fg.insert(table(rows))
            reference.insert(table(rows))
        reference.insert(table(killed))
    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(home), json.dumps(killed)],
        cwd=root,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    commit = len(before)
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        record = fs._catalog.get_feature_group("cards", 1)  # the catalog, before any open
        assert record.last_commit == (commit - 1 if commit else None)
        assert fs._catalog.get_statistics(record.id, commit) is None
        fg = fs.get_feature_group("cards", 1)  # opening recovers the records
        assert [c.commit_id for c in fg.commit_details()] == list(range(commit + 1))
        stats = fg.statistics(commit_id=commit)
        assert content(stats) == content(reference.statistics(commit_id=commit))
        assert stats is not None and stats["recovered"]["exact"] is True
        report, expected = report_of(fg, commit), report_of(reference, commit)
        assert report.ingestion == "RECOVERED" and "recovered" in report.content["note"]
        assert (report.success, report.content["row_count"]) == (
            expected.success,
            expected.content["row_count"],
        )
        assert [r["success"] for r in report.content["results"]] == [
            r["success"] for r in expected.content["results"]
        ]
        assert fs._catalog.get_feature_group("cards", 1).last_commit == commit
        assert len(fg.validation_reports()) == commit + 1  # recorded once, not on every open
    with fti.connect(home) as project:
        fg = project.get_feature_store().get_feature_group("cards", 1)
        assert len(fg.validation_reports()) == commit + 1


def _crash(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt("simulated crash after the offline commit")


def test_a_merge_that_rewrote_equal_rows_says_how_many_rows_it_could_not_tell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    with fti.connect(home) as project:
        fg = create(project.get_feature_store(), "cards")
        fg.insert(table(FIRST))
        monkeypatch.setattr(Catalog, "record_commit", _crash)
        with pytest.raises(KeyboardInterrupt):
            # key 2 re-inserted with its stored value: the new file holds the same row as a
            # row copied unchanged from the rewritten file, so the two cannot be told apart
            fg.insert(table([(1, 0, 10.0), (2, 0, 2.0), (5, 1, 5.0)]))
        monkeypatch.undo()
    with fti.connect(home) as project:
        fg = project.get_feature_store().get_feature_group("cards", 1)
        stats = fg.statistics(commit_id=1)
        assert stats is not None and stats["row_count"] == 2
        assert stats["recovered"]["exact"] is False
        assert stats["recovered"]["rows_unknown"] == 1
        report = report_of(fg, 1)
        assert report.ingestion == "RECOVERED" and "1 row" in report.content["note"]


def test_commits_that_are_not_inserts_get_no_records(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        fg = create(fs, "cards")
        fg.insert(table(FIRST))
        fg.insert(table([(5, 9, 5.0)]))
        fg.append_features([fti.Feature("extra", pa.int64())])
        fs._storage.offline.compact(fg.location)  # what the inference log's writer does
        operations = [c.operation for c in fg.commit_details()]
        assert operations == ["WRITE", "WRITE", "ADD COLUMN", "OPTIMIZE"]
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        fg = fs.get_feature_group("cards", 1)
        assert [r.commit_id for r in fg.validation_reports()] == [0, 1]
        assert [fg.statistics(commit_id=c) is not None for c in range(4)] == [
            True,
            True,
            False,
            False,
        ]
        # seen once, so the next process's open finds nothing to look at
        assert fs._catalog.get_feature_group("cards", 1).last_commit == 3


def test_a_commit_whose_files_were_vacuumed_is_passed_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        fg = create(fs, "cards")
        fg.insert(table(FIRST))
        monkeypatch.setattr(Catalog, "record_commit", _crash)
        with pytest.raises(KeyboardInterrupt):
            fg.insert(table([(9, 9, 9.0)]))
        monkeypatch.undo()
        fs._storage.offline.compact(fg.location)
        delta = fs._storage.offline._open(fg.location)
        assert delta is not None
        delta.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        with pytest.warns(
            fti.CommitRecordsWarning, match="commit 1 has no statistics.*files are gone"
        ):
            fg = fs.get_feature_group("cards", 1)
        assert fg.statistics(commit_id=1) is None
        latest = fg.commit_details()[-1]  # VACUUM END
        assert fs._catalog.get_feature_group("cards", 1).last_commit == latest.commit_id
    with fti.connect(home) as project:
        project.get_feature_store().get_feature_group("cards", 1)  # no warning any more


def test_the_next_insert_records_a_commit_the_catalog_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fti.connect(tmp_path / "home") as project:
        fg = create(project.get_feature_store(), "cards")
        fg.insert(table(FIRST))

        def unreachable(*args: object, **kwargs: object) -> None:
            raise fti.BackendUnavailable("the catalog database is unreachable")

        monkeypatch.setattr(Catalog, "record_commit", unreachable)
        with pytest.raises(fti.CommitNotRecorded, match="offline commit 1 was written"):
            fg.insert(table(SECOND))
        monkeypatch.undo()
        limits: list[int | None] = []
        history = DeltaOfflineStore.history

        def logged(self: DeltaOfflineStore, location: str, limit: int | None = None) -> Any:
            limits.append(limit)
            return history(self, location, limit)

        monkeypatch.setattr(DeltaOfflineStore, "history", logged)
        fg.insert(table([(7, 9, 7.0)]))  # the same process, the group never reopened
        # the records' repair reads the log back to the lost commit only (the online
        # rebuild after it looks the commit it reads up in the whole history, as ever)
        assert limits[0] == 2
        stats = fg.statistics(commit_id=1)
        assert stats is not None and stats["row_count"] == 3
        assert [(r.commit_id, r.ingestion) for r in fg.validation_reports()] == [
            (0, "INGESTED"),
            (2, "INGESTED"),
            (1, "RECOVERED"),
        ]


@pytest.mark.parametrize("failing", ["statistics", "record"])
def test_an_insert_that_fails_after_its_commit_says_the_commit_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    from fti.featurestore.storage import Storage

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"{failing} broke")

    with fti.connect(tmp_path / "home") as project:
        fg = create(project.get_feature_store(), "cards")
        fg.insert(table(FIRST))
        if failing == "statistics":
            monkeypatch.setattr(Storage, "describe", broken)
        else:
            monkeypatch.setattr(Catalog, "record_commit", broken)
        with pytest.raises(fti.InsertIncomplete, match="offline commit 1 was written") as caught:
            fg.insert(table(SECOND))
        assert caught.value.commit_id == 1
        assert not isinstance(caught.value, fti.BackendUnavailable)  # nothing was unreachable
        monkeypatch.undo()
    with fti.connect(tmp_path / "home") as project:  # the next open recovers the records
        fg = project.get_feature_store().get_feature_group("cards", 1)
        assert [c.commit_id for c in fg.commit_details()] == [0, 1]
        stats = fg.statistics(commit_id=1)
        assert stats is not None and stats["recovered"]


def test_a_commit_is_recorded_once_whoever_records_it_first(fs: fti.FeatureStore) -> None:
    # an opener recovering a commit that an appender (who takes no lock) records after it
    fg = create(fs, "cards")
    fs._catalog.record_commit(fg.id, 0, {"row_count": 3}, {"success": True}, ingestion="RECOVERED")
    fs._catalog.record_commit(fg.id, 0, {"row_count": 3}, {"success": True})
    fs._catalog.record_commit(fg.id, 1, None, None)
    stats = fg.statistics(commit_id=0)
    assert stats is not None and stats["row_count"] == 3
    assert [(r.commit_id, r.ingestion) for r in fg.validation_reports()] == [(0, "RECOVERED")]
    assert fs._catalog.get_feature_group("cards").last_commit == 1


def test_opening_a_group_with_nothing_missing_reads_the_offline_table_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        for name, online in (("online", True), ("offline", False)):
            fs.create_feature_group(
                name, primary_key=["cc_num"], event_time="event_ts", online_enabled=online
            ).insert(table(FIRST))
    calls: list[str] = []
    for method in ("latest_version", "history", "read", "snapshot"):
        original = getattr(DeltaOfflineStore, method)

        def counted(
            self: DeltaOfflineStore, *a: Any, _o: Any = original, _m: str = method, **kw: Any
        ) -> Any:
            calls.append(_m)
            return _o(self, *a, **kw)

        monkeypatch.setattr(DeltaOfflineStore, method, counted)
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        for name in ("online", "offline"):
            calls.clear()
            fs.get_feature_group(name)
            assert calls == ["latest_version"], name
            calls.clear()
            fs.get_feature_group(name)  # once per process
            assert calls == [], name


_names = itertools.count()
batch = st.lists(
    st.tuples(
        st.integers(0, 4),
        st.integers(0, 3),
        st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.0, 150.0])),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda row: (row[0], row[1]),
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    inserts=st.lists(st.tuples(batch, st.booleans()), min_size=1, max_size=5),
    online=st.booleans(),
)
def test_after_a_reopen_every_insert_commit_has_its_records(
    tmp_path: Path, inserts: list[tuple[Rows, bool]], online: bool
) -> None:
    """Whichever inserts crash before recording, the next open leaves every insert commit
    with statistics equal to those of an uncrashed twin (or, where a merge rewrote equal
    rows, saying how many rows it could not tell) and a validation report."""
    n = next(_names)
    home = tmp_path / "home"
    with fti.connect(home) as project:
        fs = project.get_feature_store()
        groups = [
            fs.create_feature_group(
                f"{kind}_{n}",
                primary_key=["cc_num"],
                event_time="event_ts",
                online_enabled=online,
                expectation_suite=suite(),
            )
            for kind in ("crashed", "twin")
        ]
        crashed, twin = groups
        original = Catalog.record_commit
        for rows, crash in inserts:
            twin.insert(table(rows))
            if crash:
                Catalog.record_commit = _crash  # type: ignore[method-assign]
            try:
                crashed.insert(table(rows))
            except KeyboardInterrupt:
                pass
            finally:
                Catalog.record_commit = original  # type: ignore[method-assign]
    with fti.connect(home) as project:
        fg = project.get_feature_store().get_feature_group(f"crashed_{n}", 1)
        twin = project.get_feature_store().get_feature_group(f"twin_{n}", 1)
        commits = [c.commit_id for c in fg.commit_details()]
        assert commits == list(range(len(inserts)))
        reports = {r.commit_id for r in fg.validation_reports()}
        assert reports == set(commits)
        for commit in commits:
            stats, expected = fg.statistics(commit_id=commit), twin.statistics(commit_id=commit)
            assert stats is not None and expected is not None
            recovered = stats.get("recovered")
            if recovered is None or recovered["exact"]:
                assert content(stats) == content(expected)
            else:
                unknown = recovered["rows_unknown"]
                assert stats["row_count"] + unknown == expected["row_count"]
