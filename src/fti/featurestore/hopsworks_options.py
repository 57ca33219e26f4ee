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
