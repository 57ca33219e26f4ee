"""The model registry and deployments in Hopsworks' spelling, as tutorial notebooks write
them: what each does on fti, or why it is ignored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import fti
from tests.registry.conftest import build_view


class Doubler:
    def predict(self, x: list[list[float]]) -> list[float]:
        return [2 * row[0] for row in x]


def test_download_returns_the_directory_as_a_string(project: fti.Project, tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.json").write_text("{}")
    mr = project.get_model_registry()
    model = mr.python.create_model("m").save(tmp_path / "model")
    path = model.download()
    assert isinstance(path, str) and os.listdir(path) == ["weights.json"]
    chosen = model.download(local_path=str(tmp_path / "here"))
    assert chosen == str(tmp_path / "here") and os.listdir(chosen) == ["weights.json"]
    with pytest.raises(fti.FtiError, match="not both"):
        model.download(tmp_path / "a", local_path=str(tmp_path / "b"))


def test_deploy_takes_hopsworks_resources_and_says_what_they_map_to(
    project: fti.Project,
) -> None:
    fv = build_view(project.get_feature_store())
    fv.training_data()
    model = project.get_model_registry().python.create_model("m", feature_view=fv)
    model.save(Doubler())
    resources = {
        "num_instances": 2,
        "requests": {"cores": 1, "memory": 1024},
        "limits": {"cores": 2, "memory": 2048},
        "max_batch": 10,  # fti's own keys alongside
    }
    with pytest.warns(fti.IgnoredOptionWarning, match="every worker of `fti serve --workers N`"):
        deployment = model.deploy(resources=resources)
    assert deployment.resources["max_batch"] == 10
    assert "num_instances" not in deployment.resources
