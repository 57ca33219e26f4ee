"""Statistics beyond the per-commit ones, asked for by name: the uniqueness measures of
``exact_uniqueness`` (Hopsworks' names: ``distinctness``, ``uniqueness``, ``entropy``), and
what model-dependent transformations read from a training dataset: 100 ``percentiles`` of a
numeric column and the ``unique_values`` of a categorical one (what a label or one-hot encoder
written as a UDF needs)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fti.statistics._common import to_json

# A categorical column with more distinct values than this keeps no list of them (the
# statistics are stored in the catalog); a UDF asking for it is told so.
UNIQUE_VALUES_LIMIT = 10_000
PERCENTILES = np.arange(1, 101) / 100  # percentiles[i] is the (i + 1)% quantile, as Hopsworks


def uniqueness(column: pa.ChunkedArray) -> dict[str, Any]:
    """Share of distinct values among the counted ones (non-null; finite for floats, as
    ``count``), share of values seen exactly once, and the entropy (natural log) of the
    values' frequencies."""
    column = column.drop_null()
    if pa.types.is_floating(column.type):
        column = column.filter(pc.is_finite(column))
    counted = pc.value_counts(column)
    counts = counted.field("counts").to_numpy(zero_copy_only=False).astype(np.float64)
    n = counts.sum()
    if n == 0:
        return {"distinctness": None, "uniqueness": None, "entropy": None}
    shares = counts / n
    return {
        "distinctness": len(counts) / n,
        "uniqueness": float(np.count_nonzero(counts == 1)) / n,
        "entropy": float(-(shares * np.log(shares)).sum()) + 0.0,
    }


def percentiles(column: pa.ChunkedArray) -> list[Any]:
    """The 1%, 2%, ..., 100% quantiles of the finite values, interpolated as DuckDB's
    ``quantile_cont``; all None without any."""
    values = column.drop_null()
    if not pa.types.is_floating(values.type):
        values = values.cast(pa.float64(), safe=False)  # decimals and int64 as the nearest doubles
    array = values.to_numpy(zero_copy_only=False).astype(np.float64)
    array = array[np.isfinite(array)]
    if not len(array):
        return [None] * len(PERCENTILES)
    return [to_json(v) for v in np.quantile(array, PERCENTILES, method="linear").tolist()]


def unique_values(column: pa.ChunkedArray) -> list[Any] | None:
    """The distinct non-null values, sorted; None beyond :data:`UNIQUE_VALUES_LIMIT`."""
    distinct = pc.unique(column.drop_null())
    if len(distinct) > UNIQUE_VALUES_LIMIT:
        return None
    return [to_json(v) for v in distinct.take(pc.array_sort_indices(distinct)).to_pylist()]
