"""The model registry: versions coupled to feature views, training data and code."""

from fti.registry.artifacts import ArtifactStore, LocalArtifactStore, open_artifact_store
from fti.registry.model import Model
from fti.registry.registry import FlavorApi, ModelRegistry

__all__ = [
    "ArtifactStore",
    "FlavorApi",
    "LocalArtifactStore",
    "Model",
    "ModelRegistry",
    "open_artifact_store",
]
