"""Statistics of numeric and temporal columns with NumPy, one sort per column.

A column's valid values (finite ones, for floats) are sorted once: min, max, the quantiles and
the distinct count are read off the sorted values, and the histogram bin of a sorted value
never decreases, so the bins' counts are where the bin number changes. Each column costs a
constant per value, whatever the number of columns. The arithmetic reproduces DuckDB's (which
computed these statistics before, and still does for the types NumPy does not hold):

* the mean of floats sums the values in row order, as DuckDB's ``avg`` does; of integers, the
  exact sum divided by the count;
* quantiles interpolate like ``quantile_cont``: position (n - 1)·q between the neighbouring
  order statistics, ``lo·(1 - d) + hi·d`` (``lo + (hi - lo)·d`` rounded to float for float32
  columns, which DuckDB keeps as FLOAT). DuckDB's build fuses the multiply-add, NumPy does
  not: about one interpolated quantile in ten differs in the last bit (of the larger of lo
  and hi), one float32 quantile in thousands by one float ulp;
* the histogram bin of x is ``floor(x / width - lo / width)`` clamped to the bins;
* the sample standard deviation is the two-pass one (more accurate than DuckDB's streaming
  Welford update, equal to it within a few ulps), except where a square could overflow or
  underflow: there the Welford update runs as DuckDB runs it, so the same overflows give the
  same nulls.

``distinct_count`` is exact (DuckDB's was a HyperLogLog estimate, off by a few percent above
a few dozen values): counting changes along the sorted values costs less than estimating.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from fti.statistics._common import QUANTILES, bins, edges, from_int, to_json

# Outside this magnitude a square of a deviation may overflow or lose its precision.
_SAFE_SCALE = (2.0**-480, 2.0**480)
_DAY_MS = 86_400_000


def dtype(typ: pa.DataType) -> np.dtype[Any] | None:
    """The NumPy type holding a column of ``typ`` here (None: not handled here)."""
    if pa.types.is_integer(typ) or pa.types.is_float32(typ) or pa.types.is_float64(typ):
        held: np.dtype[Any] = np.dtype(typ.to_pandas_dtype())
        return held
    if pa.types.is_timestamp(typ) or pa.types.is_date64(typ):
        return np.dtype(np.int64)
    if pa.types.is_date32(typ):
        return np.dtype(np.int32)
    return None


def describe_column(typ: pa.DataType, column: pa.ChunkedArray, histograms: bool) -> dict[str, Any]:
    """The statistics of one column of a type :func:`dtype` holds."""
    values, valid = _raw(typ, column)
    stats: dict[str, Any] = {}
    with np.errstate(all="ignore"):  # inf and NaN are data here, not mistakes
        if values.dtype.kind == "f":
            finite = np.isfinite(values)
            present = finite if valid is None else finite & valid
            nulls = 0 if valid is None else len(values) - int(np.count_nonzero(valid))
            stats["non_finite_count"] = len(values) - nulls - int(np.count_nonzero(present))
            if stats["non_finite_count"] or valid is not None:
                valid = present
        kept = values if valid is None else values[valid]  # in row order
        ordered = np.sort(kept)
        n = len(ordered)
        stats["count"] = n
        stats["null_count"] = len(values) - n - stats.get("non_finite_count", 0)
        stats["distinct_count"] = int(np.count_nonzero(ordered[1:] != ordered[:-1])) + (n > 0)
        low, high = (ordered[0].item(), ordered[-1].item()) if n else (None, None)
        if pa.types.is_timestamp(typ) or pa.types.is_date(typ):
            stats["min"], stats["max"] = to_json(from_int(typ, low)), to_json(from_int(typ, high))
            return stats
        stats["min"], stats["max"] = low, high
        stats["mean"], stats["std"] = _moments(kept, ordered, low, high)
        stats["quantiles"] = _quantiles(ordered)
        if histograms:
            stats["histogram"] = _histogram(ordered, low, high)
    return stats


def _raw(typ: pa.DataType, column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray | None]:
    """The values (nulls hold anything) and the validity (None: no nulls), without copies."""
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    kind = dtype(typ)
    assert kind is not None
    if len(array) == 0:
        return np.empty(0, kind), None
    start, stop = array.offset, array.offset + len(array)
    values = np.frombuffer(array.buffers()[1], kind, count=stop)[start:]
    if pa.types.is_date64(typ):  # DuckDB reads date64 as days, truncating toward zero
        values = np.where(values < 0, -(-values // _DAY_MS), values // _DAY_MS)
    if array.null_count == 0:
        return values, None
    bits = np.frombuffer(array.buffers()[0], np.uint8)
    return values, np.unpackbits(bits, count=stop, bitorder="little")[start:].view(bool)


def _moments(kept: np.ndarray, ordered: np.ndarray, low: Any, high: Any) -> tuple[Any, Any]:
    """Mean and sample standard deviation."""
    n = len(kept)
    if n == 0:
        return None, None
    if kept.dtype.kind == "f":
        # in row order from +0.0 (so a sum of -0.0 is +0.0): DuckDB's avg, to the last bit
        total: Any = float(np.cumsum(kept, dtype=np.float64)[-1]) + 0.0
    elif max(abs(low), abs(high)) * n < 2**63:  # no partial sum can overflow int64
        total = int(kept.sum(dtype=np.int64))
    else:
        total = sum(kept.tolist())
    mean = to_json(total / n)
    if n < 2:
        return mean, None
    if low == high:
        return mean, 0.0  # exactly, like the streaming update over equal values
    if not _SAFE_SCALE[0] <= max(abs(low), abs(high)) <= _SAFE_SCALE[1]:
        return mean, _welford(kept)
    # the corrected two-pass sum of squares: the second term cancels the centre's rounding
    deviations = ordered.astype(np.float64) - float(total) / n
    squares = float(deviations @ deviations) - float(deviations.sum()) ** 2 / n
    return mean, to_json(math.sqrt(max(squares, 0.0) / (n - 1)))


def _welford(values: np.ndarray) -> float | None:
    """DuckDB's streaming sample standard deviation, operation for operation, in row order."""
    n, mean, squares = 0, 0.0, 0.0
    for x in values.tolist():
        n += 1
        new_mean = mean + (x - mean) / n
        squares += (x - new_mean) * (x - mean)
        mean = new_mean
    variance = squares / (n - 1)
    return math.sqrt(variance) if variance >= 0 and math.isfinite(variance) else None


_Q = np.array(QUANTILES)


def _quantiles(ordered: np.ndarray) -> dict[str, Any]:
    n = len(ordered)
    if n == 0:
        return dict.fromkeys(map(str, QUANTILES))
    position = (n - 1) * _Q
    below, above = np.floor(position), np.ceil(position)
    lo, hi = ordered[below.astype(np.intp)], ordered[above.astype(np.intp)]
    lo64, hi64, d = lo.astype(np.float64), hi.astype(np.float64), position - below
    if ordered.dtype == np.float32:  # float in, float out, interpolated in doubles
        between = (lo64 + (hi64 - lo64) * d).astype(np.float32)
        points = np.where(below == above, lo, between)
    else:
        points = np.where(below == above, lo64, lo64 * (1.0 - d) + hi64 * d)
    return {str(q): to_json(p) for q, p in zip(QUANTILES, points.tolist(), strict=True)}


def _histogram(ordered: np.ndarray, low: Any, high: Any) -> dict[str, Any]:
    if not len(ordered):
        return {"edges": [], "counts": []}
    lo, hi = float(low), float(high)
    number, width = bins(lo, hi)
    binned = ordered.astype(np.float64)
    binned /= width
    binned -= lo / width
    np.floor(binned, out=binned)
    np.clip(binned, 0, number - 1, out=binned)
    # sorted values give non-decreasing bins: each bin's count is where the next one starts
    starts = np.searchsorted(binned, np.arange(number + 1))
    return {"edges": edges(lo, hi, number), "counts": np.diff(starts).tolist()}
