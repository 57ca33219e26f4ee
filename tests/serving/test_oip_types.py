"""The Open Inference Protocol's model metadata and its ``infer`` answers state the same
output datatype, for every type a deployment's output can have."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

import fti
from fti.registry.model_schema import model_schema_of
from fti.serving.server import create_app
from tests.registry.conftest import build_view


class Constant:
    """A model answering the same value for every row."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def predict(self, rows: Any) -> list[Any]:
        return [self.value] * len(rows)


# (arrow type of the model's output, what the model answers, the OIP datatype)
CASES = [
    ("bool", True, "BOOL"),
    ("int64", 3, "INT64"),
    ("double", 0.5, "FP64"),
    ("string", "yes", "BYTES"),
    (None, 7, "BYTES"),  # a model schema without outputs: nothing says what it answers
]


def test_metadata_and_infer_agree_on_the_output_datatype(project: fti.Project) -> None:
    fv = build_view(project.get_feature_store())
    fv.training_data()
    inputs = model_schema_of(fv, 1)["inputs"]
    mr = project.get_model_registry()
    expected = {}
    for i, (arrow, value, datatype) in enumerate(CASES):
        outputs = [] if arrow is None else [{"name": "y", "type": arrow}]
        model = mr.python.create_model(
            f"m{i}", feature_view=fv, model_schema={"inputs": inputs, "outputs": outputs}
        )
        model.save(Constant(value)).deploy()
        expected[f"m{i}"] = datatype
    fv.deploy(name="vectors")
    expected["vectors"] = "BYTES"
    body = {
        "inputs": [
            {"name": "cc_num", "shape": [2], "datatype": "INT64", "data": [1, 2]},
            {"name": "amount", "shape": [2], "datatype": "FP64", "data": [1.0, 9.0]},
        ]
    }
    with TestClient(create_app(project)) as client:
        for name, datatype in expected.items():
            meta = client.get(f"/v2/models/{name}").json()
            inferred = client.post(f"/v2/models/{name}/infer", json=body)
            assert inferred.status_code == 200, inferred.text
            answer = inferred.json()["outputs"][0]
            said = (meta["outputs"][0]["datatype"], answer["datatype"])
            assert said == (datatype, datatype), (name, said, answer["data"])
