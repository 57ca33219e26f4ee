"""What every command shares: the project to open, the console, error display."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from fti.errors import FtiError
from fti.project import Project, connect

console = Console()
errors = Console(stderr=True)


def fmt(value: Any) -> str:
    """A cell of a printed table: short floats and times to the second."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return "" if value is None else str(value)


def statistics_table(title: str, stats: dict[str, Any]) -> Table:
    """Per-feature count, nulls, distinct, min, mean and max of stored statistics."""
    table = Table(
        "feature",
        "count",
        "nulls",
        "distinct",
        "min",
        "mean",
        "max",
        title=f"{title} ({stats['row_count']:,} rows)",
        title_justify="left",
    )
    for name, col in stats["columns"].items():
        table.add_row(
            name,
            *(
                fmt(col.get(k))
                for k in ("count", "null_count", "distinct_count", "min", "mean", "max")
            ),
        )
    return table


@dataclass
class State:
    home: Path | None


@contextlib.contextmanager
def project(ctx: typer.Context) -> Iterator[Project]:
    """Open the project; an fti error becomes a one-line message and exit code 1."""
    try:
        with connect(ctx.obj.home) as opened:
            yield opened
    except FtiError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
