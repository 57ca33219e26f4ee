"""The catalog of definitions and lineage (SQLite by default, PostgreSQL for teams)."""

from fti.catalog.catalog import Catalog, FeatureGroupRecord, StoredReport
from fti.catalog.views import FeatureViewRecord, TrainingDatasetRecord

__all__ = [
    "Catalog",
    "FeatureGroupRecord",
    "FeatureViewRecord",
    "StoredReport",
    "TrainingDatasetRecord",
]
