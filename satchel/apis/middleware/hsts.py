"""`Strict-Transport-Security` on responses that travelled over HTTPS, and only on those.

A response is secure when this server terminated TLS itself (`scope["scheme"] == "https"`), or
when a proxy the operator declared (`trustedProxy.headers` is not empty: the same switch that
makes the client address come from proxy headers) says the client's request arrived over HTTPS
with `X-Forwarded-Proto: https`. Browsers ignore the header over plain HTTP (RFC 6797 8.1), so a
client forging X-Forwarded-Proto gains nothing; it is still only read behind a declared proxy.

The front middleware adds it with the CORS and security headers (its own answers, 413 and
preflights, included): no layer of its own, so plain HTTP pays one comparison.
"""

from __future__ import annotations

from typing import Any

from starlette.types import Scope

HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
"""Two years, every subdomain: what hstspreload.org asks for (without opting into preload)."""
FORWARDED_PROTO = b"x-forwarded-proto"


def over_https(scope: Scope, trusted_proxy: dict[str, Any]) -> bool:
    """Whether the client's request travelled over HTTPS (its response then carries `HSTS`)."""
    if scope.get("scheme") == "https":
        return True
    return bool(trusted_proxy.get("headers")) and forwarded_proto(scope["headers"]) == "https"


def forwarded_proto(headers: list[tuple[bytes, bytes]]) -> str:
    """The scheme the nearest proxy saw: the last value of the last X-Forwarded-Proto header (a
    proxy appends its own after whatever the client sent)."""
    value = b""
    for name, v in headers:
        if name == FORWARDED_PROTO:
            value = v
    return value.decode("latin-1").rpartition(",")[2].strip().lower()
