"""The seeded credit-card generator: sizes, types, keys, determinism, time range, labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from fti.demo import CreditCardData, generate
from fti.demo.data import CARD_SCHEMA, MERCHANT_SCHEMA, TRANSACTION_SCHEMA


@pytest.fixture(scope="module")
def data() -> CreditCardData:
    return generate(scale=0.05, seed=7)


def _distinct_rows(table: pa.Table, columns: list[str]) -> int:
    return table.group_by(columns).aggregate([]).num_rows


@pytest.mark.parametrize(
    ("scale", "cards", "merchants", "transactions"),
    [(0.01, 1_000, 100, 10_000), (0.05, 5_000, 500, 50_000), (0.001, 100, 10, 1_000)],
)
def test_row_counts_follow_the_scale(
    scale: float, cards: int, merchants: int, transactions: int
) -> None:
    data = generate(scale=scale)
    assert data.card_features.num_rows == cards * 10
    assert data.merchant_features.num_rows == merchants * 30
    assert data.transactions.num_rows == transactions
    assert pc.count_distinct(data.card_features["cc_num"]).as_py() == cards
    assert pc.count_distinct(data.merchant_features["merchant_id"]).as_py() == merchants


def test_a_tiny_scale_keeps_one_entity_of_each_kind() -> None:
    data = generate(scale=1e-9)
    assert data.card_features.num_rows == 10
    assert data.merchant_features.num_rows == 30
    assert data.transactions.num_rows == 1


def test_schemas(data: CreditCardData) -> None:
    assert data.card_features.schema == CARD_SCHEMA
    assert data.merchant_features.schema == MERCHANT_SCHEMA
    assert data.transactions.schema == TRANSACTION_SCHEMA
    assert CARD_SCHEMA.field("event_ts").type == pa.timestamp("us", tz="UTC")
    assert CARD_SCHEMA.names == [
        "cc_num",
        "event_ts",
        "spend_1d",
        "spend_7d",
        "avg_amt_30d",
        "tx_count_7d",
    ]
    assert TRANSACTION_SCHEMA.field("is_fraud").type == pa.bool_()
    for table in (data.card_features, data.merchant_features, data.transactions):
        assert all(column.null_count == 0 for column in table.columns)


def test_keys_are_unique(data: CreditCardData) -> None:
    tx = data.transactions
    assert pc.count_distinct(tx["tx_id"]).as_py() == tx.num_rows
    cards, merchants = data.card_features, data.merchant_features
    assert _distinct_rows(cards, ["cc_num", "event_ts"]) == cards.num_rows
    assert _distinct_rows(merchants, ["merchant_id", "event_ts"]) == merchants.num_rows


def test_snapshot_times_differ_between_entities(data: CreditCardData) -> None:
    cards = data.card_features
    # Random per entity, so hardly any two cards share a snapshot time.
    assert pc.count_distinct(cards["event_ts"]).as_py() > 0.95 * cards.num_rows
    first = cards.slice(0, 10)["event_ts"].to_pylist()
    second = cards.slice(10, 10)["event_ts"].to_pylist()
    assert first == sorted(first)
    assert first != second


def test_transactions_reference_existing_entities(data: CreditCardData) -> None:
    tx = data.transactions
    assert pc.all(pc.is_in(tx["cc_num"], data.card_features["cc_num"])).as_py()
    assert pc.all(pc.is_in(tx["merchant_id"], data.merchant_features["merchant_id"])).as_py()


def test_same_seed_same_tables_other_seed_other_tables() -> None:
    a, b, c = generate(0.01, seed=3), generate(0.01, seed=3), generate(0.01, seed=4)
    for name in ("card_features", "merchant_features", "transactions"):
        assert getattr(a, name).equals(getattr(b, name))
        assert not getattr(a, name).equals(getattr(c, name))


def test_time_range_is_the_60_days_before_start() -> None:
    end = datetime(2025, 6, 1, 12, 30, tzinfo=UTC)
    data = generate(0.01, start=end)
    assert (data.window_start, data.window_end) == (end - timedelta(days=60), end)
    for table in (data.card_features, data.merchant_features, data.transactions):
        low, high = pc.min_max(table["event_ts"]).values()
        assert end - timedelta(days=60) <= low.as_py() < high.as_py() < end
        # Spread over the window, not bunched at one end.
        assert high.as_py() - low.as_py() > timedelta(days=55)


def test_default_window_ends_on_2026_01_01() -> None:
    data = generate(0.001)
    assert data.window_end == datetime(2026, 1, 1, tzinfo=UTC)
    high = pc.max(data.transactions["event_ts"]).as_py()
    assert high < datetime(2026, 1, 1, tzinfo=UTC)


def test_start_in_another_timezone_is_converted_to_utc() -> None:
    end = datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    assert generate(0.001, start=end).window_end == datetime(2026, 1, 1, tzinfo=UTC)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate(0.001, start=datetime(2026, 1, 1))
    for scale in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="scale"):
            generate(scale)


def test_fraud_rate_is_realistic_and_learnable(data: CreditCardData) -> None:
    tx = data.transactions
    fraud = tx["is_fraud"]
    rate = pc.mean(fraud.cast(pa.float64())).as_py()
    assert 0.01 <= rate <= 0.02
    # Fraud comes with larger amounts and at merchants with higher fraud rates.
    amount_fraud = pc.mean(tx.filter(fraud)["amount"]).as_py()
    amount_ok = pc.mean(tx.filter(pc.invert(fraud))["amount"]).as_py()
    assert amount_fraud > 1.3 * amount_ok
    merchants = data.merchant_features.group_by("merchant_id").aggregate(
        [("fraud_rate_30d", "mean")]
    )
    joined = tx.select(["merchant_id", "is_fraud"]).join(merchants, "merchant_id")
    by_label = joined.group_by("is_fraud").aggregate([("fraud_rate_30d_mean", "mean")])
    means = dict(
        zip(
            by_label["is_fraud"].to_pylist(),
            by_label["fraud_rate_30d_mean_mean"].to_pylist(),
            strict=True,
        )
    )
    assert means[True] > 3 * means[False]


def test_card_features_are_consistent(data: CreditCardData) -> None:
    cards = data.card_features
    assert pc.all(pc.less_equal(cards["spend_1d"], cards["spend_7d"])).as_py()
    for column in ("spend_1d", "spend_7d", "tx_count_7d"):
        assert pc.min(cards[column]).as_py() >= 0
    assert pc.min(cards["avg_amt_30d"]).as_py() > 0
    assert pc.min(data.transactions["amount"]).as_py() > 0
    rates = data.merchant_features["fraud_rate_30d"]
    assert 0 <= pc.min(rates).as_py() <= pc.max(rates).as_py() <= 1
