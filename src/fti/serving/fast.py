"""The hot path of ``POST /v1/deployments/{name}/predict``, as plain ASGI in front of FastAPI.

FastAPI's routing, request-model validation, thread-pool hop and response classes cost about
a millisecond of CPU per request, more than the prediction itself (lookup, transformations,
model, log). A well-formed request — a JSON object whose fields all have the contract's names
and types — is answered here directly, on the event loop (the work is CPU-bound and short).
Anything else (malformed JSON, wrong types, unknown fields, other routes) goes on to the
FastAPI app unchanged, so every error a client sees still comes from one place and the
OpenAPI description stays the truth.

The middleware also refuses bodies over the limit (413) for every route, by ``Content-Length``
and while reading. A body not declared ``application/json`` is never predicted on here: FastAPI
answers it 415 (a browser may send ``text/plain`` to another site without asking it first).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# (status, JSON body, extra headers) or None: not for the fast path, let FastAPI answer
Answer = tuple[int, Any, Mapping[str, str]]
Handler = Callable[[list[dict[str, Any]], bool], Answer]

# JSON Schema type -> the Python types a strict request model accepts (bool is not an int)
_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (float, int),
    "boolean": (bool,),
    "string": (str,),
}


class InstanceCheck:
    """Does a parsed JSON value conform to a deployment's input schema exactly?"""

    def __init__(self, input_schema: Mapping[str, Any]) -> None:
        self.types: dict[str, tuple[type, ...] | None] = {}
        for name, prop in input_schema["properties"].items():
            self.types[name] = _TYPES.get(str(prop.get("type")))
        self.required = frozenset(input_schema["required"])

    def __call__(self, value: Any) -> bool:
        if type(value) is not dict or not self.required.issubset(value):
            return False
        types = self.types
        for name, v in value.items():
            if name not in types:
                return False
            allowed = types[name]
            if allowed is None or type(v) not in allowed:
                return False
        return True


def too_large(limit: int) -> Answer:
    return 413, {"error": "PayloadTooLarge", "detail": f"the body is over {limit} bytes"}, {}


def unsupported_media_type() -> Answer:
    detail = "the body must be JSON, sent with Content-Type: application/json"
    return 415, {"error": "UnsupportedMediaType", "detail": detail}, {}


def is_json(content_type: bytes | None) -> bool:
    """Is a ``Content-Type`` header ``application/json`` (parameters such as a charset
    allowed)? A missing one is not: every JSON client sends it, a browser's form need not."""
    if content_type is None:
        return False
    return content_type.split(b";", 1)[0].strip().lower() == b"application/json"


class FastPredict:
    """ASGI middleware: the body limit for every request, and well-formed predict requests
    answered by ``handlers[path]`` without going through FastAPI."""

    def __init__(
        self,
        app: ASGIApp,
        routes: Mapping[str, tuple[InstanceCheck, Handler]],
        max_body: int,
        max_batch: int,
    ) -> None:
        self.app = app
        self.routes = dict(routes)
        self.max_body = max_body
        self.max_batch = max_batch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.max_body:
            await _respond(send, too_large(self.max_body))
            return
        route = self.routes.get(scope["path"]) if scope["method"] == "POST" else None
        if route is None or not is_json(_header(scope, b"content-type")):
            await self.app(scope, receive, send)
            return
        body = await _read(receive, self.max_body)
        if body is None:
            await _respond(send, too_large(self.max_body))
            return
        answer = self.answer(route, body)
        if answer is None:  # not well-formed: FastAPI validates and names what is wrong
            await self.app(scope, _replay(body, receive), send)
            return
        await _respond(send, answer)

    def answer(self, route: tuple[InstanceCheck, Handler], body: bytes) -> Answer | None:
        """The answer to a request body on ``route``, or None: not well-formed, FastAPI's."""
        check, handler = route
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if check(data):
            return handler([data], True)
        if type(data) is not dict or data.keys() != {"instances"}:
            return None
        instances = data["instances"]
        if type(instances) is not list or not instances:
            return None
        if len(instances) > self.max_batch:  # before checking a huge batch item by item
            return handler(instances, False)
        if not all(map(check, instances)):
            return None
        return handler(instances, False)


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


async def _read(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it grows over ``limit``."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def encode(answer: Answer) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """An answer as HTTP: status, headers and the JSON body."""
    status, payload, extra = answer
    body = orjson.dumps(payload)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
    return status, headers, body


async def _respond(send: Send, answer: Answer) -> None:
    status, headers, body = encode(answer)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
