"""A server that would serve nothing does not start: unknown deployment names and a project
without deployments are errors at start (in the library and in ``fti serve``), unless an
empty server is asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import fti
from fti.cli import app as cli
from fti.cli.worker import app_from_environment
from fti.serving import workers
from fti.serving.server import create_app
from tests.serving.conftest import deployed

runner = CliRunner()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The calls that would have started serving (nothing is served in these tests)."""
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(workers, "serve", lambda *args: calls.append(args))
    for name in ("FTI_SERVE_DEPLOYMENTS", "FTI_SERVE_ALLOW_EMPTY", "FTI_HOME"):
        monkeypatch.setenv(name, "")  # so that what `fti serve` sets is undone after the test
        monkeypatch.delenv(name)
    return calls


def test_unknown_names_are_refused_naming_them_and_the_existing_ones(
    project: fti.Project,
) -> None:
    deployed(project)
    with pytest.raises(fti.DeploymentNotFound, match=r"'frod'.*'fraud'"):
        create_app(project, ["fraud", "frod"])
    with TestClient(create_app(project, ["fraud"])) as client:
        assert [d["name"] for d in client.get("/v1/deployments").json()] == ["fraud"]


def test_a_project_without_deployments_is_refused_unless_allowed(project: fti.Project) -> None:
    with pytest.raises(fti.FtiError, match="no deployments"):
        create_app(project)
    with TestClient(create_app(project, allow_empty=True)) as client:
        assert client.get("/v1/deployments").json() == []


def test_the_worker_app_honours_allow_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fti.connect(tmp_path / "empty").close()
    monkeypatch.setenv("FTI_HOME", str(tmp_path / "empty"))
    monkeypatch.delenv("FTI_SERVE_DEPLOYMENTS", raising=False)
    monkeypatch.delenv("FTI_SERVE_ALLOW_EMPTY", raising=False)
    with pytest.raises(fti.FtiError, match="no deployments"):
        app_from_environment()
    monkeypatch.setenv("FTI_SERVE_ALLOW_EMPTY", "1")
    assert app_from_environment() is not None


def test_fti_serve_refuses_an_unknown_deployment_in_one_line(
    project: fti.Project, started: list[tuple[Any, ...]]
) -> None:
    deployed(project)
    result = runner.invoke(
        cli, ["--home", str(project.home), "serve", "--deployment", "frod"], color=False
    )
    assert result.exit_code == 1, result.output
    assert started == []
    assert "frod" in result.output and "fraud" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_fti_serve_refuses_an_empty_project_unless_allowed(
    tmp_path: Path, started: list[tuple[Any, ...]]
) -> None:
    home = tmp_path / "home"
    fti.connect(home).close()
    result = runner.invoke(cli, ["--home", str(home), "serve"], color=False)
    assert result.exit_code == 1 and started == []
    assert "no deployments" in result.output and "--allow-empty" in result.output
    result = runner.invoke(cli, ["--home", str(home), "serve", "--allow-empty"], color=False)
    assert result.exit_code == 0, result.output
    assert len(started) == 1


def test_fti_serve_does_not_create_a_missing_home(
    tmp_path: Path, started: list[tuple[Any, ...]]
) -> None:
    missing = tmp_path / "typo"
    result = runner.invoke(cli, ["--home", str(missing), "serve", "--allow-empty"], color=False)
    assert result.exit_code == 1 and started == []
    assert "no fti project" in result.output
    assert not missing.exists()
