"""Prometheus metrics of the serving pipeline: every step timed, per deployment and model.

Latency is the whole pipeline, not ``model.predict``: the histograms have sub-millisecond
buckets for each step (``feature_vector`` = lookup + on-demand + model-dependent
transformations, ``predict``, ``log_enqueue``, ``total``). A registry per app keeps tests and
several apps in one process apart. Under ``fti serve --workers N`` the values live in
prometheus-client's multiprocess files and ``/metrics`` of any worker reports the sum.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from fti.serving.slo import WINDOWS, SloTracker

SLO_EVENTS = ("requests", "errors", "answered", "slow")
BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005,
    0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip


class ServingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["deployment", "model_version"]
        self.requests = Counter(
            "fti_requests", "Prediction requests", labels, registry=self.registry
        )
        self.instances = Counter(
            "fti_instances", "Instances predicted", labels, registry=self.registry
        )
        self.errors = Counter(
            "fti_errors", "Failed requests by error type", ["deployment", "type"],
            registry=self.registry,
        )  # fmt: skip
        self.degraded = Counter(
            "fti_degraded", "Answers given by a fallback", labels, registry=self.registry
        )
        self.step = Histogram(
            "fti_step_seconds",
            "Latency of each step of the prediction pipeline",
            [*labels, "step"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.log_dropped = Gauge(
            "fti_inference_log_dropped",
            "Log rows dropped because the writer could not keep up (drop-oldest policy)",
            ["deployment"],
            registry=self.registry,
            multiprocess_mode="sum",
        )
        self.log_queued = Gauge(
            "fti_inference_log_queued", "Log rows waiting to be written", ["deployment"],
            registry=self.registry, multiprocess_mode="livesum",
        )  # fmt: skip
        self._steps: dict[tuple[str, str], dict[str, Any]] = {}
        self.slo_events = Counter(
            "fti_slo_events",
            "Events of deployments with an SLO: requests, errors (5xx), answered, slow "
            "(answered over the p99 target)",
            ["deployment", "event"],
            registry=self.registry,
        )
        self.slo_objective = Gauge(
            "fti_slo_objective", "SLO targets: p99 latency (seconds) and availability",
            ["deployment", "objective"], registry=self.registry, multiprocess_mode="max",
        )  # fmt: skip
        self.slo_burn = Gauge(
            "fti_slo_burn_rate",
            "Error-budget burn rate (1 = spending it exactly over the SLO period); the worst "
            "worker's",
            ["deployment", "slo", "window"],
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self._slo: dict[str, tuple[SloTracker, dict[str, Any]]] = {}

    def add_slo(self, deployment: str, objectives: Mapping[str, float]) -> None:
        """Track ``deployment``'s requests against its ``slo`` (see :mod:`fti.serving.slo`)."""
        events = {e: self.slo_events.labels(deployment, e) for e in SLO_EVENTS}
        self._slo[deployment] = (SloTracker(objectives), events)
        if "p99_ms" in objectives:
            self.slo_objective.labels(deployment, "p99_seconds").set(objectives["p99_ms"] / 1000)
        if "availability" in objectives:
            self.slo_objective.labels(deployment, "availability").set(objectives["availability"])
        self.update_burn()

    def answered(self, deployment: str, seconds: float) -> None:
        slo = self._slo.get(deployment)
        if slo is not None:
            tracker, events = slo
            tracker.answered(seconds)
            events["requests"].inc()
            events["answered"].inc()
            if tracker.p99_s is not None and seconds > tracker.p99_s:
                events["slow"].inc()

    def failed(self, deployment: str) -> None:
        """A server error (5xx) of ``deployment``."""
        slo = self._slo.get(deployment)
        if slo is not None:
            tracker, events = slo
            tracker.failed()
            events["requests"].inc()
            events["errors"].inc()

    def update_burn(self) -> None:
        """Burn rates from the trackers into the gauges (each worker, every second)."""
        for deployment, (tracker, _) in self._slo.items():
            for window, seconds in WINDOWS.items():
                for slo, burn in tracker.burn(seconds).items():
                    self.slo_burn.labels(deployment, slo, window).set(burn)

    def observe(
        self,
        deployment: str,
        model_version: int | None,
        timings_ms: Mapping[str, float],
        instances: int,
        degraded: int,
    ) -> None:
        version = "" if model_version is None else str(model_version)
        # labels() looks the child up by a lock and a dict per call: keep them per step
        children = self._steps.get((deployment, version))
        if children is None:
            children = self._steps[(deployment, version)] = {
                "": self.requests.labels(deployment, version),
                "#": self.instances.labels(deployment, version),
            }
        children[""].inc()
        children["#"].inc(instances)
        if degraded:
            self.degraded.labels(deployment, version).inc(degraded)
        for step, ms in timings_ms.items():
            child = children.get(step)
            if child is None:
                child = children[step] = self.step.labels(deployment, version, step)
            child.observe(ms / 1000)

    def log_state(self, deployment: str, dropped: int, queued: int) -> None:
        """The inference logger's counts (its writer thread reports them after each batch)."""
        self.log_dropped.labels(deployment).set(dropped)
        self.log_queued.labels(deployment).set(queued)

    def exposition(self) -> tuple[bytes, str]:
        """The text ``/metrics`` returns: this process's registry, or every worker's sum."""
        registry = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
