"""``fti deployment list | show | start | stop``: what is deployed, the request contract and
where it is served, whether a deployment starts, and errors in one line."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fti
from fti.cli import app
from fti.serving.server import create_app
from fti.serving.workers import in_thread
from tests.serving.conftest import deployed

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    with fti.connect(path) as project:
        deployed(project)
    return path


def invoke(home: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--home", str(home), "deployment", *args], color=False)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def test_list(home: Path, tmp_path: Path) -> None:
    out = invoke(home, "list")
    for header in ("name", "version", "model", "model version", "state"):
        assert header in out, header
    row = next(line for line in out.splitlines() if "fraud" in line)
    assert [cell.strip() for cell in row.split("│")[1:6]] == ["fraud", "1", "fraud", "1", "unknown"]
    assert "--server" in out  # where a state comes from
    empty = tmp_path / "empty"
    fti.connect(empty).close()
    assert "No deployments yet" in invoke(empty, "list")


def test_list_with_the_state_a_server_reports(home: Path) -> None:
    with fti.connect(home) as project, in_thread(create_app(project)) as url:
        out = invoke(home, "list", "--server", url)
    row = next(line for line in out.splitlines() if "fraud" in line)
    assert "running" in row


def test_show_prints_the_contract_and_where_it_is_served(home: Path) -> None:
    out = invoke(home, "show", "fraud")
    for text in (
        "version 1",
        "cc_num",
        "serving key",
        "amount",
        "passed feature",
        "integer",
        "number",
        "prediction",
        "boolean",
        "POST /v1/deployments/fraud/predict",
        "fti serve",
        "fallback",
    ):
        assert text in out, text
    line = invoke(home, "show", "nope", code=1)
    assert "deployment 'nope' does not exist" in line and len(line.strip().splitlines()) == 1


def test_start_loads_and_checks_then_says_how_to_serve(home: Path) -> None:
    out = invoke(home, "start", "fraud")
    assert "ready" in out and "model fraud version 1" in out
    assert "fti serve --deployment fraud" in out


def test_start_fails_in_one_line_when_the_model_cannot_serve(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with fti.connect(home) as project:
        fv, _, _ = deployed(project)
        (tmp_path / "model").mkdir()
        (tmp_path / "model" / "model.pkl").write_bytes(pickle.dumps({"weights": [1.0]}))
        model = project.get_model_registry().python.create_model("broken", feature_view=fv)
        model.save(tmp_path / "model").deploy()
    line = invoke(home, "start", "broken", code=1)
    assert "no predict method" in line and len(line.strip().splitlines()) == 1


def test_stop_says_what_stops_a_deployment(home: Path) -> None:
    line = invoke(home, "stop", "fraud", code=1)
    assert "fti serve" in line and len(line.strip().splitlines()) == 1
    assert "does not exist" in invoke(home, "stop", "nope", code=1)
