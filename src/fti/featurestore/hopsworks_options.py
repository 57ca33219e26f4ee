"""The options Hopsworks' feature-store calls take that fti has no use for, or spells another
way (see :mod:`fti._compat`): what each would do there, and what fti does instead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fti import _compat
from fti.errors import FtiError

# fg.insert: fti writes the offline and online stores in the call, synchronously
_WAITS = {"wait_for_job", "wait_for_online_ingestion", "start_offline_materialization"}
_INSERT = {
    "transformation_context": "fti's transformations take no context",
    "n_processes": "fti's on-demand transformations run column-wise in this process",
    "operation": "fti upserts on (primary key, event time): a stored key and time is replaced",
}


def insert_options(
    wait: bool,
    overwrite: bool,
    storage: str | None,
    write_options: Mapping[str, Any] | None,
    validation_options: Mapping[str, Any] | None,
    **ignored: Any,
) -> bool:
    """Check Hopsworks' options of ``fg.insert``; returns whether to validate (Hopsworks'
    ``validation_options={"run_validation": False}`` skips it). ``wait`` changes nothing:
    an insert returns once both stores are written, which is what waiting means there."""
    if overwrite:
        raise FtiError(
            "insert(overwrite=True) would delete every row first: fti keeps every commit "
            "readable; insert into a new feature group version instead. Nothing was written"
        )
    if storage is not None:
        raise FtiError(
            f"insert(storage={storage!r}): fti writes both stores in every insert, so they "
            "never disagree; drop storage=. Nothing was written"
        )
    _compat.ignore(ignored, _INSERT, "insert", 4, defaults={"operation": "upsert"})
    extra = {k: v for k, v in (write_options or {}).items() if k not in _WAITS}
    if extra:
        _compat.ignore(
            extra, dict.fromkeys(extra, "Kafka and Spark settings"), "insert(write_options)", 4
        )
    options = dict(validation_options or {})
    run = options.pop("run_validation", True)
    options.pop("save_report", None)  # fti keeps every report
    if options:
        _compat.ignore(
            options, dict.fromkeys(options, "fti validates with its own engine"), "insert", 4
        )
    return bool(run)


# fs.create_feature_group: Hopsworks' storage, streaming and layout options
_LAYOUT = "fti lays out its Delta tables itself"
_NO_KAFKA = "no Kafka: an insert writes the online store in the call"
_GROUP = {
    "time_travel_format": "fti's offline tables are Delta Lake tables, always",
    "foreign_key": "a join names its keys (query.join(on=...))",
    "hudi_precombine_key": "of two rows with one key and event time, the later insert wins",
    "stream": "every insert writes both stores in the call",
    "parents": "fti's lineage comes from the feature views' queries",
    "topic_name": _NO_KAFKA,
    "notification_topic_name": _NO_KAFKA,
    "online_config": "the online store's tables take no options",
    "offline_backfill_every_hr": "an insert writes the offline table in the call",
    "online_disk": "the online store keeps its tables where its settings say",
    "sink_enabled": "no sink jobs: an insert writes both stores",
    "sink_job_conf": "no sink jobs: an insert writes both stores",
    "sink_job": "no sink jobs: an insert writes both stores",
    "tags": "fti's feature groups carry descriptions, not tags",
    "ttl_enabled": "online rows do not expire",
    "online_partition_columns": _LAYOUT,
    "zorder_by": _LAYOUT,
    "clustered_by": _LAYOUT,
    "bucket_index": _LAYOUT,
    "sort_order": _LAYOUT,
}
_GROUP_REFUSED = {
    "embedding_index": "fti has no similarity search; keep embeddings as list<float> features",
    "storage_connector": "fti has no external feature groups: insert the data into a group",
    "path": "fti has no external feature groups: insert the data into a group",
    "data_source": "fti has no external feature groups: insert the data into a group",
    "ttl": "online rows do not expire: give the view's joins max_feature_age= to leave "
    "features older than that out (null) online and offline alike",
}


def group_options(options: dict[str, Any], partition_key: Any) -> Any:
    """Check Hopsworks' options of ``create_feature_group``; returns the partition key
    (Hopsworks' ``partitioned_by`` is another name of it)."""
    refused = [k for k in _GROUP_REFUSED if options.get(k) is not None]
    if refused:
        reasons = "; ".join(f"{k}: {_GROUP_REFUSED[k]}" for k in refused)
        raise FtiError(f"create_feature_group({', '.join(refused)}=...): {reasons}")
    for k in _GROUP_REFUSED:
        options.pop(k, None)
    by = options.pop("partitioned_by", None)
    if by is not None:
        if partition_key:
            raise FtiError("give partition_key= or its other name partitioned_by=, not both")
        partition_key = by
    _compat.ignore(options, _GROUP, "create_feature_group", 4)
    return partition_key


# fs.create_feature_view
_VIEW = {
    "tags": "fti's feature views carry descriptions, not tags",
    "logging_materialization_interval": "the inference log is committed as it is written",
    "logging_transport": "the inference log is committed as it is written",
}


def view_options(options: dict[str, Any]) -> None:
    """Check Hopsworks' options of ``create_feature_view`` that fti has no use for."""
    _compat.ignore(options, _VIEW, "create_feature_view", 4)
