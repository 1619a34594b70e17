"""What a custom route's handler receives: the request plus the helpers built-in endpoints use."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from satchel.apis.guards import require_auth, require_superuser
from satchel.apis.request import read_body, request_info
from satchel.apis.responses import JSONResponse
from satchel.core.app import App
from satchel.core.records.model import Record
from satchel.core.rules.request_info import RequestInfo

RULES = {"list": "listRule", "view": "viewRule", "update": "updateRule", "delete": "deleteRule"}


class RouteEvent:
    """PocketBase's `core.RequestEvent` for Python routes: errors raised from `satchel.core.errors`
    become PocketBase-shaped responses, exactly as from a built-in endpoint."""

    request: Request
    app: App

    def __init__(self, request: Request) -> None:
        self.request = request
        self.app: App = request.app.state.satchel

    @property
    def path_params(self) -> dict[str, Any]:
        return dict(self.request.path_params)

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; a repeated key keeps its last value (as PocketBase)."""
        return dict(self.request.query_params)

    @property
    def auth(self) -> Record | None:
        """The record the request's token (or API key) authenticates, if any."""
        auth: Record | None = getattr(self.request.state, "auth", None)
        return auth

    def require_auth(self) -> Record:
        """The authenticated record, or a 401."""
        return require_auth(self.request)

    def require_superuser(self) -> Record:
        """The authenticated superuser, or a 401 (no token) / 403 (not a superuser)."""
        return require_superuser(self.request)

    async def body(self) -> dict[str, Any]:
        """The JSON, multipart or urlencoded body as a dict (a malformed body is a 400)."""
        return await read_body(self.request)

    async def request_info(self) -> RequestInfo:
        """The request as rules see it (`@request.*`), for calling `app.records` under the rules."""
        return request_info(self.request, await self.body())

    async def can_access(self, collection: str, record_id: str, action: str = "view") -> bool:
        """Whether this request may `action` (list, view, update, delete) the stored record, by the
        collection's rule: the check the records service makes for the built-in endpoints."""
        rule_name = RULES.get(action)
        if rule_name is None:
            raise ValueError(f"can_access: action must be one of list, view, update, delete; got {action!r}")
        found = self.app.records.find(collection)
        if found is None:
            return False
        if await self.app.records.get_by_id(found, record_id) is None:
            return False
        rule: str | None = getattr(found, rule_name)
        return await self.app.records.matches_rule(found, record_id, rule, await self.request_info())

    def json(self, status: int, data: Any) -> Response:
        return JSONResponse(data, status_code=status)
