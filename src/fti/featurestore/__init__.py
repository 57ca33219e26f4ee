"""The feature store: feature groups with an offline (Delta) and an online store."""

from fti.featurestore.feature_group import FeatureGroup, InsertResult
from fti.featurestore.feature_store import FeatureStore
from fti.featurestore.schema import Feature

__all__ = ["Feature", "FeatureGroup", "FeatureStore", "InsertResult"]
