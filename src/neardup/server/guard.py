"""The ASGI guard run before any parsing (API key, then body size and arrival time) and the
catch-all that turns unhandled exceptions into a bare logged 500."""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from neardup.server.keys import _bearer_token, _KeyRing

logger = logging.getLogger("neardup.server")

#: The only paths open without an API key (relative to the app's root path); all else needs one.
PUBLIC_PATHS = frozenset({"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class _Guard:
    """ASGI middleware: API key first, then the body size (declared and streamed) and the time
    it takes to arrive (whole within ``body_timeout_s`` of the request, else 408 and the
    connection is closed), then the app, which gets the already-read body replayed to it."""

    def __init__(
        self, app: ASGIApp, *, keys: _KeyRing, max_body_bytes: int, body_timeout_s: float
    ) -> None:
        self.app = app
        self.keys = keys
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.lower(), value)
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if self.keys and path not in PUBLIC_PATHS:
            token = _bearer_token(headers.get(b"authorization"))
            if token is None or not self.keys.accepts(token):
                error = (
                    "missing API key: send 'Authorization: Bearer <key>'"
                    if token is None
                    else "invalid API key"
                )
                await _send_json(send, 401, {"error": error}, [(b"www-authenticate", b"Bearer")])
                return
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
                if size < 0:
                    raise ValueError(size)
            except ValueError:
                await _send_json(send, 400, {"error": "invalid Content-Length header"})
                return
            if size > self.max_body_bytes:
                await self._too_large(send)
                return
        chunks: list[bytes] = []
        received = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout_s
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
            except TimeoutError:
                await _send_json(
                    send,
                    408,
                    {
                        "error": "request body not received in time: the whole body must "
                        f"arrive within {self.body_timeout_s:g} s"
                    },
                    [(b"connection", b"close")],
                )
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body_bytes:
                await self._too_large(send)
                if message.get("more_body", False):
                    await _drain(receive, DRAIN_BYTES)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        limit = self.max_body_bytes
        await _send_json(
            send,
            413,
            {"error": f"request body too large: the limit is {limit} bytes"},
            [(b"connection", b"close")],
        )


#: after a 413 on a streamed body, read (and drop) up to this much more of it before the
#: connection closes, so a client still sending sees the answer instead of a reset connection
DRAIN_BYTES = 8 << 20


async def _drain(receive: Receive, limit: int) -> None:
    drained = 0
    while drained < limit:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class _CatchAll:
    """ASGI middleware: an exception no handler claimed is logged with its traceback here and
    answered with a bare 500, never echoed to the client (nor re-raised into the server)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            logger.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await _send_json(send, 500, {"error": "internal error"})
