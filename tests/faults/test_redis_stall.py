"""A stalled or stopped Redis: lookups are bounded by a default timeout, the server keeps
answering its health endpoints, says it is not ready while lookups fail and ready again once
they succeed, and every failure is an fti error naming the store's address."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

import fti
from fti.online.redis import RedisOnlineStore
from fti.serving import options
from fti.serving.server import create_app
from fti.serving.workers import in_thread
from tests.conftest import PrivateRedis
from tests.serving.conftest import deployed

pytestmark = pytest.mark.redis

INSTANCE = {"cc_num": 1, "amount": 3.0}
POLL = 0.01


def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the condition"
        time.sleep(0.005)


@pytest.fixture
def project(tmp_path: Path, private_redis: PrivateRedis) -> Iterator[fti.Project]:
    with fti.connect(tmp_path / "home", online_store=private_redis.url) as p:
        yield p
    private_redis.resume()  # a test that failed half-way must not leave it stopped


def test_a_deployment_has_a_lookup_timeout_by_default(project: fti.Project) -> None:
    _, _, deployment = deployed(project)
    assert options.LOOKUP_TIMEOUT_MS < 1000
    assert deployment.lookup_timeout_ms is None  # not given: the default
    deployment.start()
    try:
        plan = deployment._plan  # type: ignore[union-attr]
        assert plan is not None and plan._store.lookup_timeout == options.LOOKUP_TIMEOUT_MS / 1000  # type: ignore[attr-defined]
    finally:
        deployment.stop()
    given = project.get_model_registry().get_model("fraud", 1)
    deployed_again = given.deploy("slow", lookup_timeout_ms=250)
    assert deployed_again.lookup_timeout_ms == 250


def test_a_stalled_redis_fails_lookups_fast_and_readiness_follows(
    project: fti.Project, private_redis: PrivateRedis
) -> None:
    deployed(project)
    address = f"Redis at 127.0.0.1:{private_redis.port}/0"
    with TestClient(create_app(project, state_poll_seconds=POLL)) as client:
        assert client.post("/v1/deployments/fraud/predict", json=INSTANCE).status_code == 200
        assert client.get("/v2/health/ready").json() == {"ready": True}
        private_redis.pause()
        started = time.monotonic()
        response = client.post("/v1/deployments/fraud/predict", json=INSTANCE)
        assert time.monotonic() - started < 2.0  # the lookup timeout, not the socket's 10 s
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "OnlineStoreUnavailable"
        assert "OnlineLookupTimeout" in response.json()["detail"]
        assert address in response.json()["detail"]
        until(lambda: client.get("/v2/health/ready").json() == {"ready": False})
        assert client.get("/v2/models/fraud/ready").json()["ready"] is False
        listed = client.get("/v1/deployments").json()[0]
        assert listed["status"] == "degraded" and address in listed["reason"]
        assert client.get("/v2/health/live").json() == {"live": True}

        private_redis.resume()  # nothing is sent to it: the server finds out by itself
        until(lambda: client.get("/v2/health/ready").json() == {"ready": True})
        assert client.post("/v1/deployments/fraud/predict", json=INSTANCE).status_code == 200
        assert client.get("/v1/deployments").json()[0]["status"] == "running"


def test_health_answers_while_lookups_of_a_stalled_redis_wait(
    project: fti.Project, private_redis: PrivateRedis
) -> None:
    deployed(project, missing="impute")
    with (
        in_thread(create_app(project, state_poll_seconds=POLL)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        assert http.post("/v1/deployments/fraud/predict", json=INSTANCE).status_code == 200
        private_redis.pause()
        stop = threading.Event()
        answers: list[dict[str, object]] = []

        def predict() -> None:
            with httpx.Client(base_url=url, timeout=30) as own:
                while not stop.is_set() and len(answers) < 200:
                    answers.append(own.post("/v1/deployments/fraud/predict", json=INSTANCE).json())

        clients = [threading.Thread(target=predict) for _ in range(4)]
        for c in clients:
            c.start()
        try:
            until(lambda: len(answers) >= 4)
            slowest = 0.0
            for _ in range(5):
                started = time.monotonic()
                assert http.get("/v2/health/live").json() == {"live": True}
                slowest = max(slowest, time.monotonic() - started)
            assert slowest < 1.0, f"/v2/health/live took {slowest:.2f} s"
            until(lambda: http.get("/v2/health/ready").json() == {"ready": False})
        finally:
            stop.set()
            for c in clients:
                c.join(60)
        assert all(a["degraded"] for a in answers[1:]), answers[:3]
        assert "online store unavailable" in str(answers[-1]["reason"])
        private_redis.resume()
        until(lambda: http.get("/v2/health/ready").json() == {"ready": True})
        assert http.post("/v1/deployments/fraud/predict", json=INSTANCE).json()["degraded"] is False


def test_sdk_lookups_of_a_stopped_redis_raise_online_store_unavailable(
    project: fti.Project, private_redis: PrivateRedis
) -> None:
    fv, _, _ = deployed(project)
    card = project.get_feature_store().get_feature_group("card", 1)
    assert card.lookup(1) is not None
    address = f"Redis at 127.0.0.1:{private_redis.port}/0"
    private_redis.stop()
    with pytest.raises(fti.OnlineStoreUnavailable, match=address):
        card.lookup(1)
    with pytest.raises(fti.OnlineStoreUnavailable, match=address):
        card.lookup([1, 2])
    with pytest.raises(fti.OnlineStoreUnavailable, match=address):
        fv.get_feature_vector({"cc_num": 1}, passed_features={"amount": 3.0}, transform=False)


def test_a_stalled_redis_read_raises_online_store_unavailable(
    private_redis: PrivateRedis,
) -> None:
    store = RedisOnlineStore(private_redis.url, "stall", timeout=0.2)
    try:
        assert store.get("t", b"k") is None
        private_redis.pause()
        for read in (lambda: store.get("t", b"k"), lambda: store.get_many("t", [b"k"])):
            with pytest.raises(fti.OnlineStoreUnavailable, match=f"127.0.0.1:{private_redis.port}"):
                read()
    finally:
        private_redis.resume()
        store.close()
