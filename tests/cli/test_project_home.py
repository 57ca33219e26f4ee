"""Opening a project: read-only commands never create one, ``fti init`` does, and
``fti.connect()`` creates one only where nothing else lives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

import fti
from fti.cli import app

runner = CliRunner()

READ_ONLY = [
    ["fg", "list"],
    ["fg", "show", "cards"],
    ["fg", "read", "cards"],
    ["fv", "list"],
    ["fv", "show", "cc_fraud"],
    ["td", "show", "cc_fraud", "1"],
    ["model", "list"],
    ["model", "show", "cc_fraud"],
    ["model", "alias", "cc_fraud", "1", "production"],  # moves an alias: needs a project
]


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_commands_on_a_missing_home_create_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    typo = tmp_path / "fti_hmoe"
    result = runner.invoke(app, ["--home", str(typo), *args])
    assert result.exit_code == 1, result.output
    assert f"no fti project at {typo}" in result.output
    assert "fti init" in result.output and "Traceback" not in result.output
    assert not typo.exists()


def test_read_only_commands_leave_a_directory_that_is_no_project_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["--home", str(tmp_path), "fg", "list"])
    assert result.exit_code == 1
    assert f"no fti project at {tmp_path}" in result.output and "notes.txt" in result.output
    assert tree(tmp_path) == ["notes.txt"]


def test_the_default_home_is_not_created_by_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FTI_HOME", raising=False)
    result = runner.invoke(app, ["fg", "list"])
    assert result.exit_code == 1 and "no fti project at" in result.output
    assert tree(tmp_path) == []


def test_init_creates_a_project_then_commands_read_it(tmp_path: Path) -> None:
    home = tmp_path / "team"
    result = runner.invoke(app, ["init", str(home)])
    assert result.exit_code == 0, result.output
    assert f"created an fti project at {home}" in result.output
    assert (home / "catalog.sqlite").exists()
    result = runner.invoke(app, ["--home", str(home), "fg", "list"])
    assert result.exit_code == 0 and "No feature groups yet" in result.output
    again = runner.invoke(app, ["init", str(home)])
    assert again.exit_code == 0 and f"{home} already holds an fti project" in again.output


def test_init_uses_the_home_option_and_refuses_a_directory_holding_other_files(
    tmp_path: Path,
) -> None:
    result = runner.invoke(app, ["--home", str(tmp_path / "h"), "init"])
    assert result.exit_code == 0 and (tmp_path / "h" / "catalog.sqlite").exists()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("")
    result = runner.invoke(app, ["init", str(tmp_path / "src")])
    assert result.exit_code == 1
    assert "main.py" in result.output and "Traceback" not in result.output
    assert tree(tmp_path / "src") == ["main.py"]


def test_connect_creates_a_project_where_there_is_none(tmp_path: Path) -> None:
    with fti.connect(tmp_path / "new") as project:
        assert project.home == (tmp_path / "new").resolve()
    with fti.connect(tmp_path / "empty_dir_is_fine") as project:
        pass
    assert (tmp_path / "new" / "catalog.sqlite").exists()


def test_connect_refuses_a_directory_that_holds_something_else(tmp_path: Path) -> None:
    (tmp_path / "report.csv").write_text("a,b\n")
    (tmp_path / "data").mkdir()
    with pytest.raises(fti.ConfigurationError) as info:
        fti.connect(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "data/" in message and "report.csv" in message
    assert tree(tmp_path) == ["data", "report.csv"]


def test_connect_without_create_raises_project_not_found(tmp_path: Path) -> None:
    with pytest.raises(fti.ProjectNotFound) as info:
        fti.connect(tmp_path / "missing", create=False)
    assert isinstance(info.value, fti.NotFoundError)
    assert f"no fti project at {tmp_path / 'missing'}" in str(info.value)
    assert not (tmp_path / "missing").exists()
    fti.connect(tmp_path / "p").close()
    fti.connect(tmp_path / "p", create=False).close()  # an existing project opens


def test_a_home_whose_fti_toml_names_the_catalog_is_a_project(tmp_path: Path) -> None:
    """A team project keeps its catalog in PostgreSQL: the home holds only fti.toml. Opening
    it is attempted (and fails here on the unreachable server), never refused as no project;
    the CLI shows the failure as one line."""
    (tmp_path / "fti.toml").write_text('[catalog]\nurl = "postgresql://fti@127.0.0.1:1/nope"\n')
    with pytest.raises(fti.FtiError) as info:
        fti.connect(tmp_path, create=False)
    assert not isinstance(info.value, fti.ProjectNotFound)
    assert "127.0.0.1" in str(info.value)


def test_a_project_is_recognised_by_its_catalog_file_alone(tmp_path: Path) -> None:
    fti.connect(tmp_path / "p").close()
    shutil.rmtree(tmp_path / "p" / "online.lmdb")
    assert tree(tmp_path / "p") == ["catalog.sqlite"]
    fti.connect(tmp_path / "p", create=False).close()


@pytest.mark.redis
@pytest.mark.postgres
def test_a_home_whose_backends_came_from_arguments_is_a_project(
    tmp_path: Path, redis_url: str, postgres_url: str
) -> None:
    """Catalog in PostgreSQL and online rows in Redis, given as arguments: the home records
    them in fti.toml, and what fti writes in the home itself (offline tables, model artifacts)
    marks it as a project too; its write locks live with the catalog, not in the home."""
    home = tmp_path / "team"
    with fti.connect(home, catalog_url=postgres_url, online_store=redis_url) as project:
        fg = project.get_feature_store().create_feature_group("g", primary_key=["k"])
        fg.insert(pa.table({"k": [1], "v": [1.0]}))
    shutil.rmtree(home / "offline")
    assert sorted(p.name for p in home.iterdir()) == ["fti.toml"]
    fti.connect(home, catalog_url=postgres_url, online_store=redis_url, create=False).close()
    with fti.connect(home, create=False) as project:  # the recorded backends
        assert (project.catalog_url, project.online_store) == (postgres_url, redis_url)
    (home / "models").mkdir()
    (home / "fti.toml").unlink()  # models/ alone: still the project's home
    with pytest.raises(fti.ConfigurationError, match="records none"):
        fti.connect(home, catalog_url=postgres_url, create=False)


def test_a_backend_that_fails_leaves_no_empty_home_behind(tmp_path: Path) -> None:
    home = tmp_path / "new"
    with pytest.raises(fti.BackendUnavailable, match=r"127\.0\.0\.1:1/nope is unreachable"):
        fti.connect(home, catalog_url="postgresql://fti@127.0.0.1:1/nope")
    assert not home.exists()
