"""Seeded synthetic credit-card data: the DESIGN.md §5 workload, shared by demo and benchmarks.

At ``scale=1``:

=================  ==========================  ==============================================
table              rows                        columns
=================  ==========================  ==============================================
card_features      100k cards × 10 snapshots   cc_num, event_ts, spend_1d, spend_7d,
                                               tx_count_7d, avg_amt_30d
merchant_features  10k merchants × 30          merchant_id, event_ts, avg_daily_spend,
                                               fraud_rate_30d
transactions       1M                          tx_id, cc_num, merchant_id, event_ts, amount,
                                               is_fraud
=================  ==========================  ==============================================

Everything spans the 60 days before ``start``; snapshot times are random per entity (distinct
per entity), so point-in-time joins meet late, early and missing matches. Fraud (about 1.5%)
depends on the amount relative to the card's usual amount and on the merchant's fraud rate,
so a model has something to learn. Generation is vectorized NumPy: 1M rows in well under 1 s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

DEFAULT_END = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAYS = 60
_US_PER_DAY = 86_400 * 1_000_000
_TS = pa.timestamp("us", tz="UTC")

CARD_SCHEMA = pa.schema(
    [
        ("cc_num", pa.int64()),
        ("event_ts", _TS),
        ("spend_1d", pa.float64()),
        ("spend_7d", pa.float64()),
        ("avg_amt_30d", pa.float64()),
        ("tx_count_7d", pa.int64()),
    ]
)
MERCHANT_SCHEMA = pa.schema(
    [
        ("merchant_id", pa.int64()),
        ("event_ts", _TS),
        ("avg_daily_spend", pa.float64()),
        ("fraud_rate_30d", pa.float64()),
    ]
)
TRANSACTION_SCHEMA = pa.schema(
    [
        ("tx_id", pa.int64()),
        ("cc_num", pa.int64()),
        ("merchant_id", pa.int64()),
        ("event_ts", _TS),
        ("amount", pa.float64()),
        ("is_fraud", pa.bool_()),
    ]
)


@dataclass(frozen=True)
class CreditCardData:
    card_features: pa.Table
    merchant_features: pa.Table
    transactions: pa.Table
    window_start: dt.datetime
    window_end: dt.datetime


def _snapshot_times(
    rng: np.random.Generator, entities: int, snapshots: int, start_us: int
) -> np.ndarray:
    """Distinct, sorted snapshot times per entity: one random time in each equal time slot."""
    slot = DAYS * _US_PER_DAY // snapshots
    offsets = rng.integers(0, slot, size=(entities, snapshots))
    return start_us + np.arange(snapshots) * slot + offsets


def generate(
    scale: float = 1.0, seed: int = 42, start: dt.datetime | None = None
) -> CreditCardData:
    """The three tables at ``scale`` (1.0 = 1M card rows), identical for the same seed.

    ``start`` is when the data set starts being used: every row lies in the 60 days before
    it (default 2026-01-01 UTC, so runs are reproducible).
    """
    if not (isinstance(scale, int | float) and np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale}")
    if start is not None and start.tzinfo is None:
        raise ValueError("start must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
    end = (start or DEFAULT_END).astimezone(dt.UTC)
    rng = np.random.default_rng(seed)
    end_us = (end - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    start_us = end_us - DAYS * _US_PER_DAY
    cards = max(1, int(100_000 * scale))
    merchants = max(1, int(10_000 * scale))
    n_tx = max(1, int(1_000_000 * scale))

    # Cards: a typical amount per card drives every spend aggregate.
    typical = rng.lognormal(mean=3.5, sigma=0.8, size=cards)
    card_ts = _snapshot_times(rng, cards, 10, start_us).ravel()
    card_ids = np.repeat(np.arange(cards, dtype=np.int64) + 4_000_000_000_000_000, 10)
    base = np.repeat(typical, 10)
    tx_7d = rng.poisson(np.repeat(rng.uniform(3, 30, cards), 10))
    spend_1d = base * rng.gamma(2.0, 0.6, cards * 10)
    card_features = pa.table(
        {
            "cc_num": card_ids,
            "event_ts": pa.array(card_ts, pa.int64()).cast(_TS),
            "spend_1d": spend_1d.round(2),
            "spend_7d": (spend_1d * rng.uniform(4, 9, cards * 10)).round(2),
            "avg_amt_30d": (base * rng.normal(1.0, 0.1, cards * 10)).clip(0.5).round(2),
            "tx_count_7d": tx_7d.astype(np.int64),
        },
        schema=CARD_SCHEMA,
    )

    # Merchants: a few are risky; their fraud rate drifts a little between snapshots.
    risk = rng.beta(0.6, 60, merchants)
    merchant_ts = _snapshot_times(rng, merchants, 30, start_us).ravel()
    drift = rng.uniform(0.7, 1.3, merchants * 30)
    merchant_features = pa.table(
        {
            "merchant_id": np.repeat(np.arange(merchants, dtype=np.int64), 30),
            "event_ts": pa.array(merchant_ts, pa.int64()).cast(_TS),
            "avg_daily_spend": np.repeat(rng.lognormal(7, 1, merchants), 30).round(2),
            "fraud_rate_30d": (np.repeat(risk, 30) * drift).clip(0, 1).round(5),
        },
        schema=MERCHANT_SCHEMA,
    )

    # Transactions: the spine. Fraud is likelier for unusual amounts at risky merchants.
    tx_card = rng.integers(0, cards, n_tx)
    tx_merchant = rng.integers(0, merchants, n_tx)
    tx_ts = np.sort(rng.integers(start_us, end_us, n_tx))
    ratio = rng.lognormal(0, 0.7, n_tx)
    amount = (typical[tx_card] * ratio).clip(0.01)
    logit = -5.9 + 1.6 * np.log(ratio) + 60 * risk[tx_merchant]
    is_fraud = rng.random(n_tx) < 1 / (1 + np.exp(-logit))
    transactions = pa.table(
        {
            "tx_id": np.arange(n_tx, dtype=np.int64),
            "cc_num": card_ids[tx_card * 10],
            "merchant_id": tx_merchant.astype(np.int64),
            "event_ts": pa.array(tx_ts, pa.int64()).cast(_TS),
            "amount": amount.round(2),
            "is_fraud": is_fraud,
        },
        schema=TRANSACTION_SCHEMA,
    )
    window_start = end - dt.timedelta(days=DAYS)
    return CreditCardData(card_features, merchant_features, transactions, window_start, end)
