"""The predict fast path inside uvicorn's HTTP protocol: well-formed predictions are answered
without the ASGI app, exactly as it answers them; every other kind of request (and every
request a fast answer cannot be sure of) still reaches it, over real sockets."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

import fti
from fti.serving import fast
from fti.serving.http_protocol import FastHttpProtocol, find_fast_path
from fti.serving.server import create_app
from fti.serving.workers import in_thread
from tests.serving.conftest import deployed

PATH = "/v1/deployments/fraud/predict"
GOOD = b'{"cc_num": 1, "amount": 3.0}'


class _Spy:
    """The app uvicorn runs, counting the HTTP requests that reach it (``.app`` is what the
    protocol looks under for the fast path, as under uvicorn's own middleware)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def served(project: fti.Project) -> Iterator[tuple[int, _Spy]]:
    deployed(project)
    spy = _Spy(create_app(project))
    with in_thread(spy) as url:  # with the fast protocol, as fti serve runs it
        yield int(url.rsplit(":", 1)[1]), spy


def _post(body: bytes, path: str = PATH, version: str = "1.1", extra: str = "") -> bytes:
    head = (
        f"POST {path} HTTP/{version}\r\nHost: t\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def _read(reader: Any) -> tuple[int, dict[str, str], bytes]:
    status = int(reader.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := reader.readline().decode().strip()) != "":
        name, value = line.split(":", 1)
        headers[name.lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while size := int(reader.readline().strip(), 16):
            body += reader.read(size)
            reader.readline()
        reader.readline()
        return status, headers, body
    return status, headers, reader.read(int(headers.get("content-length", 0)))


def _connect(port: int) -> tuple[socket.socket, Any]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    return sock, sock.makefile("rb")


def test_well_formed_predictions_skip_the_app_and_answer_as_it_does(
    served: tuple[int, _Spy],
) -> None:
    port, spy = served
    sock, reader = _connect(port)
    with sock, reader:
        answers = []
        for _ in range(3):  # one keep-alive connection
            sock.sendall(_post(GOOD))
            status, headers, body = _read(reader)
            assert status == 200 and headers["content-type"] == "application/json"
            assert "feature_vector;dur=" in headers["server-timing"]
            assert {"date", "server"} <= headers.keys()  # uvicorn's default headers too
            answers.append(json.loads(body))
        assert spy.paths == []
        # the same request through the app (a query string is not the fast path's exact URL)
        sock.sendall(_post(GOOD, PATH + "?via=app"))
        status, _, body = _read(reader)
        assert status == 200 and spy.paths == [PATH]
        slow = json.loads(body)
    for answer in answers:
        assert answer["prediction"] == slow["prediction"]
        assert answer.keys() == slow.keys()
    assert len({a["request_id"] for a in answers} | {slow["request_id"]}) == 4


def test_pipelined_split_and_http10_requests(served: tuple[int, _Spy]) -> None:
    port, spy = served
    sock, reader = _connect(port)
    with sock, reader:
        sock.sendall(_post(GOOD) + _post(b'{"cc_num": 2, "amount": 1.0}'))  # pipelined
        first, second = _read(reader), _read(reader)
        assert (first[0], second[0]) == (200, 200)
        assert json.loads(first[2])["request_id"] != json.loads(second[2])["request_id"]
        whole = _post(GOOD)
        for part in (whole[:20], whole[20:-10], whole[-10:]):  # a request in pieces
            sock.sendall(part)
            time.sleep(0.05)
        assert _read(reader)[0] == 200
        # a request behind one the app answers waits its turn: answers stay in order
        sock.sendall(_post(b'{"cc_num": "one", "amount": 3.0}') + _post(GOOD))
        assert [_read(reader)[0] for _ in range(2)] == [422, 200]
        assert spy.paths == [PATH, PATH]  # the second one queued behind the first
    sock, reader = _connect(port)
    with sock, reader:
        sock.sendall(_post(GOOD, version="1.0"))
        status, headers, _ = _read(reader)
        assert status == 200 and headers["connection"] == "close"
        assert reader.read() == b""  # closed by the server


def test_everything_else_reaches_the_app(served: tuple[int, _Spy]) -> None:
    port, spy = served
    sock, reader = _connect(port)
    with sock, reader:
        sock.sendall(_post(b'{"cc_num": "one", "amount": 3.0}'))  # not well-formed
        status, _, body = _read(reader)
        assert status == 422 and "cc_num" in body.decode()
        sock.sendall(_post(b"{not json"))
        assert _read(reader)[0] == 422
        sock.sendall(_post(GOOD, extra="Expect: 100-continue\r\n"))
        status, _, _ = _read(reader)
        if status == 100:  # the interim answer, then the real one
            status, _, _ = _read(reader)
        assert status == 200
        chunked = (
            (
                f"POST {PATH} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                f"Transfer-Encoding: chunked\r\n\r\n{len(GOOD):x}\r\n"
            ).encode()
            + GOOD
            + b"\r\n0\r\n\r\n"
        )
        sock.sendall(chunked)
        assert _read(reader)[0] == 200
        sock.sendall(f"GET {PATH} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        assert _read(reader)[0] == 405
        big = b'{"cc_num": 1, "amount": 3.0, "pad": "' + b"x" * (2 << 20) + b'"}'
        sock.sendall(_post(big))
        assert _read(reader)[0] == 413
    assert spy.paths == [PATH] * 6


def test_a_bug_in_the_fast_path_is_a_500_not_a_hang(
    served: tuple[int, _Spy], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, spy = served

    def broken(self: Any, route: Any, body: bytes) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(fast.FastPredict, "answer", broken)
    sock, reader = _connect(port)
    with sock, reader:
        sock.sendall(_post(GOOD))
        status, headers, body = _read(reader)
        assert (status, body) == (500, b"Internal Server Error")
        assert headers["connection"] == "close" and reader.read() == b""
    assert spy.paths == []


def test_the_fast_path_is_found_under_middleware() -> None:
    class Middleware:
        def __init__(self, app: Any) -> None:
            self.app = app

    assert find_fast_path(Middleware(Middleware(object()))) is None
    holder = Middleware(None)
    holder.fast_path = fast.FastPredict(holder, {}, 10, 10)  # type: ignore[attr-defined]
    assert find_fast_path(Middleware(holder)) is holder.fast_path  # type: ignore[attr-defined]


def test_fti_serve_runs_it() -> None:
    from fti.serving.workers import uvicorn_options

    assert uvicorn_options()["http"] is FastHttpProtocol
