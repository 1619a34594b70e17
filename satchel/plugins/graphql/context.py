"""What every resolver of one GraphQL operation shares: the App, the caller, the server's URL."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from satchel.core.app import App
from satchel.core.rules.request_info import RequestInfo


@dataclass(slots=True)
class Context:
    app: App
    request: RequestInfo
    """The caller as REST sees it (auth, headers, API key scopes, address), built once per operation."""
    base_url: str
    """`http(s)://host` the client reached, for file URLs."""
    request_id: str = ""
    """The HTTP request's id, or the WebSocket session's (`X-Request-Id`): audit entries carry it."""
    api_key_id: str = ""
    """The API key that authenticated the caller, if one did (audit entries name it)."""
    remote_ip: str = ""
    """The connection's peer, beside `request.ip` (the client's address through `trustedProxy`)."""
    transport: str = "http"
    """`http` or `websocket`: how the operation came (audit entries say it)."""

    def request_for(
        self, method: str, query: dict[str, Any] | None = None, body: dict[str, Any] | None = None
    ) -> RequestInfo:
        """The request a REST call doing the same would be: its method, query and body are what
        `@request.method`, `@request.query.*` and `@request.body.*` see in rules."""
        return replace(self.request, method=method, query=dict(query or {}), body=dict(body or {}))
