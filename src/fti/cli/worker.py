"""The app each worker of ``fti serve`` runs (:data:`APP`, which uvicorn imports in the
worker): the project in ``FTI_HOME``, opened where the worker runs. It lives above the
serving layer because it opens a project."""

from __future__ import annotations

import os

from fastapi import FastAPI

from fti import trust
from fti.project import connect
from fti.serving.server import create_app

APP = "fti.cli.worker:app_from_environment"


def app_from_environment() -> FastAPI:
    """The app of one worker: the deployments ``FTI_SERVE_DEPLOYMENTS`` names (default: all)
    of the project in ``FTI_HOME``, with the code allow-list the project configures."""
    names = os.environ.get("FTI_SERVE_DEPLOYMENTS")
    project = connect(os.environ.get("FTI_HOME"), create=False)
    return create_app(
        project,
        names.split(",") if names else None,
        freeze_gc=True,
        log_process=True,
        allow_empty=os.environ.get("FTI_SERVE_ALLOW_EMPTY") == "1",
        trusted_code=trust.configured(project.home),
    )
