"""What one connection to ``fti serve`` may hold, and for how long.

Without these a client that opens connections and sends nothing, or sends its headers a byte
at a time (slowloris), or sends megabytes of headers, holds a worker's sockets and memory
forever: uvicorn only times out a connection that is idle *after* a response, and its parser
keeps every header however large. The defaults are what a demanding operator would pick for
an inference API: its requests are small and quick, so a client that needs more than a few
seconds to send one is stuck or hostile.
"""

from __future__ import annotations

import http
from dataclasses import dataclass

import orjson


@dataclass(frozen=True)
class Limits:
    keep_alive: float = 5.0  # idle seconds before a connection closes (also before a first request)
    header_timeout: float = 10.0  # seconds for a request's line and headers, from its first byte
    body_timeout: float = 30.0  # seconds for its body once the headers are in (1 MiB at 35 KB/s)
    max_header_bytes: int = 64 * 1024  # request line and headers
    max_headers: int = 100
    max_connections: int = 4096  # open connections per worker; more are answered 503

    def __post_init__(self) -> None:
        for name in ("keep_alive", "header_timeout", "body_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive number of seconds")
        for name in ("max_header_bytes", "max_headers", "max_connections"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


def refusal(status: int, error: str, detail: str, extra: bytes = b"") -> bytes:
    """A whole HTTP answer that closes the connection, with the server's JSON error body."""
    body = orjson.dumps({"error": error, "detail": detail})
    return b"".join(
        [
            f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n".encode(),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            extra,
            b"connection: close\r\n\r\n",
            body,
        ]
    )
