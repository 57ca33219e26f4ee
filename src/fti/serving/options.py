"""Deployment options outside the contract: resources, what answers on a failure, the SLO.

Each is checked when a deployment version is recorded (a bad value raises :class:`FtiError`
naming the key, and nothing is written) and stored with the version. They are operational
settings, not part of the published request contract, so changing them never moves
``schema_version``.

* ``resources``: ``model_threads`` (intra-op threads the model may use per serving process),
  ``max_batch`` (instances per request), ``log_queue`` (inference-log queue bound),
  ``log_flush_seconds`` (how often queued log rows are committed; each commit has a fixed
  cost of tens of milliseconds and adds a file, so seconds, not milliseconds),
  ``runtime`` (``"auto"``: a tree model may be compiled to ONNX Runtime when it predicts the
  same, ``"native"``: always the framework, ``"onnx"``: the compiled path is required).
* ``missing``: the missing-values policy, what a serving key without an online row (or a
  failed online store) gets: ``"error"``, ``"impute"``, ``"null"`` or ``"last_known"``;
  ``lookup_timeout_ms``: an online lookup slower than that counts as a failed store
  (:data:`LOOKUP_TIMEOUT_MS` when not given); ``fallback_model_version``: another version of
  the model that answers when the deployed one raises. ``deploy`` passes the three here as
  one dict (``missing``, ``lookup_timeout_ms``, ``model_version``), stored as the
  deployment's ``fallback`` column and foreign key; ``fallback=`` is the deprecated name
  deploy once took for them (a policy, or that dict).
* ``slo``: ``p99_ms`` (latency target) and/or ``availability`` (share of requests answered
  without a server error), what the server's burn-rate metrics compare against.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fti import _compat
from fti.errors import FtiError
from fti.featurestore.serving import MISSING_POLICIES
from fti.serving.runtime import RUNTIMES

if TYPE_CHECKING:
    from fti.registry import Model, ModelRegistry

RESOURCE_DEFAULTS: dict[str, Any] = {
    "model_threads": 1,
    "max_batch": 1_000,
    "log_queue": 100_000,
    "log_flush_seconds": 5.0,
    "runtime": "auto",
}
FLUSH_SECONDS = (0.1, 3600.0)
# A lookup runs on the server's event loop: while it waits, nothing else on that worker
# answers (health included). A healthy store answers in about a millisecond, so a tenth of
# a second tells a stalled one without failing a slow moment.
LOOKUP_TIMEOUT_MS = 100.0
# (lowest, highest or None) of each integer resource
_RANGES: dict[str, tuple[int, int | None]] = {
    "model_threads": (1, None),
    "max_batch": (1, 100_000),
    "log_queue": (100, None),
}


def _mapping(given: Any, what: str, keys: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(given, Mapping):
        raise FtiError(f"{what} must be a dict with keys {list(keys)}, got {given!r}")
    unknown = [k for k in given if k not in keys]
    if unknown:
        raise FtiError(f"unknown {what} key(s) {unknown}; the keys are {list(keys)}")
    return given


def _integer(what: str, value: Any, low: int, high: int | None) -> int:
    # bool is an int in Python, but True threads is a mistake, not 1
    if isinstance(value, bool) or not isinstance(value, int):
        raise FtiError(f"{what} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise FtiError(f"{what} must be {bounds}, got {value}")
    return value


def _number(what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FtiError(f"{what} must be a finite number, got {value!r}")
    return float(value)


# Hopsworks' keys of resources=: Kubernetes sizes of a deployment's pods
_HOPSWORKS_RESOURCES = {
    "num_instances": "a deployment is served by every worker of `fti serve --workers N`",
    "requested_instances": "a deployment is served by every worker of `fti serve --workers N`",
    "requests": "fti serve runs on this machine: no pod requests cores or memory",
    "limits": "fti serve runs on this machine: no pod limits cores or memory",
    "predictor_resources": "Kubernetes resources of Hopsworks' predictor pod",
}


def parse_resources(given: Mapping[str, Any] | None) -> dict[str, Any]:
    """``resources=`` checked, with the defaults filled in for the keys not given. Hopsworks'
    keys (``num_instances``, ``requests``, ``limits``) are taken and ignored with a warning
    that says what they map to."""
    if given is None:
        return dict(RESOURCE_DEFAULTS)
    if isinstance(given, Mapping):
        hopsworks = {k: v for k, v in given.items() if k in _HOPSWORKS_RESOURCES}
        _compat.ignore(hopsworks, _HOPSWORKS_RESOURCES, "deploy(resources)", 4)
        given = {k: v for k, v in given.items() if k not in _HOPSWORKS_RESOURCES}
    given = _mapping(given, "resources", tuple(RESOURCE_DEFAULTS))
    out = dict(RESOURCE_DEFAULTS)
    for key, value in given.items():
        if key == "runtime":
            if value not in RUNTIMES:
                raise FtiError(
                    f"resources['runtime'] must be one of {list(RUNTIMES)}, got {value!r}"
                )
            out[key] = value
        elif key == "log_flush_seconds":
            seconds = _number(f"resources[{key!r}]", value)
            low, high = FLUSH_SECONDS
            if not low <= seconds <= high:
                raise FtiError(f"resources[{key!r}] must be between {low} and {high}, got {value}")
            out[key] = seconds
        else:
            out[key] = _integer(f"resources[{key!r}]", value, *_RANGES[key])
    return out


def resources_of(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The resources of a stored deployment: a version recorded before resources existed
    has the defaults."""
    return {**RESOURCE_DEFAULTS, **(stored or {})}


@dataclass(frozen=True)
class Fallback:
    """What answers when a lookup or the model fails."""

    missing: str = "error"
    lookup_timeout_ms: float | None = None
    model_version: int | None = None

    def stored(self) -> dict[str, Any]:
        """The deployment's ``fallback`` column (the model version is a foreign key)."""
        return {"missing": self.missing, "lookup_timeout_ms": self.lookup_timeout_ms}


def parse_fallback(given: str | Mapping[str, Any]) -> Fallback:
    """``missing=``, ``lookup_timeout_ms=`` and ``fallback_model_version=`` of ``deploy`` as
    one dict (``missing``, ``lookup_timeout_ms``, ``model_version``), checked; or the value
    of the deprecated ``fallback=``: a policy, or such a dict."""
    keys = ("missing", "lookup_timeout_ms", "model_version")
    if isinstance(given, str):
        if given not in MISSING_POLICIES:
            raise FtiError(f"fallback must be one of {list(MISSING_POLICIES)}, got {given!r}")
        return Fallback(given)
    if not isinstance(given, Mapping):
        raise FtiError(
            f"fallback must be one of {list(MISSING_POLICIES)} or a dict with keys "
            f"{list(keys)}, got {given!r}"
        )
    given = _mapping(given, "fallback", keys)
    missing = given.get("missing", "error")
    if missing not in MISSING_POLICIES:
        raise FtiError(f"missing must be one of {list(MISSING_POLICIES)}, got {missing!r}")
    timeout = given.get("lookup_timeout_ms")
    if timeout is not None:
        timeout = _number("lookup_timeout_ms", timeout)
        if timeout <= 0:
            raise FtiError(f"lookup_timeout_ms must be > 0, got {timeout:g}")
    version = given.get("model_version")
    if version is not None:
        version = _integer("fallback_model_version", version, 1, None)
    return Fallback(missing, timeout, version)


def without_online_row(message: str, deployment: str) -> str:
    """The error of a serving key without an online row, advising the deployment's option
    (the feature view's message advises its own Python call, which a deployment makes)."""
    what = message.split("; pass them as", 1)[0]
    *others, last = [repr(p) for p in MISSING_POLICIES if p != "error"]
    return (
        f"{what}; deployment {deployment!r} has missing='error': deploy it with "
        f"missing={', '.join(others)} or {last} to answer such requests with a degraded "
        "prediction"
    )


def fallback_model(
    registry: ModelRegistry, model: Model | None, version: int | None
) -> Model | None:
    """The fallback model version, checked: another saved version of ``model``, trained from
    the same feature view on the same transformed features, so the deployment's feature
    vectors fit it (put through its own training dataset's transformation state)."""
    if version is None:
        return None
    if model is None:
        raise FtiError("fallback_model_version needs a model: a feature-view deployment has none")
    if version == model.version:
        raise FtiError(f"fallback_model_version: {version} is the deployed version itself")
    other = registry.get_model(model.name, version=version)  # ModelNotFound
    primary, record = model.record, other.record
    if record.feature_view_id != primary.feature_view_id:
        raise FtiError(
            f"fallback_model_version: version {version} of {model.name!r} was trained "
            "from another feature view: it cannot read this deployment's feature vectors"
        )

    def inputs(m: Model) -> list[tuple[str, str]]:
        return [(f["name"], f["type"]) for f in (m.model_schema or {}).get("inputs", [])]

    if inputs(other) != inputs(model):
        raise FtiError(
            f"fallback_model_version: version {version} of {model.name!r} takes other "
            f"transformed features ({inputs(other)}) than version {model.version} "
            f"({inputs(model)})"
        )
    return other


def parse_slo(given: Mapping[str, Any] | None) -> dict[str, float] | None:
    """``slo=``: ``p99_ms`` > 0 and/or 0 < ``availability`` < 1."""
    if given is None:
        return None
    given = _mapping(given, "slo", ("p99_ms", "availability"))
    if not given:
        raise FtiError("slo must give p99_ms, availability or both")
    out: dict[str, float] = {}
    if "p99_ms" in given:
        out["p99_ms"] = _number("slo['p99_ms']", given["p99_ms"])
        if out["p99_ms"] <= 0:
            raise FtiError(f"slo['p99_ms'] must be > 0, got {out['p99_ms']:g}")
    if "availability" in given:
        out["availability"] = _number("slo['availability']", given["availability"])
        if not 0 < out["availability"] < 1:
            raise FtiError(
                f"slo['availability'] must be between 0 and 1 (exclusive), e.g. 0.999, got "
                f"{out['availability']:g}"
            )
    return out
