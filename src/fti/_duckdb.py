"""Cheap DuckDB connections for the many small queries fti runs (checks, statistics, joins),
and the two ways anything from outside reaches their SQL: identifiers through :func:`quote`,
values as bound parameters through :class:`Params`, never pasted into the text.

Opening a new in-memory DuckDB database costs 30-50 ms; a cursor of one shared database costs
microseconds and still keeps its registered Arrow tables to itself, so concurrent callers
cannot see each other's tables.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import duckdb

_base: duckdb.DuckDBPyConnection | None = None
_base_pid = -1
_lock = threading.Lock()


def connect() -> duckdb.DuckDBPyConnection:
    """A new connection to the process's shared in-memory database; close it when done."""
    global _base, _base_pid
    with _lock:
        if _base is None or _base_pid != os.getpid():  # a forked child needs its own database
            _base, _base_pid = duckdb.connect(), os.getpid()
            # DuckDB's session zone is the machine's otherwise: times would come back in it
            # (timestamp[us, tz=Europe/Berlin]) and casts to dates would follow it
            _base.execute("SET GLOBAL TimeZone = 'UTC'")
        return _base.cursor()


def quote(name: str) -> str:
    """``name`` as one SQL identifier (DuckDB, and the SQL of Delta Lake's predicates).

    Double quotes with embedded ones doubled, per SQL: a keyword, mixed case or punctuation
    stays a name and never ends the identifier early. DuckDB matches quoted names without
    regard to case, so two names differing only in case still meet: callers keep such names
    apart themselves.
    """
    if "\x00" in name:  # no SQL dialect can hold it; refusing beats a truncated name
        raise ValueError(f"an identifier cannot contain NUL: {name!r}")
    return '"' + name.replace('"', '""') + '"'


class Params:
    """The values of one statement's ``$n`` placeholders, numbered as they are added.

    Numbered rather than positional (``?``) so that the text can be put together in any
    order; a statement is run with ``con.sql(sql, params=params.values)``.
    """

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        """The placeholder that stands for ``value`` in the statement."""
        self.values.append(value)
        return f"${len(self.values)}"
