"""Catalog conformance: the same tests on SQLite (embedded) and PostgreSQL (the real server)."""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import fti
from fti.catalog import Catalog
from fti.catalog import tables as t
from fti.catalog.engine import (
    WRITE_OPTION,
    _alembic_config,
    create_engine,
    current_revision,
    migrate,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    cat = Catalog(catalog_url)
    yield cat
    cat.close()


def definition(name: str = "cards", version: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "description": "d",
        "primary_key": ["k"],
        "event_time": "t",
        "partition_key": [],
        "online_enabled": True,
        "statistics_enabled": True,
        "location": f"/x/{name}/v{version}",
        "created_by": "me",
        **extra,
    }


def test_migrations_run_once_and_are_recorded(catalog: Catalog) -> None:
    assert current_revision(catalog.engine) == "0011"
    migrate(catalog.engine)  # idempotent
    tables = set(sa.inspect(catalog.engine).get_table_names())
    assert {
        "feature_groups",
        "statistics",
        "validation_reports",
        "transformation_functions",
        "alembic_version",
    } <= tables


def _migrate_to(url: str, revision: str, downgrade: bool = False) -> None:
    from alembic import command

    engine = create_engine(url)
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        (command.downgrade if downgrade else command.upgrade)(_alembic_config(conn), revision)
    engine.dispose()


def test_0006_adds_deployment_options_to_existing_deployments(catalog_url: str) -> None:
    _migrate_to(catalog_url, "0005")
    engine = create_engine(catalog_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO deployments (name, version, passed_features, request_parameters, "
                "fallback, schema, schema_version, created_at, created_by) VALUES ('old', 1, "
                "'[]', '[]', '{\"missing\": \"impute\"}', '{}', 1, CURRENT_TIMESTAMP, 'me')"
            )
        )
    engine.dispose()
    catalog = Catalog(catalog_url)  # upgrades to the head
    try:
        assert current_revision(catalog.engine) == "0011"
        old = catalog.get_deployment("old")
        assert (old.fallback, old.resources, old.slo, old.fallback_model_version_id) == (
            {"missing": "impute"},
            {},
            None,
            None,
        )
        foreign = sa.inspect(catalog.engine).get_foreign_keys("deployments")
        assert [
            (k["referred_table"], k["options"].get("ondelete"))
            for k in foreign
            if k["constrained_columns"] == ["fallback_model_version_id"]
        ] == [("model_versions", "RESTRICT")]
    finally:
        catalog.close()
    _migrate_to(catalog_url, "0005", downgrade=True)
    engine = create_engine(catalog_url)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("deployments")}
    with engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT name, version FROM deployments")).all()
    engine.dispose()
    assert not columns & {"resources", "slo", "fallback_model_version_id"}
    assert [tuple(r) for r in kept] == [("old", 1)]


def test_0007_makes_local_locations_relative_and_records_the_last_commit(
    catalog_url: str,
) -> None:
    """Catalogs written before 0007 hold absolute paths of the home they were made in: a
    copied home would read, write and delete the original's tables and artifacts."""
    _migrate_to(catalog_url, "0006")
    engine = create_engine(catalog_url)
    hexdir = "0123456789abcdef" * 2
    with engine.begin() as conn:
        for name, location in (
            ("cards", "/old/home/offline/cards/v1"),
            ("remote", "s3://bucket/fti/remote/v1"),
            ("empty", "/old/home/offline/empty/v1"),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO feature_groups (name, version, description, primary_key, "
                    "partition_key, online_enabled, statistics_enabled, location, created_at, "
                    "created_by, revision) VALUES (:n, 1, '', '[\"k\"]', '[]', false, true, "
                    ":loc, CURRENT_TIMESTAMP, 'me', 1)"
                ),
                {"n": name, "loc": location},
            )
        for commit in (0, 2):
            conn.execute(
                sa.text(
                    "INSERT INTO statistics (feature_group_id, commit_id, computed_at, content) "
                    "SELECT id, :c, CURRENT_TIMESTAMP, '{}' FROM feature_groups "
                    "WHERE name = 'cards'"
                ),
                {"c": commit},
            )
        conn.execute(
            sa.text(
                "INSERT INTO feature_views (name, version, description, query, features, "
                "labels, inference_helper_columns, training_helper_columns, "
                "transformation_functions, created_at, created_by, revision) VALUES ('v', 1, "
                "'', '{}', '[]', '[]', '[]', '[]', '[]', CURRENT_TIMESTAMP, 'me', 1)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO training_datasets (feature_view_id, version, description, spec, "
                "commits, location, created_at, created_by) SELECT id, 1, '', '{}', '{}', "
                "'/old/home/offline/_training_datasets/v_v1/1', CURRENT_TIMESTAMP, 'me' "
                "FROM feature_views"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO models (name, created_at, created_by) "
                "VALUES ('m', CURRENT_TIMESTAMP, 'me')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO model_versions (model_id, version, flavor, description, metrics, "
                "tags, environment, code, artifact_uri, manifest, created_at, created_by) "
                "SELECT id, 1, 'python', '', '{}', '{}', '{}', '{}', :uri, '{}', "
                "CURRENT_TIMESTAMP, 'me' FROM models"
            ),
            {"uri": f"/old/home/models/m/{hexdir}"},
        )
    engine.dispose()
    catalog = Catalog(catalog_url)  # upgrades to the head
    try:
        groups = {g.name: g for g in catalog.list_feature_groups()}
        assert {n: (g.location, g.last_commit) for n, g in groups.items()} == {
            "cards": ("cards/v1", 2),
            "remote": ("s3://bucket/fti/remote/v1", None),  # a URI is shared on purpose
            "empty": ("empty/v1", None),
        }
        with catalog.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT location FROM training_datasets")).scalar() == (
                "_training_datasets/v_v1/1"
            )
            assert conn.execute(sa.text("SELECT artifact_uri FROM model_versions")).scalar() == (
                f"m/{hexdir}"
            )
    finally:
        catalog.close()


def test_transformation_functions_are_versioned_by_content(catalog: Catalog) -> None:
    assert catalog.register_function("f", "a" * 64, "def f(x): ...", "me") == 1
    assert catalog.register_function("f", "a" * 64, "def f(x): ...", "me") == 1  # same code
    assert catalog.register_function("f", "b" * 64, "def f(x): 1", "me") == 2
    assert catalog.register_function("g", "b" * 64, "def g(x): 1", "me") == 1
    assert catalog.get_function("f", 2) == ("b" * 64, "def f(x): 1")
    assert [(n, v) for n, v, _ in catalog.list_functions()] == [("f", 1), ("f", 2), ("g", 1)]
    with pytest.raises(fti.NotFoundError, match="'f' version 3 does not exist"):
        catalog.get_function("f", 3)


def test_racing_registrations_get_distinct_versions(catalog: Catalog) -> None:
    """Threads register new code (distinct versions, each source under one) and the same code
    (one version) at once: on PostgreSQL the losers of a race retry with the next number."""
    barrier = threading.Barrier(4)

    def register(worker: int) -> list[tuple[str, int]]:
        barrier.wait()
        out = []
        for i in range(5):
            for hash_ in (f"{worker}-{i}".ljust(64, "0"), "s" * 64):
                out.append((hash_, catalog.register_function("race", hash_, hash_, "me")))
        return out

    with ThreadPoolExecutor(4) as pool:
        results = [pair for part in pool.map(register, range(4)) for pair in part]
    versions = dict(results)
    assert len(versions) == 21 and sorted(versions.values()) == list(range(1, 22))
    assert len(set(results)) == 21  # the shared code got one version, whoever stored it
    for hash_, version in versions.items():
        assert catalog.get_function("race", version) == (hash_, hash_)


def test_create_get_list_delete(catalog: Catalog) -> None:
    first = catalog.create_feature_group(**definition())
    catalog.create_feature_group(**definition(version=2))
    catalog.create_feature_group(**definition("other"))
    assert first.primary_key == ["k"] and first.revision == 1
    assert first.created_at.tzinfo is not None
    assert catalog.get_feature_group("cards").version == 2
    assert catalog.get_feature_group("cards", 1) == first
    assert [(r.name, r.version) for r in catalog.list_feature_groups()] == [
        ("cards", 1),
        ("cards", 2),
        ("other", 1),
    ]
    assert len(catalog.list_feature_groups("cards")) == 2
    with pytest.raises(fti.AlreadyExistsError, match="'cards' version 1 already exists"):
        catalog.create_feature_group(**definition())
    catalog.record_commit(first.id, 0, {"row_count": 1}, {"ok": True})
    catalog.delete_feature_group(first.id)
    with pytest.raises(fti.FeatureGroupNotFound):
        catalog.get_feature_group("cards", 1)
    assert catalog.get_statistics(first.id) is None
    assert catalog.list_reports(first.id) == []


def test_optimistic_update(catalog: Catalog) -> None:
    record = catalog.create_feature_group(**definition())
    updated = catalog.update_feature_group(record.id, record.revision, {"description": "new"})
    assert (updated.description, updated.revision) == ("new", 2)
    with pytest.raises(fti.ConcurrentModificationError, match="changed by another writer"):
        catalog.update_feature_group(record.id, record.revision, {"description": "stale"})
    assert catalog.get_feature_group("cards").description == "new"


def test_statistics_and_reports(catalog: Catalog) -> None:
    record = catalog.create_feature_group(**definition())
    catalog.record_commit(record.id, 0, {"row_count": 3}, None)
    catalog.record_commit(record.id, 1, {"row_count": 5}, {"success": True})
    catalog.record_rejected_report(record.id, {"success": False})
    stats = catalog.get_statistics(record.id)
    assert stats is not None and (stats["commit_id"], stats["row_count"]) == (1, 5)
    first = catalog.get_statistics(record.id, 0)
    assert first is not None and first["row_count"] == 3
    reports = catalog.list_reports(record.id)
    assert [(r.commit_id, r.ingestion, r.success) for r in reports] == [
        (1, "INGESTED", True),
        (None, "REJECTED", False),
    ]


def _create(url: str, barrier: Any, out: Any) -> None:
    cat = Catalog(url)
    barrier.wait()
    try:
        out.put(cat.create_feature_group(**definition()).id)
    except fti.AlreadyExistsError:
        out.put("exists")
    finally:
        cat.close()


def test_two_processes_creating_one_version_one_wins(catalog_url: str) -> None:
    Catalog(catalog_url).close()  # migrate first; the race is on the definition
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_create, args=(catalog_url, barrier, out)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert sorted(results, key=str).count("exists") == 1
    assert len([r for r in results if isinstance(r, int)]) == 1


def test_feature_store_on_this_catalog(catalog_url: str, tmp_path: Path) -> None:
    """The whole feature-group flow works on either catalog database."""
    import pyarrow as pa

    from tests.featurestore.helpers import cards

    with fti.connect(tmp_path / "home", catalog_url=catalog_url) as project:
        fs = project.get_feature_store()
        fg = fs.create_feature_group(
            "cards", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
        )
        fg.insert(cards([1, 2], [0, 0], [1.0, 2.0]))
        fg.insert(cards([1], [0], [3.0]))
        fg.append_features([fti.Feature("country", "string")])
    with fti.connect(tmp_path / "home", catalog_url=catalog_url) as project:
        fg = project.get_feature_store().get_feature_group("cards")
        assert fg.schema is not None and fg.schema.names[-1] == "country"
        rows = fg.read(dataframe_type="arrow").sort_by("cc_num")
        assert rows.column("spend").to_pylist() == [3.0, 2.0]
        assert fg.read(as_of=0, dataframe_type="arrow").sort_by("cc_num").column(
            "spend"
        ).to_pylist() == [1.0, 2.0]
        stats = fg.statistics()
        assert stats is not None and stats["row_count"] == 1
        assert isinstance(fg.read(online=True, dataframe_type="arrow"), pa.Table)


def _deployment(catalog: Catalog, name: str) -> None:
    fields = {
        "passed_features": [],
        "request_parameters": [],
        "fallback": {"missing": "error"},
        "schema": {},
        "schema_version": 1,
    }
    catalog.create_deployment(name, fields, "me")


def test_deployment_states_one_per_name_upserted_and_deleted_with_it(catalog: Catalog) -> None:
    for name in ("fraud", "fraud", "churn"):  # fraud has two versions
        _deployment(catalog, name)
    # none recorded: every deployment runs
    assert {
        n: (r.state, r.updated_at, r.updated_by) for n, r in catalog.deployment_states().items()
    } == {
        "fraud": ("running", None, None),
        "churn": ("running", None, None),
    }
    first = catalog.set_deployment_state("fraud", "stopped", "me")
    assert first.updated_at.tzinfo is not None
    catalog.set_deployment_state("churn", "stopped", "me")
    catalog.set_deployment_state("fraud", "running", "you")  # the same row, updated
    states = catalog.deployment_states()
    assert {n: (r.state, r.updated_by) for n, r in states.items()} == {
        "fraud": ("running", "you"),
        "churn": ("stopped", "me"),
    }
    assert states["fraud"].updated_at >= first.updated_at
    assert states["fraud"].updated_at.tzinfo is not None

    with pytest.raises(fti.DeploymentNotFound, match="'frod' does not exist"):
        catalog.set_deployment_state("frod", "stopped", "me")
    with pytest.raises(fti.FtiError, match="'running' or 'stopped', not 'paused'"):
        catalog.set_deployment_state("churn", "paused", "me")
    assert catalog.deployment_states() == states  # neither wrote anything
    with pytest.raises(sa.exc.IntegrityError), catalog.engine.begin() as conn:
        conn.execute(sa.update(t.deployment_states).values(state="paused"))  # the table too

    catalog.delete_deployment("churn")
    assert set(catalog.deployment_states()) == {"fraud"}  # a deleted one is absent
    _deployment(catalog, "churn")  # a new deployment of the name starts out running
    again = catalog.deployment_states()["churn"]
    assert (again.state, again.updated_by) == ("running", None)


def test_0008_adds_deployment_states_and_drops_them_on_downgrade(catalog_url: str) -> None:
    Catalog(catalog_url).close()
    _migrate_to(catalog_url, "0007", downgrade=True)
    engine = create_engine(catalog_url)
    assert "deployment_states" not in sa.inspect(engine).get_table_names()
    engine.dispose()
    catalog = Catalog(catalog_url)  # upgrades to the head
    try:
        assert current_revision(catalog.engine) == "0011"
        assert catalog.deployment_states() == {}
    finally:
        catalog.close()
