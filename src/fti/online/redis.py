"""Shared online store on Redis: one string key per row, newest event time enforced server-side.

Layout, for namespace ``ns`` and table ``t``:

* ``ns:t:<key bytes>`` holds ``%016x`` of ``event_time + 2**63`` followed by the value. The
  fixed-width hex prefix lets a Lua script decide newest-wins without a second key per row.
* ``ns:t#keys`` is a set of the table's key bytes. ``count`` is then ``SCARD`` and ``scan``
  and ``drop`` touch only the table, where ``SCAN MATCH ns:t:*`` would walk the whole
  keyspace for every call and may return a key twice. It costs one ``SADD`` per new key,
  done inside the write script so the set and the rows never disagree.
* ``ns:t#commit`` is the watermark. ``#`` cannot occur in a table name, so neither of the two
  bookkeeping keys can collide with a row key (``ns:t:__commit`` would, for the row key
  ``b"__commit"``).

A write goes in chunks of rows, each one script call and so atomic on its own. The rows of a
chunk travel as a single msgpack argument rather than two arguments per row: redis-py packs
every argument in Python, which cost more than the server's work (100k rows: 0.63 s against
0.35 s here). The script therefore builds the row keys itself, which standalone Redis allows;
Redis Cluster would need hash tags per table either way, since a chunk spans many slots.
The watermark is set by the last chunk, sent only after every earlier chunk succeeded, so a
failed write never advances it.

:meth:`RedisOnlineStore.with_timeout` gives lookups their own connection pool whose socket
timeout is the lookup timeout (redis-py applies it per socket operation; a lookup is one
``MGET`` round trip) and which never retries, so a paused or overloaded server costs a request
at most that long.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgpack

from fti._redact import redact
from fti.errors import (
    ConfigurationError,
    MissingDependencyError,
    OnlineLookupTimeout,
    OnlineStoreUnavailable,
)
from fti.online.base import OnlineStore

if TYPE_CHECKING:
    import redis as redis_module

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAMESPACE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_OFFSET = 1 << 63
_STAMP = 16  # hex digits of the event-time prefix
# Rows per script call: big enough to amortise the call, small enough that one call blocks
# the (single-threaded) server for only a few milliseconds.
_WRITE_CHUNK = 5000
_CHUNKS_PER_PIPELINE = 20
_MGET_CHUNK = 10000
_DROP_CHUNK = 5000

# KEYS[1] member set, KEYS[2] watermark; ARGV[1] commit or "", ARGV[2] row-key prefix, ARGV[3]
# msgpack [key, stamped value, key, stamped value, ...] in raw (binary-safe) strings.
# Lua compares strings with strcoll() and Redis takes LC_COLLATE from its environment, so the
# hex stamps are compared as numbers, in two 32-bit halves that a Lua double holds exactly.
_WRITE_LUA = """
local function at_least(new, old)
  local a, b = tonumber(string.sub(new, 1, 8), 16), tonumber(string.sub(old, 1, 8), 16)
  if a ~= b then return a > b end
  return tonumber(string.sub(new, 9, 16), 16) >= tonumber(string.sub(old, 9, 16), 16)
end
local rows = cmsgpack.unpack(ARGV[3])
local added = {}
for i = 1, #rows, 2 do
  local key = ARGV[2] .. rows[i]
  local old = redis.call('GET', key)
  if not old then
    redis.call('SET', key, rows[i + 1])
    added[#added + 1] = rows[i]
  elseif at_least(rows[i + 1], old) then
    redis.call('SET', key, rows[i + 1])
  end
end
for s = 1, #added, 1000 do
  redis.call('SADD', KEYS[1], unpack(added, s, math.min(s + 999, #added)))
end
if ARGV[1] ~= '' then redis.call('SET', KEYS[2], ARGV[1]) end
return #added
"""


def _strip(value: bytes | None) -> bytes | None:
    return None if value is None else value[_STAMP:]


class RedisOnlineStore(OnlineStore):
    """Online store in a Redis server, shared by any number of processes and machines."""

    def __init__(
        self,
        url: str,
        namespace: str = "fti",
        *,
        timeout: float = 10.0,
        lookup_timeout: float | None = None,
    ) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:
            raise MissingDependencyError("redis", "redis", "The Redis online store") from exc
        if not _NAMESPACE.match(namespace):
            raise ValueError(f"invalid online store namespace {namespace!r}")
        self.namespace = namespace
        self.lookup_timeout = lookup_timeout
        self._url = url
        self._timed: dict[float, RedisOnlineStore] = {}
        self._lock = threading.Lock()
        self._timeout_error: type[Exception] = redis.exceptions.TimeoutError
        self._down_errors: tuple[type[Exception], ...] = (
            redis.exceptions.TimeoutError,
            redis.exceptions.ConnectionError,
        )
        # A bounded socket timeout turns a stalled server into an error instead of a hang.
        options: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
        if lookup_timeout is not None:
            # The URL's own timeouts would win over these, and a retry would double the wait.
            url = _without_query(url, ("socket_timeout", "socket_connect_timeout"))
            options = {
                "socket_timeout": lookup_timeout,
                "socket_connect_timeout": lookup_timeout,
                "retry": Retry(NoBackoff(), 0),
            }
        try:
            self._pool = redis.ConnectionPool.from_url(url, **options)
        except ValueError as exc:  # a bad port or option, said without naming the URL
            raise ConfigurationError(f"invalid Redis URL {redact(url)!r}: {exc}") from exc
        self._client: redis_module.Redis = redis.Redis(connection_pool=self._pool)
        self._write_script = self._client.register_script(_WRITE_LUA)

    @property
    def address(self) -> str:
        args = self._pool.connection_kwargs
        if "path" in args:
            return f"Redis at unix:{args['path']}"
        host, port = args.get("host", "localhost"), args.get("port", 6379)
        return f"Redis at {host}:{port}/{args.get('db', 0)}"

    def with_timeout(self, seconds: float) -> OnlineStore:
        with self._lock:
            timed = self._timed.get(seconds)
            if timed is None:
                timed = RedisOnlineStore(self._url, self.namespace, lookup_timeout=seconds)
                self._timed[seconds] = timed
        return timed

    def _unavailable(self, exc: Exception) -> OnlineStoreUnavailable:
        """A read's failure as fti's error, naming the server (redis-py's errors do not
        always, and callers should not need to know redis-py)."""
        if self.lookup_timeout is not None and isinstance(exc, self._timeout_error):
            return OnlineLookupTimeout(
                f"{self.address} did not answer within the lookup timeout of "
                f"{self.lookup_timeout * 1000:g} ms ({exc})"
            )
        return OnlineStoreUnavailable(f"{self.address} is unavailable: {type(exc).__name__}: {exc}")

    def _prefix(self, table: str) -> bytes:
        if not _TABLE_NAME.match(table):
            raise ValueError(f"invalid online table name {table!r}")
        return f"{self.namespace}:{table}:".encode()

    def _meta(self, table: str, what: str) -> bytes:
        self._prefix(table)
        return f"{self.namespace}:{table}#{what}".encode()

    def write(
        self,
        table: str,
        keys: Sequence[bytes],
        event_times: Sequence[int],
        values: Sequence[bytes],
        commit: int | None,
    ) -> None:
        if not len(keys) == len(event_times) == len(values):
            raise ValueError("keys, event_times and values must have the same length")
        prefix = self._prefix(table)
        head = [self._meta(table, "keys"), self._meta(table, "commit")]
        # Checked up front: a stamp wider than 16 hex digits would break the ordering, and the
        # last chunk is only built after the others were sent.
        if keys and not (min(event_times) >= -_OFFSET and max(event_times) < _OFFSET):
            raise ValueError("event times must fit in a signed 64-bit integer")
        step = _WRITE_CHUNK
        chunks = [range(s, min(s + step, len(keys))) for s in range(0, len(keys), step)]
        if not chunks:
            if commit is None:
                return
            chunks = [range(0)]

        def call(rows: range, commit_arg: str, client: Any) -> None:
            flat: list[bytes] = []
            for i in rows:
                flat += (keys[i], b"%016x" % (event_times[i] + _OFFSET) + values[i])
            packed = msgpack.packb(flat, use_bin_type=False)
            self._write_script(keys=head, args=[commit_arg, prefix, packed], client=client)

        # Pipelined a few chunks at a time, so a huge write never sits whole in a buffer.
        # execute() raises on the first failed chunk, before the watermark can move.
        for start in range(0, len(chunks) - 1, _CHUNKS_PER_PIPELINE):
            pipe = self._client.pipeline(transaction=False)
            for rows in chunks[start : min(start + _CHUNKS_PER_PIPELINE, len(chunks) - 1)]:
                call(rows, "", pipe)
            pipe.execute()
        call(chunks[-1], "" if commit is None else str(commit), self._client)

    def get(self, table: str, key: bytes) -> bytes | None:
        try:
            return _strip(cast("bytes | None", self._client.get(self._prefix(table) + key)))
        except self._down_errors as exc:
            raise self._unavailable(exc) from exc

    def _mget(self, full_keys: list[bytes]) -> list[bytes | None]:
        try:
            return self._mget_chunked(full_keys)
        except self._down_errors as exc:
            raise self._unavailable(exc) from exc

    def _mget_chunked(self, full_keys: list[bytes]) -> list[bytes | None]:
        if len(full_keys) <= _MGET_CHUNK:
            return cast("list[bytes | None]", self._client.mget(full_keys)) if full_keys else []
        # Still one round trip, but no single command blocks the server for long.
        pipe = self._client.pipeline(transaction=False)
        for start in range(0, len(full_keys), _MGET_CHUNK):
            pipe.mget(full_keys[start : start + _MGET_CHUNK])
        return [v for part in pipe.execute() for v in part]

    def get_many(self, table: str, keys: Sequence[bytes]) -> list[bytes | None]:
        prefix = self._prefix(table)
        return [_strip(v) for v in self._mget([prefix + k for k in keys])]

    def multi_get(
        self, requests: Sequence[tuple[str, Sequence[bytes]]]
    ) -> list[list[bytes | None]]:
        full_keys: list[bytes] = []
        for table, keys in requests:
            prefix = self._prefix(table)
            full_keys.extend(prefix + k for k in keys)
        found = self._mget(full_keys)
        out: list[list[bytes | None]] = []
        start = 0
        for _, keys in requests:
            out.append([_strip(v) for v in found[start : start + len(keys)]])
            start += len(keys)
        return out

    def applied_commit(self, table: str) -> int | None:
        raw = cast("bytes | None", self._client.get(self._meta(table, "commit")))
        return None if raw is None else int(raw)

    def scan(self, table: str) -> Iterator[tuple[bytes, bytes]]:
        prefix = self._prefix(table)
        members = self._meta(table, "keys")
        # SSCAN may repeat a member when the set is resized mid-iteration.
        seen: set[bytes] = set()
        cursor = 0
        while True:
            cursor, batch = cast(
                "tuple[int, list[bytes]]", self._client.sscan(members, cursor, count=1000)
            )
            fresh = [k for k in batch if k not in seen]
            seen.update(fresh)
            for key, value in zip(fresh, self._mget([prefix + k for k in fresh]), strict=True):
                if value is not None:
                    yield key, value[_STAMP:]
            if cursor == 0:
                return

    def count(self, table: str) -> int:
        return int(self._client.scard(self._meta(table, "keys")))

    def drop(self, table: str) -> None:
        prefix = self._prefix(table)
        members = self._meta(table, "keys")
        # Watermark first: a drop cut short then reads as "nothing applied", and catching up
        # rewrites the table instead of trusting rows that are half gone.
        self._client.delete(self._meta(table, "commit"))
        while True:
            batch = cast("list[bytes]", self._client.srandmember(members, _DROP_CHUNK))
            if not batch:
                break
            # Rows and their members leave together, so count() stays exact at every step.
            pipe = self._client.pipeline(transaction=True)
            pipe.unlink(*[prefix + k for k in batch])
            pipe.srem(members, *batch)
            pipe.execute()
        self._client.delete(members)

    def close(self) -> None:
        with self._lock:
            timed = list(self._timed.values())
        for store in timed:
            store.close()
        self._client.close()
        self._pool.disconnect()


def _without_query(url: str, names: Sequence[str]) -> str:
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
    return urlunsplit(parts._replace(query=urlencode(kept)))
