"""Bodies JSON does not allow (``NaN``, ``Infinity``, numbers too large for a double, lone
surrogates) and bodies that are not declared JSON get a 4xx with a JSON error naming the
field, the same answer from a real server (the predict fast path in the HTTP protocol) and
from the app in-process (the ASGI middleware and FastAPI), and write no inference-log row."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

import fti
from fti.serving.server import create_app
from fti.serving.workers import in_thread
from tests.serving.conftest import deployed

JSON = {"content-type": "application/json"}
V1 = "/v1/deployments/fraud/predict"
V2 = "/v2/models/fraud/infer"


def _forms(amount: str) -> list[tuple[str, bytes, str]]:
    """The amount ``amount`` (JSON text) in each form: route, body, the field to name."""
    v2 = (
        '{"inputs": [{"name": "cc_num", "shape": [1], "datatype": "INT64", "data": [1]}, '
        f'{{"name": "amount", "shape": [1], "datatype": "FP64", "data": [{amount}]}}]}}'
    )
    second = f'{{"cc_num": 2, "amount": {amount}}}'
    return [
        (V1, f'{{"cc_num": 1, "amount": {amount}}}'.encode(), "amount"),
        (
            V1,
            f'{{"instances": [{{"cc_num": 1, "amount": 2.0}}, {second}]}}'.encode(),
            "instances[1].amount",
        ),
        (V2, v2.encode(), "inputs[1].data[0]"),
    ]


BAD_VALUES = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", '"\\ud800"']


def _answers(post: Any) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for value in BAD_VALUES:
        for path, body, field in _forms(value):
            response = post(path, content=body, headers=JSON)
            out.append((value, path, field, response.status_code, response.headers, response.text))
    good = _forms("3.0")
    for path, body, _ in good:
        for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
            response = post(path, content=body, headers={"content-type": kind})
            out.append((kind, path, "", response.status_code, response.headers, response.text))
        response = post(path, content=body)  # no content type at all
        out.append(("none", path, "", response.status_code, response.headers, response.text))
    for path, body, _ in [good[0], good[2]]:  # parameters of the media type are fine
        response = post(
            path, content=body, headers={"content-type": "application/JSON; charset=utf-8"}
        )
        assert response.status_code == 200, response.text
    return out


def test_bad_bodies_are_4xx_naming_the_field_on_both_paths_and_log_nothing(
    project: fti.Project,
) -> None:
    fv, _, _ = deployed(project)
    app = create_app(project)
    with in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as remote:
        served = _answers(remote.post)
    with TestClient(create_app(project)) as client:
        in_process = _answers(client.post)
    for answers in (served, in_process):
        for what, path, field, status, headers, text in answers:
            where = f"{what} on {path}: {status} {text}"
            assert headers["content-type"] == "application/json", where
            error = httpx.Response(status, content=text).json()
            assert set(error) >= {"error", "detail"}, where
            if field:
                assert status == 422 and error["error"] == "InvalidDataError", where
                assert [e["field"] for e in error["errors"]] == [field], where
                assert field in error["detail"], where
            else:
                assert status == 415 and error["error"] == "UnsupportedMediaType", where
                assert "application/json" in error["detail"], where
    assert [(*a[:4], a[5]) for a in served] == [(*a[:4], a[5]) for a in in_process]
    assert len(fv.read_log()) == 4  # the two good requests of each server, nothing refused


def test_the_openapi_document_lists_the_errors_with_their_body(project: fti.Project) -> None:
    deployed(project)
    with TestClient(create_app(project)) as client:
        spec = client.get("/openapi.json").json()
    for path in (V1, "/v2/models/{name}/infer"):
        answers = spec["paths"][path]["post"]["responses"]
        assert sorted(answers) == ["200", "400", "404", "413", "415", "422", "503"], path
        for status in ("400", "415", "422"):
            schema = answers[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)
    error = spec["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"error", "detail"}
    assert "errors" in error["properties"]
