"""``fti fv`` and ``fti td``: feature views and their training-dataset versions."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.syntax import Syntax

from fti.cli.common import console, fmt, project, statistics_table, table
from fti.featurestore import FeatureView

fv_app = typer.Typer(help="Feature views: list, show.", no_args_is_help=True)
td_app = typer.Typer(help="Training datasets: show.", no_args_is_help=True)


@fv_app.command("list")
def list_views(ctx: typer.Context) -> None:
    """List every feature view version with its labels and training datasets."""
    with project(ctx) as opened:
        views = opened.get_feature_store().get_feature_views()
        out = table("name", "version", "labels", "features", "training datasets", "description")
        for fv in views:
            out.add_row(
                fv.name,
                str(fv.version),
                ", ".join(fv.labels),
                str(len(fv.features)),
                ", ".join(str(td.version) for td in fv.get_training_datasets()),
                fv.description,
            )
        console.print(out if views else "No feature views yet.")


def _show_transformations(fv: FeatureView) -> None:
    out = table(
        "transformation",
        "kind",
        "input features",
        "fitted per training dataset",
        title="Transformations (model-dependent in the order they apply; on-demand at insert "
        "and at request time)",
    )
    for t in fv.transformation_functions:
        out.add_row(t.name, "model-dependent", ", ".join(t.inputs), "yes" if t.fitted else "no")
    for node in fv.query.nodes():
        for udf in node.group.transformation_functions:
            kind = f"on-demand ({node.group.name} v{node.group.version})"
            out.add_row(udf.name, kind, ", ".join(udf.inputs), "-")
    console.print(out if out.row_count else "Transformations: none")


@fv_app.command("show")
def show_view(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Feature view name.")],
    version: Annotated[
        int | None, typer.Option(metavar="N", help="Version (default: latest).")
    ] = None,
) -> None:
    """Show a feature view: its query (as SQL), features in order, transformations, training
    datasets."""
    with project(ctx) as opened:
        fv = opened.get_feature_store().get_feature_view(name, version)
        console.print(f"[bold]{fv.name}[/bold] version {fv.version}: {fv.description}")
        console.print(Syntax(fv.query.to_string(), "sql", word_wrap=True))
        kinds = {f"{n.group.name} v{n.group.version}": n.kind for n in fv.query.nodes()}
        console.print("joins: " + ", ".join(f"{g} ({k})" for g, k in kinds.items()))
        features = table("feature", "type", "from", "role", title="Features")
        for f in fv.features:
            features.add_row(f["name"], f["type"], f"{f['group']} v{f['group_version']}", f["role"])
        console.print(features)
        _show_transformations(fv)
        datasets = table(
            "version", "created", "window", "split", "commits", title="Training datasets"
        )
        for td in fv.get_training_datasets():
            spec = td.spec
            window = f"{spec['start_time'] or '-'} .. {spec['end_time'] or '-'}"
            datasets.add_row(
                str(td.version),
                fmt(td.created_at),
                window,
                spec["split"]["kind"],
                json.dumps(td.commits),
            )
        console.print(datasets)


@td_app.command("show")
def show_dataset(
    ctx: typer.Context,
    feature_view: Annotated[str, typer.Argument(help="Feature view name.")],
    version: Annotated[int, typer.Argument(help="Training dataset version.")],
    fv_version: Annotated[
        int | None, typer.Option(metavar="N", help="Feature view version (default: latest).")
    ] = None,
) -> None:
    """Show a training dataset: specification, pinned commits and statistics."""
    with project(ctx) as opened:
        fv = opened.get_feature_store().get_feature_view(feature_view, fv_version)
        td = fv.get_training_dataset(version)
        console.print(
            f"[bold]{fv.name} v{fv.version}[/bold] training dataset {td.version}: "
            f"{td.description}  (created {fmt(td.created_at)} by {td.created_by})"
        )
        console.print("specification: " + json.dumps(td.spec))
        console.print("commits read: " + json.dumps(td.commits))
        if td.location:
            console.print(f"files: {td.location} ({td.data_format})")
        stats = td.statistics
        if stats:
            title = f"Statistics of the train split ({stats['row_count']:,} rows)"
            console.print(statistics_table(title, stats))
