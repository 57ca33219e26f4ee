"""The online reads of a serving plan, and what a failing online store answers.

A plan's definition never changes once built; what its reads observe does, and lives here:
whether the last lookup failed (a server's readiness, :mod:`fti.serving.watcher`), whether
requests skip a store known to be failing until a probe finds it answering, and the values
last served per key for the ``last_known`` missing-values policy.
"""

from __future__ import annotations

from typing import Any

from fti.errors import OnlineStoreUnavailable

Requests = list[tuple[str, list[bytes]]]  # (online table, keys) per lookup
Found = list[list[bytes | None]]  # the stored value of each key, per lookup


class OnlineReads:
    """``multi_get`` on the online store under a missing-values policy."""

    def __init__(
        self,
        store: Any,
        missing: str,
        lookups: int,
        last_known_keys: int,  # per online group; the oldest entries go first
    ) -> None:
        self.store = store
        self.missing = missing
        self.last_known_keys = last_known_keys
        # None when the last lookup answered, else why it failed
        self.failure: str | None = None
        # set by a server that calls probe(): while failure is set, lookups are not tried
        # (each would hold the event loop for the whole timeout) until a probe succeeds
        self.fail_fast = False
        self._caches: list[dict[bytes, bytes]] = [{} for _ in range(lookups)]

    def multi_get(self, requests: Requests) -> tuple[Found, str | None]:
        """The stored values, or when the online store fails (down, timing out) what the
        missing-values policy says: an error, no values (impute / null), or the last values
        served for each key (``last_known``); the second item says why, for the answer."""
        if not requests:
            return [], None
        failed = self.failure
        if failed is not None and self.fail_fast:
            return self._on_failure(requests, f"{failed}; not tried again until it answers")
        try:
            found = self.store.multi_get(requests)
        except Exception as exc:  # any backend failure: the policy decides, never a hang
            reason = f"online store unavailable ({type(exc).__name__}: {exc})"
            self.failure = reason
            return self._on_failure(requests, reason, exc)
        if self.failure is not None:
            self.failure = None
        if self.missing == "last_known":
            self._remember(requests, found)
        return found, None

    def _remember(self, requests: Requests, found: Found) -> None:
        bound = self.last_known_keys
        for (_, keys), values, cache in zip(requests, found, self._caches, strict=True):
            for key, value in zip(keys, values, strict=True):
                if value is not None:
                    cache.pop(key, None)
                    cache[key] = value
                    if len(cache) > bound:
                        del cache[next(iter(cache))]

    def _on_failure(
        self, requests: Requests, reason: str, exc: Exception | None = None
    ) -> tuple[Found, str | None]:
        if self.missing == "error":
            raise OnlineStoreUnavailable(reason) from exc
        if self.missing == "last_known":
            found = [
                [cache.get(k) for k in keys]
                for (_, keys), cache in zip(requests, self._caches, strict=True)
            ]
            return found, reason + "; served the last known values"
        return [[None] * len(keys) for _, keys in requests], reason

    def probe(self, table: str) -> None:
        """One lookup in ``table`` of a key that need not exist, outside any request: clears
        :attr:`failure` once the store answers again (a server that says it is not ready gets
        no requests to find out from)."""
        if self.failure is None:
            return
        try:
            self.store.multi_get([(table, [b"\0"])])
        except Exception as exc:
            self.failure = f"online store unavailable ({type(exc).__name__}: {exc})"
            return
        self.failure = None
