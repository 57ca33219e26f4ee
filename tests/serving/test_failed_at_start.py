"""A deployment that cannot be loaded when a server starts (a corrupt artifact) does not keep
the others from being served: it is reported failed, with the reason, and not ready."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import fti
from fti.serving.server import create_app
from tests.serving.conftest import deployed

INSTANCE = {"cc_num": 1, "amount": 3.0}


def corrupt(model: fti.Model) -> None:
    """Flip one bit of every stored file of ``model`` (same size: only the sha256 tells)."""
    mr = model._registry
    stored = Path(mr._context.store.path(model.record.artifact_uri))  # type: ignore[attr-defined, union-attr]
    files = [f for f in stored.rglob("*") if f.is_file()]
    assert files
    for f in files:
        data = f.read_bytes()
        f.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))


@pytest.fixture
def two(project: fti.Project) -> fti.Project:
    """Deployment "fraud" of model fraud v1 (corrupt) and "fraud_b" of fraud v2 (intact)."""
    fv, clf, _ = deployed(project)
    mr = project.get_model_registry()
    v1 = mr.get_model("fraud", 1)
    v2 = mr.sklearn.create_model("fraud", feature_view=fv)
    v2.save(clf)
    v2.deploy("fraud_b")
    corrupt(v1)
    return project


def test_a_corrupt_artifact_fails_its_deployment_and_the_others_serve(
    two: fti.Project, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "fti.serving"), TestClient(create_app(two)) as client:
        listed = {d["name"]: d for d in client.get("/v1/deployments").json()}
        assert listed["fraud"]["status"] == "failed"
        assert "ArtifactIntegrityError" in listed["fraud"]["reason"]
        assert listed["fraud_b"]["status"] == "running"
        assert "reason" not in listed["fraud_b"]

        response = client.post("/v1/deployments/fraud/predict", json=INSTANCE)
        assert response.status_code == 503
        assert "could not start: ArtifactIntegrityError" in response.json()["detail"]
        assert client.post("/v1/deployments/fraud_b/predict", json=INSTANCE).status_code == 200

        assert client.get("/v2/models/fraud/ready").json()["ready"] is False
        assert client.get("/v2/models/fraud_b/ready").json()["ready"] is True
        assert client.get("/v2/health/ready").json() == {"ready": False}
        assert client.get("/v2/health/live").json() == {"live": True}
    said = [r for r in caplog.records if r.name == "fti.serving" and "fraud " in r.getMessage()]
    failed = [r for r in said if "could not start" in r.getMessage()]
    assert len(failed) == 1, [r.getMessage() for r in said]
    assert failed[0].levelno == logging.WARNING
    assert failed[0].exc_info is None  # one line, the reason in it
    assert "\n" not in failed[0].getMessage()
    assert "ArtifactIntegrityError" in failed[0].getMessage()


def test_a_server_whose_every_deployment_failed_starts_not_ready(two: fti.Project) -> None:
    with TestClient(create_app(two, ["fraud"])) as client:
        assert client.get("/v2/health/live").json() == {"live": True}
        assert client.get("/v2/health/ready").json() == {"ready": False}
        assert client.get("/v1/deployments").json()[0]["status"] == "failed"
