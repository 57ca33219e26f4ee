"""What every command shares: the project to open, the console, error display."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from fti.errors import FtiError
from fti.project import Project, connect

console = Console()
errors = Console(stderr=True)


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
