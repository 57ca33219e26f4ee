"""A client's mistake gets one error, the right one: the form the request meant (a batch when
it has ``instances``, else one instance) names the field; an unknown deployment is a
``DeploymentNotFound`` on every route and in ``fti.Client``; the advice for an entity without
an online row is the deployment's ``missing`` option (the missing-values policy)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

import fti
from fti.serving.server import create_app
from tests.serving.conftest import deployed

PATH = "/v1/deployments/fraud/predict"


@pytest.fixture
def client(project: fti.Project) -> Iterator[TestClient]:
    deployed(project)
    with TestClient(create_app(project)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"cc_num": 1}, "amount", "required"),
        ({"cc_num": 1, "amount": 1.0, "extra": 1}, "extra", "not permitted"),
        ({"cc_num": "1", "amount": 1.0}, "cc_num", "integer"),
        ({"instances": [{"cc_num": 1, "amount": 1.0}, {"cc_num": 2}]}, "instances[1].amount", ""),
        ({"instances": []}, "instances", "at least 1"),
        ({"instances": 3}, "instances", "list"),
        ({"instances": [{"cc_num": 1, "amount": 1.0}], "cc_num": 1}, "cc_num", "not permitted"),
    ],
)
def test_one_error_of_the_form_meant_naming_the_field(
    client: TestClient, body: Any, field: str, message: str
) -> None:
    response = client.post(PATH, json=body)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["error"] == "InvalidDataError"
    assert [e["field"] for e in answer["errors"]] == [field], answer
    assert field in answer["detail"] and message in answer["detail"], answer


@pytest.mark.parametrize(
    ("content", "expected"), [(b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object")]
)
def test_a_body_that_is_no_instance_at_all_is_one_error(
    client: TestClient, content: bytes, expected: str
) -> None:
    response = client.post(PATH, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["error"] == "InvalidDataError" and len(answer["errors"]) == 1, answer
    assert expected in answer["detail"], answer


def test_posting_to_an_unknown_deployment_is_deployment_not_found(client: TestClient) -> None:
    for path in ("/v1/deployments/nope/predict", "/v1/deployments/nope"):
        call = client.post if path.endswith("predict") else client.get
        response = call(path, **({"json": {"cc_num": 1}} if call == client.post else {}))
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "DeploymentNotFound"
        assert "'nope'" in response.json()["detail"]


def test_no_online_row_advises_the_missing_option(client: TestClient) -> None:
    response = client.post(PATH, json={"cc_num": 99, "amount": 1.0})
    assert response.status_code == 404, response.text
    detail = response.json()["detail"]
    assert "no online row" in detail and "99" in detail
    assert "missing=" in detail and "'impute'" in detail and "'last_known'" in detail
    assert "fallback" not in detail
    assert "init_serving" not in detail


def test_the_client_raises_the_servers_error_classes(
    project: fti.Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fti.serving.workers import in_thread

    deployed(project)
    with in_thread(create_app(project)) as url, fti.Client(url) as remote:
        with pytest.raises(fti.DeploymentNotFound, match="nope"):
            remote.predict("nope", {"cc_num": 1, "amount": 3.0})
        with pytest.raises(fti.DeploymentNotFound, match="nope"):
            remote.deployment("nope")
        with pytest.raises(fti.InvalidDataError, match="amount"):
            remote.predict("fraud", {"cc_num": 1})
        monkeypatch.setattr(project._online, "multi_get", _down)
        with pytest.raises(fti.OnlineStoreUnavailable, match="no answer"):
            remote.predict("fraud", {"cc_num": 1, "amount": 3.0})


def _down(requests: Any) -> Any:
    raise TimeoutError("no answer")
