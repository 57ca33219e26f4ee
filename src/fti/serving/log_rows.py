"""The inference log's rows and the feature group holding them.

The log group, ``<view>_inference_log`` (same version as the view), holds per request: the
request id, time, deployment and model version, serving keys (JSON), the **untransformed**
features as typed columns named as in the view (what monitoring compares with training data),
the transformed vector and the prediction (JSON), latency, and whether the answer was degraded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from fti.errors import SchemaError
from fti.types import Feature, parse_type

if TYPE_CHECKING:
    from fti.featurestore import FeatureGroup, FeatureStore, FeatureView

LOG_COLUMNS = [
    Feature("request_id", "string", "unique id of the request"),
    Feature("logged_at", "timestamp", "when the prediction was made (UTC)"),
    Feature("deployment", "string", "deployment name"),
    Feature("deployment_version", "int64", "deployment version"),
    Feature("model_name", "string", "model name"),
    Feature("model_version", "int64", "model version"),
    Feature("serving_keys", "string", "serving keys (JSON)"),
    Feature("transformed", "string", "the model's input vector (JSON)"),
    Feature("prediction", "string", "the prediction (JSON)"),
    Feature("latency_ms", "double", "whole-pipeline latency in milliseconds"),
    Feature("degraded", "bool", "answered by a fallback"),
    Feature("reason", "string", "why the answer was degraded"),
]


def log_group(fs: FeatureStore, fv: FeatureView) -> FeatureGroup:
    """The view's logging feature group, created on first use."""
    types = {f["name"]: f["type"] for f in fv.features}
    names = {c.name for c in LOG_COLUMNS}
    clash = [n for n in [*fv.feature_names, *(c.name for c in fv.extra_log_columns)] if n in names]
    if clash:
        raise SchemaError(f"feature(s) {clash} clash with the inference log's own columns")
    features = LOG_COLUMNS + [
        Feature(n, parse_type(types[n]), "untransformed feature") for n in fv.feature_names
    ]
    features += fv.extra_log_columns
    group = fs.get_or_create_feature_group(
        f"{fv.name}_inference_log",
        fv.version,
        primary_key=["request_id"],
        event_time="logged_at",
        features=features,
        statistics_enabled=False,
        description=f"Predictions served from feature view {fv.name} v{fv.version}",
    )
    return group.append_only()  # request ids are uuid4: a commit never needs a merge


_SLICE = 256  # values per Arrow conversion (about 50 µs holding the GIL)


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def log_table(schema: pa.Schema, batch: list[dict[str, Any]]) -> pa.Table:
    """Log rows as Arrow, converted a slice of a column at a time: one conversion of a whole
    batch holds the GIL for tens of milliseconds, stalling every request."""
    columns = []
    for f in schema:
        values = [r.get(f.name) for r in batch]
        chunks = [pa.array(values[i : i + _SLICE], f.type) for i in range(0, len(values), _SLICE)]
        columns.append(pa.chunked_array(chunks, f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def row(
    *,
    request_id: str,
    deployment: str | None,
    deployment_version: int | None,
    model_name: str | None,
    model_version: int | None,
    serving_keys: Mapping[str, Any],
    untransformed: Mapping[str, Any],
    transformed: Any,
    prediction: Any,
    latency_ms: float | None,
    degraded: bool = False,
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "logged_at": dt.datetime.now(dt.UTC),
        "deployment": deployment,
        "deployment_version": deployment_version,
        "model_name": model_name,
        "model_version": model_version,
        "serving_keys": _json(serving_keys),
        "transformed": _json(transformed),
        "prediction": _json(prediction),
        "latency_ms": latency_ms,
        "degraded": degraded,
        "reason": reason,
        **untransformed,
    }
