"""One project, one identity: the id stored in the catalog names the project's online rows in
a shared Redis, however its catalog's URL is spelled, and a copied home is a new project."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

import fti
from fti.catalog import Catalog
from tests.catalog.test_catalog import _migrate_to

pytestmark = pytest.mark.redis


def _namespace(project: fti.Project) -> str:
    return str(project._online.namespace)  # type: ignore[attr-defined]


@pytest.fixture
def namespaces(redis_url: str) -> Iterator[list[str]]:
    """Namespaces a test used: their keys are removed from the shared Redis afterwards."""
    import redis

    used: list[str] = []
    yield used
    client = redis.Redis.from_url(redis_url)
    for namespace in used:
        keys = list(client.scan_iter(match=f"{namespace}:*", count=10_000))
        if keys:
            client.delete(*keys)
    client.close()


def _group(project: fti.Project, value: float) -> None:
    fg = project.get_feature_store().create_feature_group(
        "shared_name", primary_key=["k"], online_enabled=True
    )
    fg.insert(pa.table({"k": [1], "v": [value]}))


def test_projects_with_the_same_relative_catalog_url_keep_their_rows_apart(
    tmp_path: Path, redis_url: str, namespaces: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sqlite:///catalog.sqlite`` names a different file in each working directory."""
    url = "sqlite:///catalog.sqlite"
    for name, value in (("a", 1.0), ("b", 2.0)):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        with fti.connect(tmp_path / name / "home", catalog_url=url, online_store=redis_url) as p:
            namespaces.append(_namespace(p))
            _group(p, value)
    for name, value in (("a", 1.0), ("b", 2.0)):
        monkeypatch.chdir(tmp_path / name)
        with fti.connect(tmp_path / name / "home", catalog_url=url, online_store=redis_url) as p:
            assert p.get_feature_store().get_feature_group("shared_name").lookup(1) == {"v": value}
    assert namespaces[0] != namespaces[1]


@pytest.mark.postgres
def test_one_catalog_spelled_two_ways_is_one_project(
    tmp_path: Path, redis_url: str, postgres_url: str, namespaces: list[str]
) -> None:
    """``localhost`` and ``127.0.0.1`` reach the same database: a reader of one spelling sees
    what a writer of the other writes."""
    other = sa.engine.make_url(postgres_url).set(host="localhost")
    other_url = other.render_as_string(hide_password=False)
    assert other_url != postgres_url
    with (
        fti.connect(tmp_path / "w", catalog_url=postgres_url, online_store=redis_url) as writer,
        fti.connect(tmp_path / "r", catalog_url=other_url, online_store=redis_url) as reader,
    ):
        namespaces.extend([_namespace(writer), _namespace(reader)])
        _group(writer, 42.0)
        seen = reader.get_feature_store().get_feature_group("shared_name")
        assert seen.lookup(1) == {"v": 42.0}
        writer.get_feature_store().get_feature_group("shared_name").insert(
            pa.table({"k": [1], "v": [99.0]})
        )
        assert seen.lookup(1) == {"v": 99.0}
        assert _namespace(writer) == _namespace(reader)


def test_a_copied_home_is_a_new_project_with_its_own_online_rows(
    tmp_path: Path, redis_url: str, namespaces: list[str]
) -> None:
    original, copy = tmp_path / "original", tmp_path / "copy"
    with fti.connect(original, online_store=redis_url) as project:
        identity = project._catalog.project_id
        namespaces.append(_namespace(project))
        _group(project, 1.0)
    shutil.copytree(original, copy)
    with fti.connect(copy, online_store=redis_url) as project:
        assert project._catalog.project_id != identity
        namespaces.append(_namespace(project))
        fg = project.get_feature_store().get_feature_group("shared_name")
        assert fg.lookup(1) == {"v": 1.0}  # its own rows, rebuilt from its own table
        fg.insert(pa.table({"k": [1], "v": [5.0]}))
    with fti.connect(original, online_store=redis_url) as project:
        assert project._catalog.project_id == identity  # reopening keeps it
        assert project.get_feature_store().get_feature_group("shared_name").lookup(1) == {"v": 1.0}
    with fti.connect(copy, online_store=redis_url) as project:
        assert project.get_feature_store().get_feature_group("shared_name").lookup(1) == {"v": 5.0}
    assert namespaces[0] != namespaces[1]


def test_homes_sharing_one_sqlite_catalog_share_its_identity(tmp_path: Path) -> None:
    """The id belongs to the catalog file where it was minted, not to a home using it."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    ids = []
    for home in ("a", "b", "a", "b"):
        with fti.connect(tmp_path / home, catalog_url=url) as project:
            ids.append(project._catalog.project_id)
    assert len(set(ids)) == 1


@pytest.mark.postgres
def test_every_home_on_a_postgresql_catalog_shares_its_identity(
    tmp_path: Path, postgres_url: str
) -> None:
    ids = []
    for home in ("a", "b", "a"):
        with fti.connect(tmp_path / home, catalog_url=postgres_url) as project:
            ids.append(project._catalog.project_id)
    assert len(set(ids)) == 1


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


def test_a_project_from_before_0009_serves_its_rows_again(
    tmp_path: Path, catalog_url: str, redis_url: str, namespaces: list[str]
) -> None:
    """0009 gives an existing project its id, and with it a new Redis namespace: the group's
    next open finds no online watermark there and rebuilds the rows from the offline table."""
    home = tmp_path / "home"
    with fti.connect(home, catalog_url=catalog_url, online_store=redis_url) as project:
        namespaces.append(_namespace(project))
        _group(project, 3.0)
    _migrate_to(catalog_url, "0008", downgrade=True)
    engine = sa.create_engine(catalog_url)
    assert "project" not in sa.inspect(engine).get_table_names()
    engine.dispose()
    with fti.connect(home, catalog_url=catalog_url, online_store=redis_url) as project:
        namespaces.append(_namespace(project))
        assert namespaces[1] != namespaces[0]
        assert project.get_feature_store().get_feature_group("shared_name").lookup(1) == {"v": 3.0}


def test_the_id_is_created_once_and_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    first = Catalog(url)
    second = Catalog(url)
    try:
        assert first.project_id == second.project_id
        assert len(first.project_id) == 32
    finally:
        first.close()
        second.close()
