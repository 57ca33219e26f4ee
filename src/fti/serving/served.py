"""What one ``fti serve`` app serves, and the one way a prediction becomes an HTTP answer.

Every router (:mod:`fti.serving.routes_v1`, :mod:`fti.serving.routes_v2`,
:mod:`fti.serving.routes_admin`) and the predict fast path (:mod:`fti.serving.fast`) share one
:class:`Served`: the deployments, the states the watcher follows, the metrics, and
:meth:`Served.run`, which refuses what is not served, bounds the batch, predicts, counts and
maps errors (:mod:`fti.serving.http_errors`). It runs on the request path: its work per
request is kept to dictionary lookups.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi.responses import Response

from fti.serving import http_errors
from fti.serving.deployment import Deployment
from fti.serving.fast import Answer
from fti.serving.metrics import ServingMetrics
from fti.serving.watcher import StateWatcher


class Served:
    """The deployments of one app (by name), their states, metrics and batch limits."""

    def __init__(
        self,
        deployments: Mapping[str, Deployment],
        watcher: StateWatcher,
        metrics: ServingMetrics,
        max_batch: int,
    ) -> None:
        self.deployments = dict(deployments)
        self.watcher = watcher
        self.metrics = metrics
        self.max_batch = max_batch
        # the server's limit and the deployment's own, whichever is lower
        self.limits = {
            name: min(max_batch, d.resources["max_batch"]) for name, d in deployments.items()
        }

    def run(self, deployment: Deployment, instances: list[dict[str, Any]], single: bool) -> Answer:
        """Predict and answer: (status, JSON body, headers); errors become 4xx/5xx here."""
        name = deployment.name
        metrics = self.metrics
        refused = self.watcher.unavailable.get(name)
        if refused is not None:  # not served on purpose (or never loaded): not an SLO failure
            metrics.errors.labels(name, type(refused).__name__).inc()
            return http_errors.answer(refused, uuid.uuid4().hex)
        limit = self.limits[name]
        if len(instances) > limit:
            detail = f"at most {limit} instances per request"
            return 413, {"error": "BatchTooLarge", "detail": detail}, {}
        try:
            result = (
                deployment.predict(instances[0])
                if single
                else deployment.predict(instances=instances)
            )
        except Exception as exc:
            metrics.errors.labels(name, type(exc).__name__).inc()
            answer = http_errors.answer(exc, uuid.uuid4().hex)
            if answer[0] >= 500:
                metrics.failed(name)
            return answer
        degraded = result["degraded"]
        timings = result["timings_ms"]
        metrics.answered(name, timings["total"] / 1000)
        metrics.observe(
            name,
            result["model_version"],
            timings,
            len(instances),
            int(degraded) if single else sum(degraded),
        )
        timing = ", ".join([f"{k};dur={v:.3f}" for k, v in timings.items()])
        return 200, result, {"Server-Timing": timing}

    def describe(self, d: Deployment) -> dict[str, Any]:
        """A deployment as ``GET /v1/deployments`` lists it."""
        model = d.model
        reason = self.watcher.reason(d.name)  # why it does not answer, or answers degraded
        return {
            "name": d.name,
            "version": d.version,
            "schema_version": d.schema_version,
            "model": None if model is None else {"name": model.name, "version": model.version},
            "status": self.watcher.status[d.name],  # see fti.serving.watcher
            "slo": d.slo,
            **({} if reason is None else {"reason": reason}),
        }


def respond(answer: Answer) -> Response:
    """An answer of :meth:`Served.run` as a FastAPI response."""
    status, body, headers = answer
    return Response(_dumps(body), status, headers, media_type="application/json")


def _dumps(value: Any) -> bytes:
    """JSON of an answer; NumPy values a custom predictor returns are serialized too."""
    return orjson.dumps(value, default=_jsonable, option=orjson.OPT_SERIALIZE_NUMPY)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # NumPy scalars of types orjson does not know
        return value.item()
    return str(value)
