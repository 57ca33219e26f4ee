"""The ``fti`` command line: thin commands over the library, Rich output."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fti.cli import demo, fg, fv, model, serve
from fti.cli.common import State

app = typer.Typer(
    name="fti",
    help="fti: feature, training and inference pipelines with a feature store and registry.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.add_typer(fg.app, name="fg")
app.add_typer(fv.fv_app, name="fv")
app.add_typer(fv.td_app, name="td")
app.add_typer(model.app, name="model")
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)


@app.callback()
def _main(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            envvar="FTI_HOME",
            help="Project directory (default: ./fti_home).",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = State(home)


def main() -> None:
    app()
