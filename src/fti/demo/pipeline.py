"""The credit-card demo: a feature pipeline writing the DESIGN.md §5 data into feature groups.

It grows with the platform into the whole FTI system (training and inference pipelines);
``fti demo`` runs it and prints what each step did.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fti import _duckdb, builtins
from fti.demo import ownership
from fti.demo.data import CreditCardData, generate
from fti.featurestore import FeatureGroup, FeatureStore
from fti.featurestore.serving import FeatureVector
from fti.project import Project
from fti.validation import ExpectationSuite, expect


@dataclass
class StepReport:
    feature_group: str
    rows: int
    seconds: float
    commit_id: int
    online_rows: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


@dataclass
class DemoReport:
    scale: float
    inserts: list[StepReport] = field(default_factory=list)
    correction: StepReport | None = None
    rows_before_correction: pa.Table | None = None
    rows_after_correction: pa.Table | None = None
    online_sample: pa.Table | None = None
    training: TrainingReport | None = None
    serving_keys: dict[str, Any] | None = None
    vector: FeatureVector | None = None
    model_features: list[str] = field(default_factory=list)  # of the vector's columns
    data: CreditCardData | None = None


@dataclass
class TrainingReport:
    """The training-data step: a feature view, a split dataset, and its exact re-creation."""

    feature_view: str
    feature_view_version: int
    training_dataset_version: int
    features: list[str]
    train_shape: tuple[int, int]
    test_shape: tuple[int, int]
    fraud_rate_train: float
    commits: dict[str, int]
    seconds: float
    recreated_identical: bool = False


def _card_suite() -> ExpectationSuite:
    return ExpectationSuite(
        name="card_features_checks",
        expectations=[
            expect.not_null("cc_num"),
            expect.between("spend_1d", min=0),
            expect.between("spend_7d", min=0),
            expect.between("tx_count_7d", min=0),
        ],
        policy="strict",
    )


def _create_groups(fs: FeatureStore) -> dict[str, FeatureGroup]:
    return {
        "card_features": fs.create_feature_group(
            "card_features",
            1,
            primary_key=["cc_num"],
            event_time="event_ts",
            online_enabled=True,
            description="Spend aggregates per credit card, one snapshot per card and day",
            expectation_suite=_card_suite(),
        ),
        "merchant_features": fs.create_feature_group(
            "merchant_features",
            1,
            primary_key=["merchant_id"],
            event_time="event_ts",
            online_enabled=True,
            description="Daily spend and 30-day fraud rate per merchant",
        ),
        "transactions": fs.create_feature_group(
            "transactions",
            1,
            primary_key=["tx_id"],
            event_time="event_ts",
            description="Card transactions with their fraud label (the training spine)",
        ),
    }


def _timed_insert(fg: FeatureGroup, table: pa.Table) -> StepReport:
    start = time.perf_counter()
    result = fg.insert(table)
    seconds = time.perf_counter() - start
    assert result is not None
    return StepReport(fg.name, table.num_rows, seconds, result.commit_id, result.online_rows)


def run_feature_pipeline(
    project: Project,
    scale: float = 0.1,
    seed: int = 42,
    on_step: Callable[[str], None] = lambda _: None,
    reset: bool = False,
) -> DemoReport:
    """Generate the data, insert it, then correct some rows late and show time travel.

    The demo's objects of an earlier run are replaced; objects with its names that it did
    not create make it stop (having written nothing) unless ``reset`` deletes them."""
    fs = project.get_feature_store()
    ownership.clear(project, reset)
    report = DemoReport(scale=scale)
    on_step(f"generating credit-card data at scale {scale}")
    data = generate(scale=scale, seed=seed)
    groups = _create_groups(fs)
    ownership.remember(project)
    for name, table in (
        ("card_features", data.card_features),
        ("merchant_features", data.merchant_features),
        ("transactions", data.transactions),
    ):
        on_step(f"inserting {table.num_rows:,} rows into {name}")
        report.inserts.append(_timed_insert(groups[name], table))

    on_step("creating feature view cc_fraud and a train/test split (point-in-time joins)")
    report.training, split = _training_data(fs, groups)
    ownership.remember(project)

    # A late correction: the newest snapshot of a few cards is recomputed and re-inserted
    # with the same event time. It replaces those rows in a new commit; commit 0 is unchanged.
    cards = groups["card_features"]
    con = _duckdb.connect()
    con.register("cards", data.card_features)
    corrected = con.sql(
        "SELECT * REPLACE (spend_7d * 1.1 AS spend_7d) FROM cards "
        "WHERE cc_num IN (SELECT DISTINCT cc_num FROM cards ORDER BY cc_num LIMIT 5) "
        "QUALIFY row_number() OVER (PARTITION BY cc_num ORDER BY event_ts DESC) = 1"
    ).to_arrow_table()
    con.close()
    keys = corrected.column("cc_num").combine_chunks()
    on_step(f"re-inserting {corrected.num_rows} corrected rows into card_features")
    report.correction = _timed_insert(cards, corrected)
    report.rows_before_correction = _rows_for(cards.read(as_of=0, dataframe_type="arrow"), keys)
    report.rows_after_correction = _rows_for(cards.read(dataframe_type="arrow"), keys)
    report.online_sample = _rows_for(cards.read(online=True, dataframe_type="arrow"), keys)
    on_step("re-creating the training dataset after the correction")
    fv = fs.get_feature_view("cc_fraud", 1)
    again = fv.get_train_test_split(report.training.training_dataset_version)
    report.training.recreated_identical = all(
        a.equals(b) for a, b in zip(again, split, strict=True)
    )
    report.data = data
    on_step("serving an online feature vector for the first transaction's card and merchant")
    fv.init_serving(training_dataset_version=report.training.training_dataset_version)
    first = data.transactions.slice(0, 1).to_pylist()[0]
    report.serving_keys = {k: first[k] for k in fv.serving_keys}
    # the transaction being scored: its amount, and its id and time (the view selects them)
    passed = {k: first[k] for k in ("tx_id", "event_ts", "amount")}
    report.vector = fv.get_feature_vector(
        report.serving_keys, passed_features=passed, return_type="dict", details=True
    )
    report.model_features = fv.feature_names
    return report


def _training_data(
    fs: FeatureStore, groups: dict[str, FeatureGroup]
) -> tuple[TrainingReport, tuple[pd.DataFrame, ...]]:
    query = (
        groups["transactions"]
        .select_all()
        .join(groups["card_features"].select_except(["event_ts"]))
        .join(groups["merchant_features"].select_except(["event_ts"]), prefix="m_")
    )
    fv = fs.create_feature_view(
        "cc_fraud",
        1,
        query=query,
        labels=["is_fraud"],
        # fitted on the train split of each training dataset, applied online alike
        transformation_functions=[
            builtins.standard_scaler("amount"),
            builtins.min_max_scaler("m_fraud_rate_30d"),
        ],
        description="Card transactions with card and merchant features as of each transaction",
    )
    start = time.perf_counter()
    split = fv.train_test_split(test_size=0.2, seed=42)
    seconds = time.perf_counter() - start
    x_train, x_test, y_train, _ = split
    version = fv.last_training_dataset_version
    assert version is not None
    report = TrainingReport(
        feature_view=fv.name,
        feature_view_version=fv.version,
        training_dataset_version=version,
        features=list(x_train.columns),
        train_shape=x_train.shape,
        test_shape=x_test.shape,
        fraud_rate_train=float(y_train["is_fraud"].mean()),
        commits=dict(fv.get_training_dataset(version).commits),
        seconds=seconds,
    )
    return report, split


def _rows_for(table: pa.Table, keys: pa.Array) -> pa.Table:
    """The rows of ``keys`` at their newest event time, by key."""
    rows = table.filter(pc.is_in(table.column("cc_num"), keys))
    newest = rows.group_by("cc_num").aggregate([("event_ts", "max")])
    return (
        rows.join(newest, ["cc_num"])
        .filter(pc.equal(pc.field("event_ts"), pc.field("event_ts_max")))
        .drop_columns(["event_ts_max"])
        .sort_by("cc_num")
    )
