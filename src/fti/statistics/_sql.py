"""The statistics DuckDB computes: columns of the types NumPy does not hold (decimals) and the
correlation matrix.

Each statement reads a table registered with only the columns it needs. Binding a statement
costs time in proportion to the width of the table it reads, and the optimizer's time grows
faster than linearly with the number of expressions in one SELECT; a statement per chunk of
columns (or tile of column pairs) over a narrow table keeps the total in proportion to the
work itself.

The registered columns are named by position (``c0``, ``c1``, ...): a column's own name never
enters the SQL, and DuckDB, whose names ignore case, cannot take ``X`` for ``x``.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from fti import _duckdb
from fti.statistics._common import QUANTILES, bins, edges, to_json

# Columns per statement: past a few dozen, a wider SELECT no longer saves any time.
CHUNK = 32
# Columns per side of a tile of correlations: 32 × 32 pairs per statement.
TILE = 32


def _positional(table: pa.Table) -> pa.Table:
    """``table`` with its columns named ``c0``, ``c1``, ... (no copy)."""
    return table.rename_columns([f"c{i}" for i in range(table.num_columns)])


def describe_columns(table: pa.Table, *, histograms: bool) -> dict[str, dict[str, Any]]:
    """Statistics of numeric and temporal columns, a statement per :data:`CHUNK` columns."""
    out: dict[str, dict[str, Any]] = {}
    con = _duckdb.connect()
    try:
        for start in range(0, table.num_columns, CHUNK):
            part = table.select(list(range(start, min(start + CHUNK, table.num_columns))))
            con.register("data", _positional(part))
            out |= _describe_chunk(con, part, histograms)
            con.unregister("data")
    finally:
        con.close()
    return out


def _describe_chunk(
    con: duckdb.DuckDBPyConnection, table: pa.Table, histograms: bool
) -> dict[str, dict[str, Any]]:
    aggregates: list[str] = []
    for i, field in enumerate(table.schema):
        c = f"c{i}"
        if pa.types.is_floating(field.type):
            aggregates.append(f"count(*) FILTER (WHERE isnan({c}) OR isinf({c}))")
            c = f"(CASE WHEN isnan({c}) OR isinf({c}) THEN NULL ELSE {c} END)"
        aggregates += [f"count({c})", f"count(DISTINCT {c})", f"min({c})", f"max({c})"]
        if _numeric(field.type):
            quantiles = ", ".join(str(q) for q in QUANTILES)
            aggregates += [f"avg({c})", f"stddev_samp({c})", f"quantile_cont({c}, [{quantiles}])"]
    # fetchall, not fetchone: an unfinished result would keep the table registered
    (row,) = con.execute(f"SELECT {', '.join(aggregates)} FROM data").fetchall()
    values = iter(row)
    out: dict[str, dict[str, Any]] = {}
    for i, field in enumerate(table.schema):
        stats: dict[str, Any] = {}
        if pa.types.is_floating(field.type):
            stats["non_finite_count"] = next(values)
        stats["count"] = next(values)
        stats["null_count"] = table.num_rows - stats["count"] - stats.get("non_finite_count", 0)
        stats["distinct_count"] = next(values)
        stats["min"], stats["max"] = to_json(next(values)), to_json(next(values))
        if _numeric(field.type):
            stats["mean"], stats["std"] = to_json(next(values)), to_json(next(values))
            qs = to_json(next(values)) or [None] * len(QUANTILES)
            stats["quantiles"] = dict(zip([str(q) for q in QUANTILES], qs, strict=True))
            if histograms:
                stats["histogram"] = _histogram(con, f"c{i}", stats["min"], stats["max"])
        out[field.name] = stats
    return out


def _numeric(typ: pa.DataType) -> bool:
    return not (pa.types.is_timestamp(typ) or pa.types.is_date(typ))


def _histogram(con: duckdb.DuckDBPyConnection, column: str, lo: Any, hi: Any) -> dict[str, Any]:
    if lo is None or hi is None:
        return {"edges": [], "counts": []}
    lo, hi = float(lo), float(hi)
    number, width = bins(lo, hi)
    # x / width - lo / width stays finite where x - lo would not; clamped before the cast
    rows = con.execute(
        "SELECT b, count(*) FROM (SELECT least(greatest(floor(x / ? - ? / ?), 0), ?)::BIGINT AS b"
        f" FROM (SELECT {column}::DOUBLE AS x FROM data) WHERE x IS NOT NULL AND isfinite(x))"
        " GROUP BY b",
        [width, lo, width, number - 1],
    ).fetchall()
    counts = [0] * number
    for b, n in rows:
        counts[int(b)] = int(n)
    return {"edges": edges(lo, hi, number), "counts": counts}


def correlations(table: pa.Table) -> dict[str, Any]:
    """Pearson correlations of every pair of columns over the rows where both are finite (null
    where undefined, e.g. a constant column), a statement per tile of pairs."""
    names = table.column_names
    matrix: list[list[float | None]] = [
        [1.0 if i == j else None for j in range(len(names))] for i in range(len(names))
    ]
    con = _duckdb.connect()
    try:
        for a in range(0, len(names), TILE):
            for b in range(a, len(names), TILE):
                _correlate(con, table, range(a, min(a + TILE, len(names))), b, matrix)
    finally:
        con.close()
    return {"columns": names, "matrix": matrix}


def _correlate(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    left: range,
    b: int,
    matrix: list[list[float | None]],
) -> None:
    right = range(b, min(b + TILE, table.num_columns))
    pairs = [(i, j) for i in left for j in right if i < j]
    if not pairs:
        return
    used = sorted({*left, *right})
    con.register("data", _positional(table.select(used)))
    try:
        finite = ", ".join(
            f"(CASE WHEN isfinite(c{k}::DOUBLE) THEN c{k}::DOUBLE END) AS v{i}"
            for k, i in enumerate(used)
        )
        pearson = ", ".join(f"corr(v{i}, v{j})" for i, j in pairs)
        (row,) = con.execute(f"SELECT {pearson} FROM (SELECT {finite} FROM data)").fetchall()
    finally:
        con.unregister("data")
    for (i, j), value in zip(pairs, row, strict=True):
        matrix[i][j] = matrix[j][i] = to_json(value)
