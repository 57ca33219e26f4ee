"""Tree models compiled to ONNX Runtime: the same answers as the framework, or not used."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost

import fti
from fti.serving import runtime
from fti.serving.runtime import compile_model
from tests.registry.conftest import build_view
from tests.serving.test_deployment import vector


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, 5)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan  # missing values take the trees' default branch
    y = (np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 1]) ** 2 > 1).astype(int)
    return x, y


def test_a_compiled_classifier_answers_like_xgboost() -> None:
    x, y = _data()
    model = xgboost.XGBClassifier(n_estimators=30, max_depth=4).fit(x, y)
    predict = compile_model(model)
    assert predict is not None
    fresh = _data(seed=1)[0]  # rows the probes never saw
    assert np.array_equal(predict(fresh), model.predict(fresh))
    assert predict(fresh[:1]).tolist() == model.predict(fresh[:1]).tolist()


def test_compiled_multiclass_labels_and_regression() -> None:
    x, y = _data()
    classes = y + (np.nan_to_num(x[:, 2]) > 0.5)  # 0, 1 or 2
    classifier = xgboost.XGBClassifier(n_estimators=10, max_depth=3).fit(x, classes)
    predict = compile_model(classifier)
    assert predict is not None
    assert np.array_equal(predict(x), classifier.predict(x))
    regressor = xgboost.XGBRegressor(n_estimators=20, max_depth=3).fit(
        x, np.nan_to_num(x[:, 3]) * 2
    )
    predict = compile_model(regressor)
    assert predict is not None
    assert np.allclose(predict(x), regressor.predict(x), atol=1e-5)


def test_scikit_learn_models_compile_and_still_refuse_missing_values() -> None:
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _data()
    x = np.nan_to_num(x)
    fresh = np.nan_to_num(_data(seed=1)[0])
    frame = pd.DataFrame(x, columns=[f"c{i}" for i in range(5)])  # fitted with feature names
    for model in (
        LogisticRegression().fit(frame, y == 1),  # bool classes
        make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
        RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(x, y),
    ):
        predict = compile_model(model)
        assert predict is not None, model
        named = hasattr(model, "feature_names_in_")
        expected = model.predict(pd.DataFrame(fresh, columns=frame.columns) if named else fresh)
        assert predict(fresh).tolist() == expected.tolist()
    ridge = Ridge().fit(x, x[:, 0] * 3)
    predict = compile_model(ridge)
    assert predict is not None
    assert np.allclose(predict(fresh), ridge.predict(fresh), atol=1e-4)
    missing = fresh[:1].copy()
    missing[0, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):  # as scikit-learn itself answers
        predict(missing)


def test_native_runtime_and_models_it_cannot_compile() -> None:
    class Rule:
        def predict(self, x: np.ndarray) -> np.ndarray:
            return x[:, 0] > 0

    x, y = _data()
    model = xgboost.XGBClassifier(n_estimators=5).fit(x, y)
    assert compile_model(model, "native") is None
    assert compile_model(Rule()) is None  # auto: served by the object itself
    with pytest.raises(fti.FtiError, match="supports XGBoost and scikit-learn models"):
        compile_model(Rule(), "onnx")
    with pytest.raises(fti.FtiError, match="runtime must be one of"):
        compile_model(model, "fast")


def test_the_check_refuses_a_compiled_model_that_disagrees(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x, y = _data()
    model = xgboost.XGBClassifier(n_estimators=10, max_depth=3).fit(x, y)
    other = xgboost.XGBClassifier(n_estimators=10, max_depth=3).fit(x, 1 - y)
    compiled = compile_model(other)  # what a wrong conversion of ``model`` would give
    assert compiled is not None
    probes = runtime._probes(model.get_booster().copy(), 5)
    with pytest.raises(fti.FtiError, match="differ from the native model"):
        runtime._check_classifier(
            model, lambda v: v, compiled, lambda v: np.asarray(other.predict_proba(v)), probes
        )

    def broken(m: object, threads: int) -> None:
        raise RuntimeError("unsupported objective")

    monkeypatch.setattr(runtime, "_xgboost_onnx", broken)
    with pytest.raises(fti.FtiError, match="cannot compile XGBClassifier to ONNX"):
        compile_model(model, "onnx")
    assert compile_model(model, "auto") is None  # the framework serves it


def test_a_deployed_xgboost_model_answers_in_the_label_type(project: fti.Project) -> None:
    import pandas as pd

    fv = build_view(project.get_feature_store())
    x, y = fv.training_data()
    clf = xgboost.XGBClassifier(n_estimators=10, max_depth=3).fit(x, y["is_fraud"])
    model = project.get_model_registry().xgboost.create_model("fraud", feature_view=fv)
    model.save(clf)
    deployment = model.deploy().start()
    try:
        assert deployment._predictor._compiled is not None  # served through ONNX Runtime
        result = deployment.predict({"cc_num": 1, "amount": 12.0})
        served = pd.DataFrame([vector(1, 12.0)], columns=["amount", "spend"])
        assert result["prediction"] is bool(clf.predict(served)[0])  # a bool, as the label
        batch = deployment.predict(instances=[{"cc_num": c, "amount": 12.0} for c in range(6)])
        served = pd.DataFrame([vector(c, 12.0) for c in range(6)], columns=["amount", "spend"])
        assert batch["predictions"] == [bool(p) for p in clf.predict(served)]
        assert all(isinstance(p, bool) for p in batch["predictions"])
    finally:
        deployment.stop()
    native = model.deploy(name="fraud_native", resources={"runtime": "native"}).start()
    try:
        assert native._predictor._compiled is None
        assert native.predict({"cc_num": 1, "amount": 12.0})["prediction"] is result["prediction"]
    finally:
        native.stop()
