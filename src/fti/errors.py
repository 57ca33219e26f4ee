"""The one exception tree of fti.

Every error the library raises on purpose derives from :class:`FtiError`, so callers (and later
the HTTP layer, which maps these classes to status codes) can catch them as a family.
"""

from __future__ import annotations


class FtiError(Exception):
    """Base class of every error fti raises on purpose."""


class ConfigurationError(FtiError):
    """The project configuration (home, URLs, backend names) is invalid."""


class MissingDependencyError(FtiError, ImportError):
    """An optional extra is needed for this feature; the message says which to install."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the '{package}' package: install it with pip install 'fti[{extra}]'"
        )


class NotFoundError(FtiError, LookupError):
    """A named object (feature group, version, commit, ...) does not exist."""


class ProjectNotFound(NotFoundError):
    """No fti project at the home (``fti.connect(home, create=False)``, read-only commands)."""


class FeatureGroupNotFound(NotFoundError):
    """No feature group with that name (and version)."""


class FeatureViewNotFound(NotFoundError):
    """No feature view with that name (and version)."""


class TrainingDatasetNotFound(NotFoundError):
    """No training dataset with that version for the feature view."""


class FeatureVectorNotFound(NotFoundError):
    """The online store has no row for a serving key (and the missing policy is ``error``)."""


class ModelNotFound(NotFoundError):
    """No model with that name, version or alias."""


class OnlineStoreUnavailable(FtiError):
    """The online store failed (down, timing out) and the missing-values policy is ``error``."""


class OnlineLookupTimeout(OnlineStoreUnavailable):
    """An online lookup did not answer within its timeout (a deployment's
    ``lookup_timeout_ms``); the serving path treats it as an unavailable store."""


class DeploymentNotFound(NotFoundError):
    """No deployment with that name (and version)."""


class DeploymentStopped(FtiError):
    """The deployment is recorded as stopped (``fti deployment stop``, ``ms.set_state``), or
    could not be started, so the server does not answer it."""


class ArtifactIntegrityError(FtiError):
    """A model artifact is missing, truncated or altered: its sha256 does not match the
    manifest recorded when the version was registered."""


class CommitNotFound(NotFoundError):
    """No commit of the offline table matches the requested version or time."""


class OfflineTableMissing(NotFoundError):
    """The catalog records commits of a feature group whose offline table is not there (a
    home copied or restored without its ``offline`` directory): missing, not empty."""


class BackendUnavailable(FtiError, ConnectionError):
    """A backend (the catalog database, the online store) could not be reached or failed;
    the message names the service, its address and what was and was not written."""


class OnlineStoreWarning(UserWarning):
    """The online store could not catch up with the offline table when a group was opened;
    offline reads are unaffected, online reads may be stale until it does."""


class IgnoredOptionWarning(UserWarning):
    """An option of Hopsworks' API that has no meaning in fti (a Kafka topic, Kubernetes
    resources, a storage format) was given and is ignored; the message says what each one
    would have done and what fti does instead."""


class CommitRecordsWarning(UserWarning):
    """The statistics and validation report of an offline commit a crashed writer did not
    record could not be recovered (the offline data itself is whole)."""


class InsertIncomplete(FtiError):
    """An insert's rows were committed offline (``commit_id``, whole and readable), but a
    later step of the insert failed; the message says which and how it is caught up."""

    def __init__(self, message: str, commit_id: int) -> None:
        super().__init__(message)
        self.commit_id = commit_id


class CommitNotRecorded(BackendUnavailable, InsertIncomplete):
    """An insert's offline commit was written but the catalog could not record it; its
    statistics and validation report are recovered by the group's next insert or open."""


class OnlineWriteFailed(BackendUnavailable, InsertIncomplete):
    """An insert's offline commit was written but the online store could not take its rows.

    ``commit_id`` is the offline commit that is complete; the online store catches up on the
    group's next insert or on ``fg.online_sync()``."""


class InferenceLogError(FtiError):
    """Inference-log rows were not committed: a flush or close timed out, or commits failed
    (the message says how many rows were spilled to local files, replayed once the log
    commits again, and how many were lost)."""


class AlreadyExistsError(FtiError):
    """An object with that name and version already exists."""


class ConcurrentModificationError(FtiError):
    """Another writer changed the definition since it was read; reload and retry."""


class SchemaError(FtiError, ValueError):
    """The data does not fit the feature group's schema, or a schema change is not allowed."""


class InvalidDataError(FtiError, ValueError):
    """The data itself is invalid: null keys, naive timestamps, duplicate rows, ..."""


class ValidationFailed(FtiError):
    """A strict expectation suite rejected an insert; nothing was written.

    ``report`` holds the full validation report (which expectations failed, on which rows).
    """

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report


class TransformationError(FtiError):
    """A transformation function failed or returned the wrong thing; names the function and
    the inputs it failed on."""
