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
