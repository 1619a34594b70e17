"""The client's address as PocketBase's `RealIP` finds it: trusted proxy headers, else the peer.

Only the headers named in `trustedProxy.headers` are read (any other would let a client pick its
own address), in that order; of a header sent several times the last one counts, as the proxy
appends it. Within a comma-separated list the rightmost valid address is taken (the one the proxy
saw), or the leftmost with `useLeftmostIP` (the original client, when every hop is trusted).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from starlette.types import Scope


def client_ip(scope: Scope, trusted_proxy: Mapping[str, Any]) -> str:
    """The caller's IP ("" when the server did not say who is connected)."""
    names = trusted_proxy.get("headers")
    if names:
        found = _from_headers(scope["headers"], names, trusted_proxy.get("useLeftmostIP") is True)
        if found:
            return found
    peer = scope.get("client")
    return str(peer[0]) if peer else ""


def _from_headers(headers: list[tuple[bytes, bytes]], names: list[Any], leftmost: bool) -> str:
    for name in names:
        if not isinstance(name, str):
            continue
        wanted = name.strip().lower().encode("latin-1", "replace")
        value = b""
        for key, v in headers:
            if key == wanted:
                value = v
        if not value:
            continue
        candidates = value.decode("latin-1").split(",")
        for candidate in candidates if leftmost else reversed(candidates):
            try:
                return str(ipaddress.ip_address(candidate.strip()))
            except ValueError:
                continue
    return ""
