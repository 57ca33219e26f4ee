"""The project's backends are part of the project: recorded in its fti.toml when it is made,
used by every process that opens it, and never silently switched by an argument or an
environment variable that says otherwise."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import fti
from fti.cli import app

ENV = ("FTI_CATALOG_URL", "FTI_OFFLINE_ROOT", "FTI_ONLINE_STORE", "FTI_ARTIFACTS")


@pytest.fixture(autouse=True)
def _no_backend_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def _recorded(home: Path) -> dict[str, object]:
    return tomllib.loads((home / "fti.toml").read_text())


def _files(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*"))


def test_backends_from_the_environment_are_used_by_a_process_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fti serve`` without FTI_ONLINE_STORE served a fresh local store of its own."""
    home = tmp_path / "home"
    monkeypatch.setenv("FTI_ONLINE_STORE", "sqlite")
    monkeypatch.setenv("FTI_OFFLINE_ROOT", str(tmp_path / "tables"))
    with fti.connect(home) as project:
        fg = project.get_feature_store().create_feature_group(
            "g", primary_key=["k"], online_enabled=True
        )
        fg.insert(pa.table({"k": [1], "v": [42.0]}))
    monkeypatch.delenv("FTI_ONLINE_STORE")
    monkeypatch.delenv("FTI_OFFLINE_ROOT")
    with fti.connect(home, create=False) as project:
        assert (project.online_store, project.offline_root) == ("sqlite", str(tmp_path / "tables"))
        assert project.get_feature_store().get_feature_group("g").lookup(1) == {"v": 42.0}
    assert _recorded(home) == {
        "offline": {"root": str(tmp_path / "tables")},
        "online": {"store": "sqlite"},
    }
    assert not (home / "online.lmdb").exists()


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_a_setting_that_contradicts_the_project_is_an_error_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    home = tmp_path / "home"
    fti.connect(home, online_store="sqlite").close()
    before = _files(home)
    if how == "environment":
        monkeypatch.setenv("FTI_ONLINE_STORE", "lmdb")
    with pytest.raises(fti.ConfigurationError) as caught:
        fti.connect(home, online_store="lmdb" if how == "argument" else None)
    message = str(caught.value)
    assert "'lmdb'" in message and "'sqlite'" in message and str(home / "fti.toml") in message
    assert ("FTI_ONLINE_STORE" in message) == (how == "environment")
    assert _files(home) == before


def test_a_default_project_records_nothing_and_refuses_a_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    fti.connect(home).close()
    assert not (home / "fti.toml").exists()
    # the defaults, spelled out, are no contradiction
    fti.connect(
        home,
        catalog_url=f"sqlite:///{home / 'catalog.sqlite'}",
        offline_root=str(home / "offline"),
        online_store="lmdb",
    ).close()
    monkeypatch.setenv("FTI_ONLINE_STORE", "sqlite")
    with pytest.raises(fti.ConfigurationError, match="the default"):
        fti.connect(home)
    monkeypatch.delenv("FTI_ONLINE_STORE")
    monkeypatch.setenv("FTI_ARTIFACTS", str(tmp_path / "models"))
    with pytest.raises(fti.ConfigurationError, match="FTI_ARTIFACTS"):
        fti.connect(home)
    assert not (home / "fti.toml").exists()


def test_a_relative_catalog_path_is_recorded_as_the_file_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fti.connect(tmp_path / "home", catalog_url="sqlite:///elsewhere.sqlite").close()
    assert _recorded(tmp_path / "home") == {
        "catalog": {"url": f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"}
    }
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    with pytest.raises(fti.ConfigurationError, match=r"elsewhere\.sqlite"):
        fti.connect(tmp_path / "home", catalog_url="sqlite:///elsewhere.sqlite")
    fti.connect(tmp_path / "home").close()


@pytest.mark.postgres
def test_a_password_is_never_recorded_and_is_taken_from_the_caller(
    tmp_path: Path, postgres_url: str
) -> None:
    """The server trusts local connections, so any password is accepted: what is checked is
    where it goes."""
    with_password = sa.engine.make_url(postgres_url).set(password="s3cret-pw")
    url = with_password.render_as_string(hide_password=False)
    home = tmp_path / "home"
    fti.connect(home, catalog_url=url).close()
    assert "s3cret-pw" not in (home / "fti.toml").read_text()
    recorded = _recorded(home)["catalog"]
    assert isinstance(recorded, dict)
    assert sa.engine.make_url(recorded["url"]).password is None
    with fti.connect(home, catalog_url=url) as project:
        assert project.catalog_url == url  # the caller's password is used
    with fti.connect(home) as project:  # none given: the server's own means (PGPASSWORD, ...)
        assert "s3cret-pw" not in project.catalog_url
    other = with_password.set(database="another").render_as_string(hide_password=False)
    with pytest.raises(fti.ConfigurationError) as caught:
        fti.connect(home, catalog_url=other)
    assert "s3cret-pw" not in str(caught.value) and "another" in str(caught.value)


def test_fti_init_records_the_backends_it_was_given(tmp_path: Path) -> None:
    runner = CliRunner()
    home = tmp_path / "team"
    result = runner.invoke(
        app, ["init", str(home), "--online-store", "sqlite", "--artifacts", str(tmp_path / "m")]
    )
    assert result.exit_code == 0, result.output
    assert _recorded(home) == {
        "online": {"store": "sqlite"},
        "registry": {"artifacts": str(tmp_path / "m")},
    }
    with fti.connect(home, create=False) as project:
        assert project.online_store == "sqlite"
    again = runner.invoke(app, ["init", str(home), "--online-store", "lmdb"])
    assert again.exit_code == 1
    assert "'lmdb'" in again.output and "'sqlite'" in again.output
