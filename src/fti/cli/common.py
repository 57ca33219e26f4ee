"""What every command shares: the project to open, the console, error display."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

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


def table(*headers: str, title: str | None = None, right: Sequence[str] = ()) -> Table:
    """A table whose cells wrap onto more lines instead of ending in an ellipsis: two names
    that differ only at their end never print alike, at 80 columns or piped. ``right``:
    headers of right-aligned (numeric) columns."""
    columns = [
        Column(h, overflow="fold", justify="right" if h in right else "left") for h in headers
    ]
    return Table(*columns, title=title, title_justify="left")


def statistics_table(title: str, stats: dict[str, Any]) -> Table:
    """Per-feature count, nulls, distinct, min, mean and max of stored statistics (the title
    says which rows they describe)."""
    numbers = ("count", "nulls", "distinct", "min", "mean", "max")
    out = table("feature", *numbers, title=title, right=numbers)
    for name, col in stats["columns"].items():
        out.add_row(
            name,
            *(
                fmt(col.get(k))
                for k in ("count", "null_count", "distinct_count", "min", "mean", "max")
            ),
        )
    return out


@dataclass
class State:
    home: Path | None


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error as one line (never wrapped, markup in it shown as written)."""
    errors.print(
        f"[red]error:[/red] {escape(' '.join(message.split()))}", soft_wrap=True, highlight=False
    )
    return typer.Exit(code)


@contextlib.contextmanager
def project(
    ctx: typer.Context, create: bool = False, home: Path | None = None
) -> Iterator[Project]:
    """Open the project (``home``, default --home): only commands that write may ``create``
    it, reading never does. An fti error becomes a one-line message and exit code 1."""
    try:
        with connect(home or ctx.obj.home, create=create) as opened:
            yield opened
    except FtiError as exc:
        raise fail(str(exc)) from exc
