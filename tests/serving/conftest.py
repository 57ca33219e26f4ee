"""Serving fixtures: a trained model of the small fraud view, deployed."""

from __future__ import annotations

from typing import Any

import fti
from tests.registry.conftest import build_view


def deployed(
    project: fti.Project, missing: str = "error", **options: Any
) -> tuple[Any, Any, fti.Deployment]:
    """The view of :func:`build_view`, a logistic regression trained on it (model "fraud"
    v1) and a deployment of it with the missing-values policy ``missing`` and the other
    deploy ``options``."""
    from sklearn.linear_model import LogisticRegression

    fv = build_view(project.get_feature_store())
    x, y = fv.training_data()
    clf = LogisticRegression().fit(x, y["is_fraud"])
    model = project.get_model_registry().sklearn.create_model("fraud", feature_view=fv)
    model.save(clf)
    return fv, clf, model.deploy(missing=missing, **options)
