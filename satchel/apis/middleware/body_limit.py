"""Rejects request bodies over the configured size before they are read into memory."""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from satchel.core.errors import TooLargeError

TOO_LARGE = orjson.dumps({"data": {}, "message": "Request entity too large.", "status": 413})


class BodyLimitMiddleware:
    def __init__(self, asgi: ASGIApp, max_bytes: int) -> None:
        self.asgi = asgi
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_bytes <= 0:
            await self.asgi(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _reject(send)
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise TooLargeError()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.asgi(scope, limited_receive, tracking_send)
        except TooLargeError:
            # raised while reading outside any route's error handling (e.g. by a middleware)
            if not started:
                await _reject(send)


async def _reject(send: Send) -> None:
    await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": TOO_LARGE})
