"""The predict fast path: well-formed requests skip FastAPI and answer exactly as it would;
everything else still reaches FastAPI, which names what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import fti
from fti.serving import fast
from fti.serving.fast import InstanceCheck
from fti.serving.server import MAX_BODY_BYTES, create_app
from tests.serving.test_deployment import expected, scored

PATH = "/v1/deployments/fraud/predict"


@pytest.fixture
def counted(project: fti.Project) -> Iterator[tuple[TestClient, list[str], Any]]:
    """A client of the app, the paths of requests that reached FastAPI, and the deployed
    regression's own predict (for the expected answers)."""
    _, predict, _ = scored(project)
    app = create_app(project, max_batch=5)
    reached: list[str] = []
    assert app.fast_path is not None
    inner = app.fast_path.app

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            reached.append(scope["path"])
        await inner(scope, receive, send)

    app.fast_path.app = spy
    with TestClient(app) as client:
        yield client, reached, predict


def test_well_formed_requests_skip_fastapi_and_answer_the_same(
    counted: tuple[TestClient, list[str], Any],
) -> None:
    client, reached, predict = counted
    fast_answer = client.post(PATH, json={"cc_num": 1, "amount": 3})  # an int is a number
    assert fast_answer.status_code == 200 and reached == []
    assert [fast_answer.json()["prediction"]] == expected([(1, 3.0)], predict)
    assert "feature_vector;dur=" in fast_answer.headers["server-timing"]
    batch = client.post(PATH, json={"instances": [{"cc_num": c, "amount": 2.5} for c in range(3)]})
    assert batch.status_code == 200 and reached == []
    assert batch.json()["predictions"] == expected([(c, 2.5) for c in range(3)], predict)
    # the same instance through FastAPI's route
    app: Any = client.app
    fast_path, app.fast_path = app.fast_path, None
    try:
        slow = client.post(PATH, json={"cc_num": 1, "amount": 3})
    finally:
        app.fast_path = fast_path
    a, b = fast_answer.json(), slow.json()
    assert a.keys() == b.keys()
    assert a["prediction"] == b["prediction"] and a["request_id"] != b["request_id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cc_num": "1", "amount": 3.0}, "cc_num"),  # wrong type
        ({"cc_num": True, "amount": 3.0}, "cc_num"),  # a bool is not an integer
        ({"cc_num": 1}, "amount"),  # missing
        ({"cc_num": 1, "amount": 3.0, "amont": 1.0}, "amont"),  # unknown
        ({"cc_num": 1, "amount": None}, "amount"),  # null
        ({"instances": [{"cc_num": 1, "amount": 3.0}, {"cc_num": 1}]}, "amount"),
    ],
)
def test_bad_instances_reach_fastapi_which_names_the_field(
    counted: tuple[TestClient, list[str], Any], body: dict[str, Any], field: str
) -> None:
    client, reached, _ = counted
    response = client.post(PATH, json=body)
    assert response.status_code == 422 and reached == [PATH]
    assert field in response.text


def test_limits_and_malformed_json(counted: tuple[TestClient, list[str], Any]) -> None:
    client, reached, _ = counted
    too_many = {"instances": [{"cc_num": 1, "amount": 3.0}] * 6}
    response = client.post(PATH, json=too_many)
    assert response.status_code == 413 and response.json()["error"] == "BatchTooLarge"
    big = b'{"cc_num": 1, "amount": ' + b" " * MAX_BODY_BYTES + b"3.0}"
    response = client.post(PATH, content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "PayloadTooLarge"
    response = client.post("/v2/models/fraud/infer", content=big)  # every route is limited
    assert response.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        yield b'{"cc_num": 1, "amount": '
        for _ in range(MAX_BODY_BYTES // 65536 + 1):
            yield b" " * 65536
        yield b"3.0}"

    response = client.post(PATH, content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert reached == []
    response = client.post(PATH, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422 and reached == [PATH]


def test_instance_check_is_exact() -> None:
    check = InstanceCheck(
        {
            "properties": {
                "k": {"type": "integer"},
                "x": {"type": "number"},
                "s": {"type": "string", "format": "date-time"},
                "b": {"type": "boolean"},
                "any": {},
            },
            "required": ["k"],
        }
    )
    assert check({"k": 1}) and check({"k": 1, "x": 2, "s": "2024-01-01", "b": False})
    assert not check({"k": 1.0}) and not check({"k": True}) and not check({"x": 1.0})
    assert not check({"k": 1, "b": 1}) and not check({"k": 1, "x": "1"})
    assert not check({"k": 1, "any": 3})  # untyped fields: FastAPI decides
    assert not check([{"k": 1}]) and not check({"k": 1, "y": 1})


def test_other_scopes_pass_through() -> None:
    calls: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["type"])

    middleware = fast.FastPredict(app, {}, 10, 10)
    import asyncio

    asyncio.run(middleware({"type": "lifespan"}, None, None))  # type: ignore[arg-type]
    assert calls == ["lifespan"]
    assert isinstance(FastAPI(), FastAPI)
