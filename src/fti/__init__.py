"""fti: feature, training and inference pipelines on one embedded-first platform.

>>> import fti
>>> project = fti.connect()            # ./fti_home, or $FTI_HOME
>>> fs = project.get_feature_store()
"""

from fti import builtins
from fti._version import __version__
from fti.errors import (
    AlreadyExistsError,
    ArtifactIntegrityError,
    BackendUnavailable,
    CommitNotFound,
    CommitNotRecorded,
    CommitRecordsWarning,
    ConcurrentModificationError,
    ConfigurationError,
    DeploymentNotFound,
    DeploymentStopped,
    FeatureGroupNotFound,
    FeatureVectorNotFound,
    FeatureViewNotFound,
    FtiError,
    IgnoredOptionWarning,
    InferenceLogError,
    InsertIncomplete,
    InvalidDataError,
    MissingDependencyError,
    ModelNotFound,
    NotFoundError,
    OfflineTableMissing,
    OnlineLookupTimeout,
    OnlineStoreUnavailable,
    OnlineStoreWarning,
    OnlineWriteFailed,
    ProjectNotFound,
    SchemaError,
    TrainingDatasetNotFound,
    TransformationError,
    ValidationFailed,
)
from fti.featurestore import (
    Feature,
    FeatureGroup,
    FeatureStore,
    FeatureView,
    Filter,
    InsertResult,
    Query,
)
from fti.featurestore.serving import FeatureVector
from fti.offline import CommitInfo
from fti.project import Project, connect
from fti.registry import Model, ModelRegistry
from fti.serving import Client, Deployment, ModelServing
from fti.settings import Settings
from fti.statistics import StatisticsConfig
from fti.transform import UDF, udf
from fti.validation import (
    Expectation,
    ExpectationSuite,
    ValidationReport,
    expect,
)

__all__ = [
    "UDF",
    "AlreadyExistsError",
    "ArtifactIntegrityError",
    "BackendUnavailable",
    "Client",
    "CommitInfo",
    "CommitNotFound",
    "CommitNotRecorded",
    "CommitRecordsWarning",
    "ConcurrentModificationError",
    "ConfigurationError",
    "Deployment",
    "DeploymentNotFound",
    "DeploymentStopped",
    "Expectation",
    "ExpectationSuite",
    "Feature",
    "FeatureGroup",
    "FeatureGroupNotFound",
    "FeatureStore",
    "FeatureVector",
    "FeatureVectorNotFound",
    "FeatureView",
    "FeatureViewNotFound",
    "Filter",
    "FtiError",
    "IgnoredOptionWarning",
    "InferenceLogError",
    "InsertIncomplete",
    "InsertResult",
    "InvalidDataError",
    "MissingDependencyError",
    "Model",
    "ModelNotFound",
    "ModelRegistry",
    "ModelServing",
    "NotFoundError",
    "OfflineTableMissing",
    "OnlineLookupTimeout",
    "OnlineStoreUnavailable",
    "OnlineStoreWarning",
    "OnlineWriteFailed",
    "Project",
    "ProjectNotFound",
    "Query",
    "SchemaError",
    "Settings",
    "StatisticsConfig",
    "TrainingDatasetNotFound",
    "TransformationError",
    "ValidationFailed",
    "ValidationReport",
    "__version__",
    "builtins",
    "connect",
    "expect",
    "udf",
]
