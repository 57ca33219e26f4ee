"""SLO burn rates: the arithmetic over sliding windows, and what the server exports."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

import fti
from fti.serving.server import create_app
from fti.serving.slo import SloTracker
from tests.serving.conftest import deployed
from tests.serving.test_deployment_options import save_broken


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_burn_rates_over_windows() -> None:
    clock = Clock()
    tracker = SloTracker({"p99_ms": 3.0, "availability": 0.99}, clock)
    assert tracker.burn(300) == {"latency": 0.0, "availability": 0.0}  # no traffic, no burn
    for i in range(100):
        tracker.answered(0.001 if i % 10 else 0.004)  # 10% slower than 3 ms
    tracker.failed()  # 1 server error in 101 requests
    assert tracker.burn(300) == pytest.approx({"latency": 10.0, "availability": 100 / 101})
    clock.now += 600  # the 5-minute window forgets, the hour remembers
    for _ in range(99):
        tracker.answered(0.001)
    assert tracker.burn(300) == {"latency": 0.0, "availability": 0.0}
    assert tracker.burn(3600) == pytest.approx({"latency": 10 / 199 / 0.01, "availability": 0.5})
    clock.now += 3600  # everything is older than the longest window: dropped
    tracker.answered(0.001)
    assert len(tracker._buckets) == 1
    only_latency = SloTracker({"p99_ms": 1.0}, clock)
    only_latency.failed()
    assert only_latency.burn(300) == {"latency": 0.0}


def _gauge(text: str, name: str, **labels: str) -> float:
    selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
    found = re.findall(rf"^{name}\{{{selector}\}} (\S+)$", text, re.MULTILINE)
    assert len(found) == 1, (name, labels)
    return float(found[0])


def test_the_server_exports_objectives_events_and_burn(project: fti.Project) -> None:
    fv, _, _ = deployed(project, slo={"p99_ms": 1e-6, "availability": 0.9})  # all slow
    broken = save_broken(project, fv)
    broken.deploy("broken", slo={"availability": 0.99})
    with TestClient(create_app(project)) as client:
        for _ in range(4):
            ok = client.post("/v1/deployments/fraud/predict", json={"cc_num": 1, "amount": 3.0})
            assert ok.status_code == 200
        bad = client.post("/v1/deployments/fraud/predict", json={"cc_num": "x", "amount": 3.0})
        assert bad.status_code == 422  # a client's mistake is not a failure of the service
        for _ in range(2):
            failed = client.post("/v1/deployments/broken/predict", json={"cc_num": 1, "amount": 1})
            assert failed.status_code == 500
        assert client.get("/v1/deployments/fraud").json()["slo"] == {
            "p99_ms": 1e-6,
            "availability": 0.9,
        }
        text = client.get("/metrics").text
    assert _gauge(text, "fti_slo_objective", deployment="fraud", objective="availability") == 0.9
    assert _gauge(text, "fti_slo_events_total", deployment="fraud", event="answered") == 4
    assert _gauge(text, "fti_slo_events_total", deployment="fraud", event="slow") == 4
    assert _gauge(text, "fti_slo_events_total", deployment="fraud", event="errors") == 0
    assert _gauge(text, "fti_slo_events_total", deployment="broken", event="errors") == 2
    burn = "fti_slo_burn_rate"
    assert _gauge(text, burn, deployment="fraud", slo="latency", window="5m") == 100.0
    assert _gauge(text, burn, deployment="fraud", slo="availability", window="1h") == 0.0
    broken_burn = _gauge(text, burn, deployment="broken", slo="availability", window="5m")
    assert broken_burn == pytest.approx(100.0)  # every request failed: 1 / (1 - 0.99)
    assert 'deployment="broken",slo="latency"' not in text  # no latency objective set
