"""Small builders of feature data for the feature-store tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pyarrow as pa

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def ts(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def cards(keys: Sequence[int], seconds: Sequence[int], values: Sequence[float | None]) -> pa.Table:
    return pa.table(
        {
            "cc_num": pa.array(keys, pa.int64()),
            "event_ts": pa.array([ts(s) for s in seconds], pa.timestamp("us", tz="UTC")),
            "spend": pa.array(values, pa.float64()),
        }
    )


def sort(table: pa.Table, by: Sequence[str] = ("cc_num", "event_ts")) -> pa.Table:
    return table.sort_by([(c, "ascending") for c in by])
