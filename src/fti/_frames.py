"""Returning Arrow data as the DataFrame type a caller asked for."""

from __future__ import annotations

from typing import Any, Literal

import pyarrow as pa

from fti.errors import FtiError

DataFrameType = Literal["pandas", "polars", "arrow", "pyarrow"]


def to_frame(table: pa.Table, dataframe_type: str) -> Any:
    """pandas (default everywhere), Polars, or the Arrow table itself."""
    if dataframe_type == "pandas":
        return table.to_pandas()
    if dataframe_type == "polars":
        import polars as pl

        return pl.from_arrow(table)
    if dataframe_type in ("arrow", "pyarrow"):
        return table
    raise FtiError(f"unknown dataframe_type {dataframe_type!r}: use 'pandas', 'polars' or 'arrow'")


def kind_of(data: Any) -> str:
    """The ``dataframe_type`` that gives back the same kind of frame as ``data``."""
    if isinstance(data, pa.Table):
        return "arrow"
    return "polars" if type(data).__module__.startswith("polars") else "pandas"
