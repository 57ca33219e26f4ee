"""Turning what a user inserts into a checked Arrow table, or a clear error.

Everything here runs before anything is written, so a bad insert never leaves a trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from fti import _duckdb
from fti.errors import InvalidDataError, SchemaError
from fti.online.codec import oversized_keys
from fti.types import UTC_MICROS, check_distinct, check_name, normalize_type

if TYPE_CHECKING:
    from fti.online import OnlineStore

_SHOWN = 10  # rows named in an error message


def to_arrow(data: Any) -> pa.Table:
    """Accept a pandas or Polars DataFrame, or a PyArrow Table / RecordBatch."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        try:
            return pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise SchemaError(f"cannot convert the DataFrame to Arrow: {exc}") from exc
    if module == "polars" and hasattr(data, "to_arrow"):
        return data.to_arrow()
    raise InvalidDataError(
        f"cannot insert a {type(data).__name__}: pass a pandas or Polars DataFrame or a "
        "PyArrow Table"
    )


def event_times(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """An event-time column as fti stores it, UTC microseconds, from what Hopsworks (and
    Spark) take as one: a timestamp with a zone; one without (read as UTC); a date (its
    midnight UTC); integers of epoch milliseconds."""
    typ = column.type
    if pa.types.is_timestamp(typ):
        if typ.tz is None:  # UTC wall times, as Spark and Hopsworks read them
            column = column.cast(pa.timestamp(typ.unit, tz="UTC"))
        return column
    if pa.types.is_date(typ):
        return column.cast(pa.timestamp("us")).cast(UTC_MICROS)
    if pa.types.is_integer(typ):
        try:
            micros = pc.multiply_checked(column.cast(pa.int64()), 1000)
        except (pa.ArrowInvalid, OverflowError) as exc:
            raise SchemaError(
                f"event time column {name!r}: integers are epoch milliseconds, and some are "
                f"beyond the range of a timestamp ({exc})"
            ) from exc
        return micros.cast(UTC_MICROS)
    raise SchemaError(
        f"event time column {name!r} must be a timestamp, a date or integers of epoch "
        f"milliseconds, got {typ}"
    )


def normalize(table: pa.Table, event_time: str | None) -> pa.Table:
    """Check column names and cast every column to the type fti stores."""
    for name in table.column_names:
        check_name(name, "column")
    check_distinct(table.column_names, "column")
    if event_time is not None:
        if event_time not in table.column_names:
            raise SchemaError(
                f"event time column {event_time!r} is missing; columns: {table.column_names}"
            )
        index = table.column_names.index(event_time)
        table = table.set_column(index, event_time, event_times(table.column(index), event_time))
    columns = []
    for field in table.schema:
        column = table.column(field.name)
        if pa.types.is_null(field.type):
            columns.append(column)  # typed later from the feature group's schema
            continue
        try:
            target = normalize_type(field.type)
        except SchemaError as exc:
            raise SchemaError(f"column {field.name!r}: {exc}") from exc
        if target != field.type:
            try:
                # Timestamps go to microseconds; finer digits are truncated, by design.
                safe = not pa.types.is_timestamp(field.type)
                column = column.cast(target, safe=safe)
            except pa.ArrowInvalid as exc:
                raise SchemaError(
                    f"column {field.name!r} cannot be stored as {target}: {exc}"
                ) from exc
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _rows(mask: pa.ChunkedArray) -> list[int]:
    return pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()[:_SHOWN]  # type: ignore[no-any-return]


def check_keys(table: pa.Table, primary_key: Sequence[str], event_time: str | None) -> None:
    """Required columns present and not null; (primary key, event time) unique."""
    required = [*primary_key, *([event_time] if event_time else [])]
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise SchemaError(
            f"primary key / event time column(s) {missing} missing; columns: {table.column_names}"
        )
    for name in required:
        column = table.column(name)
        if column.null_count:
            rows = _rows(column.is_null())
            what = "event time" if name == event_time else "primary key"
            raise InvalidDataError(
                f"{what} column {name!r} has {column.null_count} null value(s), e.g. at rows {rows}"
            )
    dupes = _duplicates(table, required)
    if dupes:
        detail = "; ".join(f"{key} at rows {rows}" for key, rows in dupes)
        raise InvalidDataError(
            f"duplicate (primary key, event time) rows in one insert: {detail}. Each key and event "
            "time may appear once per insert (later corrections go in a later insert)"
        )


def check_online_keys(table: pa.Table, primary_key: Sequence[str], store: OnlineStore) -> None:
    """Every row's key fits the online store once encoded. Checked before the offline commit:
    a committed row that cannot go online would fail every later catch-up of the group."""
    limit = store.max_key_bytes
    if limit is None:
        return
    oversized = oversized_keys(table, primary_key, limit, _SHOWN)
    if not oversized:
        return
    (row, size), others = oversized[0], [str(r) for r, _ in oversized[1:]]
    also = f" (also row(s) {', '.join(others)})" if others else ""
    raise InvalidDataError(
        f"row {row} has a primary key {list(primary_key)} of {size} bytes once encoded{also}, "
        f"but the online store ({store.address}) holds keys of at most {limit} bytes: "
        "nothing was written. Shorten the keys (e.g. hash them) or keep the group offline."
    )


def _duplicates(table: pa.Table, columns: list[str]) -> list[tuple[dict[str, Any], list[int]]]:
    con = _duckdb.connect()
    try:
        quoted = ", ".join(_duckdb.quote(c) for c in columns)
        con.register("keys", table.select(columns))
        # The cheap check first (a hash aggregate); row positions only when there is a dupe.
        ((repeats,),) = con.sql(
            f"SELECT count(*) - count(DISTINCT ({quoted})) FROM keys"
        ).fetchall()
        if not repeats:
            return []
        numbered = table.select(columns).append_column(
            "rid", pa.array(range(table.num_rows), pa.int64())
        )
        con.register("numbered", numbered)
        rows = con.sql(
            f"SELECT {quoted}, list(rid ORDER BY rid) AS rids FROM numbered GROUP BY ALL "
            f"HAVING count(*) > 1 ORDER BY min(rid) LIMIT {_SHOWN}"
        ).fetchall()
    finally:
        con.close()
    return [(dict(zip(columns, row[:-1], strict=True)), list(row[-1])[:_SHOWN]) for row in rows]
