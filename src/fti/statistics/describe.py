"""Descriptive statistics of an Arrow table, computed by DuckDB in one scan plus small group-bys.

The result is plain JSON (no NaN: non-finite floats are counted, then left out of the
aggregates) so that it can be stored in either catalog database and compared across commits.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import duckdb
import pyarrow as pa

from fti import _duckdb

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 20
TOP_VALUES = 10


def _kind(typ: pa.DataType) -> str:
    if pa.types.is_boolean(typ) or pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return "categorical"
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return "numeric"
    if pa.types.is_timestamp(typ) or pa.types.is_date(typ):
        return "temporal"
    return "other"


def _json(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "is_finite") or type(value).__name__ == "Decimal":
        return float(value)
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def describe(
    table: pa.Table, *, histograms: bool = True, correlations: bool = False
) -> dict[str, Any]:
    """Count, nulls, min/max/mean/std, quantiles, distinct count; with ``histograms`` a
    histogram (numeric) or the top values (categorical); with ``correlations`` the Pearson
    correlation matrix of the numeric columns."""
    con = _duckdb.connect()
    try:
        con.register("data", table)
        aggregates: list[str] = []
        kinds = {f.name: _kind(f.type) for f in table.schema}
        for field in table.schema:
            c, kind = _q(field.name), kinds[field.name]
            if kind == "other":
                continue
            if kind == "numeric" and pa.types.is_floating(field.type):
                aggregates.append(f"count(*) FILTER (WHERE isnan({c}) OR isinf({c}))")
                c = f"(CASE WHEN isnan({c}) OR isinf({c}) THEN NULL ELSE {c} END)"
            aggregates += [f"count({c})", f"approx_count_distinct({c})"]
            if kind in ("numeric", "temporal"):
                aggregates += [f"min({c})", f"max({c})"]
            if kind == "numeric":
                quantiles = ", ".join(str(q) for q in QUANTILES)
                aggregates += [
                    f"avg({c})",
                    f"stddev_samp({c})",
                    f"quantile_cont({c}, [{quantiles}])",
                ]
        row = (
            con.execute(f"SELECT {', '.join(aggregates)} FROM data").fetchone()
            if aggregates
            else ()
        )
        values = iter(row or ())
        columns: dict[str, dict[str, Any]] = {}
        for field in table.schema:
            kind = kinds[field.name]
            stats: dict[str, Any] = {"type": str(field.type), "kind": kind}
            columns[field.name] = stats
            if kind == "other":
                stats["null_count"] = table.column(field.name).null_count
                continue
            if kind == "numeric" and pa.types.is_floating(field.type):
                stats["non_finite_count"] = next(values)
            stats["count"] = next(values)
            stats["null_count"] = table.num_rows - stats["count"] - stats.get("non_finite_count", 0)
            # approx_count_distinct is a HyperLogLog estimate: never report more than count.
            stats["distinct_count"] = min(next(values), stats["count"])
            if kind in ("numeric", "temporal"):
                stats["min"], stats["max"] = _json(next(values)), _json(next(values))
            if kind == "numeric":
                stats["mean"], stats["std"] = _json(next(values)), _json(next(values))
                qs = next(values)
                stats["quantiles"] = dict(
                    zip(
                        [str(q) for q in QUANTILES],
                        _json(qs) or [None] * len(QUANTILES),
                        strict=True,
                    )
                )
                if histograms:
                    stats["histogram"] = _histogram(con, field.name, stats["min"], stats["max"])
            elif kind == "categorical" and histograms:
                stats["top_values"] = _top_values(con, field.name)
        result: dict[str, Any] = {"row_count": table.num_rows, "columns": columns}
        if correlations:
            numeric = {
                f.name: f"(CASE WHEN isfinite({_q(f.name)}::DOUBLE) THEN {_q(f.name)}::DOUBLE END)"
                for f in table.schema
                if kinds[f.name] == "numeric"
            }
            result["correlations"] = _correlations(con, numeric)
        return result
    finally:
        con.close()


def _histogram(con: duckdb.DuckDBPyConnection, name: str, lo: Any, hi: Any) -> dict[str, Any]:
    """Equal-width bins between min and max (one bin when they are equal)."""
    if lo is None or hi is None:
        return {"edges": [], "counts": []}
    lo, hi = float(lo), float(hi)
    # hi / bins - lo / bins, not (hi - lo) / bins: the difference may overflow (-1e308, 1e308)
    width = hi / HISTOGRAM_BINS - lo / HISTOGRAM_BINS
    bins = HISTOGRAM_BINS if hi > lo and 0 < width < math.inf else 1
    if bins == 1:
        width = 1.0
    c = _q(name)
    # x / width - lo / width stays finite where x - lo would not; clamped before the cast
    rows = con.execute(
        "SELECT b, count(*) FROM (SELECT least(greatest(floor(x / ? - ? / ?), 0), ?)::BIGINT AS b"
        f" FROM (SELECT {c}::DOUBLE AS x FROM data) WHERE x IS NOT NULL AND isfinite(x))"
        " GROUP BY b",
        [width, lo, width, bins - 1],
    ).fetchall()
    counts = [0] * bins
    for b, n in rows:
        counts[int(b)] = int(n)
    # a weighted mean of lo and hi stays finite where lo + i * width may not
    edges = [lo * (1 - i / bins) + hi * (i / bins) for i in range(bins)] + [hi]
    return {"edges": edges, "counts": counts}


def _top_values(con: duckdb.DuckDBPyConnection, name: str) -> list[dict[str, Any]]:
    c = _q(name)
    rows = con.execute(
        f"SELECT {c}, count(*) AS n FROM data WHERE {c} IS NOT NULL "
        f"GROUP BY {c} ORDER BY n DESC, {c} LIMIT {TOP_VALUES}"
    ).fetchall()
    return [{"value": _json(v), "count": int(n)} for v, n in rows]


def _correlations(con: duckdb.DuckDBPyConnection, columns: dict[str, str]) -> dict[str, Any]:
    """Pearson correlations of every pair in one scan over the finite values (null where
    undefined, e.g. a constant column); ``columns`` maps names to SQL expressions."""
    names, exprs = list(columns), list(columns.values())
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    matrix: list[list[float | None]] = [
        [1.0 if i == j else None for j in range(len(names))] for i in range(len(names))
    ]
    if pairs:
        row = con.execute(
            "SELECT " + ", ".join(f"corr({exprs[i]}, {exprs[j]})" for i, j in pairs) + " FROM data"
        ).fetchone()
        for (i, j), value in zip(pairs, row or (), strict=True):
            matrix[i][j] = matrix[j][i] = _json(value)
    return {"columns": names, "matrix": matrix}
