"""The catalog of definitions and lineage (SQLite by default, PostgreSQL for teams)."""

from fti.catalog.catalog import Catalog, FeatureGroupRecord, StoredReport

__all__ = ["Catalog", "FeatureGroupRecord", "StoredReport"]
