"""Deployment names follow one rule (they become URL paths, metric labels and log values):
letters, digits, '_' and '-', starting with a letter or '_', at most 128 characters. A bad
name is refused before anything is recorded."""

from __future__ import annotations

import pytest

import fti
from tests.serving.conftest import deployed

BAD = ["../../x", "a/b", "fraud?x=1", "x" * 300, "-fraud", "fraud v2", "fraud.v2", "é", 7]


def test_a_bad_deployment_name_is_refused_and_nothing_is_recorded(project: fti.Project) -> None:
    fv, _, _ = deployed(project)
    model = project.get_model_registry().get_model("fraud", 1)
    ms = project.get_model_serving()
    before = project._catalog.list_deployments()
    for name in BAD:
        with pytest.raises(fti.SchemaError, match="invalid deployment name"):
            model.deploy(name=name)  # type: ignore[arg-type]
        with pytest.raises(fti.SchemaError, match="invalid deployment name"):
            fv.deploy(name=name)
        with pytest.raises(fti.SchemaError, match="invalid deployment name"):
            ms.create_deployment(fv, model, name, None, None, "error")  # type: ignore[arg-type]
    assert project._catalog.list_deployments() == before


def test_names_that_models_and_views_may_have_are_deployment_names(
    project: fti.Project,
) -> None:
    fv, _, _ = deployed(project)
    model = project.get_model_registry().get_model("fraud", 1)
    for name in ("fraud-v2", "_shadow", "x" * 128):
        assert model.deploy(name=name).name == name
    assert fv.deploy().name == fv.name
