"""Deployments in-process: the contract, predictions equal to the model on the served
vector, bad input, fallbacks, schema versions, and the inference log."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pytest

import fti
from fti.registry.model_schema import model_schema_of
from fti.serving.inference_log import LOG_COLUMNS, InferenceLogger
from tests.registry.conftest import build_view
from tests.serving.conftest import deployed

BATCH_ROWS = fti.Settings.vector_batch_rows  # from this many, the column core

__all__ = ["deployed"]  # tests/serving/test_server.py imports it from here

# The feature vectors the deployments of build_view's view must serve, worked out by hand from
# the rows build_view inserts, not by the feature-vector code under test: the amount (passed)
# standard-scaled with the mean and population standard deviation of the 60 training amounts,
# and the card's spend as stored (card c spends c + 1).
TRAINING_AMOUNTS = [float(i % 13) for i in range(60)]
CENTER, SCALE = statistics.fmean(TRAINING_AMOUNTS), statistics.pstdev(TRAINING_AMOUNTS)
SPEND = {card: card + 1.0 for card in range(6)}
# what missing="impute" serves for an unknown card: the training mean of spend (tx i is card i % 6)
IMPUTED_SPEND = statistics.fmean(SPEND[i % 6] for i in range(60))


def vector(card: int | None, amount: float) -> list[float]:
    """The transformed vector of a request; ``card=None``: a card without an online row."""
    return [(amount - CENTER) / SCALE, IMPUTED_SPEND if card is None else SPEND[card]]


def scored(
    project: fti.Project, missing: str = "error", **options: Any
) -> tuple[fti.FeatureView, Any, fti.Deployment]:
    """The view of build_view, a linear regression on it and a deployment of it (model "fraud"
    v1). Its answer moves with every feature of the vector (a classifier's label would not
    change with a wrong spend), and it is a number: the model schema says so."""
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    fv = build_view(project.get_feature_store())
    x, _ = fv.training_data()
    names = list(x.columns)
    regression = LinearRegression().fit(x, 2.0 * x["amount"] - 3.0 * x["spend"] + 1.0)
    inputs = model_schema_of(fv, 1)["inputs"]
    model = project.get_model_registry().sklearn.create_model(
        "fraud",
        feature_view=fv,
        model_schema={"inputs": inputs, "outputs": [{"name": "score", "type": "double"}]},
    )
    model.save(regression)

    def predict(vectors: list[list[float]]) -> list[float]:
        return [float(p) for p in regression.predict(pd.DataFrame(vectors, columns=names))]

    return fv, predict, model.deploy(missing=missing, **options)


def expected(requests: Sequence[tuple[int | None, float]], predict: Any) -> Any:
    """What the deployed regression answers for (card, amount) requests, within float32 (the
    model runs compiled)."""
    return pytest.approx(predict([vector(c, a) for c, a in requests]), rel=1e-5, abs=1e-5)


def logged(row: dict[str, Any]) -> list[float]:
    """The transformed vector an inference-log row holds."""
    return list(json.loads(row["transformed"]))


def test_contract_predictions_and_the_log(project: fti.Project) -> None:
    fv, predict, deployment = scored(project)
    schema = deployment.schema
    assert [f["name"] for f in schema["serving_keys"]] == ["cc_num"]
    assert [f["name"] for f in schema["passed_features"]] == ["amount"]
    assert schema["input"]["required"] == ["cc_num", "amount"]
    assert schema["input"]["properties"]["cc_num"]["type"] == "integer"
    assert schema["input"]["additionalProperties"] is False
    assert (deployment.version, deployment.schema_version) == (1, 1)
    with pytest.raises(fti.FtiError, match="not started"):
        deployment.predict({"cc_num": 1, "amount": 3.0})
    deployment.start()
    try:
        result = deployment.predict({"cc_num": 1, "amount": 3.0})
        assert [result["prediction"]] == expected([(1, 3.0)], predict)
        assert result["model_version"] == 1 and not result["degraded"]
        timings = result["timings_ms"]
        assert set(timings) == {
            "feature_lookup",
            "on_demand",
            "model_dependent",
            "feature_vector",
            "predict",
            "log_enqueue",
            "total",
        }
        assert timings["model_dependent"] > 0  # the view scales amount
        parts = timings["feature_lookup"] + timings["on_demand"] + timings["model_dependent"]
        assert parts <= timings["feature_vector"] <= timings["total"]
        batch = deployment.predict(instances=[{"cc_num": c, "amount": 2.0 + c} for c in range(6)])
        assert batch["predictions"] == expected([(c, 2.0 + c) for c in range(6)], predict)
        assert len(set(batch["request_ids"])) == 6
        deployment.flush_log()
    finally:
        deployment.stop()
    log = fv.read_log(dataframe_type="arrow")
    assert log.num_rows == 7
    mine = log.filter(pa.compute.equal(log.column("request_id"), result["request_id"])).to_pylist()
    assert mine[0]["amount"] == 3.0 and mine[0]["spend"] == 2.0  # untransformed, typed
    assert logged(mine[0]) == pytest.approx(vector(1, 3.0), rel=1e-12)
    assert json.loads(mine[0]["prediction"]) == result["prediction"]
    assert mine[0]["model_version"] == 1 and mine[0]["deployment"] == "fraud"
    rows = {r["request_id"]: r for r in log.to_pylist()}
    for card, request_id in enumerate(batch["request_ids"]):
        assert logged(rows[request_id]) == pytest.approx(vector(card, 2.0 + card), rel=1e-12)
    assert fv.read_log(model_version=2).shape[0] == 0
    # outcomes arrive later: joined by request id (or by log columns such as a key feature)
    outcomes = pa.table({"request_id": [result["request_id"]], "was_fraud": [True]})
    labelled = fv.read_log(labels=outcomes, dataframe_type="arrow")
    assert labelled.num_rows == 7
    assert labelled.column("was_fraud").to_pylist().count(True) == 1
    assert labelled.column("was_fraud").null_count == 6
    with pytest.raises(fti.FtiError, match="lacks join column"):
        fv.read_log(labels=outcomes, on=["tx_id"])
    with pytest.raises(fti.FtiError, match="one label per row"):
        fv.read_log(labels=pa.concat_tables([outcomes, outcomes]))
    assert fv.read_log(start_time="2999-01-01T00:00:00+00:00").shape[0] == 0


def test_a_large_batch_predicts_and_logs_as_single_requests_do(project: fti.Project) -> None:
    """From BATCH_ROWS instances the vectors are built column-wise: the same predictions as
    one request each (and as worked out by hand), and every row logged with its untransformed
    features and its transformed vector."""
    fv, predict, deployment = scored(project)
    requests = [(i % 4, float(i)) for i in range(2 * BATCH_ROWS)]
    instances = [{"cc_num": c, "amount": a} for c, a in requests]
    deployment.start()
    try:
        batch = deployment.predict(instances=instances)
        singles = [deployment.predict(instance) for instance in instances]
        deployment.flush_log()
    finally:
        deployment.stop()
    assert batch["predictions"] == expected(requests, predict)
    assert batch["predictions"] == [one["prediction"] for one in singles]
    log = fv.read_log(dataframe_type="arrow").to_pylist()
    rows = {row["request_id"]: row for row in log}
    for request_id, one, request in zip(batch["request_ids"], singles, requests, strict=True):
        row, single = rows[request_id], rows[one["request_id"]]
        assert (row["amount"], row["spend"]) == (request[1], SPEND[request[0]])  # untransformed
        assert logged(row) == pytest.approx(vector(*request), rel=1e-12)
        assert {k: v for k, v in row.items() if k not in VARYING} == {
            k: v for k, v in single.items() if k not in VARYING
        }


VARYING = {"request_id", "logged_at", "latency_ms"}  # per request


def test_bad_requests_name_the_field_and_log_nothing(project: fti.Project) -> None:
    fv, _, deployment = deployed(project)
    deployment.start()
    try:
        for instance, message in [
            ({"cc_num": 1}, r"missing required field\(s\) \['amount'\]"),
            ({"amount": 1.0}, r"missing required field\(s\) \['cc_num'\]"),
            ({"cc_num": 1, "amount": 1.0, "x": 2}, r"unknown field\(s\) \['x'\]"),
            ({"cc_num": 1, "amount": "big"}, "'amount' must be"),
            ({"cc_num": "one", "amount": 1.0}, "cc_num"),
            ({"cc_num": 1, "amount": 1e300}, r"'amount' is .* beyond the float32 range"),
            ([1, 2], "must be a JSON object"),
        ]:
            with pytest.raises(fti.InvalidDataError, match=message):
                deployment.predict(instances=[instance])
        with pytest.raises(fti.FeatureVectorNotFound, match="99"):
            deployment.predict({"cc_num": 99, "amount": 1.0})
        with pytest.raises(fti.InvalidDataError, match="instances is empty"):
            deployment.predict(instances=[])
        deployment.flush_log()
    finally:
        deployment.stop()
    assert fv.read_log().shape[0] == 0


def test_impute_fallback_marks_the_answer_degraded(project: fti.Project) -> None:
    _, predict, deployment = scored(project, missing="impute")
    deployment.start()
    try:
        result = deployment.predict({"cc_num": 99, "amount": 1.0})
        known = deployment.predict({"cc_num": 2, "amount": 1.0})
    finally:
        deployment.stop()
    assert result["degraded"] is True and "no online row" in result["reason"]
    assert [result["prediction"]] == expected([(None, 1.0)], predict)  # the training mean
    assert known["degraded"] is False and [known["prediction"]] == expected([(2, 1.0)], predict)


def test_versions_schema_versions_and_refused_deletes(project: fti.Project) -> None:
    from sklearn.linear_model import LogisticRegression

    fv, _, first = deployed(project)
    x, y = fv.get_training_data(1)
    mr = project.get_model_registry()
    second_model = mr.sklearn.create_model("fraud", feature_view=fv, training_dataset_version=1)
    second_model.save(LogisticRegression(C=0.5).fit(x, y["is_fraud"]))
    again = second_model.deploy()
    assert (again.version, again.schema_version) == (2, 1)  # same contract, new model
    assert again.model is not None and again.model.version == 2
    changed = second_model.deploy(passed_features=["amount", "spend"])
    assert (changed.version, changed.schema_version) == (3, 2)
    assert "spend" in changed.schema["input"]["properties"]
    ms = project.get_model_serving()
    assert [d.version for d in ms.get_deployments()] == [3]
    assert ms.get_deployment("fraud", 1).model.version == 1  # type: ignore[union-attr]
    with pytest.raises(fti.FtiError, match="is deployed"):
        mr.get_model("fraud", version=1).delete()
    with pytest.raises(fti.DeploymentNotFound, match="'nope' does not exist"):
        ms.get_deployment("nope")
    for passed, message in [(["nope"], "not features"), ([], r"must include \['amount'\]")]:
        with pytest.raises(fti.FtiError, match=message):
            second_model.deploy(passed_features=passed)
    with pytest.raises(fti.FtiError, match="missing must be one of"):
        second_model.deploy(missing="retry")
    assert first.version == 1


def test_feature_view_deployment_returns_vectors(project: fti.Project) -> None:
    fv = build_view(project.get_feature_store())
    fv.training_data()
    deployment = fv.deploy("fraud_features").start()
    output = deployment.schema["output"]["properties"]
    assert list(output) == ["prediction"]  # no untransformed features unless asked for
    assert [i["anyOf"][0]["type"] for i in output["prediction"]["prefixItems"]] == [
        "integer",  # tx_id: the view selects the keys and the event time, which vectors hold
        "integer",  # cc_num
        "string",  # event_ts
        "number",  # amount, scaled
        "number",  # spend
    ]
    with_raw = fv.deploy("fraud_raw", untransformed=True).start()
    try:
        result = deployment.predict({"cc_num": 3, "amount": 4.0})
        # the transaction's id and time were not passed: their group is not online
        assert result["prediction"][:3] == [None, 3, None]
        assert result["prediction"][3:] == pytest.approx(vector(3, 4.0), rel=1e-12)
        assert result["model_version"] is None and "untransformed" not in result
        raw = with_raw.predict({"cc_num": 3, "amount": 4.0})
        assert raw["prediction"] == result["prediction"]
        assert raw["untransformed"] == {
            "tx_id": None,
            "cc_num": 3,
            "event_ts": None,
            "amount": 4.0,
            "spend": 4.0,
        }
        batch = with_raw.predict(instances=[{"cc_num": c, "amount": 1.0} for c in (1, 2)])
        assert [u["spend"] for u in batch["untransformed"]] == [2.0, 3.0]
    finally:
        deployment.stop()
        with_raw.stop()
    model = project.get_model_registry().python.create_model("m", feature_view=fv)
    with pytest.raises(fti.FtiError, match="untransformed= is for feature-view deployments"):
        project.get_model_serving().create_deployment(
            fv, model, "m", None, None, "error", untransformed=True
        )


def test_deploying_leaves_the_callers_view_as_it_was(project: fti.Project) -> None:
    """A deployment builds a serving plan of its own: the view it was made from keeps its
    plan, missing-values policy and last training dataset version."""
    fv = build_view(project.get_feature_store())
    fv.training_data()
    fv.training_data()  # version 2: the view's last
    plan = fv.init_serving(2)  # missing="error"
    deployment = fv.deploy("features", training_dataset_version=1, missing="null")
    assert deployment.missing == "null"
    assert fv._serving is plan and plan.missing == "error"
    assert fv.last_training_dataset_version == 2
    with pytest.raises(fti.FeatureVectorNotFound):
        fv.get_feature_vector({"cc_num": 99}, passed_features={"amount": 1.0})
    with pytest.raises(AttributeError):
        fv.last_training_dataset_version = 1  # type: ignore[misc]


def test_the_logger_drops_the_oldest_rows_when_full_and_drains_on_close(
    project: fti.Project,
) -> None:
    fs = project.get_feature_store()
    group = fs.create_feature_group(
        "log", primary_key=["request_id"], event_time="logged_at", features=LOG_COLUMNS
    )
    logger = InferenceLogger(group, project.home, max_queue=3, flush_rows=1_000, flush_seconds=30)
    now = pa.scalar(0, pa.timestamp("us", tz="UTC")).as_py()
    for i in range(5):
        logger.log({"request_id": str(i), "logged_at": now, "deployment": "d"})
    assert logger.dropped == 2 and logger.queued == 3
    started = time.perf_counter()
    logger.close()
    assert time.perf_counter() - started < 20  # drained now, not after flush_seconds
    rows = group.read(dataframe_type="arrow")
    assert sorted(rows.column("request_id").to_pylist()) == ["2", "3", "4"]
    assert logger.written == 3 and logger.failed_batches == 0


class Scored:
    """A custom predictor: a probability and what it was computed from."""

    def __init__(self, context):  # type: ignore[no-untyped-def]
        self.model = context.model
        self.version = context.model_version

    def predict(self, inputs):  # type: ignore[no-untyped-def]
        scores = self.model.predict_proba(inputs.frame())[:, 1]
        return [
            {"score": float(s), "amount": u["amount"], "model_version": self.version}
            for s, u in zip(scores, inputs.untransformed, strict=True)
        ]


def test_custom_predictor_is_stored_and_rebuilt(project: fti.Project) -> None:
    _, clf, _ = deployed(project)
    model = project.get_model_registry().get_model("fraud", version=1)
    model.deploy("scored", predictor=Scored)
    with pytest.raises(fti.FtiError, match="predictor must be a class"):
        model.deploy("bad", predictor=len)  # type: ignore[arg-type]
    with fti.connect(project.home) as other:  # rebuilt from the stored source
        deployment = other.get_model_serving().get_deployment("scored").start()
        try:
            result = deployment.predict({"cc_num": 2, "amount": 7.0})
        finally:
            deployment.stop()
    import pandas as pd

    served = pd.DataFrame([vector(2, 7.0)], columns=["amount", "spend"])
    assert result["prediction"] == {
        "score": pytest.approx(float(clf.predict_proba(served)[0, 1]), rel=1e-9),
        "amount": 7.0,
        "model_version": 1,
    }
