"""``fti fg``: list, inspect and read feature groups."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from fti.cli.common import console, fail, fmt, project, statistics_table, table
from fti.featurestore import FeatureGroup
from fti.offline import CommitInfo

app = typer.Typer(help="Feature groups: list, show, read, sync.", no_args_is_help=True)


@app.command("list")
def list_groups(ctx: typer.Context) -> None:
    """List every feature group version with its keys and number of commits."""
    with project(ctx) as opened:
        groups = opened.get_feature_store().get_feature_groups()
        out = table(
            "name", "version", "primary key", "event time", "online", "commits", "description"
        )
        for fg in groups:
            out.add_row(
                fg.name,
                str(fg.version),
                ", ".join(fg.primary_key),
                fg.event_time or "",
                "yes" if fg.online_enabled else "no",
                str(len(fg.commit_details())),
                fg.description,
            )
        console.print(out if groups else "No feature groups yet.")


def _show_schema(fg: FeatureGroup) -> None:
    out = table("feature", "type", "role", "description", title="Schema")
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
        out.add_row(feature.name, str(feature.type), role, feature.description)
    console.print(out if fg.features else "Schema: defined by the first insert (none yet)")


def _show_commits(commits: list[CommitInfo]) -> None:
    out = table(
        "commit",
        "committed at",
        "operation",
        "inserted",
        "updated",
        "client",
        title="Commits",
        right=("commit", "inserted", "updated"),
    )
    for c in commits:
        out.add_row(
            str(c.commit_id),
            fmt(c.committed_at),
            c.operation,
            f"{c.rows_inserted:,}",
            f"{c.rows_updated:,}",
            c.client or "",
        )
    console.print(out)


def _show_statistics(fg: FeatureGroup, commits: list[CommitInfo], whole_table: bool) -> None:
    if whole_table:
        if commits:
            table_stats = fg.compute_statistics()
            title = f"Statistics of the whole table as of commit {table_stats['commit_id']}"
            console.print(statistics_table(title, table_stats))
        return
    # Statistics are computed per commit, over the rows that commit wrote: say so, since
    # they do not describe the table as a whole.
    stats = fg.statistics()
    if stats is None:
        return
    commit, rows = stats["commit_id"], stats["row_count"]
    last = commits[-1].commit_id if commits else None
    which = "the last commit" if commit == last else f"the last commit is {last}"
    console.print(statistics_table(f"Statistics of commit {commit} ({which})", stats))
    console.print(
        f"They describe the {rows:,} row{'s' if rows != 1 else ''} commit {commit} wrote, "
        "not the whole table (--whole-table computes those).",
        soft_wrap=True,
    )


def _show_validation(fg: FeatureGroup) -> None:
    suite = fg.expectation_suite
    if suite is None:
        return
    console.print(
        f"[bold]Expectation suite[/bold] {suite.name} (policy {suite.policy}): "
        + "; ".join(e.describe() for e in suite.expectations)
    )
    out = table("report", "commit", "created at", "result", "ingestion", title="Validation reports")
    for r in fg.validation_reports():
        out.add_row(
            str(r.id),
            "" if r.commit_id is None else str(r.commit_id),
            fmt(r.created_at),
            "passed" if r.success else "failed",
            r.ingestion,
        )
    console.print(out)


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Feature group name.")],
    version: Annotated[
        int | None, typer.Option(metavar="N", help="Version (default: latest).")
    ] = None,
    whole_table: Annotated[
        bool,
        typer.Option(
            "--whole-table",
            help="Statistics of every row the table holds now, computed on the spot, instead "
            "of those stored for the rows the last commit wrote.",
        ),
    ] = False,
) -> None:
    """Show a feature group: schema, commits, statistics (of the last commit's rows, or of
    the whole table), validation."""
    with project(ctx) as opened:
        fg = opened.get_feature_store().get_feature_group(name, version)
        console.print(f"[bold]{fg.name}[/bold] version {fg.version}: {fg.description}")
        console.print(
            f"location {fg.location}; online {'enabled' if fg.online_enabled else 'off'};"
            f" created {fmt(fg.created_at)} by {fg.created_by}"
        )
        commits = fg.commit_details()
        _show_schema(fg)
        _show_commits(commits)
        _show_statistics(fg, commits, whole_table)
        _show_validation(fg)


def _parse_as_of(value: str | None) -> int | dt.datetime | None:
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--as-of {value!r} is neither a commit id nor an ISO time", 2) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@app.command("read")
def read(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Feature group name.")],
    version: Annotated[
        int | None, typer.Option(metavar="N", help="Version (default: latest).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            metavar="COMMIT|TIME",
            help="A commit id, or an ISO time (UTC when no offset is given).",
        ),
    ] = None,
    online: Annotated[
        bool, typer.Option("--online", help="Read the online store instead.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="Rows to print.")] = 20,
) -> None:
    """Print rows of a feature group, optionally as of a commit or time."""
    when = _parse_as_of(as_of)
    with project(ctx) as opened:
        fg = opened.get_feature_store().get_feature_group(name, version)
        data = fg.read(as_of=when, online=online, dataframe_type="arrow")
        out = table(
            *data.column_names,
            title=f"{fg.name} v{fg.version}: {min(limit, data.num_rows)} of {data.num_rows:,} rows",
        )
        for row in data.slice(0, limit).to_pylist():
            out.add_row(*(fmt(v) for v in row.values()))
        console.print(out)


@app.command("sync")
def sync(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Feature group name.")],
    version: Annotated[
        int | None, typer.Option(metavar="N", help="Version (default: latest).")
    ] = None,
    full: Annotated[
        bool,
        typer.Option("--full", help="Drop the online rows and rebuild them all."),
    ] = False,
) -> None:
    """Bring a feature group's online rows up to its offline table (after an online write
    failed, or an online store that lost its data); --full rebuilds them whatever the online
    store records."""
    with project(ctx) as opened:
        fg = opened.get_feature_store().get_feature_group(name, version)
        written = fg.online_sync(full=full)
        if written is None:
            console.print(f"{fg.name} v{fg.version}: the online store is up to date.")
        else:
            console.print(f"{fg.name} v{fg.version}: wrote {written:,} keys to the online store.")
