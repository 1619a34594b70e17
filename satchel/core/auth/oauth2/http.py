"""Outbound HTTP to providers: one place for the timeout, the error mapping and test injection.

Every failure (connection refused, timeout, an error status, a body that is not JSON) is a
`ProviderError`; the flow turns it into PocketBase's 400. Messages name the URL and status only:
bodies may echo codes or tokens and must not reach logs or clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx2
import orjson

from satchel.tools import probes
from satchel.tools.tls_trust import httpx_verify

TIMEOUT_S = 30.0
"""PocketBase bounds the whole exchange at 30 seconds."""
MAX_BODY = 1 << 20


class ProviderError(Exception):
    """A provider could not be reached or gave an unusable answer (`status`: its HTTP status, if any)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ProviderHTTP:
    """Makes the clients that talk to providers; tests pass a transport or a shorter timeout.

    `allow_private_addresses` lifts the avatar download's address guard (`avatar.allowed_address`)
    for tests whose servers live on loopback; only code sets it, never a request or a setting.
    """

    def __init__(
        self,
        timeout: float = TIMEOUT_S,
        transport: httpx2.AsyncBaseTransport | None = None,
        *,
        allow_private_addresses: bool = False,
    ) -> None:
        self.timeout = timeout
        self.transport = transport
        self.allow_private_addresses = allow_private_addresses

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            timeout=self.timeout, transport=self.transport, follow_redirects=False, verify=httpx_verify()
        )

    async def get_json(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        return await self._json("GET", url, headers=headers)

    async def post_form(self, url: str, form: Mapping[str, str], headers: Mapping[str, str] | None = None) -> Any:
        return await self._json("POST", url, data=dict(form), headers=headers)

    async def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        if not probes.active:
            return await self._exchange(method, url, **kwargs)
        parts = urlsplit(url)
        attrs: dict[str, Any] = {"http.method": method, "server.address": parts.hostname or "", "url.path": parts.path}
        with probes.probe("oauth2.http", attrs):
            return await self._exchange(method, url, attrs=attrs, **kwargs)

    async def _exchange(self, method: str, url: str, attrs: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        headers = {"Accept": "application/json", **(kwargs.pop("headers", None) or {})}
        try:
            async with self.client() as client:
                response = await client.request(method, url, headers=headers, **kwargs)
                body = response.content[: MAX_BODY + 1]
        except (httpx2.HTTPError, ValueError) as exc:
            raise ProviderError(f"{method} {url} failed: {type(exc).__name__}") from exc
        if attrs is not None:
            attrs["http.status_code"] = response.status_code
        if response.status_code >= 400:
            raise ProviderError(f"{method} {url} answered {response.status_code}", response.status_code)
        if len(body) > MAX_BODY:
            raise ProviderError(f"{method} {url} answered more than {MAX_BODY} bytes")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ProviderError(f"{method} {url} answered something that is not JSON") from exc
