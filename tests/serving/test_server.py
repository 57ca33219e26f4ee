"""The HTTP server in-process (httpx through the ASGI app): predictions, contract errors as
4xx naming the field, the Open Inference Protocol v2, metrics, OpenAPI and fti.Client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

import fti
from fti.serving.server import create_app
from tests.serving.test_deployment import expected, logged, scored, vector


@pytest.fixture
def server(project: fti.Project) -> Iterator[tuple[TestClient, Any, Any]]:
    """A client of the app serving a linear regression on build_view's view, and the
    regression's own predict on feature vectors (to compare with vectors worked out by
    hand)."""
    fv, predict, _ = scored(project)
    with TestClient(create_app(project, max_batch=10)) as client:
        yield client, fv, predict


def test_predict_single_and_batch(server: tuple[TestClient, Any, Any]) -> None:
    client, _, predict = server
    response = client.post("/v1/deployments/fraud/predict", json={"cc_num": 1, "amount": 3.0})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [body["prediction"]] == expected([(1, 3.0)], predict)
    assert "feature_vector;dur=" in response.headers["Server-Timing"]
    batch = client.post(
        "/v1/deployments/fraud/predict",
        json={"instances": [{"cc_num": c, "amount": 1.0 + c} for c in range(4)]},
    )
    assert batch.status_code == 200
    assert batch.json()["predictions"] == expected([(c, 1.0 + c) for c in range(4)], predict)
    listed = client.get("/v1/deployments").json()
    assert listed == [
        {
            "name": "fraud",
            "version": 1,
            "schema_version": 1,
            "model": {"name": "fraud", "version": 1},
            "status": "running",
            "slo": None,
        }
    ]
    assert client.get("/v1/deployments/fraud").json()["schema"]["input"]["required"] == [
        "cc_num",
        "amount",
    ]


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"cc_num": 1}, 422, "amount"),
        ({"cc_num": 1, "amount": 1.0, "extra": 1}, 422, "extra"),
        ({"cc_num": "1", "amount": 1.0}, 422, "cc_num"),
        ({"cc_num": 1, "amount": "1.0"}, 422, "amount"),
        ({"cc_num": 99, "amount": 1.0}, 404, "99"),
        ({"instances": []}, 422, "instances"),
        ({"instances": [{"cc_num": 1, "amount": 1.0}] * 11}, 413, "at most 10"),
    ],
)
def test_bad_requests_are_4xx_naming_the_field(
    server: tuple[TestClient, Any, Any], body: Any, status: int, names: str
) -> None:
    client, _, _ = server
    response = client.post("/v1/deployments/fraud/predict", json=body)
    assert response.status_code == status, response.text
    assert names in response.text


def test_malformed_unknown_and_oversized(server: tuple[TestClient, Any, Any]) -> None:
    client, _, _ = server
    response = client.post(
        "/v1/deployments/fraud/predict",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert client.post("/v1/deployments/nope/predict", json={}).status_code == 404
    assert client.get("/v1/deployments/nope").status_code == 404
    huge = b'{"cc_num": 1, "amount": 1.0, "pad": "' + b"x" * (1 << 20) + b'"}'
    response = client.post(
        "/v1/deployments/fraud/predict", content=huge, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_open_inference_protocol_v2(server: tuple[TestClient, Any, Any]) -> None:
    """The v2 protocol answers what v1 answers for the same instances."""
    client, _, predict = server
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get("/v2/models/fraud/ready").json() == {"name": "fraud", "ready": True}
    meta = client.get("/v2/models/fraud").json()
    assert {i["name"]: i["datatype"] for i in meta["inputs"]} == {
        "cc_num": "INT64",
        "amount": "FP64",
    }
    response = client.post(
        "/v2/models/fraud/infer",
        json={
            "id": "r1",
            "inputs": [
                {"name": "cc_num", "shape": [2], "datatype": "INT64", "data": [1, 2]},
                {"name": "amount", "shape": [2], "datatype": "FP64", "data": [1.0, 9.0]},
            ],
        },
    )
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["id"] == "r1" and out["outputs"][0]["shape"] == [2]
    assert out["outputs"][0]["datatype"] == "FP64"
    v1 = client.post(
        "/v1/deployments/fraud/predict",
        json={"instances": [{"cc_num": 1, "amount": 1.0}, {"cc_num": 2, "amount": 9.0}]},
    )
    assert out["outputs"][0]["data"] == v1.json()["predictions"]
    assert out["outputs"][0]["data"] == expected([(1, 1.0), (2, 9.0)], predict)
    assert client.post("/v2/models/nope/infer", json={"inputs": []}).status_code == 404


def test_metrics_and_openapi(server: tuple[TestClient, Any, Any]) -> None:
    client, _, _ = server
    client.post("/v1/deployments/fraud/predict", json={"cc_num": 1, "amount": 3.0})
    client.post("/v1/deployments/fraud/predict", json={"cc_num": 99, "amount": 3.0})
    text = client.get("/metrics").text
    assert 'fti_requests_total{deployment="fraud",model_version="1"} 1.0' in text
    assert 'fti_errors_total{deployment="fraud",type="FeatureVectorNotFound"} 1.0' in text
    assert (
        'fti_step_seconds_bucket{deployment="fraud",le="0.0005",model_version="1",step="total"}'
        in text
    )
    assert "fti_inference_log_dropped" in text
    for step in ("feature_lookup", "on_demand", "model_dependent", "predict", "log_enqueue"):
        assert f'step="{step}"' in text
    spec = client.get("/openapi.json").json()
    assert "/v1/deployments/fraud/predict" in spec["paths"]
    assert "FraudInstance" in spec["components"]["schemas"]


def test_the_client_against_a_real_server(project: fti.Project) -> None:
    """fti.Client over loopback HTTP to uvicorn serving the app in a thread."""
    from fti.serving.workers import in_thread

    _, predict, _ = scored(project)
    with in_thread(create_app(project)) as url, fti.Client(url) as remote:
        assert remote.deployments()[0]["name"] == "fraud"
        one = remote.predict("fraud", {"cc_num": 1, "amount": 3.0})
        assert one["model_version"] == 1 and [one["prediction"]] == expected([(1, 3.0)], predict)
        batch = remote.predict("fraud", instances=[{"cc_num": 4, "amount": 3.0}])
        assert batch["predictions"] == expected([(4, 3.0)], predict)
        with pytest.raises(fti.FeatureVectorNotFound, match="99"):
            remote.predict("fraud", {"cc_num": 99, "amount": 3.0})
        with pytest.raises(fti.DeploymentNotFound, match="HTTP 404"):
            remote.deployment("nope")


def test_an_online_store_failure_is_a_clean_503(
    server: tuple[TestClient, Any, Any], project: fti.Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _, _ = server

    def down(requests: Any) -> Any:
        raise TimeoutError("no answer in 10 s")

    monkeypatch.setattr(project._online, "multi_get", down)
    response = client.post("/v1/deployments/fraud/predict", json={"cc_num": 1, "amount": 3.0})
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "OnlineStoreUnavailable" and "no answer in 10 s" in body["detail"]
    assert "Traceback" not in response.text


def test_a_degraded_answer_is_flagged_and_logged(project: fti.Project) -> None:
    fv, predict, _ = scored(project, missing="impute")
    deployment = project.get_model_serving().get_deployment("fraud").start()
    try:
        result = deployment.predict({"cc_num": 77, "amount": 3.0})
        deployment.flush_log()
    finally:
        deployment.stop()
    assert result["degraded"] is True
    assert [result["prediction"]] == expected([(None, 3.0)], predict)  # spend imputed
    log = fv.read_log(dataframe_type="arrow").to_pylist()
    assert log[0]["degraded"] is True and "no online row" in log[0]["reason"]
    assert logged(log[0]) == pytest.approx(vector(None, 3.0), rel=1e-12)
