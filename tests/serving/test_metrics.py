"""Buffered serving metrics report exactly what observing each request would have."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from fti.serving.metrics import BUCKETS, ServingMetrics

timings = st.fixed_dictionaries(
    {
        "feature_lookup": st.floats(0, 5_000, allow_nan=False),
        "total": st.sampled_from([0.0, *(b * 1000 for b in BUCKETS), 9e9]),  # on the bounds
    }
)


def _samples(text: bytes, prefix: str) -> dict[str, float]:
    out = {}
    for line in text.decode().splitlines():
        if line.startswith(prefix) and "_created" not in line:
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


@given(requests=st.lists(st.tuples(timings, st.integers(1, 5), st.booleans()), max_size=40))
@settings(max_examples=30, deadline=None)
def test_flushed_metrics_equal_observing_each_request(
    requests: list[tuple[dict[str, float], int, bool]],
) -> None:
    metrics = ServingMetrics()
    reference = CollectorRegistry()
    histogram = Histogram(
        "fti_step_seconds",
        "Latency of each step of the prediction pipeline",
        ["deployment", "model_version", "step"],
        buckets=BUCKETS,
        registry=reference,
    )
    instances = Counter("fti_instances", "x", ["deployment", "model_version"], registry=reference)
    for i, (steps, n, degraded) in enumerate(requests):
        version = i % 2 + 1
        metrics.observe("d", version, steps, n, int(degraded))
        if i == len(requests) // 2:
            metrics.flush()  # flushing in between changes nothing
        for step, ms in steps.items():
            histogram.labels("d", str(version), step).observe(ms / 1000)
        instances.labels("d", str(version)).inc(n)
    metrics.flush()
    mine = generate_latest(metrics.registry)
    expected = generate_latest(reference)
    got, want = _samples(mine, "fti_step_seconds"), _samples(expected, "fti_step_seconds")
    assert got.keys() == want.keys()
    for name, value in want.items():  # counts exactly; sums up to the order of addition
        assert got[name] == (pytest.approx(value) if "_sum{" in name else value), name
    assert _samples(mine, "fti_instances_total") == _samples(expected, "fti_instances_total")
