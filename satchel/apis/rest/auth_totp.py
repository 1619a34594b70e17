"""Authenticator apps (TOTP) of auth records: enrolment, status, disabling, and the second factor.

Beyond PocketBase; documented in docs/auth-totp.md. The `/totp` routes act on the signed-in
record itself; `auth-with-totp` completes an MFA sign-in. The logic is in `satchel.core.auth.totp`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.request import read_body, request_info
from satchel.apis.responses import JSONResponse
from satchel.core.app import App
from satchel.core.auth import totp
from satchel.core.records.fields_param import apply_fields, parse_fields


def _app(request: Request) -> App:
    app: App = request.app.state.satchel
    return app


async def status(request: Request) -> Response:
    return JSONResponse(await totp.status(_app(request), request.path_params["collection"], request_info(request)))


async def enroll(request: Request) -> Response:
    body = await read_body(request)
    app = _app(request)
    return JSONResponse(await totp.enroll(app, request.path_params["collection"], request_info(request, body)))


async def verify(request: Request) -> Response:
    body = await read_body(request)
    app = _app(request)
    result = await totp.verify(app, request.path_params["collection"], body, request_info(request, body))
    return JSONResponse(result)


async def recovery_codes(request: Request) -> Response:
    body = await read_body(request)
    app = _app(request)
    result = await totp.regenerate_recovery_codes(
        app, request.path_params["collection"], body, request_info(request, body)
    )
    return JSONResponse(result)


async def disable(request: Request) -> Response:
    body = await read_body(request)
    await totp.disable(_app(request), request.path_params["collection"], body, request_info(request, body))
    return Response(status_code=204)


async def auth_with_totp(request: Request) -> Response:
    body = await read_body(request)
    result = await totp.auth_with_totp(
        _app(request),
        request.path_params["collection"],
        body,
        request_info(request, body),
        request.query_params.get("expand", ""),
    )
    return JSONResponse(apply_fields(result, parse_fields(request.query_params.get("fields", ""))))


def _route(path: str, endpoint: Callable[[Request], Awaitable[Response]], method: str = "POST") -> Route:
    return Route(f"/api/collections/{{collection}}/{path}", endpoint, methods=[method])


routes = [
    _route("totp", status, "GET"),
    _route("totp/enroll", enroll),
    _route("totp/verify", verify),
    _route("totp/recovery-codes", recovery_codes),
    _route("totp/disable", disable),
    _route("auth-with-totp", auth_with_totp),
]
