"""`Strict-Transport-Security` on responses that travelled over HTTPS, and only on those.

A response is secure when this server terminated TLS itself (`scope["scheme"] == "https"`), or
when a proxy the operator declared (`trustedProxy.headers` is not empty: the same switch that
makes the client address come from proxy headers) says the client's request arrived over HTTPS
with `X-Forwarded-Proto: https`. Browsers ignore the header over plain HTTP (RFC 6797 8.1), so a
client forging X-Forwarded-Proto gains nothing; it is still only read behind a declared proxy.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from satchel.core.app import App

HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
"""Two years, every subdomain: what hstspreload.org asks for (without opting into preload)."""
FORWARDED_PROTO = b"x-forwarded-proto"


class HstsMiddleware:
    def __init__(self, asgi: ASGIApp, app: App) -> None:
        self.asgi = asgi
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # the common case (plain HTTP, no proxy declared) costs two lookups: this runs on every request
        if scope["type"] != "http" or (
            scope.get("scheme") != "https"
            and not (
                self.app.settings.current["trustedProxy"].get("headers")
                and forwarded_proto(scope["headers"]) == "https"
            )
        ):
            await self.asgi(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), HSTS]
            await send(message)

        await self.asgi(scope, receive, send_with_hsts)


def forwarded_proto(headers: list[tuple[bytes, bytes]]) -> str:
    """The scheme the nearest proxy saw: the last value of the last X-Forwarded-Proto header (a
    proxy appends its own after whatever the client sent)."""
    value = b""
    for name, v in headers:
        if name == FORWARDED_PROTO:
            value = v
    return value.decode("latin-1").rpartition(",")[2].strip().lower()
