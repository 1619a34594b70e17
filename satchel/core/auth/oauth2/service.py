"""The OAuth2 service the auth service holds: the provider HTTP client and the entry points.

Kept as one object so that the HTTP client (timeout, transport) is set in one place: wiring
and tests replace `http` to point providers elsewhere or to shorten the timeout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from satchel.core.auth.oauth2 import flow, methods
from satchel.core.auth.oauth2.http import ProviderHTTP
from satchel.core.collections.model import Collection
from satchel.core.rules.request_info import RequestInfo

if TYPE_CHECKING:
    from satchel.core.app import App


class OAuth2Service:
    def __init__(self, app: App, http: ProviderHTTP | None = None) -> None:
        self.app = app
        self.http = http or ProviderHTTP()

    async def providers(self, collection: Collection) -> list[dict[str, Any]]:
        return await methods.providers_info(collection, self.http)

    async def authenticate(
        self, id_or_name: str, body: dict[str, Any], request: RequestInfo, expand: str = ""
    ) -> dict[str, Any]:
        return await flow.auth_with_oauth2(self.app, self.http, id_or_name, body, request, expand)
