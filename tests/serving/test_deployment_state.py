"""The recorded state of a deployment (running or stopped) and a server that follows it: a
stopped deployment answers 503 DeploymentStopped on every predict route and is not ready; a
started one answers again, loaded by the server if it never was."""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import fti
from fti.cli import app as cli
from fti.serving import workers
from fti.serving.deployment import Deployment
from fti.serving.server import create_app
from fti.serving.workers import in_thread
from tests.serving.conftest import deployed

INSTANCE = {"cc_num": 1, "amount": 3.0}
INFER = {
    "inputs": [
        {"name": n, "shape": [1], "datatype": "FP64", "data": [v]} for n, v in INSTANCE.items()
    ]
}
POLL = 0.01  # seconds between two reads of the states by the server under test
runner = CliRunner()


def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for ``condition`` (checked every few milliseconds), failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the server to follow"
        time.sleep(0.005)


def status(client: TestClient, name: str = "fraud") -> str:
    listed = {d["name"]: d["status"] for d in client.get("/v1/deployments").json()}
    return listed[name]


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the deployments started (loaded) from now on, in order."""
    started: list[str] = []
    original = Deployment.start

    def start(self: Deployment, **kwargs: Any) -> Deployment:
        started.append(self.name)
        return original(self, **kwargs)

    monkeypatch.setattr(Deployment, "start", start)
    return started


def test_the_state_is_recorded_per_name_and_checked(project: fti.Project) -> None:
    ms = project.get_model_serving()
    _, _, deployment = deployed(project)
    assert deployment.state == "running"  # nothing recorded: served, as before states
    assert ms.set_state("fraud", "stopped").version == 1
    assert deployment.state == "stopped"  # read from the catalog, not cached
    record = project._catalog.deployment_states()["fraud"]
    assert record.updated_by == project._client
    with pytest.raises(fti.FtiError, match="'running' or 'stopped', not 'paused'"):
        ms.set_state("fraud", "paused")
    with pytest.raises(fti.DeploymentNotFound, match="'frod'"):
        ms.set_state("frod", "stopped")
    assert project._catalog.deployment_states() == {"fraud": record}  # nothing written
    ms.set_state("fraud", "running")
    assert deployment.state == "running" and not deployment.running  # checked, then unloaded
    ms.set_state("fraud", "stopped")
    ms.delete_deployment("fraud")
    assert project._catalog.deployment_states() == {}
    with pytest.raises(fti.DeploymentNotFound, match="'fraud' does not exist"):
        assert deployment.state


def test_a_deployment_that_cannot_start_is_not_recorded_as_running(
    project: fti.Project, tmp_path: Path
) -> None:
    fv, _, _ = deployed(project)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.pkl").write_bytes(pickle.dumps({"weights": [1.0]}))
    model = project.get_model_registry().python.create_model("broken", feature_view=fv)
    model.save(tmp_path / "model").deploy()
    ms = project.get_model_serving()
    ms.set_state("broken", "stopped")
    with pytest.raises(fti.FtiError, match="no predict method"):
        ms.set_state("broken", "running")
    assert ms.get_deployment("broken").state == "stopped"


@pytest.fixture
def served(project: fti.Project) -> Iterator[tuple[fti.Project, TestClient]]:
    deployed(project)
    with TestClient(create_app(project, state_poll_seconds=POLL)) as client:
        yield project, client


def test_stop_answers_503_and_start_answers_again(
    served: tuple[fti.Project, TestClient],
) -> None:
    project, client = served
    ms = project.get_model_serving()
    assert client.post("/v1/deployments/fraud/predict", json=INSTANCE).status_code == 200

    ms.set_state("fraud", "stopped")
    until(lambda: status(client) == "stopped")
    detail = "deployment 'fraud' is stopped; fti deployment start fraud serves it again"
    for path, body in (
        ("/v1/deployments/fraud/predict", INSTANCE),
        ("/v1/deployments/fraud/predict", {"instances": [INSTANCE] * 2}),
        ("/v2/models/fraud/infer", INFER),
    ):
        response = client.post(path, json=body)
        assert response.status_code == 503, (path, response.text)
        assert response.json()["error"] == "DeploymentStopped"
        assert response.json()["detail"] == detail
    assert client.get("/v2/models/fraud/ready").json() == {"name": "fraud", "ready": False}
    # readiness counts what is meant to run: nothing else is
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get("/v1/deployments/fraud").json()["status"] == "stopped"
    metrics = client.get("/metrics").text
    assert 'fti_errors_total{deployment="fraud",type="DeploymentStopped"} 3.0' in metrics

    ms.set_state("fraud", "running")
    until(lambda: status(client) == "running")
    assert client.post("/v1/deployments/fraud/predict", json=INSTANCE).status_code == 200
    infer = client.post("/v2/models/fraud/infer", json=INFER)
    assert infer.status_code == 200, infer.text
    assert client.get("/v2/models/fraud/ready").json()["ready"] is True


def test_a_deployment_stopped_at_start_is_loaded_once_started(
    project: fti.Project, loads: list[str]
) -> None:
    deployed(project)
    ms = project.get_model_serving()
    ms.set_state("fraud", "stopped")
    loads.clear()
    with TestClient(create_app(project, state_poll_seconds=POLL)) as client:
        assert loads == [] and status(client) == "stopped"  # routes, but nothing loaded
        response = client.post("/v1/deployments/fraud/predict", json=INSTANCE)
        assert response.status_code == 503 and response.json()["error"] == "DeploymentStopped"
        assert "/v1/deployments/fraud/predict" in client.get("/openapi.json").json()["paths"]

        ms.set_state("fraud", "running")  # loads it here once (the check), then the server
        until(lambda: status(client) == "running")
        assert loads == ["fraud", "fraud"]
        assert client.post("/v1/deployments/fraud/predict", json=INSTANCE).status_code == 200
        ms.set_state("fraud", "stopped")
        until(lambda: status(client) == "stopped")
        ms.set_state("fraud", "running")
        until(lambda: status(client) == "running")
        assert loads == ["fraud", "fraud", "fraud"]  # the check only: the server kept it loaded


def test_a_failed_load_is_not_ready_and_tried_again_when_started_again(
    project: fti.Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed(project)
    catalog = project._catalog
    catalog.set_deployment_state("fraud", "stopped", "test")
    with TestClient(create_app(project, state_poll_seconds=POLL)) as client:
        original = Deployment.start

        def fail(self: Deployment, **kwargs: Any) -> Deployment:
            raise fti.FtiError("the disk is gone")

        monkeypatch.setattr(Deployment, "start", fail)
        catalog.set_deployment_state("fraud", "running", "test")  # as another machine would
        until(lambda: status(client) == "failed")
        response = client.post("/v1/deployments/fraud/predict", json=INSTANCE)
        assert response.status_code == 503
        assert "could not start: FtiError: the disk is gone" in response.json()["detail"]
        assert client.get("/v2/health/ready").json() == {"ready": False}

        monkeypatch.setattr(Deployment, "start", original)
        catalog.set_deployment_state("fraud", "running", "test")  # recorded again: tried again
        until(lambda: status(client) == "running")
        assert client.post("/v1/deployments/fraud/predict", json=INSTANCE).status_code == 200
        assert client.get("/v2/health/ready").json() == {"ready": True}


def test_a_deleted_deployment_answers_404_even_once_made_again(project: fti.Project) -> None:
    deployed(project)
    model = project.get_model_registry().get_model("fraud", 1)
    model.deploy("fraud_b")
    ms = project.get_model_serving()
    with TestClient(create_app(project, state_poll_seconds=POLL)) as client:
        ms.set_state("fraud", "stopped")  # its state goes with it: it must not run again
        ms.delete_deployment("fraud")
        until(lambda: status(client) == "deleted")
        response = client.post("/v1/deployments/fraud/predict", json=INSTANCE)
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "DeploymentNotFound"
        assert "was deleted after this server started" in response.json()["detail"]
        assert client.get("/v2/health/ready").json() == {"ready": True}
        assert client.get("/v2/models/fraud/ready").json()["ready"] is False

        model.deploy()  # fraud again: a new deployment, for the next server
        ms.set_state("fraud_b", "stopped")  # once the server shows it, it has read both
        until(lambda: status(client, "fraud_b") == "stopped")
        assert status(client) == "deleted"
        assert client.post("/v1/deployments/fraud/predict", json=INSTANCE).status_code == 404


def test_the_fast_path_answers_503_and_the_client_raises_deployment_stopped(
    project: fti.Project,
) -> None:
    deployed(project)
    ms = project.get_model_serving()
    with in_thread(create_app(project, state_poll_seconds=POLL)) as url, fti.Client(url) as remote:
        assert "prediction" in remote.predict("fraud", INSTANCE)
        ms.set_state("fraud", "stopped")
        until(lambda: remote.deployments()[0]["status"] == "stopped")
        with pytest.raises(fti.DeploymentStopped, match="HTTP 503: deployment 'fraud' is stopped"):
            remote.predict("fraud", INSTANCE)
        ms.set_state("fraud", "running")
        until(lambda: remote.deployments()[0]["status"] == "running")
        assert "prediction" in remote.predict("fraud", INSTANCE)


def test_fti_serve_says_which_are_stopped_and_starts_when_all_are(
    project: fti.Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(workers, "serve", lambda *args: calls.append(args))
    for name in ("FTI_SERVE_DEPLOYMENTS", "FTI_SERVE_ALLOW_EMPTY", "FTI_HOME"):
        monkeypatch.setenv(name, "")  # so that what `fti serve` sets is undone after the test
        monkeypatch.delenv(name)
    deployed(project)
    project.get_model_registry().get_model("fraud", 1).deploy("fraud_b")
    ms = project.get_model_serving()
    ms.set_state("fraud_b", "stopped")

    def serve() -> str:
        result = runner.invoke(cli, ["--home", str(project.home), "serve"], color=False)
        assert result.exit_code == 0, result.output
        return result.output

    out = serve()
    assert "serving fraud, fraud_b" in out
    assert "stopped: fraud_b; they answer 503 until started" in out
    ms.set_state("fraud", "stopped")
    assert "stopped (all of them): fraud, fraud_b" in serve()
    assert len(calls) == 2  # started both times
