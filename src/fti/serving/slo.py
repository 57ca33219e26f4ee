"""Service-level objectives of a deployment and how fast their error budget burns.

``deploy(slo={"p99_ms": 3, "availability": 0.999})`` sets two objectives:

* **latency**: at most 1% of answered requests may take longer than ``p99_ms`` (the whole
  pipeline, as ``total`` in the timings);
* **availability**: at most ``1 - availability`` of requests may fail with a server error
  (5xx). A client's mistake (4xx) is not the service failing.

The **burn rate** over a window is the share of bad events divided by the share the
objective allows: 1 spends the budget exactly over the SLO period, 14.4 over 1 h is the
classic page-now threshold. The server exports it per deployment for a 5-minute and a 1-hour
window (``fti_slo_burn_rate``), next to the raw counters (``fti_slo_events_total``) from
which Prometheus can compute any other window::

    rate(fti_slo_events_total{event="slow"}[1h])
      / rate(fti_slo_events_total{event="answered"}[1h]) / 0.01

With several workers each one tracks its own traffic and the exported burn is the worst
worker's (they see the same mix through the kernel's connection spreading).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Mapping

WINDOWS = {"5m": 300, "1h": 3600}
LATENCY_BUDGET = 0.01  # a p99 objective: 1% of requests may be slower


class SloTracker:
    """Per-second counts of one deployment's requests, kept for the longest window."""

    def __init__(
        self, objectives: Mapping[str, float], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.p99_s = objectives["p99_ms"] / 1000 if "p99_ms" in objectives else None
        self.availability = objectives.get("availability")
        self._clock = clock
        # [second, requests, server errors, answered, slow]
        self._buckets: collections.deque[list[int]] = collections.deque()
        self._horizon = max(WINDOWS.values())
        self._totals = [0, 0, 0, 0]  # since start: requests, server errors, answered, slow

    def _bucket(self) -> list[int]:
        second = int(self._clock())
        buckets = self._buckets
        if not buckets or buckets[-1][0] != second:
            buckets.append([second, 0, 0, 0, 0])
            while buckets[0][0] <= second - self._horizon:
                buckets.popleft()
        return buckets[-1]

    def answered(self, seconds: float) -> None:
        slow = self.p99_s is not None and seconds > self.p99_s
        for counts in (self._bucket(), self._totals):
            counts[-4] += 1
            counts[-2] += 1
            counts[-1] += slow

    def failed(self) -> None:
        for counts in (self._bucket(), self._totals):
            counts[-4] += 1
            counts[-3] += 1

    def totals(self) -> list[int]:
        """Requests, server errors, answered and slow requests since the tracker started."""
        return list(self._totals)

    def burn(self, window_s: int) -> dict[str, float]:
        """``{"latency": ..., "availability": ...}`` over the last ``window_s`` seconds (only
        the objectives that were set; 0 without traffic)."""
        since = int(self._clock()) - window_s
        requests = errors = answered = slow = 0
        for second, r, e, a, s in reversed(self._buckets):
            if second <= since:
                break
            requests, errors, answered, slow = requests + r, errors + e, answered + a, slow + s
        out: dict[str, float] = {}
        if self.p99_s is not None:
            out["latency"] = slow / answered / LATENCY_BUDGET if answered else 0.0
        if self.availability is not None:
            out["availability"] = errors / requests / (1 - self.availability) if requests else 0.0
        return out
