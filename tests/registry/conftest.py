"""Registry fixtures: a small trained feature view, and a real S3-compatible server process
(moto's server mode on loopback) for the S3 artifact store."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

import fti
from tests.featurestore.helpers import ts

UTC_US = pa.timestamp("us", tz="UTC")


def build_view(fs: fti.FeatureStore) -> fti.FeatureView:
    """Transactions joined to card features, with a scaler: enough to train a classifier."""
    tx = fs.create_feature_group("tx", primary_key=["tx_id"], event_time="event_ts")
    card = fs.create_feature_group(
        "card", primary_key=["cc_num"], event_time="event_ts", online_enabled=True
    )
    n = 60
    tx.insert(
        pa.table(
            {
                "tx_id": pa.array(range(n), pa.int64()),
                "cc_num": pa.array([i % 6 for i in range(n)], pa.int64()),
                "event_ts": pa.array([ts(100 + i) for i in range(n)], UTC_US),
                "amount": pa.array([float(i % 13) for i in range(n)]),
                "is_fraud": pa.array([i % 13 > 9 for i in range(n)]),
            }
        )
    )
    card.insert(
        pa.table(
            {
                "cc_num": pa.array(range(6), pa.int64()),
                "event_ts": pa.array([ts(0)] * 6, UTC_US),
                "spend": pa.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
            }
        )
    )
    card.update_feature_description("spend", "Spend of the card so far")
    return fs.create_feature_view(
        "fraud",
        query=tx.select(["tx_id", "cc_num", "event_ts", "amount", "is_fraud"]).join(
            card.select_except(["event_ts"])
        ),
        labels=["is_fraud"],
        transformation_functions=[fti.builtins.standard_scaler("amount")],
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """An S3-compatible server (moto) in its own process; yields its endpoint URL."""
    executable = shutil.which("moto_server", path=os.path.dirname(sys.executable))
    if executable is None:
        message = "moto_server is not installed (pip install -e '.[dev]')"
        if os.environ.get("FTI_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    port = _free_port()
    process = subprocess.Popen(
        [executable, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the S3 test server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def s3_bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    """A fresh bucket, with the AWS_* variables pointing at the test server."""
    import boto3

    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_server,
        "AWS_ALLOW_HTTP": "true",
    }.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    name = f"models-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return client, name
