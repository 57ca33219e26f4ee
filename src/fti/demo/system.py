"""The rest of the credit-card FTI system, after the feature pipeline: a training pipeline
(XGBoost on the feature view's train split, registered with metrics and lineage), a batch
inference pipeline (predictions for the last day written to a feature group) and an online
inference pipeline (a deployment served over HTTP, answering real requests, logged)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fti.demo import ownership
from fti.demo.data import CreditCardData
from fti.errors import MissingDependencyError
from fti.project import Project


@dataclass
class SystemReport:
    model_version: int
    metrics: dict[str, float]
    lineage: dict[str, Any]
    batch_rows: int
    batch_seconds: float
    predictions_group: str
    url: str
    responses: list[dict[str, Any]] = field(default_factory=list)
    logged_rows: int = 0
    # from the server's /metrics: requests counted, and the mean ms per request of each step
    requests_counted: int = 0
    step_ms: dict[str, float] = field(default_factory=dict)


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve by ranks (Mann-Whitney U), ties averaged."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    positives = labels.astype(bool)
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def run_system(
    project: Project,
    data: CreditCardData,
    training_dataset_version: int,
    on_step: Callable[[str], None] = lambda _: None,
) -> SystemReport:
    try:
        import xgboost
    except ImportError as exc:
        raise MissingDependencyError("xgboost", "xgboost", "the demo's training pipeline") from exc
    fs = project.get_feature_store()
    fv = fs.get_feature_view("cc_fraud", 1)

    on_step("training pipeline: XGBoost on the train split, evaluated on the test split")
    x_train, x_test, y_train, y_test = fv.get_train_test_split(training_dataset_version)
    model = xgboost.XGBClassifier(n_estimators=60, max_depth=4, learning_rate=0.2, n_jobs=2)
    model.fit(x_train, y_train["is_fraud"])
    scores = model.predict_proba(x_test)[:, 1]
    metrics = {
        "auc": round(auc(y_test["is_fraud"].to_numpy(), scores), 4),
        "accuracy": round(float((model.predict(x_test) == y_test["is_fraud"]).mean()), 4),
    }
    registry = project.get_model_registry()
    registered = registry.xgboost.create_model(
        "cc_fraud",
        metrics=metrics,
        description="Fraud classifier on card and merchant features",
        feature_view=fv,
        training_dataset_version=training_dataset_version,
        input_example=x_train.head(3),
    ).save(model)
    registered.set_alias("production")
    ownership.remember(project)

    on_step("batch inference pipeline: scoring the last day's transactions")
    start = time.perf_counter()
    scoring = registry.get_model("cc_fraud", alias="production")
    batch_fv = scoring.get_feature_view()  # the model's filters and transformation state
    end = pc.max(data.transactions.column("event_ts")).as_py()
    last_day = batch_fv.get_batch_data(
        start_time=end.replace(hour=0, minute=0, second=0, microsecond=0),
        primary_key=True,
        event_time=True,
        dataframe_type="arrow",
    )
    features = last_day.drop_columns(["tx_id", "cc_num", "merchant_id", "event_ts"])
    probabilities = scoring.load().predict_proba(features.to_pandas())[:, 1]
    predictions = fs.get_or_create_feature_group(
        "cc_fraud_predictions",
        1,
        primary_key=["tx_id"],
        event_time="event_ts",
        statistics_enabled=False,
        description="Batch predictions of model cc_fraud (production alias)",
    )
    predictions.insert(
        pa.table(
            {
                "tx_id": last_day.column("tx_id"),
                "event_ts": last_day.column("event_ts"),
                "fraud_probability": pa.array(probabilities, pa.float64()),
                "model_version": pa.array([scoring.version] * last_day.num_rows, pa.int64()),
            }
        ),
        progress=False,
    )
    ownership.remember(project)
    batch_seconds = time.perf_counter() - start

    on_step("online inference pipeline: deploying cc_fraud and serving it over HTTP")
    report = SystemReport(
        model_version=scoring.version or 0,
        metrics=metrics,
        lineage=scoring.lineage(),
        batch_rows=last_day.num_rows,
        batch_seconds=batch_seconds,
        predictions_group=predictions.name,
        url="",
    )
    scoring.deploy("cc_fraud")
    ownership.remember(project)
    _serve_and_ask(project, data, report)
    ownership.remember(project)  # the inference log's feature group
    return report


def _serve_and_ask(project: Project, data: CreditCardData, report: SystemReport) -> None:
    """Serve the deployment with uvicorn on a free loopback port and send it real requests."""
    from fti.serving import Client
    from fti.serving.server import create_app
    from fti.serving.workers import in_thread

    with in_thread(create_app(project)) as url:  # leaving drains the inference log
        report.url = url
        requests = data.transactions.slice(data.transactions.num_rows - 5).to_pylist()
        with Client(report.url) as client:
            for tx in requests:
                instance = {
                    "cc_num": tx["cc_num"],
                    "merchant_id": tx["merchant_id"],
                    "amount": tx["amount"],
                }
                answer = client.predict("cc_fraud", instance)
                report.responses.append({**instance, **answer})
        import httpx

        _read_metrics(report, httpx.get(f"{report.url}/metrics").text)
    fv = project.get_feature_store().get_feature_view("cc_fraud", 1)
    report.logged_rows = fv.read_log(dataframe_type="arrow").num_rows


def _read_metrics(report: SystemReport, text: str) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("deployment") != "cc_fraud":
                continue
            if sample.name == "fti_requests_total":
                report.requests_counted += int(sample.value)
            elif sample.name == "fti_step_seconds_sum":
                step = sample.labels["step"]
                totals[step] = totals.get(step, 0.0) + sample.value
    count = max(report.requests_counted, 1)
    report.step_ms = {step: seconds * 1e3 / count for step, seconds in totals.items()}
