"""Reading a feature view's inference log, optionally joined with labels that arrived later
(``fv.read_log`` delegates here: the log is the serving layer's)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from fti import _compat, _frames
from fti.errors import FtiError
from fti.featurestore.filters import FeatureRef
from fti.featurestore.ingest import to_arrow
from fti.featurestore.training_data import Split, make_spec
from fti.serving.log_rows import log_group

if TYPE_CHECKING:
    from fti.featurestore import FeatureStore, FeatureView


_READ = {
    "online": "the log is read from its offline table, which holds every row",
    "training_dataset_version": "a row records its model version, whose training dataset is known",
}


def read_log(
    fs: FeatureStore,
    fv: FeatureView,
    start_time: dt.datetime | str | None = None,
    end_time: dt.datetime | str | None = None,
    model_version: int | None = None,
    dataframe_type: str = "pandas",
    *,
    labels: Any = None,
    on: Sequence[str] = ("request_id",),
    transformed: bool = False,
    model_name: str | None = None,
    inputs: Callable[[str, int], list[str]] | None = None,
    **hopsworks: Any,
) -> Any:
    """Predictions made from ``fv`` in ``[start_time, end_time)``, optionally of one model
    (name and / or version); ``labels`` left-joined on ``on`` (unlabelled rows get nulls).
    ``transformed=True``: the model's inputs (named by ``inputs(model name, version)``, or
    as logged) in place of the untransformed features."""
    if hopsworks.get("filter") is not None:
        raise FtiError(
            "read_log(filter=...): filter the frame it returns (the log's columns are the "
            "view's features by name)"
        )
    hopsworks.pop("filter", None)
    _compat.ignore(hopsworks, _READ, "read_log", 4)
    group = log_group(fs, fv)
    spec = make_spec(start_time, end_time, None, Split())
    query = group.select_all()
    condition = spec.row_filter(FeatureRef(group.name, group.version, "logged_at"))
    for column, value in (("model_version", model_version), ("model_name", model_name)):
        if value is not None:
            match = getattr(group, column) == value
            condition = match if condition is None else condition & match
    if condition is not None:
        query = query.filter(condition)
    log = query.to_arrow(query.resolve_commits())
    if transformed:
        log = _transformed(log, fv, inputs)
    if labels is not None:
        log = join_labels(log, to_arrow(labels), list(on))
    return _frames.to_frame(log, dataframe_type)


def _transformed(
    log: pa.Table, fv: FeatureView, inputs: Callable[[str, int], list[str]] | None
) -> pa.Table:
    """The log with the model inputs of each row as columns instead of its untransformed
    features: a logged dict by its keys, a logged vector by its model's input names."""
    names: dict[tuple[str, int], list[str]] = {}
    rows = []
    for vector, name, version in zip(
        log.column("transformed").to_pylist(),
        log.column("model_name").to_pylist(),
        log.column("model_version").to_pylist(),
        strict=True,
    ):
        value = orjson.loads(vector) if vector is not None else None
        if isinstance(value, list):
            if name is None or version is None or inputs is None:
                raise FtiError(
                    "a logged transformed vector without its model cannot be named: log "
                    "transformed_features as a DataFrame, or with model="
                )
            if (name, version) not in names:
                names[(name, version)] = inputs(name, version)
            value = dict(zip(names[(name, version)], value, strict=True))
        rows.append(value or {})
    columns = list(dict.fromkeys(k for r in rows for k in r))
    kept = log.drop_columns([c for c in fv.feature_names if c in log.column_names])
    values = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows])
    for column in columns:
        kept = kept.append_column(column, values.column(column))
    return kept


def join_labels(log: pa.Table, labels: pa.Table, on: list[str]) -> pa.Table:
    for table, what in ((log, "the log"), (labels, "labels")):
        absent = [c for c in on if c not in table.column_names]
        if absent:
            raise FtiError(f"{what} lacks join column(s) {absent}: {table.column_names}")
    clash = [c for c in labels.column_names if c in log.column_names and c not in on]
    if clash:
        raise FtiError(f"label column(s) {clash} are log columns already: rename them")
    duplicated = labels.group_by(on).aggregate([([], "count_all")])
    if duplicated.num_rows != labels.num_rows:
        raise FtiError(f"labels hold more than one row for some {on}: one label per row")
    joined = log.join(labels, keys=on, join_type="left outer")
    return joined.sort_by([("logged_at", "ascending"), ("request_id", "ascending")])
