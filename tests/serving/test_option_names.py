"""One vocabulary for what answers when something is missing or fails: ``missing`` is the
missing-values policy everywhere (``deploy(missing=...)``, ``Deployment.missing``,
``fv.init_serving(missing=...)``), a *fallback* is only ever a model version
(``fallback_model_version=``, ``Deployment.fallback_model``). The old spellings still work,
each with a :class:`DeprecationWarning` pointing at the caller's line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import fti
from fti.cli import app
from tests.serving.conftest import deployed


def _second_version(project: fti.Project, clf: Any) -> fti.Model:
    """Version 2 of "fraud": the same view and features as version 1, a fallback for it."""
    fv = project.get_model_registry().get_model("fraud", version=1).get_feature_view(init=False)
    model = project.get_model_registry().sklearn.create_model(
        "fraud", feature_view=fv, training_dataset_version=1
    )
    return model.save(clf)


def _options(d: fti.Deployment) -> tuple[str, float | None, int | None]:
    fallback = d.fallback_model
    return d.missing, d.lookup_timeout_ms, None if fallback is None else fallback.version


def _deprecated(call: Callable[[], Any]) -> Any:
    """``call()``, which must warn once that ``fallback`` is an old name, from this file."""
    with pytest.warns(DeprecationWarning, match=r"fallback.* is deprecated.*missing") as caught:
        out = call()
    assert len(caught) == 1 and Path(caught[0].filename) == Path(__file__)
    return out


def test_the_new_names_deploy_without_a_warning(project: fti.Project) -> None:
    fv, clf, first = deployed(project)
    assert _options(first) == ("error", None, None)
    second = _second_version(project, clf)
    d = second.deploy(missing="impute", lookup_timeout_ms=20, fallback_model_version=1)
    assert _options(d) == ("impute", 20.0, 1)
    positional = second.deploy("positional", None, None, "null")  # where fallback stood
    assert _options(positional) == ("null", None, None)
    features = fv.deploy("features", missing="last_known", lookup_timeout_ms=5)
    assert _options(features) == ("last_known", 5.0, None)
    fv.init_serving(1, missing="impute")  # the feature view's own word for it


def test_the_old_spelling_still_deploys_with_a_warning(project: fti.Project) -> None:
    fv, clf, _ = deployed(project)
    second = _second_version(project, clf)
    options = {"missing": "impute", "lookup_timeout_ms": 20, "model_version": 1}
    d = _deprecated(lambda: second.deploy("old", fallback=options))
    assert _options(d) == ("impute", 20.0, 1)
    d = _deprecated(lambda: second.deploy("old_policy", fallback="null"))
    assert _options(d) == ("null", None, None)
    d = _deprecated(lambda: fv.deploy("old_features", fallback={"missing": "impute"}))
    assert _options(d) == ("impute", None, None)
    assert _deprecated(lambda: d.fallback) == "impute"  # Deployment.fallback: now .missing
    with pytest.raises(fti.FtiError, match="needs a model: a feature-view"):
        _deprecated(lambda: fv.deploy("nothing", fallback={"model_version": 1}))


def test_an_old_name_beside_a_new_one_is_refused_before_anything_is_recorded(
    project: fti.Project,
) -> None:
    fv, _, first = deployed(project)
    model = first.model
    assert model is not None
    with pytest.raises(fti.FtiError, match=r"missing=.* or their deprecated form fallback="):
        model.deploy("both", missing="impute", fallback="null")
    with pytest.raises(fti.FtiError, match="lookup_timeout_ms=, or their deprecated form"):
        fv.deploy("both", lookup_timeout_ms=5, fallback="null")
    assert [d.name for d in project.get_model_serving().get_deployments()] == ["fraud"]


def test_errors_and_the_cli_speak_the_new_names(project: fti.Project, tmp_path: Path) -> None:
    _, clf, first = deployed(project)
    model = first.model
    assert model is not None
    refused: list[tuple[dict[str, Any], str]] = [
        ({"missing": "retry"}, r"missing must be one of \['error', 'impute'"),
        ({"lookup_timeout_ms": 0}, "lookup_timeout_ms must be > 0"),
        ({"fallback_model_version": 1}, "fallback_model_version: 1 is the deployed version"),
    ]
    for options, message in refused:
        with pytest.raises(fti.FtiError, match=message):
            model.deploy(**options)
    _second_version(project, clf).deploy("guarded", missing="impute", fallback_model_version=1)
    result = CliRunner().invoke(
        app, ["--home", str(project.home), "deployment", "show", "guarded"], color=False
    )
    assert result.exit_code == 0, result.output
    assert "missing values: impute; fallback model: version 1" in result.output
