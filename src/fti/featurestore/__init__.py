"""The feature store: feature groups with an offline (Delta) and an online store."""

from fti.featurestore.feature_group import FeatureGroup, InsertResult
from fti.featurestore.feature_store import FeatureStore
from fti.featurestore.feature_view import FeatureView
from fti.featurestore.filters import FeatureRef, Filter
from fti.featurestore.query import Query
from fti.types import Feature

__all__ = [
    "Feature",
    "FeatureGroup",
    "FeatureRef",
    "FeatureStore",
    "FeatureView",
    "Filter",
    "InsertResult",
    "Query",
]
