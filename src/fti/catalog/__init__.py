"""The catalog of definitions and lineage (SQLite by default, PostgreSQL for teams)."""

from fti.catalog.catalog import Catalog, FeatureGroupRecord, StoredReport
from fti.catalog.deployments import DeploymentRecord
from fti.catalog.models import AliasMove, ModelVersionRecord
from fti.catalog.views import FeatureViewRecord, TrainingDatasetRecord

__all__ = [
    "AliasMove",
    "Catalog",
    "DeploymentRecord",
    "FeatureGroupRecord",
    "FeatureViewRecord",
    "ModelVersionRecord",
    "StoredReport",
    "TrainingDatasetRecord",
]
