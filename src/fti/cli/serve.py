"""``fti serve``: the HTTP server of a project's deployments."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from fti.cli.common import console, errors
from fti.errors import FtiError


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            help="Worker processes; each new connection goes to the one with the fewest open "
            "connections. One per core is a good start."
        ),
    ] = 1,
    deployment: Annotated[
        list[str] | None, typer.Option(help="Serve only these deployments (repeatable).")
    ] = None,
    pin_cpus: Annotated[
        bool,
        typer.Option(
            help="With several workers, run worker i on the i-th CPU (Linux): steadier "
            "tail latency when workers fill the cores."
        ),
    ] = True,
) -> None:
    """Serve every deployment of the project over HTTP: /v1/deployments/NAME/predict, the
    KServe Open Inference Protocol v2 under /v2, Prometheus metrics at /metrics and the
    OpenAPI description at /docs."""
    from fti.serving.workers import serve as run

    home = ctx.obj.home or os.environ.get("FTI_HOME") or "fti_home"
    os.environ["FTI_HOME"] = str(home)  # the workers open the project from the environment
    if deployment:
        os.environ["FTI_SERVE_DEPLOYMENTS"] = ",".join(deployment)
    console.print(f"serving the deployments of {home} on http://{host}:{port} (docs at /docs)")
    try:
        run(host, port, workers, pin_cpus)
    except FtiError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
