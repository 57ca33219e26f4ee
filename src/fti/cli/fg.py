"""``fti fg``: list, inspect and read feature groups."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from fti.cli.common import console, errors, fmt, project, statistics_table
from fti.featurestore import FeatureGroup

app = typer.Typer(help="Feature groups: list, show, read.", no_args_is_help=True)


@app.command("list")
def list_groups(ctx: typer.Context) -> None:
    """List every feature group version with its keys and number of commits."""
    with project(ctx) as opened:
        groups = opened.get_feature_store().get_feature_groups()
        table = Table(
            "name", "version", "primary key", "event time", "online", "commits", "description"
        )
        for fg in groups:
            table.add_row(
                fg.name,
                str(fg.version),
                ", ".join(fg.primary_key),
                fg.event_time or "",
                "yes" if fg.online_enabled else "no",
                str(len(fg.commit_details())),
                fg.description,
            )
        console.print(table if groups else "No feature groups yet. Try: fti demo")


def _show_schema(fg: FeatureGroup) -> None:
    table = Table("feature", "type", "role", "description", title="Schema", title_justify="left")
    for feature in fg.features:
        role = (
            "primary key"
            if feature.name in fg.primary_key
            else "event time"
            if feature.name == fg.event_time
            else "partition"
            if feature.name in fg.partition_key
            else ""
        )
        table.add_row(feature.name, str(feature.type), role, feature.description)
    console.print(table if fg.features else "Schema: defined by the first insert (none yet)")


def _show_commits(fg: FeatureGroup) -> None:
    table = Table(
        "commit",
        "committed at",
        "operation",
        "inserted",
        "updated",
        "client",
        title="Commits",
        title_justify="left",
    )
    for c in fg.commit_details():
        table.add_row(
            str(c.commit_id),
            fmt(c.committed_at),
            c.operation,
            f"{c.rows_inserted:,}",
            f"{c.rows_updated:,}",
            c.client or "",
        )
    console.print(table)


def _show_statistics(fg: FeatureGroup) -> None:
    stats = fg.statistics()
    if stats is None:
        return
    console.print(statistics_table(f"Statistics of commit {stats['commit_id']}", stats))


def _show_validation(fg: FeatureGroup) -> None:
    suite = fg.expectation_suite
    if suite is None:
        return
    console.print(
        f"[bold]Expectation suite[/bold] {suite.name} (policy {suite.policy}): "
        + "; ".join(e.describe() for e in suite.expectations)
    )
    table = Table(
        "report",
        "commit",
        "created at",
        "result",
        "ingestion",
        title="Validation reports",
        title_justify="left",
    )
    for r in fg.validation_reports():
        table.add_row(
            str(r.id),
            "" if r.commit_id is None else str(r.commit_id),
            fmt(r.created_at),
            "passed" if r.success else "failed",
            r.ingestion,
        )
    console.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Feature group name.")],
    version: Annotated[int | None, typer.Option(help="Version (default: latest).")] = None,
) -> None:
    """Show a feature group: schema, commits, latest statistics, validation."""
    with project(ctx) as opened:
        fg = opened.get_feature_store().get_feature_group(name, version)
        console.print(f"[bold]{fg.name}[/bold] version {fg.version}: {fg.description}")
        console.print(
            f"location {fg.location}; online {'enabled' if fg.online_enabled else 'off'};"
            f" created {fmt(fg.created_at)} by {fg.created_by}"
        )
        _show_schema(fg)
        _show_commits(fg)
        _show_statistics(fg)
        _show_validation(fg)


def _parse_as_of(value: str | None) -> int | dt.datetime | None:
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        errors.print(f"[red]error:[/red] --as-of {value!r} is neither a commit id nor an ISO time")
        raise typer.Exit(2) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@app.command("read")
def read(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Feature group name.")],
    version: Annotated[int | None, typer.Option(help="Version (default: latest).")] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Commit id, or an ISO time (UTC when no offset is given)."),
    ] = None,
    online: Annotated[bool, typer.Option(help="Read the online store instead.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="Rows to print.")] = 20,
) -> None:
    """Print rows of a feature group, optionally as of a commit or time."""
    when = _parse_as_of(as_of)
    with project(ctx) as opened:
        fg = opened.get_feature_store().get_feature_group(name, version)
        data = fg.read(as_of=when, online=online, dataframe_type="arrow")
        table = Table(
            *data.column_names,
            title=f"{fg.name} v{fg.version}: {min(limit, data.num_rows)} of {data.num_rows:,} rows",
            title_justify="left",
        )
        for row in data.slice(0, limit).to_pylist():
            table.add_row(*(fmt(v) for v in row.values()))
        console.print(table)
