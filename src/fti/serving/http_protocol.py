"""uvicorn's HTTP/1.1 protocol with the predict fast path answered in the protocol itself.

Measured on 2 cores, uvicorn spends ~125 µs of CPU per request around even a hello-world ASGI
app (a scope dict, a request-response cycle with an ``asyncio.Event``, a task, ASGI messages,
header checks, two socket writes), against ~35 µs for a bare protocol on the same parser:
a quarter of what a whole prediction costs. So a request that the predict fast path
(:class:`fti.serving.fast.FastPredict`) would answer — ``POST`` to a predict route with a
``Content-Length`` body, nothing else in progress on the connection — is answered here, as
soon as its body is complete, with one write. Everything else (other routes, chunked bodies,
``Expect: 100-continue``, upgrades, pipelined requests behind a slow one, bodies not declared
``application/json``, and bodies that are not well-formed, which FastAPI then explains) goes
through uvicorn unchanged, with the same answers.

This subclasses ``uvicorn.protocols.http.httptools_impl.HttpToolsProtocol`` and uses its
parser callbacks and state (``url``, ``headers``, ``cycle``, ``expect_100_continue``,
``on_response_complete``), none of it uvicorn's public API: ``pyproject.toml`` bounds uvicorn
to the versions where ``tests/serving/test_uvicorn_contract.py`` finds every one of them as
used here (and names the one that moved when it does not).

It also enforces :class:`fti.serving.limits.Limits`: a deadline per connection for what it
is waiting on (the first request, a request's headers, its body), checked for every
connection by one timer per server (two clock reads per request on the fast path, no timer
per request); the size and count of headers, checked per header and per read of the socket
(a header still arriving is counted by the bytes read, since the parser keeps it whole until
it ends); and the open connections per worker. A refusal is answered with the JSON error and
the connection closed after a short linger, reading what the client still sends, so that it
reads the answer rather than a reset.
"""

from __future__ import annotations

import asyncio
import http
import logging
import weakref
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from fti.serving.fast import FastPredict, Handler, InstanceCheck, encode, is_json
from fti.serving.limits import Limits, refusal

_log = logging.getLogger("uvicorn.error")
_ERROR = (
    b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 21\r\nconnection: close\r\n\r\nInternal Server Error"
)


def _status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode()


_STATUS = {s.value: _status_line(s.value) for s in http.HTTPStatus}


def find_fast_path(app: Any) -> FastPredict | None:
    """The fast path of the app uvicorn loaded, under its middleware (``.app`` each)."""
    for _ in range(8):
        fast = getattr(app, "fast_path", None)
        if isinstance(fast, FastPredict):
            return fast
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


# what a connection waits for; its deadline (None: nothing, or uvicorn's keep-alive timer)
_IDLE, _HEAD, _BODY, _CLOSING = 0, 1, 2, 3
LINGER = 2.0  # seconds a refused connection still reads before it closes
_sweepers: weakref.WeakKeyDictionary[Any, _Sweeper] = weakref.WeakKeyDictionary()


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a refused request."""


class _Sweeper:
    """One timer per server that ends the connections past their deadline; it runs while
    there are connections."""

    def __init__(self, loop: asyncio.AbstractEventLoop, connections: Any, every: float) -> None:
        self.loop = loop
        self.connections = connections
        self.every = every
        self.running = False

    def start(self) -> None:
        if not self.running:
            self.running = True
            self.loop.call_later(self.every, self.sweep)

    def sweep(self) -> None:
        now = self.loop.time()
        for conn in list(self.connections):
            deadline = getattr(conn, "deadline", None)
            if deadline is not None and deadline <= now:
                conn.timed_out()
        self.running = False
        if self.connections:
            self.start()


class FastHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = getattr(self.config, "limits", None)
        self._limits = limits if isinstance(limits, Limits) else Limits()
        self.deadline: float | None = None
        self._phase = _IDLE
        self._heads = 0  # requests whose headers were complete: did a read end a head?
        self._head_bytes = 0  # bytes read of the head being read
        self._header_bytes = 0  # bytes of its complete headers
        fast = find_fast_path(self.app)
        self._fast = fast
        self._routes: dict[bytes, tuple[InstanceCheck, Handler]] = (
            {} if fast is None else {path.encode(): r for path, r in fast.routes.items()}
        )
        self._route: tuple[InstanceCheck, Handler] | None = None  # of the request being read
        self._body: list[bytes] = []
        self._keep_alive = True

    # the limits

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limits = self._limits
        sweeper = _sweepers.get(self.server_state)
        if sweeper is None:
            every = min(1.0, limits.keep_alive, limits.header_timeout, limits.body_timeout) / 2
            sweeper = _sweepers[self.server_state] = _Sweeper(self.loop, self.connections, every)
        sweeper.start()
        if len(self.connections) > limits.max_connections:
            detail = f"this worker has {limits.max_connections} open connections, its limit"
            self._refuse(503, "ServiceUnavailable", detail, b"retry-after: 1\r\n")
        else:  # a first request, like any next one, must begin within the keep-alive time
            self.deadline = self.loop.time() + limits.keep_alive

    def data_received(self, data: bytes) -> None:
        # uvicorn's, and the head counted; a refusal in a callback stops the parser
        if self._phase == _CLOSING:
            return  # read and dropped while the refusal lingers
        self._unset_keepalive_if_required()
        heads, reading_head = self._heads, self._phase != _BODY
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._phase == _CLOSING:
                return  # refused and answered in a callback
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        if self._phase == _HEAD and reading_head and heads == self._heads:
            self._head_bytes += len(data)  # all of it is head (of a request begun before)
            if self._head_bytes > self._limits.max_header_bytes:
                self._too_large()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = _HEAD
        self._head_bytes = self._header_bytes = 0
        self.deadline = self.loop.time() + self._limits.header_timeout

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._header_bytes += len(name) + len(value) + 4
        limits = self._limits
        if len(self.headers) > limits.max_headers or self._header_bytes > limits.max_header_bytes:
            self._too_large()
            raise _Refused

    def on_message_complete(self) -> None:
        self._phase = _IDLE  # the app answers; then uvicorn's keep-alive timer runs
        self.deadline = None
        self._on_message_complete()

    def timed_out(self) -> None:
        """The sweeper's call once the deadline passed."""
        phase = self._phase
        if phase in (_IDLE, _CLOSING):
            self.deadline = None
            self.transport.close()
            return
        waited = "headers" if phase == _HEAD else "body"
        seconds = self._limits.header_timeout if phase == _HEAD else self._limits.body_timeout
        detail = f"the request's {waited} did not arrive within {seconds:g} s"
        self._refuse(408, "RequestTimeout", detail)

    def _too_large(self) -> None:
        limits = self._limits
        detail = (
            f"the request's headers are over {limits.max_header_bytes} bytes or "
            f"{limits.max_headers} headers"
        )
        self._refuse(431, "RequestHeaderFieldsTooLarge", detail)

    def _refuse(self, status: int, error: str, detail: str, extra: bytes = b"") -> None:
        cycle = self.cycle
        # never in the middle of an answer the app is writing (or ahead of a pipelined one)
        if (
            cycle is None
            or cycle.response_complete
            or (self._phase == _BODY and not cycle.response_started)
        ):
            self.transport.write(refusal(status, error, detail, extra))
        if cycle is not None:
            cycle.keep_alive = False
        self._phase = _CLOSING
        self.deadline = self.loop.time() + LINGER
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the answer, then end of stream; reading goes on
        else:
            self.transport.close()

    # the predict fast path

    def on_headers_complete(self) -> None:
        self._heads += 1
        self._phase = _BODY
        self.deadline = self.loop.time() + self._limits.body_timeout
        self._route = self._fast_route()
        if self._route is None:
            super().on_headers_complete()
            return
        self._body = []
        self._keep_alive = self.parser.get_http_version() != "1.0" and bool(
            self.parser.should_keep_alive()
        )

    def _fast_route(self) -> tuple[InstanceCheck, Handler] | None:
        route = self._routes.get(self.url)  # a query string or escapes: not this exact path
        fast = self._fast
        if (
            route is None
            or fast is None
            or self.parser.get_method() != b"POST"
            or self.expect_100_continue
            or self.parser.should_upgrade()
            or not (self.cycle is None or self.cycle.response_complete)  # answer in order
        ):
            return None
        length = None
        json = False
        for name, value in self.headers:
            if name == b"content-length":
                length = int(value) if value.isdigit() else None
            elif name == b"content-type":
                json = value == b"application/json" or is_json(value)
            elif name == b"transfer-encoding":
                return None
        if not json:
            return None  # FastAPI answers 415
        if length is None or length > fast.max_body:
            return None  # the ASGI layer answers (413 for a body over the limit)
        return route

    def on_body(self, body: bytes) -> None:
        if self._route is None:
            super().on_body(body)
        else:
            self._body.append(body)

    def _on_message_complete(self) -> None:
        route = self._route
        if route is None:
            super().on_message_complete()
            return
        self._route = None
        body = b"".join(self._body)
        self._body = []
        assert self._fast is not None
        try:
            answer = self._fast.answer(route, body)
            if answer is not None:
                self._write(*encode(answer))
        except Exception:  # a bug, not a bad request: the handler turns those into answers
            _log.exception("Exception in the predict fast path")
            self.transport.write(_ERROR)
            self.transport.close()
            return
        if answer is None:  # not well-formed: uvicorn and FastAPI answer, body and all
            super().on_headers_complete()
            self.cycle.body = bytearray(body)
            super().on_message_complete()
            return
        if not self._keep_alive:
            self.transport.close()
        self.on_response_complete()  # counts it, resumes reading, arms the keep-alive timer

    def _write(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        out = [_STATUS.get(status) or _status_line(status)]
        for name, value in [*self.server_state.default_headers, *headers]:
            out += [name, b": ", value, b"\r\n"]
        if not self._keep_alive:
            out.append(b"connection: close\r\n")
        out += [b"\r\n", body]
        self.transport.write(b"".join(out))
