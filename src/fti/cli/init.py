"""``fti init``: create a project (every other command except the demo only opens one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fti.cli.common import console, fail
from fti.errors import FtiError, ProjectNotFound
from fti.project import Project, connect


def init(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Argument(
            help="Where (default: --home, $FTI_HOME or ./fti_home): a new or empty directory.",
            show_default=False,
        ),
    ] = None,
    catalog_url: Annotated[
        str | None,
        typer.Option(help="postgresql://... for a shared catalog (default: SQLite in the home)."),
    ] = None,
    offline_root: Annotated[
        str | None, typer.Option(help="Path or s3:// URI of the Delta tables.")
    ] = None,
    online_store: Annotated[
        str | None, typer.Option(help="lmdb (default), sqlite or a redis:// URL.")
    ] = None,
    artifacts: Annotated[
        str | None, typer.Option(help="Directory or s3:// URI for model files.")
    ] = None,
) -> None:
    """Create an fti project in a new or empty directory.

    The project holds its catalog, offline and online stores in that directory unless told
    otherwise by these options or $FTI_CATALOG_URL, $FTI_OFFLINE_ROOT, $FTI_ONLINE_STORE and
    $FTI_ARTIFACTS: those are recorded in its fti.toml (without passwords) and every command
    uses them. Running it on a project changes nothing (options that contradict it are an
    error)."""
    home = path or ctx.obj.home

    def open_project(create: bool) -> Project:
        return connect(
            home,
            catalog_url=catalog_url,
            offline_root=offline_root,
            online_store=online_store,
            artifacts=artifacts,
            create=create,
        )

    try:
        try:
            with open_project(create=False) as opened:
                console.print(f"{opened.home} already holds an fti project", soft_wrap=True)
        except ProjectNotFound:
            with open_project(create=True) as opened:
                console.print(f"created an fti project at {opened.home}", soft_wrap=True)
    except FtiError as exc:
        raise fail(str(exc)) from exc
