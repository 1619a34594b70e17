"""The plain-HTTP listener next to an HTTPS one: every request is sent to HTTPS with a 308.

308 (not 301/302) keeps the method and body, so an SDK that POSTs to the http:// URL by mistake
gets the same request replayed over TLS instead of a silent GET. The only request answered here is
`GET /api/health`, for load balancers that probe over plain HTTP: it reports whether the HTTPS
listener accepts connections (200, PocketBase's health body) or not (503), and carries nothing
else a client could rely on. No HSTS here: browsers ignore it over HTTP (RFC 6797 8.1).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from urllib.parse import quote

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

HEALTH_PATH = "/api/health"
PROBE_TIMEOUT = 2.0
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")
_UNSPECIFIED = ("", "0.0.0.0", "::")  # noqa: S104 (addresses recognised, not bound)
HEALTHY = orjson.dumps({"message": "API is healthy.", "code": 200, "data": {}})
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
)
"""The main listener's (`front.SECURITY_HEADERS` and `API_CSP`, a test keeps them equal), copied rather
than imported: `front` brings the whole app along, a second in this one-worker listener's start."""
UNHEALTHY = orjson.dumps({"message": "The HTTPS listener is not accepting connections.", "code": 503, "data": {}})


def redirect_app(https_host: str, https_port: int) -> ASGIApp:
    """The ASGI app of the redirecting listener, for an HTTPS listener at `https_host:https_port`."""
    local = https_host if https_host not in _UNSPECIFIED else "127.0.0.1"
    fallback_host = _bracketed(local)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # granian answers a websocket upgrade we do not accept
        if scope["path"] == HEALTH_PATH and scope["method"] in ("GET", "HEAD"):
            up = await _accepting(local, https_port)
            await _respond(
                send, 200 if up else 503, HEALTHY if up else UNHEALTHY, [(b"content-type", b"application/json")]
            )
            return
        location = f"https://{_authority(_host_header(scope) or fallback_host, https_port)}{_target(scope)}"
        await _respond(send, 308, b"", [(b"location", location.encode("latin-1"))])

    return app


def _host_header(scope: Scope) -> str:
    """The host the client asked for, without its port; "" when missing or malformed."""
    for name, value in scope["headers"]:
        if name == b"host":
            m = _HOST.match(value.decode("latin-1"))
            return m.group(1) if m else ""
    return ""


def _authority(host: str, port: int) -> str:
    return host if port == 443 else f"{host}:{port}"


def _bracketed(host: str) -> str:
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def _target(scope: Scope) -> str:
    """Path and query exactly as the client sent them."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(scope["path"])
    query = scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


async def _accepting(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), PROBE_TIMEOUT)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, *SECURITY_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
