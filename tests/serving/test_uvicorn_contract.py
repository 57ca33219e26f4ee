"""The uvicorn internals the fast HTTP path stands on, one check each.

:class:`fti.serving.http_protocol.FastHttpProtocol` subclasses uvicorn's httptools protocol,
overrides its parser callbacks and reads its per-connection state; the worker servers of
:mod:`fti.serving.workers` subclass ``uvicorn.Server`` and build protocols themselves. None of
that is uvicorn's public API, so ``pyproject.toml`` bounds uvicorn to the versions checked
here, and when a new uvicorn moves one of these internals its check fails naming it and what
fti uses it for: read that code in the new uvicorn, adapt fti's, then widen the bound.

Signatures are compared by parameter names (uvicorn and httptools call the callbacks
positionally); state that exists only on an instance is checked on a protocol that answers
one request over a stand-in transport. The end-to-end behaviour over real sockets is
``test_http_protocol.py``'s.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httptools
import pytest
import uvicorn
from packaging.requirements import Requirement
from uvicorn.protocols.http import httptools_impl
from uvicorn.server import ServerState

from fti.serving.http_protocol import FastHttpProtocol, find_fast_path

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"
Protocol = httptools_impl.HttpToolsProtocol

# sha256 of HttpToolsProtocol.data_received's source in the uvicorn versions whose method
# FastHttpProtocol.data_received was compared with (it re-implements it, adding the limits)
REVIEWED_DATA_RECEIVED = {
    "010a7ae59a5d3b1a5e7326ce246878568629d126a076d8af5ba10cab040fae43": "0.42 to 0.55",
}


@dataclass(frozen=True)
class Internal:
    name: str
    used_for: str
    check: Callable[[], None]


def _params(function: Any) -> list[str]:
    return [p for p in inspect.signature(function).parameters if p != "self"]


def _signature(owner: Any, method: str, expected: list[str]) -> Callable[[], None]:
    def check() -> None:
        function = getattr(owner, method, None)
        assert callable(function), f"{owner.__name__}.{method} is gone"
        assert _params(function) == expected, (
            f"{owner.__name__}.{method} now takes {_params(function)}, not {expected}"
        )

    return check


def _signatures(owner: Any, expected: dict[str, list[str]]) -> Callable[[], None]:
    def check() -> None:
        for method, params in expected.items():
            _signature(owner, method, params)()

    return check


def _takes(owner: Any, method: str, names: list[str]) -> Callable[[], None]:
    def check() -> None:
        function = getattr(owner, method, None)
        assert callable(function), f"{owner.__name__}.{method} is gone"
        missing = [n for n in names if n not in _params(function)]
        assert not missing, f"{owner.__name__}.{method} no longer takes {missing}"

    return check


def _takes_each(owner: Any, methods: tuple[str, ...], names: list[str]) -> Callable[[], None]:
    def check() -> None:
        for method in methods:
            _takes(owner, method, names)()

    return check


def _subclass() -> None:
    assert issubclass(FastHttpProtocol, Protocol), "FastHttpProtocol no longer subclasses it"


class _Transport(asyncio.Transport):
    """What the protocol is given by the event loop: it records what is written."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        peers = {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}
        return peers.get(name, default)

    def write(self, data: Any) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = bytes((await receive())["body"])
    length = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": length})
    await send({"type": "http.response.body", "body": body})


@dataclass
class _Seen:
    """A uvicorn protocol's state at the moments the fast path reads it."""

    protocol: Any
    server_state: ServerState
    config: uvicorn.Config
    after_begin: dict[str, Any]
    after_headers: list[tuple[bytes, bytes]]
    expect_100_continue: bool
    cycle: Any
    written: bytes
    keep_alive_armed: bool


async def _one_request() -> _Seen:
    config = uvicorn.Config(_app, log_level="warning", timeout_keep_alive=7)
    server_state = ServerState()
    protocol = Protocol(
        config=config, server_state=server_state, app_state={}, _loop=asyncio.get_running_loop()
    )
    transport = _Transport()
    protocol.connection_made(transport)
    protocol.on_message_begin()
    after_begin = {"url": protocol.url, "headers": list(protocol.headers)}
    protocol.on_header(b"Content-Length", b"2 ")
    protocol.on_header(b"Expect", b"100-continue")
    after_headers = list(protocol.headers)
    expect = protocol.expect_100_continue
    protocol.data_received(b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok")
    await asyncio.gather(*server_state.tasks)
    armed = protocol.timeout_keep_alive_task is not None
    protocol._unset_keepalive_if_required()
    return _Seen(
        protocol,
        server_state,
        config,
        after_begin,
        after_headers,
        expect,
        protocol.cycle,
        bytes(transport.written),
        armed,
    )


_seen: list[_Seen] = []


def seen() -> _Seen:
    if not _seen:
        _seen.append(asyncio.run(_one_request()))
    return _seen[0]


def _instance_attributes() -> None:
    p = seen().protocol
    for name in ("config", "app", "loop", "logger", "parser", "server_state", "connections"):
        assert hasattr(p, name), f"HttpToolsProtocol instances no longer have .{name}"
    assert p.connections is seen().server_state.connections, (
        "HttpToolsProtocol.connections is no longer the server state's set of connections"
    )
    assert p.timeout_keep_alive == 7, "the protocol no longer reads config.timeout_keep_alive"


def _per_request_state() -> None:
    s = seen()
    assert s.after_begin == {"url": b"", "headers": []}, (
        f"on_message_begin no longer resets .url and .headers: {s.after_begin}"
    )
    # the value's trailing blanks are stripped since 0.55; either way a fast route reads it
    names = [(name, value.rstrip(b" ")) for name, value in s.after_headers]
    assert names == [(b"content-length", b"2"), (b"expect", b"100-continue")], (
        f"on_header no longer appends (lower-cased name, value): {s.after_headers}"
    )
    assert s.expect_100_continue is True, "on_header no longer sets .expect_100_continue"


def _cycle() -> None:
    s = seen()
    cycle = s.cycle
    assert isinstance(cycle, httptools_impl.RequestResponseCycle), (
        f"on_headers_complete no longer sets .cycle to a RequestResponseCycle: {cycle!r}"
    )
    for name, kind in (
        ("body", bytearray),
        ("response_complete", bool),
        ("response_started", bool),
        ("keep_alive", bool),
        ("more_body", bool),
    ):
        value = getattr(cycle, name, None)
        assert isinstance(value, kind), f"RequestResponseCycle.{name} is {value!r}, not a {kind}"
    assert cycle.response_complete and not cycle.more_body
    assert s.written.startswith(b"HTTP/1.1 200 OK\r\n") and s.written.endswith(b"\r\n\r\nok"), (
        f"the body the parser fed into cycle.body did not reach the app: {s.written!r}"
    )


def _response_complete() -> None:
    s = seen()
    assert s.server_state.total_requests == 1, "on_response_complete no longer counts requests"
    assert s.keep_alive_armed, (
        "on_response_complete no longer arms .timeout_keep_alive_task (the keep-alive timer)"
    )


def _server_state() -> None:
    state = ServerState()
    assert isinstance(state.connections, set), "ServerState.connections is no longer a set"
    assert isinstance(state.default_headers, list), "ServerState.default_headers is not a list"
    assert hasattr(state, "total_requests"), "ServerState.total_requests is gone"


def _data_received_source() -> None:
    source = inspect.getsource(Protocol.data_received)
    digest = hashlib.sha256(source.encode()).hexdigest()
    assert digest in REVIEWED_DATA_RECEIVED, (
        f"uvicorn {uvicorn.__version__}'s HttpToolsProtocol.data_received is not the one "
        "FastHttpProtocol.data_received re-implements: compare the two, adapt fti's, then add "
        f"{digest!r} to REVIEWED_DATA_RECEIVED. Its source now:\n{source}"
    )


def _parser() -> None:
    for name in ("feed_data", "get_http_version", "get_method", "should_keep_alive"):
        assert callable(getattr(httptools.HttpRequestParser, name, None)), (
            f"httptools.HttpRequestParser.{name} is gone"
        )
    assert callable(getattr(httptools.HttpRequestParser, "should_upgrade", None))
    assert issubclass(httptools.HttpParserError, Exception)
    assert issubclass(httptools.HttpParserUpgrade, Exception)
    assert isinstance(seen().protocol.parser, httptools.HttpRequestParser), (
        "HttpToolsProtocol.parser is no longer an httptools.HttpRequestParser"
    )


def _middleware_chain() -> None:
    config = uvicorn.Config(_app, log_level="warning", proxy_headers=True)
    config.load()
    assert find_fast_path(config.loaded_app) is None  # walks to the bottom without failing
    depth, app = 0, config.loaded_app
    while app is not _app and depth < 8:
        app, depth = getattr(app, "app", None), depth + 1
        assert app is not None, "a middleware uvicorn wraps the app in has no .app"
    assert app is _app, "uvicorn wraps the app in more than 8 middlewares (find_fast_path)"


def _handed_server() -> None:
    config = uvicorn.Config(_app, log_level="warning")
    server = uvicorn.Server(config)
    assert isinstance(server.server_state, ServerState), "Server.server_state is gone"
    assert server.config is config
    config.load()
    assert config.http_protocol_class is not None, "Config.http_protocol_class is gone"
    lifespan = config.lifespan_class(config)
    assert isinstance(getattr(lifespan, "state", None), dict), "the lifespan has no .state"


INTERNALS = [
    Internal(
        "httptools_impl.HttpToolsProtocol",
        "the class FastHttpProtocol subclasses",
        _subclass,
    ),
    Internal(
        "HttpToolsProtocol.__init__",
        "FastHttpProtocol passes its arguments on; HandedServer builds protocols by keyword",
        _takes(Protocol, "__init__", ["config", "server_state", "app_state", "_loop"]),
    ),
    Internal(
        "HttpToolsProtocol instance state",
        "config.limits, the app under its middleware, the loop, the connections for the limit",
        _instance_attributes,
    ),
    Internal(
        "HttpToolsProtocol.connection_made",
        "overridden: the connection limit and the first deadline",
        _signature(Protocol, "connection_made", ["transport"]),
    ),
    Internal(
        "HttpToolsProtocol.connection_lost",
        "overridden by the worker servers to count open connections",
        _signature(Protocol, "connection_lost", ["exc"]),
    ),
    Internal(
        "HttpToolsProtocol.data_received",
        "re-implemented: header bytes counted per read, refusals stop the parser",
        _signature(Protocol, "data_received", ["data"]),
    ),
    Internal(
        "HttpToolsProtocol.data_received source",
        "FastHttpProtocol.data_received is a copy of it with the limits added",
        _data_received_source,
    ),
    Internal(
        "HttpToolsProtocol.on_message_begin / on_header (url, headers, expect_100_continue)",
        "the fast path matches the exact path and reads lower-cased headers",
        _per_request_state,
    ),
    Internal(
        "HttpToolsProtocol parser callbacks",
        "overridden: on_message_begin, on_header, on_headers_complete, on_body, "
        "on_message_complete",
        _signatures(
            Protocol,
            {
                "on_message_begin": [],
                "on_header": ["name", "value"],
                "on_headers_complete": [],
                "on_body": ["body"],
                "on_message_complete": [],
            },
        ),
    ),
    Internal(
        "HttpToolsProtocol helpers",
        "called from the re-implemented data_received and after a fast answer",
        _signatures(
            Protocol,
            {
                "_unset_keepalive_if_required": [],
                "_should_upgrade": [],
                "handle_websocket_upgrade": [],
                "_unsupported_upgrade_warning": [],
                "send_400_response": ["msg"],
                "on_response_complete": [],
            },
        ),
    ),
    Internal(
        "RequestResponseCycle",
        "a request handed back to uvicorn: cycle.body replayed, response_* and keep_alive read",
        _cycle,
    ),
    Internal(
        "HttpToolsProtocol.on_response_complete",
        "called after a fast answer: counts it, resumes reading, arms the keep-alive timer",
        _response_complete,
    ),
    Internal(
        "uvicorn.server.ServerState",
        "connections (the limit, the sweeper), default_headers (written in every fast answer)",
        _server_state,
    ),
    Internal(
        "httptools.HttpRequestParser",
        "the protocol's .parser: HTTP version, method, keep-alive and upgrade of a request",
        _parser,
    ),
    Internal(
        "the middleware uvicorn wraps the app in",
        "find_fast_path looks for the app's fast path under each .app",
        _middleware_chain,
    ),
    Internal(
        "uvicorn.Server / Config internals",
        "HandedServer: server_state, config.http_protocol_class, the lifespan's state",
        _handed_server,
    ),
    Internal(
        "uvicorn.Server.startup / shutdown",
        "HandedServer overrides both, with no listening sockets of its own",
        _takes_each(uvicorn.Server, ("startup", "shutdown"), ["sockets"]),
    ),
]


@pytest.mark.parametrize("internal", INTERNALS, ids=[i.name for i in INTERNALS])
def test_the_uvicorn_internal_is_as_the_fast_path_uses_it(internal: Internal) -> None:
    try:
        internal.check()
    except AssertionError as exc:
        pytest.fail(
            f"uvicorn {uvicorn.__version__} changed {internal.name} (fti uses it: "
            f"{internal.used_for}): {exc}"
        )


def test_pyproject_bounds_uvicorn_to_the_versions_checked() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    (line,) = [d for d in dependencies if Requirement(d).name == "uvicorn"]
    specifier = Requirement(line).specifier
    assert any(s.operator == "<" for s in specifier), f"{line}: no upper bound"
    assert specifier.contains(uvicorn.__version__), (
        f"uvicorn {uvicorn.__version__} is installed, outside {line}"
    )
