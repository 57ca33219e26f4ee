"""A model registered from a directory is served from the flavor's one model file in it, or
refused when deployed; ``start()`` loads and checks the model before it serves."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import fti
from fti.serving.server import create_app
from tests.registry.conftest import build_view


def _trained(project: fti.Project) -> tuple[fti.FeatureView, Any]:
    from sklearn.linear_model import LogisticRegression

    fv = build_view(project.get_feature_store())
    x, y = fv.training_data()
    return fv, LogisticRegression().fit(x, y["is_fraud"])


def test_a_directory_with_one_joblib_file_is_served(project: fti.Project, tmp_path: Path) -> None:
    import joblib

    fv, clf = _trained(project)
    (tmp_path / "model").mkdir()
    joblib.dump(clf, tmp_path / "model" / "classifier.joblib")
    (tmp_path / "model" / "README.md").write_text("trained on the fraud view\n")
    mr = project.get_model_registry()
    mr.sklearn.create_model("fraud", feature_view=fv).save(tmp_path / "model").deploy()
    with TestClient(create_app(project)) as client:
        response = client.post("/v1/deployments/fraud/predict", json={"cc_num": 1, "amount": 3.0})
    assert response.status_code == 200, response.text
    fv.init_serving(1)
    vector = fv.get_feature_vector({"cc_num": 1}, {"amount": 3.0}, return_type="pandas")
    assert response.json()["prediction"] == bool(clf.predict(vector[fv.feature_names])[0])


@pytest.mark.parametrize(
    ("files", "found"),
    [
        (["a.joblib", "b.joblib"], "'a.joblib', 'b.joblib'"),
        (["weights.bin"], "'weights.bin'"),
    ],
)
def test_a_directory_without_exactly_one_model_file_is_refused_at_deploy(
    project: fti.Project, tmp_path: Path, files: list[str], found: str
) -> None:
    import joblib

    fv, clf = _trained(project)
    (tmp_path / "model").mkdir()
    for name in files:
        joblib.dump(clf, tmp_path / "model" / name)
    model = project.get_model_registry().sklearn.create_model("fraud", feature_view=fv)
    model.save(tmp_path / "model")
    with pytest.raises(fti.FtiError, match="saved from a directory") as refused:
        model.deploy()
    message = str(refused.value)
    assert found in message and "model.save(" in message and "predictor=" in message
    assert project.get_model_serving().get_deployments() == []


class ReadsTheDirectory:
    """A custom predictor given the model's directory (its files are its business)."""

    def __init__(self, context: Any) -> None:
        import joblib

        self.model = joblib.load(context.model / "b.joblib")

    def predict(self, inputs: Any) -> list[Any]:
        return [bool(p) for p in self.model.predict(inputs.frame())]


def test_a_custom_predictor_is_given_the_directory(project: fti.Project, tmp_path: Path) -> None:
    import joblib

    fv, clf = _trained(project)
    (tmp_path / "model").mkdir()
    for name in ("a.joblib", "b.joblib"):
        joblib.dump(clf, tmp_path / "model" / name)
    model = project.get_model_registry().sklearn.create_model("fraud", feature_view=fv)
    deployment = model.save(tmp_path / "model").deploy(predictor=ReadsTheDirectory).start()
    try:
        assert isinstance(deployment.predict({"cc_num": 1, "amount": 3.0})["prediction"], bool)
    finally:
        deployment.stop()


def test_start_refuses_a_model_without_predict(project: fti.Project, tmp_path: Path) -> None:
    fv, _ = _trained(project)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.pkl").write_bytes(pickle.dumps({"weights": [1.0]}))
    model = project.get_model_registry().python.create_model("fraud", feature_view=fv)
    deployment = model.save(tmp_path / "model").deploy()
    with pytest.raises(fti.FtiError, match="no predict method"):
        deployment.start()
    assert not deployment.running
    # a server reports it as failed (503 with the reason, not ready) instead of a 500 on
    # every request; it comes up for the deployments that can serve
    with TestClient(create_app(project)) as client:
        body = {"cc_num": 1, "amount": 1.0}
        answer = client.post(f"/v1/deployments/{deployment.name}/predict", json=body)
        assert answer.status_code == 503, answer.text
        assert "no predict method" in answer.json()["detail"]
        assert client.get(f"/v2/models/{deployment.name}/ready").json()["ready"] is False
