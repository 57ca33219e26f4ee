"""A model consumes the features it was trained on: a subset of the view's, named by its
input example or its model schema (fti's form or Hopsworks'), fed to it by name and in its
order by a deployment, whatever else the view's vectors hold."""

from __future__ import annotations

from typing import Any

import pytest

import fti
from tests.registry.conftest import build_view


def _hopsworks_schema(inputs: list[str]) -> dict[str, Any]:
    """What ``ModelSchema(input_schema=Schema(X), output_schema=Schema(y)).to_dict()`` gives."""
    return {
        "input_schema": {"columnar_schema": [{"name": n, "type": "float64"} for n in inputs]},
        "output_schema": {"columnar_schema": [{"name": "is_fraud", "type": "bool"}]},
    }


class _HopsworksModelSchema:
    def __init__(self, inputs: list[str]) -> None:
        self._inputs = inputs

    def to_dict(self) -> dict[str, Any]:
        return _hopsworks_schema(self._inputs)


@pytest.mark.parametrize(
    "declared",
    ["input_example", "fti_schema", "hopsworks_dict", "hopsworks_object"],
)
def test_a_model_of_some_features_in_its_own_order_is_fed_exactly_those(
    project: fti.Project, declared: str
) -> None:
    from sklearn.linear_model import LogisticRegression

    fv = build_view(project.get_feature_store())
    x, y = fv.training_data()
    columns = ["spend", "amount"]  # a subset of the vectors' columns, in another order
    clf = LogisticRegression().fit(x[columns], y["is_fraud"])
    options: dict[str, Any] = {
        "input_example": {"input_example": x[columns].head(2)},
        "fti_schema": {"model_schema": {"inputs": [{"name": c} for c in columns]}},
        "hopsworks_dict": {"model_schema": _hopsworks_schema(columns)},
        "hopsworks_object": {"model_schema": _HopsworksModelSchema(columns)},
    }[declared]
    model = project.get_model_registry().sklearn.create_model("fraud", feature_view=fv, **options)
    assert [c["name"] for c in model.model_schema["inputs"]] == columns
    model.save(clf)
    deployment = model.deploy().start()
    try:
        answers = deployment.predict(
            instances=[{"cc_num": c, "amount": float(a)} for c, a in ((1, 3.0), (4, 12.0))]
        )
    finally:
        deployment.stop()
    fv.init_serving(1)
    vectors = fv.get_feature_vectors(
        [{"cc_num": 1}, {"cc_num": 4}], [{"amount": 3.0}, {"amount": 12.0}], return_type="pandas"
    )
    assert list(vectors.columns) == ["tx_id", "cc_num", "event_ts", "amount", "spend"]
    assert answers["predictions"] == clf.predict(vectors[columns]).tolist()


def test_a_model_without_a_declared_schema_reads_the_transformed_features(
    project: fti.Project,
) -> None:
    from sklearn.linear_model import LogisticRegression

    fv = build_view(project.get_feature_store())
    x, y = fv.training_data()
    assert list(x.columns) == fv.feature_names == ["amount", "spend"]
    model = project.get_model_registry().sklearn.create_model("fraud", feature_view=fv)
    assert [c["name"] for c in model.model_schema["inputs"]] == ["amount", "spend"]
    clf = LogisticRegression().fit(x, y["is_fraud"])
    deployment = model.save(clf).deploy().start()
    try:
        answer = deployment.predict({"cc_num": 2, "amount": 5.0})
    finally:
        deployment.stop()
    fv.init_serving(1)
    vector = fv.get_feature_vector({"cc_num": 2}, {"amount": 5.0}, return_type="pandas")
    assert answer["prediction"] == clf.predict(vector[fv.feature_names])[0]


def test_a_schema_naming_what_the_vectors_lack_is_refused_and_writes_nothing(
    project: fti.Project,
) -> None:
    fv = build_view(project.get_feature_store())
    x, _ = fv.training_data()
    mr = project.get_model_registry()
    for options, message in [
        ({"model_schema": {"inputs": [{"name": "spend"}, {"name": "nope"}]}}, r"\['nope'\]"),
        ({"model_schema": _hopsworks_schema(["is_fraud"])}, r"unknown: \['is_fraud'\]"),
        ({"model_schema": {"inputs": [{"name": "spend"}, {"name": "spend"}]}}, "distinct"),
        ({"model_schema": {"inputs": [{"type": "double"}]}}, "need a name"),
        ({"model_schema": {"input_schema": {"tensor_schema": {}}}}, "tensor model_schema"),
        ({"model_schema": ["spend"]}, "must be a dict"),
        ({"input_example": x.assign(extra=1.0)}, r"unknown: \['extra'\]"),
        (
            {"model_schema": _hopsworks_schema(["spend"]), "input_example": x[["amount"]]},
            r"columns \['amount'\] are not the model schema's inputs \['spend'\]",
        ),
    ]:
        with pytest.raises(fti.SchemaError, match=message):
            mr.sklearn.create_model("fraud", feature_view=fv, **options)
    with pytest.raises(fti.ModelNotFound):
        mr.get_models("fraud")
    # the keys a vector holds may be inputs: a model trained with primary_key=True
    model = mr.python.create_model(
        "keyed", feature_view=fv, input_example=x.assign(cc_num=1)[["cc_num", "amount"]]
    )
    assert [c["name"] for c in model.model_schema["inputs"]] == ["cc_num", "amount"]
