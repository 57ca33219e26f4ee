"""Projects: where a project's state lives and how to open it.

A project's backends are recorded in ``fti.toml`` in its home when it is created with other
than the defaults, and every process opening it uses them (:mod:`fti.config`):

.. code-block:: toml

    # fti_home/fti.toml: a team project on shared backends
    [catalog]
    url = "postgresql://fti@db.internal/fti"
    [offline]
    root = "s3://ml-data/fti"
    [online]
    store = "redis://cache.internal:6379/0"
"""

from __future__ import annotations

import getpass
import os
import socket
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from fti import config
from fti._version import __version__
from fti.errors import ConfigurationError, ProjectNotFound
from fti.featurestore import FeatureStore
from fti.featurestore.storage import open_storage
from fti.settings import Settings

if TYPE_CHECKING:
    from fti.registry import ModelRegistry
    from fti.serving import ModelServing
    from fti.trust import TrustedCode

DEFAULT_HOME = "fti_home"


def _client() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()} fti {__version__}"


class Project:
    """One fti project: a catalog, an offline store, an online store and its home directory."""

    def __init__(
        self,
        home: Path,
        catalog_url: str,
        offline_root: str,
        online_store: str,
        artifacts: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.home = home
        self.settings = settings or Settings()
        self.catalog_url = catalog_url
        self.offline_root = offline_root
        self.online_store = online_store
        self.artifacts = artifacts or str(home / "models")
        self._client = _client()
        self._registry: ModelRegistry | None = None
        self._serving: ModelServing | None = None
        self._storage = open_storage(
            self.location, self._client, serving=self.get_model_serving, settings=self.settings
        )
        self._catalog = self._storage.catalog
        self._online = self._storage.online
        self._feature_store = FeatureStore(self._storage)

    @property
    def location(self) -> config.ProjectLocation:
        """What another process needs to open this project (a log writer, a worker)."""
        return config.ProjectLocation(
            self.home, self.catalog_url, self.offline_root, self.online_store
        )

    @property
    def trusted_code(self) -> TrustedCode | None:
        """The allow-list of a server (:mod:`fti.trust`): the only code from the catalog this
        project's processes compile; None (the default) compiles what the catalog holds."""
        return self._storage.trusted_code

    @trusted_code.setter
    def trusted_code(self, trusted: TrustedCode | None) -> None:
        self._storage.trusted_code = trusted

    def get_feature_store(self) -> FeatureStore:
        return self._feature_store

    def get_model_serving(self) -> ModelServing:
        """Deployments of this project's models and feature views."""
        from fti.serving import ModelServing

        if self._serving is None:
            self._serving = ModelServing(
                self._catalog,
                self._feature_store,
                self.get_model_registry,
                self._client,
                self.location,
                self.settings,
            )
        return self._serving

    def get_model_registry(self) -> ModelRegistry:
        """Models of this project; artifacts in ``<home>/models`` unless the project records
        ``[registry] artifacts = "s3://bucket/prefix"`` in ``fti.toml``;
        ``require_approval = ["production"]`` makes moving those aliases need an approver."""
        if self._registry is None:
            from fti.registry import ModelRegistry, open_artifact_store
            from fti.registry.context import RegistryContext

            section = config.read(self.home).get("registry", {})
            context = RegistryContext(
                self._catalog,
                open_artifact_store(self.artifacts),
                self._client,
                self._feature_store,
                self.get_model_serving,
            )
            self._registry = ModelRegistry(context, section.get("require_approval", []))
        return self._registry

    def close(self) -> None:
        self._storage.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project(home={str(self.home)!r}, catalog={self._catalog.dialect})"


# What fti writes at the top of a home: any one of them makes the directory a project. The
# catalog file marks an embedded project; fti.toml one whose catalog is elsewhere (PostgreSQL),
# and the stores, artifacts and locks a home whose backends came from arguments or the
# environment.
PROJECT_FILES = (
    "catalog.sqlite",
    "fti.toml",
    "offline",
    "online.lmdb",
    "online.sqlite",
    "models",
    "locks",
)


def _check_home(path: Path, create: bool) -> None:
    """Refuse to open what is not a project: without ``create``, anything that is not one;
    with it, a directory already holding other files (a typo'd or wrong path would otherwise
    become a project among someone's files)."""
    if path.exists() and not path.is_dir():
        raise ConfigurationError(f"project home {path} exists and is not a directory")
    entries = sorted(path.iterdir()) if path.exists() else []
    if any(e.name in PROJECT_FILES for e in entries):
        return
    held = ", ".join(e.name + ("/" if e.is_dir() else "") for e in entries[:8])
    if len(entries) > 8:
        held += f" and {len(entries) - 8} more"
    if entries:
        raise (ConfigurationError if create else ProjectNotFound)(
            f"no fti project at {path}: it holds {held} but no catalog.sqlite or fti.toml"
            + ("; refusing to create a project among these files" if create else "")
        )
    if not create:
        raise ProjectNotFound(
            f"no fti project at {path}; create one with `fti init {path}` or fti.connect()"
        )


def connect(
    home: str | os.PathLike[str] | None = None,
    *,
    catalog_url: str | None = None,
    offline_root: str | None = None,
    online_store: str | None = None,
    artifacts: str | None = None,
    create: bool = True,
    settings: Settings | None = None,
) -> Project:
    """Open the project in ``home`` (default ``$FTI_HOME`` or ``./fti_home``), creating it
    where there is none (a new or empty directory) unless ``create`` is False, which raises
    :class:`~fti.errors.ProjectNotFound` instead. A directory holding other files is never
    made a project (:class:`~fti.errors.ConfigurationError` names what it holds).

    ``catalog_url`` is ``sqlite:///...`` (default: a file in the home) or ``postgresql://...``;
    ``offline_root`` a path or URI for the Delta tables (default: ``<home>/offline``);
    ``online_store`` is ``"lmdb"`` (default), ``"sqlite"`` or a ``redis://`` URL;
    ``artifacts`` a directory or ``s3://`` URI for model files (default: ``<home>/models``).
    Each may also come from ``FTI_CATALOG_URL``, ``FTI_OFFLINE_ROOT``, ``FTI_ONLINE_STORE`` and
    ``FTI_ARTIFACTS``. A new project records those other than the defaults in its
    ``fti.toml`` (without passwords); an existing project uses what it records, and a setting
    given otherwise raises :class:`~fti.errors.ConfigurationError` (:mod:`fti.config`).
    ``settings``: the project's tunables (:class:`fti.Settings`; measured defaults).
    """
    path = Path(home if home is not None else os.environ.get("FTI_HOME", DEFAULT_HOME))
    path = path.expanduser().resolve()
    _check_home(path, create)
    creating = not path.exists() or not any(e.name in PROJECT_FILES for e in path.iterdir())
    given = {
        "catalog_url": catalog_url,
        "offline_root": offline_root,
        "online_store": online_store,
        "artifacts": artifacts,
    }
    backends = config.resolve(path, given, creating)  # before anything is written
    made = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    try:
        project = Project(
            home=path,
            catalog_url=backends.catalog_url,
            offline_root=backends.offline_root,
            online_store=backends.online_store,
            artifacts=backends.artifacts,
            settings=settings,
        )
    except Exception:
        if made and not any(path.iterdir()):
            path.rmdir()  # a backend that failed leaves no empty home behind
        raise
    if creating and backends.to_record:
        try:
            config.record(path, backends.to_record)
        except FileExistsError:
            # another process created the project meanwhile: its record must agree with ours
            try:
                config.resolve(path, given, creating=False)
            except Exception:
                project.close()
                raise
    return project
