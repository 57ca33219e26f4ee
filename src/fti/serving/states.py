"""Whether ``fti serve`` serves a deployment: its recorded (desired) state.

fti records one state per deployment name, for every version (a new version of a stopped
deployment is stopped too): ``"running"`` or ``"stopped"``. A name without a record is
running, so a new deployment is served by the next ``fti serve``.
Every ``fti serve`` worker reads the states once a second
(:data:`fti.serving.watcher.STATE_POLL_SECONDS`): a stopped deployment answers 503
:class:`~fti.errors.DeploymentStopped` until it is running again.

``ms.set_state(name, state)`` records a state (``fti deployment start | stop``) and
``deployment.state`` reads it. ``Deployment.start()`` and ``stop()`` are another matter: they
load and unload a deployment in the calling process, for in-process ``predict``, and record
nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fti.catalog import DEPLOYMENT_STATES
from fti.errors import DeploymentNotFound

if TYPE_CHECKING:
    from fti.catalog import Catalog
    from fti.serving.deployment import Deployment

RUNNING, STOPPED = DEPLOYMENT_STATES


def recorded(catalog: Catalog, name: str) -> str:
    """The state of deployment ``name``: recorded, or running when none is."""
    record = catalog.deployment_states().get(name)
    if record is None:
        raise DeploymentNotFound(f"deployment {name!r} does not exist")
    return record.state


class RecordedState:
    """Mixed into :class:`fti.serving.Deployment`."""

    if TYPE_CHECKING:
        _serving: ServingStates
        name: str

    @property
    def state(self) -> str:
        """Whether ``fti serve`` serves this deployment, as recorded now: "running" or
        "stopped" (see :meth:`ServingStates.set_state`)."""
        return recorded(self._serving.catalog, self.name)


class ServingStates:
    """Mixed into :class:`fti.serving.ModelServing`."""

    if TYPE_CHECKING:
        catalog: Catalog
        client: str

        def get_deployment(self, name: str, version: int | None = None) -> Deployment: ...

    def set_state(self, name: str, state: str) -> Deployment:
        """Record whether ``fti serve`` serves deployment ``name`` (all its versions):
        ``"running"`` or ``"stopped"``. Servers follow within about a second; one started
        later reads it at start. Returns the latest version.

        Before recording ``"running"``, the latest version is started in this process (model
        loaded and sha256-checked, feature view, predictor) and stopped again: a deployment
        that cannot start raises here instead of failing in every server. An unknown name or
        another state raises and records nothing."""
        deployment = self.get_deployment(name)  # DeploymentNotFound
        # the catalog refuses another state (before writing anything)
        if state == RUNNING:
            try:
                deployment.start()
            finally:
                deployment.stop()
        self.catalog.set_deployment_state(name, state, self.client)
        return deployment
