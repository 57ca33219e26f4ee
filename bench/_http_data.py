"""The requests of ``bench/http_predict.py`` and the values their answers must hold.

The requests are built from seeded random real transactions of the generated data. The
reference values come from that data (the newest rows per key, with the demo's late correction
of 5 cards) and from fti in-process (the deployment's view, transformation state and model);
each server's answers to the sampled requests are checked against them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from _common import FEAST_REFS, FEATURES
from _http_servers import Server

DEPLOYMENT = "cc_fraud"
FTI_PATH = f"/v1/deployments/{DEPLOYMENT}/predict"
FEATURES_DEPLOYMENT = f"{DEPLOYMENT}_features"  # a feature-view deployment of the same view
FEATURES_PATH = f"/v1/deployments/{FEATURES_DEPLOYMENT}/predict"
FEAST_PATH = "/get-online-features"
CORRECTED_CARDS = 5  # the demo re-inserts the newest snapshot of the 5 lowest cc_num

# -- data, reference values -----------------------------------------------------------------------


@dataclass
class Requests:
    fti: list[str]  # JSON bodies for fti
    feast: list[str]  # JSON bodies for Feast, the same transactions
    sample: list[dict[str, Any]]  # {"cc_num", "merchant_id", "amount"} for the checks


def make_requests(tx: Any, count: int, sample: int, seed: int) -> Requests:
    rng = np.random.default_rng(seed)
    cc = tx.column("cc_num").to_numpy()
    mer = tx.column("merchant_id").to_numpy()
    amount = tx.column("amount").to_numpy()
    rows = rng.integers(0, tx.num_rows, count)
    fti_bodies, feast_bodies = [], []
    for i in rows:
        c, m, a = int(cc[i]), int(mer[i]), float(amount[i])
        fti_bodies.append(json.dumps({"cc_num": c, "merchant_id": m, "amount": a}))
        feast_bodies.append(
            json.dumps({"features": FEAST_REFS, "entities": {"cc_num": [c], "merchant_id": [m]}})
        )
    picked = rng.choice(tx.num_rows, min(sample, tx.num_rows), replace=False)
    checks = [
        {"cc_num": int(cc[i]), "merchant_id": int(mer[i]), "amount": float(amount[i])}
        for i in picked
    ]
    return Requests(fti_bodies, feast_bodies, checks)


def corrected_cards(cards: Any) -> Any:
    """``card_features`` as the demo leaves it: the newest snapshot of the 5 lowest card numbers
    re-inserted with ``spend_7d * 1.1`` (same event time, so it replaces the row)."""
    import duckdb

    con = duckdb.connect()
    con.register("cards", cards)
    out = con.sql(
        f"""
        WITH five AS (SELECT DISTINCT cc_num FROM cards ORDER BY cc_num LIMIT {CORRECTED_CARDS}),
        last AS (SELECT cc_num, max(event_ts) AS ts FROM cards
                 WHERE cc_num IN (SELECT cc_num FROM five) GROUP BY cc_num)
        SELECT c.* REPLACE (
            CASE WHEN l.cc_num IS NULL THEN c.spend_7d ELSE c.spend_7d * 1.1 END AS spend_7d)
        FROM cards c LEFT JOIN last l ON c.cc_num = l.cc_num AND c.event_ts = l.ts
        """
    ).to_arrow_table()
    con.close()
    return out.cast(cards.schema)


def expected_row(
    req: dict[str, Any], cards: dict[int, dict[str, Any]], merchants: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """The untransformed features of the demo's view for one request (merchant columns m_)."""
    row = {"amount": req["amount"], **cards[req["cc_num"]]}
    row.update({f"m_{k}": v for k, v in merchants[req["merchant_id"]].items()})
    return row


# -- checks of the answers ------------------------------------------------------------------------


def fti_reference(
    home: Path,
    sample: list[dict[str, Any]],
    cards: dict[int, dict[str, Any]],
    merchants: dict[int, dict[str, Any]],
    features_deployment: bool,
) -> tuple[list[Any], list[Any], list[str], set[str], str]:
    """In-process, before any server runs: the predictions and the transformed vectors for the
    sampled requests (the deployment's view, transformation state and model), a check of their
    untransformed features against the generated data, the feature names and the request ids
    already in the inference log. With ``features_deployment``, also deploys the view itself
    (``fv.deploy``: transformed vectors, no model) for the features-only comparison."""
    import fti

    project = fti.connect(home)
    try:
        model = project.get_model_serving().get_deployment(DEPLOYMENT).model
        assert model is not None
        fs = project.get_feature_store()
        fv = fs.get_feature_view(DEPLOYMENT, 1)
        fv.init_serving(model.training_dataset_version)
        names = [f["name"] for f in fv.serving_schema["features"]]
        estimator = model.load()
        raw, vectors = [], []
        for r in sample:
            keys = {"cc_num": r["cc_num"], "merchant_id": r["merchant_id"]}
            passed = {"amount": r["amount"]}
            raw.append(fv.get_feature_vector(keys, passed_features=passed, transform=False))
            vectors.append(fv.get_feature_vector(keys, passed_features=passed))
        predictions = [
            v.item() if hasattr(v, "item") else v for v in estimator.predict(np.asarray(vectors))
        ]
        wrong = [
            i
            for i, (got, r) in enumerate(zip(raw, sample, strict=True))
            if got != [expected_row(r, cards, merchants)[n] for n in names]
        ]
        if wrong:
            i = wrong[0]
            check = (
                f"MISMATCH: fti in-process: {len(wrong):,} of {len(sample):,} untransformed "
                f"vectors differ from the generated data, e.g. {sample[i]}: {raw[i]}"
            )
        else:
            check = (
                f"OK: fti in-process: {len(sample):,}/{len(sample):,} sampled untransformed "
                "vectors equal the newest rows of the generated data (with the demo's correction)"
            )
        logged = set(fv.read_log(dataframe_type="arrow").column("request_id").to_pylist())
        if features_deployment:
            fv.deploy(
                FEATURES_DEPLOYMENT,
                training_dataset_version=model.training_dataset_version,
            )
    finally:
        project.close()
    return predictions, vectors, names, logged, check


def check_fti_http(
    server: Server,
    sample: list[dict[str, Any]],
    predictions: list[Any],
    path: str = FTI_PATH,
    label: str = "",
    what: str = "the prediction",
) -> tuple[str, list[str]]:
    import httpx

    wrong, ids = [], []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for r, want in zip(sample, predictions, strict=True):
            answer = client.post(path, json=r)
            if answer.status_code != 200:
                wrong.append(f"{r}: HTTP {answer.status_code} {answer.text[:200]}")
                continue
            body = answer.json()
            ids.append(body["request_id"])
            if body["prediction"] != want or body["degraded"]:
                wrong.append(f"{r}: {body['prediction']} (degraded {body['degraded']}) != {want}")
    n = len(sample)
    label = label or server.name
    if wrong:
        return f"MISMATCH: {label}: {len(wrong):,} of {n:,} answers wrong, e.g. {wrong[0]}", ids
    return (
        f"OK: {label}: {n:,}/{n:,} sampled requests answered 200 with {what} computed "
        "in-process (same view, transformation state and model), none degraded"
    ), ids


def check_feast_http(
    server: Server,
    sample: list[dict[str, Any]],
    cards: dict[int, dict[str, Any]],
    merchants: dict[int, dict[str, Any]],
) -> str:
    import httpx

    wrong = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for r in sample:
            body = {
                "features": FEAST_REFS,
                "entities": {"cc_num": [r["cc_num"]], "merchant_id": [r["merchant_id"]]},
            }
            answer = client.post(FEAST_PATH, json=body)
            if answer.status_code != 200:
                wrong.append(f"{r}: HTTP {answer.status_code} {answer.text[:200]}")
                continue
            found = answer.json()
            names = found["metadata"]["feature_names"]
            values = {n: res["values"][0] for n, res in zip(names, found["results"], strict=True)}
            want = {**cards[r["cc_num"]], **merchants[r["merchant_id"]]}
            if [values.get(f) for f in FEATURES] != [want[f] for f in FEATURES]:
                wrong.append(f"{r}: {[values.get(f) for f in FEATURES]}")
    n = len(sample)
    if wrong:
        return f"MISMATCH: {server.name}: {len(wrong):,} of {n:,} answers wrong, e.g. {wrong[0]}"
    return (
        f"OK: {server.name}: {n:,}/{n:,} sampled requests answered 200 with the newest values "
        "(the same as fti's untransformed features)"
    )
