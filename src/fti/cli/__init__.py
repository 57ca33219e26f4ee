"""The ``fti`` command line: thin commands over the library, Rich output."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fti._version import __version__
from fti.cli import demo, deployment, fg, fv, init, model, serve
from fti.cli.common import State, console
from fti.cli.helptext import Group

app = typer.Typer(
    name="fti",
    help="fti: feature, training and inference pipelines with a feature store and registry.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    cls=Group,
)
app.add_typer(fg.app, name="fg")
app.add_typer(fv.fv_app, name="fv")
app.add_typer(fv.td_app, name="td")
app.add_typer(model.app, name="model")
app.add_typer(deployment.app, name="deployment")
app.command("init")(init.init)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)


def _print_version(value: bool) -> None:
    if value:
        console.print(f"fti {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            envvar="FTI_HOME",
            metavar="PATH",
            help="Project directory (default: ./fti_home; ./fti_demo for fti demo).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the fti version and exit.",
        ),
    ] = False,
) -> None:
    ctx.obj = State(home)


def main() -> None:
    app()
