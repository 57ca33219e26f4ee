"""``fti serve``: an ASGI app (FastAPI) hosting every deployment of a project.

:func:`create_app` assembles the app from one router per protocol: the v1 REST API
(:mod:`fti.serving.routes_v1`), the KServe Open Inference Protocol v2
(:mod:`fti.serving.routes_v2`), and the routes about the server itself
(:mod:`fti.serving.routes_admin`: ``/metrics``; :mod:`fti.serving.docs_ui`: ``/docs``). They
share one :class:`fti.serving.served.Served`, whose ``run`` calls ``Deployment.predict`` (the
same code path as in-process). fti's exceptions map to status codes in one module,
:mod:`fti.serving.http_errors`. Unknown request fields are rejected (422), not ignored; a
malformed request gets the errors of the form it meant (:mod:`fti.serving.request_models`).
A deployment recorded as stopped answers 503, a deleted one 404 (:mod:`fti.serving.watcher`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol

from fastapi import FastAPI

from fti._version import __version__
from fti.errors import DeploymentNotFound, FtiError
from fti.serving import docs_ui, http_errors, routes_admin, routes_v1, routes_v2
from fti.serving.deployment import Deployment, ModelServing
from fti.serving.fast import FastPredict
from fti.serving.metrics import ServingMetrics
from fti.serving.served import Served
from fti.serving.watcher import STATE_POLL_SECONDS, StateWatcher
from fti.trust import TrustedCode


class Project(Protocol):
    """What a server needs of the project it serves: a :class:`fti.Project` (named by this
    protocol, not imported: the project is the layer above serving)."""

    home: Path
    trusted_code: TrustedCode | None

    def get_model_serving(self) -> ModelServing: ...


MAX_BODY_BYTES = 1 << 20
MAX_BATCH = 1_000


def create_app(
    project: Project,
    names: list[str] | None = None,
    *,
    max_batch: int = MAX_BATCH,
    freeze_gc: bool = False,
    log_process: bool = False,
    allow_empty: bool = False,
    state_poll_seconds: float = STATE_POLL_SECONDS,
    trusted_code: TrustedCode | None = None,
) -> FastAPI:
    """An app serving the latest version of every deployment (or of ``names``).

    An unknown name raises :class:`DeploymentNotFound` and a project without deployments an
    :class:`FtiError` (a server that would serve nothing and still say it is ready), unless
    ``allow_empty``. Deployments recorded as stopped get their routes but are not loaded;
    every ``state_poll_seconds`` the server follows the recorded states (see
    :mod:`fti.serving.watcher`).
    ``freeze_gc`` (for a server process, not a test): once a deployment is loaded, move
    everything alive into the garbage collector's permanent generation; full collections
    then no longer walk the models and feature views, which otherwise stalls a request for
    ~100 ms now and then. ``log_process``: each deployment commits its inference log from a
    separate lower-priority process (see :mod:`fti.serving.log_process`). ``trusted_code``:
    the sha256 of the only code from the catalog this project's deployments may run (see
    :mod:`fti.trust`); None runs whatever the catalog holds."""
    project.trusted_code = trusted_code
    deployments = select(project, names, allow_empty)
    metrics = ServingMetrics()
    watcher = StateWatcher(
        deployments,
        project.get_model_serving().catalog.deployment_states,
        _starter(metrics, log_process=log_process, freeze_gc=freeze_gc),
    )
    served = Served(deployments, watcher, metrics, max_batch)
    app = ServingApp(
        title="fti serving",
        version=__version__,
        lifespan=_lifespan(served, state_poll_seconds),
        docs_url=None,  # served from the package's files by add_docs
        redoc_url=None,
    )
    docs_ui.add_docs(app)
    v1 = routes_v1.router(served)
    app.include_router(v1.router)
    app.include_router(routes_v2.router(served))
    app.include_router(routes_admin.router(metrics))
    http_errors.add_handlers(app, v1.forms)
    app.fast_path = FastPredict(
        functools.partial(FastAPI.__call__, app), v1.fast, MAX_BODY_BYTES, max_batch
    )
    return app


def _starter(
    metrics: ServingMetrics, *, log_process: bool, freeze_gc: bool
) -> Callable[[Deployment], None]:
    """How the watcher starts a deployment (see :func:`create_app` for the options)."""

    def start(d: Deployment) -> None:
        d.start(log_process=log_process, log_observer=functools.partial(metrics.log_state, d.name))
        if d.slo:
            metrics.add_slo(d.name, d.slo)
        if freeze_gc:  # loaded by the watcher, this stalls requests once instead of now and then
            gc.collect()
            gc.freeze()

    return start


def _lifespan(
    served: Served, state_poll_seconds: float
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The app's start (the watcher loads the deployments, the metrics tick) and its end
    (both stop, every deployment's inference log drains)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        served.watcher.begin(state_poll_seconds)
        ticker = routes_admin.Ticker(served.metrics)
        ticker.start()
        try:
            yield
        finally:
            served.watcher.close()
            ticker.stop()
            for d in served.deployments.values():
                d.stop()  # drains the inference log

    return lifespan


def select(
    project: Project, names: list[str] | None = None, allow_empty: bool = False
) -> dict[str, Deployment]:
    """The latest version of the deployments ``names`` (default: all), checked as
    :func:`create_app` describes."""
    every = {d.name: d for d in project.get_model_serving().get_deployments()}
    existing = ", ".join(repr(n) for n in every) or "none"
    if names is not None:
        unknown = [n for n in dict.fromkeys(names) if n not in every]
        if unknown:
            raise DeploymentNotFound(
                f"no deployment {', '.join(repr(n) for n in unknown)}; the deployments of "
                f"the project are: {existing}"
            )
        every = {n: every[n] for n in dict.fromkeys(names)}
    if not every and not allow_empty:
        raise FtiError(
            f"the project in {project.home} has no deployments: nothing to serve (deploy a "
            "model first, or allow an empty server)"
        )
    return every


class ServingApp(FastAPI):
    """FastAPI behind :class:`FastPredict`: the body limit for every request, and well-formed
    predictions answered before Starlette's middleware stack and routing (half the CPU of a
    request otherwise)."""

    fast_path: FastPredict | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.fast_path is None:
            await super().__call__(scope, receive, send)
        else:
            await self.fast_path(scope, receive, send)
