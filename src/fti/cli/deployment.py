"""``fti deployment``: list, show, start and stop deployments.

fti records no running state for a deployment: a deployment version serves while an ``fti
serve`` process hosts it (and ``deployment.start()`` in a Python process). So ``start`` does
in this process what a server does when it starts — load the model (sha256-checked), the
feature view's serving state and the predictor — and reports whether the deployment is ready
to serve; ``stop`` explains what stops one; ``list --server URL`` asks a running server which
deployments it serves.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fti.cli.common import console, fail, fmt, project, table
from fti.errors import FtiError
from fti.serving import contract

app = typer.Typer(help="Deployments: list, show, start, stop.", no_args_is_help=True)

PREDICT = "/v1/deployments/{name}/predict"
_NAME = Annotated[str, typer.Argument(help="Deployment name.")]


@app.command("list")
def list_deployments(
    ctx: typer.Context,
    server: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="A running fti serve (e.g. http://127.0.0.1:8000) to ask which deployments "
            "it serves; without it the state is unknown.",
        ),
    ] = None,
) -> None:
    """List the latest version of every deployment: its model version and state."""
    with project(ctx) as opened:
        deployments = opened.get_model_serving().get_deployments()
        served = _served(server) if server is not None else None
        out = table(
            "name", "version", "model", "model version", "state", right=("version", "model version")
        )
        for d in deployments:
            model = d.model
            out.add_row(
                d.name,
                str(d.version),
                model.name if model else "-",
                str(model.version) if model else "-",
                _state(d.name, d.version, served),
            )
        if not deployments:
            console.print("No deployments yet.")
            return
        console.print(out)
        if served is None:
            console.print("state: fti records none; --server URL asks a running fti serve")


def _served(url: str) -> dict[str, dict[str, Any]]:
    from fti.serving.client import Client

    try:
        with Client(url, timeout=5.0) as remote:
            return {d["name"]: d for d in remote.deployments()}
    except FtiError as exc:
        raise fail(f"{url}: {exc}") from exc
    except Exception as exc:  # connection refused, not an fti server, ...
        raise fail(f"cannot ask {url} which deployments it serves: {exc}") from exc


def _state(name: str, version: int, served: dict[str, dict[str, Any]] | None) -> str:
    if served is None:
        return "unknown"
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
        console.print(
            f"fallback: {d.fallback}; resources: {d.resources}; slo: {fmt(d.slo) or '-'}",
            markup=False,
            highlight=False,
        )


@app.command("start")
def start_deployment(ctx: typer.Context, name: _NAME) -> None:
    """Start the latest version of deployment NAME in this process as fti serve would (load
    its model, checked by sha256, its feature view and its predictor), report whether it is
    ready, and stop it: it serves while fti serve hosts it."""
    with project(ctx) as opened:
        d = opened.get_model_serving().get_deployment(name)
        try:
            d.start()
        finally:
            d.stop()
        model = d.model
        loaded = f"model {model.name} version {model.version} loaded" if model else "no model"
        console.print(
            f"{d.name} version {d.version} is ready: {loaded}, feature view serving state "
            f"loaded. Serve it with: fti serve --deployment {d.name}",
            markup=False,
            highlight=False,
        )


@app.command("stop")
def stop_deployment(ctx: typer.Context, name: _NAME) -> None:
    """Say what stops deployment NAME: the fti serve process that hosts it (fti records no
    running state that a command could change)."""
    with project(ctx) as opened:
        d = opened.get_model_serving().get_deployment(name)  # DeploymentNotFound
    raise fail(
        f"{d.name} runs only while an fti serve process hosts it and fti records no running "
        "state to change: stop that process (Ctrl-C or SIGTERM; it drains the inference "
        "log first), and serve the others with fti serve --deployment NAME (repeatable)"
    )
