"""Reading a feature view's inference log, optionally joined with labels that arrived later
(``fv.read_log`` delegates here: the log is the serving layer's)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fti import _frames
from fti.errors import FtiError
from fti.featurestore.filters import FeatureRef
from fti.featurestore.ingest import to_arrow
from fti.featurestore.training_data import Split, make_spec
from fti.serving.log_rows import log_group

if TYPE_CHECKING:
    from fti.featurestore import FeatureStore, FeatureView


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
) -> Any:
    """Predictions served from ``fv`` in ``[start_time, end_time)``, optionally of one model
    version; ``labels`` left-joined on ``on`` (unlabelled rows get nulls)."""
    group = log_group(fs, fv)
    spec = make_spec(start_time, end_time, None, Split())
    query = group.select_all()
    condition = spec.row_filter(FeatureRef(group.name, group.version, "logged_at"))
    if model_version is not None:
        by_model = group.model_version == model_version
        condition = by_model if condition is None else condition & by_model
    if condition is not None:
        query = query.filter(condition)
    log = query.to_arrow(query.resolve_commits())
    if labels is not None:
        log = join_labels(log, to_arrow(labels), list(on))
    return _frames.to_frame(log, dataframe_type)


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
