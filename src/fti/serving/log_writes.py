"""``fv.log``: rows of feature logging from batch scoring or a server fti does not run, into
the view's inference log (:mod:`fti.serving.log_rows`) beside its deployments' rows, so
``fv.read_log`` and monitoring see every prediction made from the view.

What a caller has is logged as Hopsworks' ``fv.log`` takes it: the untransformed features
(a DataFrame, a list of vectors as ``get_feature_vector(s)`` give them, or dicts), and, row
for row, the predictions, the transformed features, the serving keys and the event times.
The rows are checked before anything is written and committed in one insert.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fti import _compat, _time
from fti.errors import FtiError
from fti.featurestore import ingest
from fti.serving.log_rows import log_group, log_table, row

if TYPE_CHECKING:
    from fti.featurestore import FeatureStore, FeatureView

_IGNORED = {
    "inference_helper_columns": "the inference log holds the features, keys and predictions",
    "request_parameters": "the inference log holds the features, keys and predictions",
    "training_dataset_version": "a row records its model version, whose training dataset is known",
    "write_options": "fti commits the rows in the call",
}


def log_view(
    fs: FeatureStore,
    fv: FeatureView,
    untransformed: Any,
    *,
    predictions: Any = None,
    transformed: Any = None,
    serving_keys: Any = None,
    event_time: Any = None,
    extra: Any = None,
    model: Any = None,
    **hopsworks: Any,
) -> list[str]:
    """Log one row per row of ``untransformed``; returns their request ids."""
    _compat.ignore(hopsworks, _IGNORED, "log", 4)
    features = _table(untransformed, fv, "untransformed_features")
    n = features.num_rows
    missing = [c for c in fv.feature_names if c not in features.column_names]
    if missing:
        raise FtiError(
            f"untransformed_features lack the view's feature(s) {missing}; nothing was logged"
        )
    outputs = _per_row(predictions, n, "predictions")
    vectors = _per_row(transformed, n, "transformed_features", as_records=True)
    keys = _keys(serving_keys, features, fv, n)
    times = _times(event_time, n)
    extras = _extras(extra, fv, n)
    ids = [str(uuid.uuid4()) for _ in range(n)]
    records = features.select(fv.feature_names).to_pylist()
    group = log_group(fs, fv)
    schema = group.schema
    assert schema is not None
    rows = []
    for i in range(n):
        logged = row(
            request_id=ids[i],
            deployment=None,
            deployment_version=None,
            model_name=getattr(model, "name", None),
            model_version=getattr(model, "version", None),
            serving_keys=keys[i],
            untransformed=records[i],
            transformed=vectors[i],
            prediction=outputs[i],
            latency_ms=None,
        )
        logged["logged_at"] = times[i]
        logged.update(extras[i])
        rows.append(logged)
    group.insert(log_table(schema, rows), progress=False)
    return ids


def _table(data: Any, fv: FeatureView, what: str) -> pa.Table:
    """Rows as Arrow: a frame or table, a dict (one row), dicts, or vectors in the order of
    the view's vectors or of its features."""
    if isinstance(data, Mapping):
        data = [data]
    if isinstance(data, Sequence) and not isinstance(data, str):
        rows = list(data)
        if rows and all(isinstance(r, Mapping) for r in rows):
            return pa.Table.from_pylist([dict(r) for r in rows])
        if rows and not isinstance(rows[0], Sequence | Mapping):
            rows = [rows]  # one vector
        for names in (fv.vector_names, fv.feature_names):
            if rows and all(isinstance(r, Sequence) and len(r) == len(names) for r in rows):
                return pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows])
        raise FtiError(
            f"{what}: each vector must hold the view's columns {fv.vector_names} or its "
            f"features {fv.feature_names}, in that order; nothing was logged"
        )
    return ingest.to_arrow(data)


def _per_row(values: Any, n: int, what: str, as_records: bool = False) -> list[Any]:
    """One value per row: a list or array, a Series, or a frame (a dict per row when it has
    several columns, else its one value)."""
    if values is None:
        return [None] * n
    if hasattr(values, "columns") or isinstance(values, pa.Table):
        table = ingest.to_arrow(values)
        records = table.to_pylist()
        if table.num_columns == 1 and not as_records:
            records = [r[table.column_names[0]] for r in records]
        values = records
    elif hasattr(values, "tolist"):
        values = values.tolist()
    values = list(values)
    if n == 1 and len(values) != 1:
        values = [values]  # one row's vector or predictions
    if len(values) != n:
        raise FtiError(
            f"{what} hold {len(values)} rows for {n} rows of features; nothing was logged"
        )
    return list(values)


def _keys(given: Any, features: pa.Table, fv: FeatureView, n: int) -> list[dict[str, Any]]:
    """The serving keys of each row: given, else the features' key columns."""
    if given is not None:
        keys = _per_row([given] if isinstance(given, Mapping) else given, n, "serving_keys")
        if not all(isinstance(k, Mapping) for k in keys):
            raise FtiError("serving_keys must be a dict per row; nothing was logged")
        return [dict(k) for k in keys]
    present = [k for k in fv.serving_keys if k in features.column_names]
    return features.select(present).to_pylist() if present else [{} for _ in range(n)]


def _times(given: Any, n: int) -> list[dt.datetime]:
    if given is None:
        return [dt.datetime.now(dt.UTC)] * n
    if isinstance(given, str | bytes) or not hasattr(given, "__len__"):
        given = [given] * n  # one time for every row
    values = _per_row(given, n, "event_time")
    return [_time.utc(v, "event_time") for v in values]


def _extras(given: Any, fv: FeatureView, n: int) -> list[dict[str, Any]]:
    """The view's extra log columns of each row (``extra_log_columns=`` at creation)."""
    declared = [c.name for c in fv.extra_log_columns]
    if given is None:
        return [{} for _ in range(n)]
    table = (
        _table(given, fv, "extra_logging_features") if not isinstance(given, pa.Table) else given
    )
    unknown = [c for c in table.column_names if c not in declared]
    if unknown:
        raise FtiError(
            f"extra_logging_features {unknown} are not the view's extra log columns {declared} "
            "(create_feature_view(extra_log_columns=...)); nothing was logged"
        )
    if table.num_rows != n:
        raise FtiError(
            f"extra_logging_features hold {table.num_rows} rows for {n}; nothing was logged"
        )
    extras: list[dict[str, Any]] = table.to_pylist()
    return extras
