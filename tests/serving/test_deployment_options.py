"""Deployment options outside the contract: ``resources``, ``slo``, ``missing`` (the
missing-values policy), ``lookup_timeout_ms`` and ``fallback_model_version``. Checked at
deploy time (a refused deploy records nothing), stored with the version, exposed on the
deployment and used by ``predict``."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import fti
from fti.serving.server import create_app
from tests.featurestore.helpers import ts
from tests.online.conformance import sqlite_held_exclusively
from tests.serving.conftest import deployed

DEFAULTS = {
    "model_threads": 1,
    "max_batch": 1000,
    "log_queue": 100_000,
    "log_flush_seconds": 5.0,
    "runtime": "auto",
}


class Broken:
    """A model that raises on every request (saved with the "python" flavor)."""

    def predict(self, x: Any) -> Any:
        raise ValueError("the model is broken")


def versions(project: fti.Project, name: str = "fraud") -> list[int]:
    return [r.version for r in project._catalog.list_deployments(name)]


def save_broken(project: fti.Project, fv: fti.FeatureView) -> fti.Model:
    model = project.get_model_registry().python.create_model(
        "fraud", feature_view=fv, training_dataset_version=1
    )
    return model.save(Broken())


def test_resources_slo_and_fallback_are_stored_and_exposed(project: fti.Project) -> None:
    fv, _, first = deployed(project)
    assert first.resources == DEFAULTS
    assert (first.slo, first.missing, first.lookup_timeout_ms, first.fallback_model) == (
        None,
        "error",
        None,
        None,
    )
    model = project.get_model_registry().get_model("fraud", version=1)
    second = model.deploy(
        resources={
            "model_threads": 2,
            "runtime": "native",
            "log_queue": 100,
            "log_flush_seconds": 1,
        },
        slo={"p99_ms": 3, "availability": 0.999},
        missing="impute",
        lookup_timeout_ms=20,
    )
    assert second.resources == {
        "model_threads": 2,
        "max_batch": 1000,
        "log_queue": 100,
        "log_flush_seconds": 1.0,
        "runtime": "native",
    }
    assert second.slo == {"p99_ms": 3.0, "availability": 0.999}
    assert (second.missing, second.lookup_timeout_ms) == ("impute", 20.0)
    # operational options are not the contract
    assert (second.version, second.schema_version) == (2, 1)
    assert second.schema == first.schema
    second.resources["max_batch"] = 1
    assert second.resources["max_batch"] == 1000  # a copy, not the record
    with fti.connect(project.home) as other:  # read back from the catalog
        again = other.get_model_serving().get_deployment("fraud", 2)
        assert (again.resources, again.slo, again.missing, again.lookup_timeout_ms) == (
            second.resources,
            second.slo,
            "impute",
            20.0,
        )
        assert other.get_model_serving().get_deployment("fraud", 1).resources == DEFAULTS
    features = fv.deploy("features", resources={"max_batch": 5}, slo={"availability": 0.99})
    assert features.resources == {**DEFAULTS, "max_batch": 5}
    assert features.slo == {"availability": 0.99} and features.fallback_model is None
    # LMDB reads never wait: the timeout is accepted and changes nothing
    second.start()
    try:
        answer = second.predict({"cc_num": 1, "amount": 3.0})
        assert answer["degraded"] is False and answer["reason"] is None
    finally:
        second.stop()


BAD_OPTIONS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"resources": {"threads": 2}}, fti.FtiError, r"unknown resources key\(s\) \['threads'\]"),
    ({"resources": {"model_threads": 0}}, fti.FtiError, r"'model_threads'\] must be >= 1, got 0"),
    ({"resources": {"model_threads": True}}, fti.FtiError, r"'model_threads'\] must be an int"),
    ({"resources": {"model_threads": 2.0}}, fti.FtiError, r"'model_threads'\] must be an int"),
    (
        {"resources": {"max_batch": 100_001}},
        fti.FtiError,
        r"'max_batch'\] must be between 1 and 100000, got 100001",
    ),
    ({"resources": {"max_batch": 0}}, fti.FtiError, r"'max_batch'\] must be between 1 and"),
    ({"resources": {"log_queue": 99}}, fti.FtiError, r"'log_queue'\] must be >= 100, got 99"),
    (
        {"resources": {"log_flush_seconds": 0.05}},
        fti.FtiError,
        r"'log_flush_seconds'\] must be between 0.1 and 3600.0, got 0.05",
    ),
    (
        {"resources": {"log_flush_seconds": "5s"}},
        fti.FtiError,
        r"'log_flush_seconds'\] must be a finite number, got '5s'",
    ),
    (
        {"resources": {"runtime": "gpu"}},
        fti.FtiError,
        r"'runtime'\] must be one of \['auto', 'native', 'onnx'\], got 'gpu'",
    ),
    ({"resources": [("max_batch", 5)]}, fti.FtiError, "resources must be a dict"),
    ({"slo": {"p99_ms": 0}}, fti.FtiError, r"slo\['p99_ms'\] must be > 0, got 0"),
    ({"slo": {"p99_ms": "3ms"}}, fti.FtiError, r"slo\['p99_ms'\] must be a finite number"),
    ({"slo": {"p99_ms": float("inf")}}, fti.FtiError, r"slo\['p99_ms'\] must be a finite"),
    ({"slo": {"availability": 1}}, fti.FtiError, r"slo\['availability'\] must be between 0"),
    ({"slo": {"availability": 0.0}}, fti.FtiError, r"slo\['availability'\] must be between 0"),
    ({"slo": {"p95_ms": 3}}, fti.FtiError, r"unknown slo key\(s\) \['p95_ms'\]"),
    ({"slo": {}}, fti.FtiError, "slo must give p99_ms, availability or both"),
    ({"missing": "retry"}, fti.FtiError, r"missing must be one of \['error', 'impute'"),
    ({"missing": 3}, fti.FtiError, "missing must be one of"),
    ({"lookup_timeout_ms": 0}, fti.FtiError, r"lookup_timeout_ms must be > 0"),
    ({"lookup_timeout_ms": "20"}, fti.FtiError, r"lookup_timeout_ms must be a finite number"),
    ({"fallback_model_version": 0}, fti.FtiError, r"fallback_model_version must be >= 1, got 0"),
    ({"fallback_model_version": 1}, fti.FtiError, r"1 is the deployed version itself"),
    ({"fallback_model_version": 9}, fti.ModelNotFound, "'fraud' version 9 does not exist"),
]


def test_bad_options_name_the_key_and_record_nothing(project: fti.Project) -> None:
    fv, _, _ = deployed(project)
    model = project.get_model_registry().get_model("fraud", version=1)
    for options, error, message in BAD_OPTIONS:
        with pytest.raises(error, match=message):
            model.deploy(**options)
        assert versions(project) == [1], options
    view_options: list[tuple[dict[str, Any], str]] = [
        ({"missing": "retry"}, r"missing must be one of \['error', 'impute'"),
        ({"lookup_timeout_ms": -1}, r"lookup_timeout_ms must be > 0"),
        ({"resources": {"max_batch": -1}}, r"'max_batch'\] must be between"),
    ]
    for options, message in view_options:
        with pytest.raises(fti.FtiError, match=message):
            fv.deploy("features", **options)
    assert versions(project, "features") == []


def test_max_batch_and_log_queue_are_applied(project: fti.Project) -> None:
    fv, _, deployment = deployed(
        project, resources={"max_batch": 3, "log_queue": 150, "log_flush_seconds": 0.5}
    )
    deployment.start()
    try:
        assert deployment._logger is not None and deployment._logger.max_queue == 150
        assert deployment._logger.flush_seconds == 0.5
        ok = deployment.predict(instances=[{"cc_num": c, "amount": 1.0} for c in range(3)])
        assert len(ok["predictions"]) == 3 and ok["reasons"] == [None, None, None]
        over = [{"cc_num": c, "amount": 1.0} for c in range(4)]
        with pytest.raises(
            fti.InvalidDataError, match=r"at most 3 instances \(resources max_batch\), got 4"
        ):
            deployment.predict(instances=over)
        deployment.flush_log()
    finally:
        deployment.stop()
    assert fv.read_log().shape[0] == 3  # the refused batch logged nothing


def test_a_failing_model_is_answered_by_the_fallback_version(project: fti.Project) -> None:
    fv, clf, _ = deployed(project)  # model v1
    broken = save_broken(project, fv)  # v2
    deployment = broken.deploy(missing="impute", fallback_model_version=1)
    assert deployment.model is not None and deployment.model.version == 2
    assert deployment.fallback_model is not None and deployment.fallback_model.version == 1
    assert deployment.missing == "impute" and deployment.schema_version == 1
    alone = broken.deploy("alone")  # no fallback model: the error stands
    deployment.start()
    alone.start()
    try:
        single = deployment.predict({"cc_num": 1, "amount": 3.0})
        batch = deployment.predict(
            instances=[{"cc_num": 2, "amount": 4.0}, {"cc_num": 99, "amount": 1.0}]
        )
        with pytest.raises(ValueError, match="the model is broken"):
            alone.predict({"cc_num": 1, "amount": 3.0})
        deployment.flush_log()
        alone.flush_log()
    finally:
        deployment.stop()
        alone.stop()
    fv.init_serving(1)
    vector = fv.get_feature_vector({"cc_num": 1}, {"amount": 3.0}, return_type="pandas")
    assert single["prediction"] == clf.predict(vector[fv.feature_names])[0]
    reason = "model version 2 raised ValueError; answered by fallback model version 1"
    assert (single["degraded"], single["reason"], single["model_version"]) == (True, reason, 1)
    assert batch["degraded"] == [True, True] and batch["model_version"] == 1
    assert batch["reasons"] == [reason, f"no online row in ['card:1']; {reason}"]
    log = fv.read_log(dataframe_type="arrow").to_pylist()
    assert len(log) == 3 and {r["deployment"] for r in log} == {"fraud"}  # "alone": none
    mine = next(r for r in log if r["request_id"] == single["request_id"])
    assert (mine["model_version"], mine["degraded"], mine["reason"]) == (1, True, reason)
    assert fv.read_log(model_version=2).shape[0] == 0


def test_a_fallback_on_another_training_dataset_gets_its_own_transformations(
    project: fti.Project,
) -> None:
    from sklearn.linear_model import LogisticRegression

    fv, _, _ = deployed(project)  # v1 on training dataset 1 (all 60 rows)
    x, y = fv.training_data(end_time=ts(125))  # training dataset 2: another scaler state
    mr = project.get_model_registry()
    fallback = mr.sklearn.create_model("fraud", feature_view=fv, training_dataset_version=2)
    clf = LogisticRegression().fit(x, y["is_fraud"])
    fallback.save(clf)  # v2
    broken = save_broken(project, fv)  # v3, on training dataset 1
    deployment = broken.deploy(fallback_model_version=2).start()
    try:
        result = deployment.predict({"cc_num": 1, "amount": 3.0})
        deployment.flush_log()
    finally:
        deployment.stop()
    own = mr.get_model("fraud", version=2).get_feature_view()  # with training dataset 2
    expected = own.get_feature_vector({"cc_num": 1}, {"amount": 3.0})
    fv.init_serving(1)
    assert expected != fv.get_feature_vector({"cc_num": 1}, {"amount": 3.0})
    frame = own.get_feature_vector({"cc_num": 1}, {"amount": 3.0}, return_type="pandas")
    assert result["prediction"] == clf.predict(frame[own.feature_names])[0]
    assert result["model_version"] == 2
    logged = fv.read_log(dataframe_type="arrow").to_pylist()
    # the log holds what the model read: the features, without the keys and event time
    assert json.loads(logged[0]["transformed"]) == expected[3:]


def test_fallback_versions_are_checked_and_cannot_be_deleted(project: fti.Project) -> None:
    from sklearn.linear_model import LogisticRegression

    fv, clf, _ = deployed(project)
    fs = project.get_feature_store()
    mr = project.get_model_registry()
    raw_view = fs.create_feature_view("fraud_raw", query=fv.query, labels=["is_fraud"])
    x, y = raw_view.training_data()
    other_view = mr.sklearn.create_model("fraud", feature_view=raw_view)
    other_view.save(LogisticRegression().fit(x, y["is_fraud"]))  # v2
    inputs = [{"name": "amount", "type": "double"}]
    narrower = mr.sklearn.create_model(
        "fraud",
        feature_view=fv,
        training_dataset_version=1,
        model_schema={"inputs": inputs, "outputs": [{"name": "is_fraud", "type": "bool"}]},
    )
    narrower.save(LogisticRegression().fit(x[["amount"]], y["is_fraud"]))  # v3
    first = mr.get_model("fraud", version=1)
    for version, message in [
        (2, "version 2 of 'fraud' was trained from another feature view"),
        (3, r"version 3 of 'fraud' takes other transformed features \(\[\('amount'"),
    ]:
        with pytest.raises(fti.FtiError, match=message):
            first.deploy(fallback_model_version=version)
    assert versions(project) == [1]
    spare = mr.sklearn.create_model("fraud", feature_view=fv, training_dataset_version=1)
    spare.save(clf)  # v4
    first.deploy("guarded", fallback_model_version=4)
    with pytest.raises(fti.FtiError, match=r"is deployed \(guarded v1 as fallback\)"):
        spare.delete()
    assert mr.get_model("fraud", version=4).version == 4
    project.get_model_serving().delete_deployment("guarded")
    spare.delete()
    with pytest.raises(fti.ModelNotFound):
        mr.get_model("fraud", version=4)


def test_over_http_the_fallback_answers_and_a_failing_model_is_a_500(
    project: fti.Project,
) -> None:
    fv, _, _ = deployed(project)
    broken = save_broken(project, fv)
    broken.deploy(fallback_model_version=1)
    broken.deploy("alone")
    with TestClient(create_app(project)) as client:
        answered = client.post("/v1/deployments/fraud/predict", json={"cc_num": 1, "amount": 3.0})
        failed = client.post("/v1/deployments/alone/predict", json={"cc_num": 1, "amount": 3.0})
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["degraded"] is True and body["model_version"] == 1
    assert (
        body["reason"] == "model version 2 raised ValueError; answered by fallback model version 1"
    )
    assert failed.status_code == 500
    error = failed.json()
    assert error["error"] == "InternalError" and len(error["request_id"]) == 32
    assert "Traceback" not in failed.text and "broken" not in failed.text


# -- lookup timeouts on the backends that can wait -----------------------------------------


@contextlib.contextmanager
def sqlite_file_locked(project: fti.Project) -> Iterator[None]:
    """The project's SQLite online store held by another connection."""
    project._online.close()
    with sqlite_held_exclusively(Path(project.home) / "online.sqlite"):
        yield


@contextlib.contextmanager
def redis_paused(redis_url: str) -> Iterator[None]:
    import redis

    admin = redis.Redis.from_url(redis_url)
    admin.execute_command("CLIENT", "PAUSE", 3000, "ALL")  # answers nothing for 3 s
    try:
        yield
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
        admin.close()


def check_lookup_timeout(project: fti.Project, stall: Any, backend: str) -> None:
    """With the online store stalled, a deployment with a 50 ms lookup timeout answers from
    its missing-values policy within far less than the stall (or, for "error", raises
    OnlineStoreUnavailable); once the store is back it answers normally again."""
    deployed(project)
    model = project.get_model_registry().get_model("fraud", version=1)
    lenient = model.deploy("lenient", missing="impute", lookup_timeout_ms=50)
    strict = model.deploy("strict", missing="error", lookup_timeout_ms=50)
    instance = {"cc_num": 1, "amount": 3.0}
    lenient.start()
    strict.start()
    try:
        assert lenient.predict(instance)["degraded"] is False
        assert strict.predict(instance)["degraded"] is False
        with stall:
            started = time.monotonic()
            answer = lenient.predict(instance)
            elapsed = time.monotonic() - started
            with pytest.raises(fti.OnlineStoreUnavailable, match="lookup timeout of 50 ms"):
                strict.predict(instance)
        assert answer["degraded"] is True and elapsed < 1.0
        assert "OnlineLookupTimeout" in answer["reason"] and backend in answer["reason"]
        assert "lookup timeout of 50 ms" in answer["reason"]
        assert lenient.predict(instance)["degraded"] is False  # recovered
    finally:
        lenient.stop()
        strict.stop()


def test_sqlite_lookup_timeout(tmp_path: Path) -> None:
    with fti.connect(tmp_path / "home", online_store="sqlite") as project:
        check_lookup_timeout(project, sqlite_file_locked(project), "SQLite")


@pytest.mark.redis
def test_redis_lookup_timeout(tmp_path: Path, redis_url: str) -> None:
    import redis

    with fti.connect(tmp_path / "home", online_store=redis_url) as project:
        namespace = project._online.namespace  # type: ignore[attr-defined]
        try:
            check_lookup_timeout(project, redis_paused(redis_url), "Redis")
        finally:
            client = redis.Redis.from_url(redis_url)
            leftovers = list(client.scan_iter(match=f"{namespace}:*", count=10_000))
            if leftovers:
                client.unlink(*leftovers)
            client.close()
