"""Prometheus metrics of the serving pipeline: every step timed, per deployment and model.

Latency is the whole pipeline, not ``model.predict``: the histograms have sub-millisecond
buckets for each step (``feature_vector`` = lookup + on-demand + model-dependent
transformations, ``predict``, ``log_enqueue``, ``total``). A registry per app keeps tests and
several apps in one process apart. Under ``fti serve --workers N`` the values live in
prometheus-client's multiprocess files and ``/metrics`` of any worker reports the sum.
"""

from __future__ import annotations

import bisect
import os
import threading
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
        self.log_failed_batches = Counter(
            "fti_inference_log_failed_batches",
            "Log batches not committed after every retry (their rows spilled to local files, "
            "replayed once the log commits again, or lost)",
            ["deployment"],
            registry=self.registry,
        )
        self.log_failed_rows = Counter(
            "fti_inference_log_failed_rows", "Rows of the failed log batches", ["deployment"],
            registry=self.registry,
        )  # fmt: skip
        self.log_lost_rows = Counter(
            "fti_inference_log_lost_rows",
            "Rows of failed log batches that could not be spilled either: not in the log",
            ["deployment"],
            registry=self.registry,
        )
        # the logger's totals last added to the counters, per deployment
        self._log_seen: dict[str, list[int]] = {}
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
        self._slo: dict[str, tuple[SloTracker, dict[str, Any], list[int]]] = {}
        # observations since the last flush, per (deployment, model version): [requests,
        # instances, degraded, {step: [sum, count per bucket..., count over the last]}]
        self._pending: dict[tuple[str, str], list[Any]] = {}
        self._lock = threading.Lock()
        self._children: dict[tuple[str, str, str], Any] = {}

    def add_slo(self, deployment: str, objectives: Mapping[str, float]) -> None:
        """Track ``deployment``'s requests against its ``slo`` (see :mod:`fti.serving.slo`)."""
        events = {e: self.slo_events.labels(deployment, e) for e in SLO_EVENTS}
        self._slo[deployment] = (SloTracker(objectives), events, [0, 0, 0, 0])
        if "p99_ms" in objectives:
            self.slo_objective.labels(deployment, "p99_seconds").set(objectives["p99_ms"] / 1000)
        if "availability" in objectives:
            self.slo_objective.labels(deployment, "availability").set(objectives["availability"])
        self.flush()

    def answered(self, deployment: str, seconds: float) -> None:
        slo = self._slo.get(deployment)
        if slo is not None:
            with self._lock:
                slo[0].answered(seconds)

    def failed(self, deployment: str) -> None:
        """A server error (5xx) of ``deployment``."""
        slo = self._slo.get(deployment)
        if slo is not None:
            with self._lock:
                slo[0].failed()

    def observe(
        self,
        deployment: str,
        model_version: int | None,
        timings_ms: Mapping[str, float],
        instances: int,
        degraded: int,
    ) -> None:
        """Count a request and its step timings (reported at the next :meth:`flush`)."""
        key = (deployment, "" if model_version is None else str(model_version))
        with self._lock:
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = [0, 0, 0, {}]
            pending[0] += 1
            pending[1] += instances
            pending[2] += degraded
            steps = pending[3]
            for step, ms in timings_ms.items():
                counts = steps.get(step)
                if counts is None:
                    counts = steps[step] = [0.0] * (len(BUCKETS) + 2)
                seconds = ms / 1000
                counts[0] += seconds
                counts[1 + bisect.bisect_left(BUCKETS, seconds)] += 1

    def flush(self) -> None:
        """Pending observations into the Prometheus metrics, and the SLO burn rates.

        A request only adds to plain counts; this runs every second (and before ``/metrics``
        answers). Each Prometheus update is a lock and, with several workers, a write to a
        memory-mapped file: per request and step that was a tenth of a request's CPU.
        """
        with self._lock:
            pending, self._pending = self._pending, {}
            slo = [(t.totals(), events, seen) for t, events, seen in self._slo.values()]
            burns = {
                d: {window: t.burn(seconds) for window, seconds in WINDOWS.items()}
                for d, (t, _, _) in self._slo.items()
            }
        for (deployment, version), (requests, instances, degraded, steps) in pending.items():
            self.requests.labels(deployment, version).inc(requests)
            self.instances.labels(deployment, version).inc(instances)
            if degraded:
                self.degraded.labels(deployment, version).inc(degraded)
            for step, counts in steps.items():
                child = self.step.labels(deployment, version, step)
                # Histogram has no bulk observe: add to its sum and buckets directly (counts
                # are per bucket; Prometheus' cumulative "le" counts are summed on export)
                child._sum.inc(counts[0])
                for bucket, n in zip(child._buckets, counts[1:], strict=True):
                    if n:
                        bucket.inc(n)
        for totals, events, seen in slo:
            for i, event in enumerate(SLO_EVENTS):
                if totals[i] > seen[i]:
                    events[event].inc(totals[i] - seen[i])
                    seen[i] = totals[i]
        for deployment, windows in burns.items():
            for window, rates in windows.items():
                for name, burn in rates.items():
                    self.slo_burn.labels(deployment, name, window).set(burn)

    def log_state(
        self,
        deployment: str,
        dropped: int,
        queued: int,
        *,
        failed_batches: int = 0,
        failed_rows: int = 0,
        lost_rows: int = 0,
    ) -> None:
        """The inference logger's counts (its writer thread reports them after each batch)."""
        self.log_dropped.labels(deployment).set(dropped)
        self.log_queued.labels(deployment).set(queued)
        seen = self._log_seen.setdefault(deployment, [0, 0, 0])
        totals = (failed_batches, failed_rows, lost_rows)
        counters = (self.log_failed_batches, self.log_failed_rows, self.log_lost_rows)
        for i, (counter, total) in enumerate(zip(counters, totals, strict=True)):
            child = counter.labels(deployment)  # exported from the start, at 0: alertable
            if total < seen[i]:  # a new logger: the deployment was restarted
                seen[i] = 0
            if total > seen[i]:
                child.inc(total - seen[i])
                seen[i] = total

    def exposition(self) -> tuple[bytes, str]:
        """The text ``/metrics`` returns: this process's registry, or every worker's sum."""
        registry = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
