"""What the statistics modules share: the quantiles and bins reported, JSON-safe values and the
layout of a histogram."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pyarrow as pa

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 20
TOP_VALUES = 10


def to_json(value: Any) -> Any:
    """A value stored as JSON: non-finite floats become null, dates ISO strings, decimals and
    NumPy scalars Python numbers."""
    if hasattr(value, "item") and not isinstance(value, list):  # a NumPy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "is_finite") or type(value).__name__ == "Decimal":
        return float(value)
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def bins(lo: float, hi: float) -> tuple[int, float]:
    """Equal-width bins between min and max: how many and their width (one bin of width 1 when
    the range is empty or its width is not a positive finite number)."""
    # hi / bins - lo / bins, not (hi - lo) / bins: the difference may overflow (-1e308, 1e308)
    width = hi / HISTOGRAM_BINS - lo / HISTOGRAM_BINS
    if hi > lo and 0 < width < math.inf:
        return HISTOGRAM_BINS, width
    return 1, 1.0


def edges(lo: float, hi: float, count: int) -> list[float]:
    """The ``count + 1`` bin edges from lo to hi."""
    # a weighted mean of lo and hi stays finite where lo + i * width may not
    return [lo * (1 - i / count) + hi * (i / count) for i in range(count)] + [hi]


_EPOCH = dt.datetime(1970, 1, 1)
_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1}


def from_int(typ: pa.DataType, value: int | None) -> dt.date | dt.datetime | str | None:
    """The date or time a temporal column's integer stands for, as DuckDB hands it to Python:
    days for dates, the unit for timestamps (nanoseconds truncated toward zero to
    microseconds); time-zone-aware ones in UTC; ±infinity as the largest and smallest
    datetime; outside datetime's years 1-9999 a string."""
    if value is None:
        return None
    if pa.types.is_date(typ):  # date64 too: read as days
        if abs(value) == 2**31 - 1:
            return dt.date.max if value > 0 else dt.date.min
        try:
            return _EPOCH.date() + dt.timedelta(days=value)
        except OverflowError:
            return str(np.datetime64(value, "D"))
    if abs(value) == 2**63 - 1 and typ.unit in ("us", "ns"):
        return dt.datetime.max if value > 0 else dt.datetime.min
    if typ.unit == "ns":
        micros = abs(value) // 1_000 * (1 if value >= 0 else -1)
    else:
        micros = value * _MICROS[typ.unit]
    try:
        moment = _EPOCH + dt.timedelta(microseconds=micros)
    except OverflowError:
        whole = micros % 1_000_000 == 0  # DuckDB leaves out zero microseconds
        moment64 = np.datetime64(micros // 1_000_000, "s") if whole else np.datetime64(micros, "us")
        return str(moment64).replace("T", " ")
    return moment.replace(tzinfo=dt.UTC) if typ.tz else moment
