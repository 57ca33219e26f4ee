"""``fti model``: list, show and alias registered model versions."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markdown import Markdown

from fti.cli.common import console, fmt, project, table

app = typer.Typer(help="Models in the registry: list, show, alias.", no_args_is_help=True)


@app.command("list")
def list_models(ctx: typer.Context) -> None:
    """List every model version with its flavor, metrics, aliases and training data."""
    with project(ctx) as opened:
        mr = opened.get_model_registry()
        models = mr.list_models()
        out = table("name", "version", "flavor", "metrics", "aliases", "trained on", "created")
        for m in models:
            lineage = m.lineage()
            fv, td = lineage["feature_view"], lineage["training_dataset"]
            trained = f"{fv['name']} v{fv['version']} / td {td['version']}" if fv and td else ""
            out.add_row(
                m.name,
                str(m.version),
                m.flavor,
                ", ".join(f"{k}={fmt(v)}" for k, v in sorted(m.metrics.items())),
                ", ".join(m.aliases),
                trained,
                fmt(m.created_at),
            )
        console.print(out if models else "No models yet.")


@app.command("show")
def show_model(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[
        int | None, typer.Option(metavar="N", help="Version (default: latest).")
    ] = None,
    alias: Annotated[
        str | None, typer.Option(metavar="ALIAS", help="An alias such as production.")
    ] = None,
) -> None:
    """Show a model version: metrics, aliases, lineage (feature view, feature groups and the
    commits read, training dataset, code, environment) and its model card."""
    with project(ctx) as opened:
        model = opened.get_model_registry().get_model(name, version=version, alias=alias)
        console.print(
            f"[bold]{model.name}[/bold] version {model.version} ({model.flavor}), created "
            f"{fmt(model.created_at)} by {model.created_by}; aliases: "
            f"{', '.join(model.aliases) or '-'}"
        )
        console.print("metrics: " + json.dumps(model.metrics))
        console.print("lineage: " + json.dumps(model.lineage(), indent=2, default=str))
        console.print(Markdown(model.card()))


@app.command("alias")
def set_alias(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="The version the alias should point at.")],
    alias: Annotated[str, typer.Argument(help="Alias, e.g. production or staging.")],
    approved_by: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Approver (required for aliases under approval)."),
    ] = None,
) -> None:
    """Move ALIAS of model NAME to VERSION (the move is recorded in the alias history)."""
    with project(ctx) as opened:
        mr = opened.get_model_registry()
        mr.set_alias(name, version, alias, approved_by=approved_by)
        moves = mr.alias_history(name, alias)
        console.print(
            f"{name}: {alias} -> version {version}"
            + (f" (was {moves[-1].from_version})" if moves[-1].from_version else "")
        )
