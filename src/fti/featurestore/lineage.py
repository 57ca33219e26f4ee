"""Lineage from the data's side: which feature views, training datasets and model versions
use a feature group (or one of its features)."""

from __future__ import annotations

from typing import Any

from fti.catalog import Catalog, FeatureGroupRecord


def usage(catalog: Catalog, group: FeatureGroupRecord, feature: str | None) -> list[dict[str, Any]]:
    """One entry per feature view reading ``group`` (selecting ``feature``, when given): the
    view, the group's columns it outputs, its training datasets, the models trained on it and
    the deployments serving them."""
    out = []
    for view in catalog.feature_views_of_group(group.id):
        columns = [
            f
            for f in view.features
            if f["group"] == group.name and f["group_version"] == group.version
        ]
        if feature is not None:
            columns = [f for f in columns if f["column"] == feature]
            if not columns:
                continue
        out.append(
            {
                "feature_view": {"name": view.name, "version": view.version},
                "features": [f["name"] for f in columns],
                "training_datasets": [td.version for td in catalog.list_training_datasets(view.id)],
                "models": [
                    {
                        "name": m.name,
                        "version": m.version,
                        "training_dataset_version": m.training_dataset_version,
                        "deployments": sorted(
                            {d.name for d in catalog.deployments_of_model_version(m.id)}
                        ),
                    }
                    for m in catalog.model_versions_of_feature_view(view.id)
                ],
            }
        )
    return out
