"""The email flows of auth collections: verification, password reset and email change.

Every endpoint answers 204 with no body on success; what each does lives in
`satchel.core.auth.email_flows`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.guards import require_auth
from satchel.apis.request import read_body, request_info
from satchel.core.app import App
from satchel.core.auth import email_flows
from satchel.core.rules.request_info import RequestInfo

Flow = Callable[[App, str, dict[str, Any], RequestInfo], Awaitable[None]]


def _endpoint(flow: Flow, *, auth: bool) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        app: App = request.app.state.satchel
        if auth:
            require_auth(request)  # before the body is read, as PocketBase's route middleware
        body = await read_body(request)
        await flow(app, request.path_params["collection"], body, request_info(request, body))
        return Response(status_code=204)

    endpoint.__name__ = flow.__name__
    return endpoint


def _route(path: str, flow: Flow, *, auth: bool = False) -> Route:
    return Route(f"/api/collections/{{collection}}/{path}", _endpoint(flow, auth=auth), methods=["POST"])


routes = [
    _route("request-verification", email_flows.request_verification),
    _route("confirm-verification", email_flows.confirm_verification),
    _route("request-password-reset", email_flows.request_password_reset),
    _route("confirm-password-reset", email_flows.confirm_password_reset),
    _route("request-email-change", email_flows.request_email_change, auth=True),
    _route("confirm-email-change", email_flows.confirm_email_change),
]
