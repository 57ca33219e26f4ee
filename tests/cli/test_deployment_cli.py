"""``fti deployment list | show | start | stop``: what is deployed and whether it is served,
the request contract and where it is served, starting (checked) and stopping what fti serve
serves, and errors in one line."""

from __future__ import annotations

import pickle
import time
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
    assert [cell.strip() for cell in row.split("│")[1:6]] == ["fraud", "1", "fraud", "1", "running"]
    assert "server" not in out.splitlines()[1]  # no server column without --server
    assert "--server" in out  # what adds one
    empty = tmp_path / "empty"
    fti.connect(empty).close()
    assert "No deployments yet" in invoke(empty, "list")


def test_list_with_the_state_a_server_reports(home: Path) -> None:
    with fti.connect(home) as project, in_thread(create_app(project)) as url:
        out = invoke(home, "list", "--server", url)
        invoke(home, "stop", "fraud")
        deadline = time.monotonic() + 30
        while "stopped" not in (row := _cells(invoke(home, "list", "--server", url)))[5]:
            assert time.monotonic() < deadline, row
            time.sleep(0.05)
    assert "server" in out.splitlines()[1]
    assert _cells(out)[4:6] == ["running", "running"]  # recorded, and what the server does
    assert row[4:6] == ["stopped", "stopped"]


def _cells(out: str) -> list[str]:
    row = next(line for line in out.splitlines() if "fraud" in line)
    return [cell.strip() for cell in row.split("│")[1:-1]]


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


def test_stop_and_start_record_the_state_fti_serve_follows(home: Path) -> None:
    out = invoke(home, "stop", "fraud")
    assert "recorded as stopped" in out and "503 DeploymentStopped" in out
    assert "within about a second" in out and "fti deployment start fraud" in out
    assert _cells(invoke(home, "list"))[4] == "stopped"
    with fti.connect(home) as project:
        assert project.get_model_serving().get_deployment("fraud").state == "stopped"
    out = invoke(home, "start", "fraud")
    assert "model fraud version 1 loads" in out and "recorded as running" in out
    assert "within about a second" in out and "fti serve --deployment fraud" in out
    assert _cells(invoke(home, "list"))[4] == "running"


def test_start_fails_in_one_line_when_the_model_cannot_serve(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with fti.connect(home) as project:
        fv, _, _ = deployed(project)
        (tmp_path / "model").mkdir()
        (tmp_path / "model" / "model.pkl").write_bytes(pickle.dumps({"weights": [1.0]}))
        model = project.get_model_registry().python.create_model("broken", feature_view=fv)
        model.save(tmp_path / "model").deploy()
    invoke(home, "stop", "broken")
    line = invoke(home, "start", "broken", code=1)
    assert "no predict method" in line and len(line.strip().splitlines()) == 1
    assert _cells(invoke(home, "list"))[4] == "running"  # fraud
    broken = next(line for line in invoke(home, "list").splitlines() if "broken" in line)
    assert "stopped" in broken  # not recorded as running


def test_unknown_deployments_are_one_line_errors_that_record_nothing(home: Path) -> None:
    for command in ("start", "stop"):
        line = invoke(home, command, "nope", code=1)
        assert "deployment 'nope' does not exist" in line, line
        assert len(line.strip().splitlines()) == 1
    with fti.connect(home) as project:
        recorded = project._catalog.deployment_states()
        assert [r.updated_by for r in recorded.values()] == [None]  # fraud's: never recorded
