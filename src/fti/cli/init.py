"""``fti init``: create a project (every other command except the demo only opens one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fti.cli.common import console, fail
from fti.errors import FtiError, ProjectNotFound
from fti.project import connect


def init(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Argument(
            help="Where (default: --home, $FTI_HOME or ./fti_home): a new or empty directory.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create an fti project in a new or empty directory.

    The project holds its catalog, offline and online stores in that directory (shared
    backends are configured in its fti.toml). Running it on a project changes nothing."""
    home = path or ctx.obj.home
    try:
        try:
            with connect(home, create=False) as opened:
                console.print(f"{opened.home} already holds an fti project", soft_wrap=True)
        except ProjectNotFound:
            with connect(home) as opened:
                console.print(f"created an fti project at {opened.home}", soft_wrap=True)
    except FtiError as exc:
        raise fail(str(exc)) from exc
