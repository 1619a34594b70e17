"""Resolves the `Authorization` header to an auth record once per request.

A missing, malformed, expired or revoked token simply means "guest": endpoints that need
auth answer 401 themselves, exactly as PocketBase does.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from satchel.core.app import App
from satchel.tools.tokens import strip_bearer


class AuthMiddleware:
    def __init__(self, asgi: ASGIApp, app: App) -> None:
        self.asgi = asgi
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self.app.config.shared_schema:
                # a sibling worker may have changed collections or settings: see it first
                await self.app.sync()
            state = scope.setdefault("state", {})
            state["auth"] = None
            state["token"] = ""
            for name, value in scope["headers"]:
                if name == b"authorization":
                    token = strip_bearer(value.decode("latin-1"))
                    if token:
                        state["token"] = token
                        state["auth"] = await self.app.auth.record_from_token(token)
                    break
        await self.asgi(scope, receive, send)
