"""Returning Arrow data as the DataFrame type a caller asked for."""

from __future__ import annotations

from typing import Any, Literal

import pyarrow as pa

from fti.errors import FtiError

DataFrameType = Literal["pandas", "polars", "arrow", "pyarrow"]


def to_frame(table: pa.Table, dataframe_type: str) -> Any:
    """pandas (the default everywhere; Hopsworks' ``"default"``), Polars, the Arrow table
    itself, or as Hopsworks also gives them, a 2-D NumPy array (``"numpy"``) or a list of
    rows (``"python"``)."""
    if dataframe_type in ("pandas", "default"):
        return table.to_pandas()
    if dataframe_type == "numpy":
        return table.to_pandas().to_numpy()
    if dataframe_type == "python":
        return [list(row.values()) for row in table.to_pylist()]
    if dataframe_type == "polars":
        import polars as pl

        return pl.from_arrow(table)
    if dataframe_type in ("arrow", "pyarrow"):
        return table
    raise FtiError(
        f"unknown dataframe_type {dataframe_type!r}: use 'pandas' ('default'), 'polars', "
        "'arrow', 'numpy' or 'python'"
    )


def kind_of(data: Any) -> str:
    """The ``dataframe_type`` that gives back the same kind of frame as ``data``."""
    if isinstance(data, pa.Table):
        return "arrow"
    return "polars" if type(data).__module__.startswith("polars") else "pandas"
