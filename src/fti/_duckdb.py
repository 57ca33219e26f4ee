"""Cheap DuckDB connections for the many small queries fti runs (checks, statistics, joins).

Opening a new in-memory DuckDB database costs 30-50 ms; a cursor of one shared database costs
microseconds and still keeps its registered Arrow tables to itself, so concurrent callers
cannot see each other's tables.
"""

from __future__ import annotations

import os
import threading

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
        return _base.cursor()
