"""``fti serve``: the HTTP server of a project's deployments."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

import fti
from fti import trust
from fti.cli.common import console, fail
from fti.errors import FtiError
from fti.serving.limits import Limits


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
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help="Start even when there is no deployment to serve (otherwise an error).",
        ),
    ] = False,
    pin_cpus: Annotated[
        bool,
        typer.Option(
            help="With several workers, run worker i on the i-th CPU (Linux): steadier "
            "tail latency when workers fill the cores."
        ),
    ] = True,
    timeout_keep_alive: Annotated[
        float,
        typer.Option(help="Seconds a connection may sit idle (also before its first request)."),
    ] = Limits.keep_alive,
    timeout_headers: Annotated[
        float,
        typer.Option(
            help="Seconds for a request's line and headers from its first byte; then 408."
        ),
    ] = Limits.header_timeout,
    timeout_body: Annotated[
        float, typer.Option(help="Seconds for a request's body once its headers are in; then 408.")
    ] = Limits.body_timeout,
    max_header_bytes: Annotated[
        int, typer.Option(help="Bytes of request line and headers; more is answered 431.")
    ] = Limits.max_header_bytes,
    max_headers: Annotated[
        int, typer.Option(help="Headers per request; more are answered 431.")
    ] = Limits.max_headers,
    max_connections: Annotated[
        int,
        typer.Option(help="Open connections per worker; a connection beyond is answered 503."),
    ] = Limits.max_connections,
    trusted_code: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="Run only the code from the catalog (UDFs, custom predictors) whose sha256 is "
            "in FILE (one a line, # comments; default: $FTI_TRUSTED_CODE), together with "
            "[serve] trusted_code in fti.toml; a deployment needing other code fails to start. "
            "fti deployment code lists the hashes.",
        ),
    ] = None,
) -> None:
    """Serve every deployment of the project over HTTP: /v1/deployments/NAME/predict, the
    KServe Open Inference Protocol v2 under /v2, Prometheus metrics at /metrics and the
    OpenAPI description at /docs. A deployment recorded as stopped (fti deployment stop)
    answers 503 until it is started again; the server follows within about a second.
    Connections are limited (the --timeout-* and --max-* options): a request that does not
    arrive in time is answered 408, headers too large or too many 431."""
    from fti.cli.worker import APP
    from fti.serving import workers as serving_workers
    from fti.serving.server import select

    home = Path(ctx.obj.home or os.environ.get("FTI_HOME") or "fti_home")
    try:
        limits = Limits(
            keep_alive=timeout_keep_alive,
            header_timeout=timeout_headers,
            body_timeout=timeout_body,
            max_header_bytes=max_header_bytes,
            max_headers=max_headers,
            max_connections=max_connections,
        )
    except ValueError as exc:
        raise fail(str(exc)) from exc
    try:
        # here, once, rather than in every worker: a worker that cannot start is restarted
        with fti.connect(home, create=False) as project:
            chosen = select(project, deployment or None, allow_empty=True)
            stopped = [name for name, d in chosen.items() if d.state == "stopped"]
        if not chosen and not allow_empty:
            raise FtiError(
                f"the project in {home} has no deployments: nothing to serve (deploy a model "
                "first, or pass --allow-empty)"
            )
        # read here too, so that a bad list stops the server instead of every worker
        trusted = trust.configured(home, trusted_code)
        os.environ["FTI_HOME"] = str(home)  # the workers open the project from the environment
        if trusted_code:
            os.environ[trust.ENV] = str(Path(trusted_code).resolve())
        if deployment:
            os.environ["FTI_SERVE_DEPLOYMENTS"] = ",".join(deployment)
        if allow_empty:
            os.environ["FTI_SERVE_ALLOW_EMPTY"] = "1"
        console.print(
            f"serving {', '.join(chosen) or 'no deployments'} of {home} on "
            f"http://{host}:{port} (docs at /docs)"
        )
        if trusted is not None:
            console.print(
                f"running only code from the catalog with one of {len(trusted.hashes)} trusted "
                f"sha256 ({trusted.origin})",
                markup=False,
                highlight=False,
            )
        if stopped:
            every = " (all of them)" if len(stopped) == len(chosen) else ""
            console.print(
                f"stopped{every}: {', '.join(stopped)}; they answer 503 until started "
                "(fti deployment start NAME), and are then loaded and served",
                markup=False,
                highlight=False,
            )
        serving_workers.serve(APP, host, port, workers, pin_cpus, limits)
    except FtiError as exc:
        raise fail(str(exc)) from exc
