"""``fti deployment``: list, show, start and stop deployments, and list the code they run.

``start`` and ``stop`` record whether ``fti serve`` serves a deployment
(:mod:`fti.serving.states`); running servers follow within about a second. ``start`` first
loads the deployment in this process as a server would (model, sha256-checked, feature view,
predictor), so one that cannot start is refused here. ``list --server URL`` adds what a
running server does with each deployment. ``code`` prints the sha256 of the catalog code a
deployment runs, for a server's allow-list (:mod:`fti.trust`).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fti.cli.common import console, fail, fmt, project, table
from fti.errors import FtiError
from fti.serving import contract

app = typer.Typer(help="Deployments: list, show, code, start, stop.", no_args_is_help=True)

PREDICT = "/v1/deployments/{name}/predict"
_NAME = Annotated[str, typer.Argument(help="Deployment name.")]


@app.command("list")
def list_deployments(
    ctx: typer.Context,
    server: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="A running fti serve (e.g. http://127.0.0.1:8000) to ask what it does with "
            "each deployment (a 'server' column).",
        ),
    ] = None,
) -> None:
    """List the latest version of every deployment: its model version and its recorded state
    (running or stopped: whether fti serve serves it)."""
    with project(ctx) as opened:
        deployments = opened.get_model_serving().get_deployments()
        served = _served(server) if server is not None else None
        extra = [] if served is None else ["server"]
        headers = ["name", "version", "model", "model version", "state", *extra]
        out = table(*headers, right=("version", "model version"))
        for d in deployments:
            model = d.model
            cells = [d.name, str(d.version), model.name if model else "-"]
            cells += [str(model.version) if model else "-", d.state]
            if served is not None:
                cells.append(_status(d.name, d.version, served))
            out.add_row(*cells)
        if not deployments:
            console.print("No deployments yet.")
            return
        console.print(out)
        if served is None:
            console.print(
                "state: recorded by fti deployment start | stop; --server URL adds what a "
                "running fti serve does"
            )


def _served(url: str) -> dict[str, dict[str, Any]]:
    from fti.serving.client import Client

    try:
        with Client(url, timeout=5.0) as remote:
            return {d["name"]: d for d in remote.deployments()}
    except FtiError as exc:
        raise fail(f"{url}: {exc}") from exc
    except Exception as exc:  # connection refused, not an fti server, ...
        raise fail(f"cannot ask {url} which deployments it serves: {exc}") from exc


def _status(name: str, version: int, served: dict[str, dict[str, Any]]) -> str:
    there = served.get(name)
    if there is None:
        return "not served"
    state = str(there.get("status", "unknown"))
    if there.get("version") != version:
        state += f" (version {there.get('version')})"
    return state


@app.command("show")
def show_deployment(
    ctx: typer.Context,
    name: _NAME,
    version: Annotated[
        int | None, typer.Option(metavar="N", help="Version (default: latest).")
    ] = None,
) -> None:
    """Show a deployment version: its request contract (serving keys, passed features,
    request parameters, output) and where fti serve answers it."""
    with project(ctx) as opened:
        d = opened.get_model_serving().get_deployment(name, version)
        model = d.model
        console.print(
            f"[bold]{d.name}[/bold] version {d.version} (schema version {d.schema_version}): "
            + (f"model {model.name} version {model.version}" if model else "feature vectors"),
            highlight=False,
        )
        schema = d.schema
        properties = schema["input"]["properties"]
        required = set(schema["input"]["required"])
        fields = table("field", "type", "role", "required", title="Request (one JSON object)")
        for field, prop in properties.items():
            fields.add_row(
                field,
                contract.kind(prop),
                prop.get("description", ""),
                "yes" if field in required else "no",
            )
        console.print(fields)
        answer = table("field", "type", "description", title="Answer")
        for field, prop in schema["output"]["properties"].items():
            answer.add_row(field, contract.kind(prop), prop.get("description", ""))
        console.print(answer)
        console.print(
            f"served by fti serve at POST {PREDICT.format(name=d.name)} (one instance, or "
            '{"instances": [...]}); the contract as JSON Schema: GET '
            f"/v1/deployments/{d.name}",
            markup=False,
            highlight=False,
        )
        fallback = d.fallback_model
        console.print(
            f"missing values: {d.missing}; fallback model: "
            f"{'-' if fallback is None else f'version {fallback.version}'}; "
            f"resources: {d.resources}; slo: {fmt(d.slo) or '-'}",
            markup=False,
            highlight=False,
        )


@app.command("code")
def code(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None, typer.Argument(help="Deployments (default: every one).")
    ] = None,
) -> None:
    """Print the sha256 of the code from the catalog that serving the latest version of each
    deployment runs (UDFs, custom predictor), one a line with what it is as a comment: the
    format of fti serve --trusted-code FILE, once the code is reviewed. Nothing is run."""
    from fti.serving import code

    with project(ctx) as opened:
        serving = opened.get_model_serving()
        chosen = [serving.get_deployment(n) for n in names] if names else serving.get_deployments()
        for d in chosen:
            for piece in code.needed(d):
                # plain output: a hash must not be wrapped or styled when redirected to a file
                typer.echo(f"{piece.sha256}  # {piece.kind} {piece.name} (deployment {d.name})")


@app.command("start")
def start_deployment(ctx: typer.Context, name: _NAME) -> None:
    """Serve deployment NAME: check that its latest version starts (loaded in this process as
    fti serve would: model checked by sha256, feature view, predictor), then record it as
    running. A running fti serve serves it within about a second, one started later too."""
    with project(ctx) as opened:
        d = opened.get_model_serving().set_state(name, "running")
        model = d.model
        loaded = f"model {model.name} version {model.version} loads" if model else "no model"
        console.print(
            f"{d.name} version {d.version} starts ({loaded}) and is recorded as running: a "
            "running fti serve serves it within about a second (after loading it, if it has "
            "not yet), and so does a server started later (fti serve --deployment "
            f"{d.name} serves only it)",
            markup=False,
            highlight=False,
        )


@app.command("stop")
def stop_deployment(ctx: typer.Context, name: _NAME) -> None:
    """Stop serving deployment NAME: record it as stopped. Within about a second a running
    fti serve answers its requests with 503 DeploymentStopped; a server started later does
    not load it."""
    with project(ctx) as opened:
        d = opened.get_model_serving().set_state(name, "stopped")
    console.print(
        f"{d.name} is recorded as stopped: within about a second a running fti serve answers "
        "its requests with 503 DeploymentStopped, and a server started later does not load "
        f"it; fti deployment start {d.name} serves it again",
        markup=False,
        highlight=False,
    )
