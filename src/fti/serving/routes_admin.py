"""The routes about the server rather than a deployment: ``/metrics`` (Prometheus).

A worker's observations reach ``/metrics`` from a thread (:class:`Ticker`) rather than per
request: with several workers, ``/metrics`` reads every worker's files (see
:mod:`fti.serving.metrics`), not only those of the worker the scrape reached, so each worker
writes its own every second. Health and readiness are the Open Inference Protocol's
(``/v2/health/live|ready``, :mod:`fti.serving.routes_v2`); ``/docs`` is
:mod:`fti.serving.docs_ui`.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter
from fastapi.responses import Response

from fti.serving.metrics import ServingMetrics

TICK_SECONDS = 1.0


def router(metrics: ServingMetrics) -> APIRouter:
    """``GET /metrics``: every worker's metrics in the Prometheus text format."""
    api = APIRouter()

    @api.get("/metrics")
    def prometheus() -> Response:
        metrics.flush()
        body, media_type = metrics.exposition()
        return Response(body, media_type=media_type)

    return api


class Ticker:
    """A thread that flushes this worker's observations and SLO burn rates into its metrics
    every second, from :meth:`start` until :meth:`stop` (which flushes once more)."""

    def __init__(self, metrics: ServingMetrics) -> None:
        self._metrics = metrics
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fti-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._metrics.flush()

    def _run(self) -> None:
        while not self._stopping.wait(TICK_SECONDS):
            self._metrics.flush()
