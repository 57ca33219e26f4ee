"""What a connection to ``fti serve`` may hold, over raw sockets against a real server: idle
and slow connections are closed (408 for a request that does not arrive in time), headers
too large or too many are refused 431, and a worker over its connection limit answers 503;
every refusal is the server's JSON error and closes the connection."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest

import fti
from fti.serving.limits import Limits
from fti.serving.server import create_app
from fti.serving.workers import in_thread
from tests.serving.conftest import deployed

PATH = "/v1/deployments/fraud/predict"
GOOD = b'{"cc_num": 1, "amount": 3.0}'
LIMITS = Limits(
    keep_alive=1,
    header_timeout=1.5,
    body_timeout=1.5,
    max_header_bytes=8192,
    max_headers=20,
    max_connections=30,
)
SLACK = 10  # seconds past a limit before the test gives up waiting for the server


@pytest.fixture
def port(project: fti.Project) -> Iterator[int]:
    deployed(project)
    with in_thread(create_app(project), limits=LIMITS) as url:
        yield int(url.rsplit(":", 1)[1])


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=SLACK)


def _until_closed(sock: socket.socket, within: float) -> bytes:
    """Everything the server sends until it closes the connection, within ``within`` s."""
    deadline = time.monotonic() + within
    data = b""
    while (left := deadline - time.monotonic()) > 0:
        if select.select([sock], [], [], left)[0]:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk
    raise AssertionError(f"the server kept the connection open for {within} s: {data!r}")


def _refused(data: bytes, status: int, error: str) -> None:
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split(b" ", 2)[1] == str(status).encode(), data
    assert b"connection: close" in head.lower() and b"application/json" in head, data
    assert json.loads(body)["error"] == error, data


def _post(headers: bytes = b"", body: bytes = GOOD, path: str = PATH) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n".encode()
        + headers
        + b"\r\n"
        + body
    )


def test_idle_connections_are_closed_before_and_after_a_request(port: int) -> None:
    idle = [_connect(port) for _ in range(20)]
    used = _connect(port)
    used.sendall(_post())
    assert used.recv(65536).startswith(b"HTTP/1.1 200")
    for sock in [*idle, used]:
        assert _until_closed(sock, LIMITS.keep_alive + SLACK) == b""  # nothing to answer
        sock.close()


def test_slow_headers_are_answered_408_however_often_a_byte_comes(port: int) -> None:
    with _connect(port) as sock:
        sock.sendall(b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: t\r\n")
        deadline = time.monotonic() + LIMITS.header_timeout + SLACK
        while not select.select([sock], [], [], 0.2)[0]:  # a header byte every 0.2 s
            assert time.monotonic() < deadline, "no answer to headers that never end"
            sock.sendall(b"x")
        _refused(_until_closed(sock, SLACK), 408, "RequestTimeout")


@pytest.mark.parametrize("path", [PATH, "/v2/models/fraud/infer"])
def test_a_body_that_does_not_arrive_is_answered_408(port: int, path: str) -> None:
    with _connect(port) as sock:  # the predict fast path, and a route the app reads
        sock.sendall(_post(body=GOOD, path=path)[:-5])
        _refused(_until_closed(sock, LIMITS.body_timeout + SLACK), 408, "RequestTimeout")


@pytest.mark.parametrize(
    "headers",
    [
        b"X-Big: " + b"a" * (1 << 20) + b"\r\n",  # one large header
        b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(10_000)),  # many small ones
        b"".join(b"X-%d: %s\r\n" % (i, b"b" * 1000) for i in range(12)),  # too large together
        b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(LIMITS.max_headers)),
    ],
    ids=["one-large", "too-many", "large-together", "one-too-many"],
)
def test_headers_too_large_or_too_many_are_answered_431(port: int, headers: bytes) -> None:
    with _connect(port) as sock:
        sender = threading.Thread(target=_send_all, args=(sock, _post(headers)), daemon=True)
        sender.start()
        _refused(_until_closed(sock, SLACK), 431, "RequestHeaderFieldsTooLarge")
        sender.join(SLACK)


def _send_all(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the server refused and closed before reading it all
        sock.sendall(data)


def test_headers_within_the_limits_are_served(port: int) -> None:
    headers = b"".join(b"X-%d: %s\r\n" % (i, b"c" * 200) for i in range(LIMITS.max_headers - 4))
    with _connect(port) as sock:
        sock.sendall(_post(headers))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")


def test_connections_over_the_limit_are_answered_503(port: int) -> None:
    held = [_connect(port) for _ in range(LIMITS.max_connections)]
    with _connect(port) as extra:
        _refused(_until_closed(extra, SLACK), 503, "ServiceUnavailable")
    for sock in held:
        sock.close()
    deadline = time.monotonic() + SLACK  # the server sees the closes: room again
    while True:
        with _connect(port) as sock:
            sock.sendall(_post())
            answer = sock.recv(65536)
        if answer.startswith(b"HTTP/1.1 200"):
            break
        assert time.monotonic() < deadline, answer
