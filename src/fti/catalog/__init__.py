"""The catalog of definitions and lineage (SQLite by default, PostgreSQL for teams)."""

from fti.catalog.catalog import Catalog, FeatureGroupRecord, StoredReport
from fti.catalog.deployments import DEPLOYMENT_STATES, DeploymentRecord, DeploymentStateRecord
from fti.catalog.models import AliasMove, ModelVersionRecord
from fti.catalog.views import FeatureViewRecord, TrainingDatasetRecord

__all__ = [
    "DEPLOYMENT_STATES",
    "AliasMove",
    "Catalog",
    "DeploymentRecord",
    "DeploymentStateRecord",
    "FeatureGroupRecord",
    "FeatureViewRecord",
    "ModelVersionRecord",
    "StoredReport",
    "TrainingDatasetRecord",
]
