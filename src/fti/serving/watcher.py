"""A server's deployments follow their recorded states (:mod:`fti.serving.states`).

At start, a server loads the deployments recorded as running (every deployment has its routes
either way: they are built from the contract); one that cannot be loaded (a corrupt artifact)
is "failed", answers 503 with the reason and is not ready, while the others serve. Then a
thread reads the states every :data:`STATE_POLL_SECONDS`: a deployment that became stopped
answers 503 :class:`~fti.errors.DeploymentStopped` from the next request on; one that became
running is loaded if it never was, then answers; one that was deleted answers 404
:class:`~fti.errors.DeploymentNotFound` for good. The deployments and their versions are
those of the server's start: a deployment created later (under a deleted one's name too), or
a new version, needs a new server.

A stopped deployment stays loaded: resuming is then immediate, and unloading would race the
requests in flight on the event loop (``Deployment.stop()`` drops what ``predict`` reads). Its
memory is freed by a server started while it is stopped, which never loads it.

A running deployment whose last online lookup failed (a stalled or stopped store) is
"degraded": it still answers (its missing-values policy decides how) but is not ready, so a
load balancer sends its traffic elsewhere. Readiness follows what requests observe, with no
probing on the request path; while degraded, the thread tries one lookup per poll, since a
server that is not ready may get no request to learn the store is back from.

Requests read :attr:`StateWatcher.unavailable`, a dict that the thread replaces whole and never
changes in place: one lookup, no lock, no catalog read on the request path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from fti.errors import DeploymentNotFound, DeploymentStopped, FtiError
from fti.serving.states import RUNNING, STOPPED

if TYPE_CHECKING:
    from fti.catalog import DeploymentStateRecord
    from fti.serving.deployment import Deployment

log = logging.getLogger("fti.serving")

STATE_POLL_SECONDS = 1.0
# What a server does with a deployment (``status`` in /v1/deployments): "running" answers,
# "stopped" is recorded as stopped, "deleted" is no more, "failed" is recorded as running but
# could not be loaded, "starting" until the server has read the states, "degraded" answers
# but its last online lookup failed.
DELETED, FAILED, STARTING, DEGRADED = "deleted", "failed", "starting", "degraded"

Records = Mapping[str, "DeploymentStateRecord"]


def ready(status: Mapping[str, str]) -> bool:
    """Whether a server serves every deployment meant to run (stopped and deleted ones are
    not meant to), with working lookups."""
    return not any(s in (FAILED, STARTING, DEGRADED) for s in status.values())


class StateWatcher:
    """Which of a server's deployments answer, and why the others do not."""

    def __init__(
        self,
        deployments: Mapping[str, Deployment],
        read: Callable[[], Records],
        start: Callable[[Deployment], None],
    ) -> None:
        self._deployments = dict(deployments)
        self._read = read
        self._start = start
        # name -> the error it answers instead (absent: it answers); replaced whole, never
        # changed in place
        self.unavailable: Mapping[str, FtiError] = {
            n: DeploymentStopped(f"deployment {n!r} is starting") for n in self._deployments
        }
        self.status: Mapping[str, str] = dict.fromkeys(self._deployments, STARTING)
        # name -> why its lookups fail, for the degraded ones; replaced whole
        self.degraded: Mapping[str, str] = {}
        # name -> (when its running state was recorded, the error) of a load that failed:
        # tried again only when the state is recorded again
        self._failed: dict[str, tuple[object, str]] = {}
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self, poll_seconds: float = STATE_POLL_SECONDS) -> None:
        """Load what is recorded as running, then follow the states in a daemon thread. A
        load that fails (a corrupt artifact) marks that deployment failed, with the reason,
        while the others serve: the server comes up even when every one failed, answers 503
        and says it is not ready, so a load balancer sends it nothing, and it serves a
        deployment once it is started again (``fti deployment start NAME``) without a
        restart, where a server refusing to start would be restarted in a loop."""
        self.follow(self._read())
        stopped = [n for n, s in self.status.items() if s == STOPPED]
        if stopped:  # fti serve prints it once; this is for other hosts of the app
            log.info(
                "deployment(s) %s recorded as stopped: they answer 503 until started "
                "(fti deployment start NAME)",
                ", ".join(stopped),
            )
        self._thread = threading.Thread(
            target=self._watch, args=(poll_seconds,), name="fti-deployment-states", daemon=True
        )
        self._thread.start()

    def close(self, timeout: float = 60.0) -> None:
        """Stop following (waits for a load in progress, up to ``timeout`` seconds)."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def follow(self, records: Records) -> None:
        """Bring the deployments to ``records``: stop answering the stopped ones first, then
        load (if needed) and answer the running ones."""
        wanted = {
            name: DELETED
            if name not in records or self.status[name] == DELETED  # even if made again
            else records[name].state
            for name in self._deployments
        }
        for name, state in wanted.items():
            if state == STOPPED:
                why = f"deployment {name!r} is stopped; fti deployment start {name} serves it again"
                self._publish(name, STOPPED, DeploymentStopped(why))
            elif state == DELETED:
                why = f"deployment {name!r} was deleted after this server started"
                self._publish(name, DELETED, DeploymentNotFound(why))
        for name, state in wanted.items():
            if state != RUNNING or self._closing.is_set():
                continue
            deployment = self._deployments[name]
            if not deployment.running:
                self._load(deployment, records[name].updated_at)
            if deployment.running:
                self._publish_serving(deployment)
            else:
                why = f"deployment {name!r} could not start: {self._failed[name][1]}"
                self._publish(name, FAILED, DeploymentStopped(why))

    def _load(self, deployment: Deployment, recorded_at: object) -> None:
        name = deployment.name
        failed = self._failed.get(name)
        if failed is not None and failed[0] == recorded_at:
            return  # the same request to run it: it would fail the same way
        try:
            self._start(deployment)
        except Exception as exc:
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            # one line an operator reads at start; the traceback only when debugging
            log.warning(
                "deployment %s could not start: %s; it answers 503 and is not ready until "
                "started again (fti deployment start %s)",
                name,
                reason,
                name,
            )
            log.debug("deployment %s could not start", name, exc_info=exc)
            self._failed[name] = (recorded_at, reason)
            return
        self._failed.pop(name, None)

    def reason(self, name: str) -> str | None:
        """Why deployment ``name`` does not answer, or answers degraded (None: it serves)."""
        refused = self.unavailable.get(name)
        return str(refused) if refused is not None else self.degraded.get(name)

    def _publish_serving(self, deployment: Deployment) -> None:
        """Running or degraded, by what the last lookup of a running deployment observed."""
        name, failure = deployment.name, deployment.lookup_failure
        if failure != self.degraded.get(name):
            others = {n: r for n, r in self.degraded.items() if n != name}
            self.degraded = others if failure is None else {**others, name: failure}
        self._publish(name, RUNNING if failure is None else DEGRADED, None)

    def _check_lookups(self) -> None:
        for name, status in self.status.items():
            if status not in (RUNNING, DEGRADED):
                continue
            deployment = self._deployments[name]
            deployment.probe_lookup()  # a lookup only when the last failed, then bounded
            self._publish_serving(deployment)

    def _publish(self, name: str, status: str, error: FtiError | None) -> None:
        before = self.unavailable.get(name)
        if self.status[name] == status and repr(before) == repr(error):
            return
        unavailable = {n: e for n, e in self.unavailable.items() if n != name}
        if error is not None:
            unavailable[name] = error
        self.unavailable = unavailable
        self.status = {**self.status, name: status}
        log.info("deployment %s: %s", name, status)

    def _watch(self, poll_seconds: float) -> None:
        unreadable = False
        while not self._closing.wait(poll_seconds):
            try:
                self._check_lookups()  # also while the catalog is down
            except Exception:  # a bug: keep the thread
                log.exception("checking the deployments' lookups failed")
            try:
                records = self._read()
            except Exception as exc:  # the catalog is down: keep serving as recorded last
                if not unreadable:
                    log.warning("cannot read the deployments' states (%s); unchanged", exc)
                unreadable = True
                continue
            unreadable = False
            try:
                self.follow(records)
            except Exception:  # a bug: keep the thread, the next read may go through
                log.exception("following the deployments' states failed")
