"""OTP sign-in of auth collections: `request-otp` mails a code, `auth-with-otp` spends it.

What each does lives in `satchel.core.auth.otp`; the auth answer takes `?expand=` and `?fields=`
like every other auth flow.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.request import read_body, request_info
from satchel.apis.responses import JSONResponse
from satchel.core.app import App
from satchel.core.auth import otp
from satchel.core.records.fields_param import apply_fields, parse_fields


async def request_otp(request: Request) -> Response:
    app: App = request.app.state.satchel
    body = await read_body(request)
    result = await otp.request_otp(app, request.path_params["collection"], body, request_info(request, body))
    return JSONResponse(result)


async def auth_with_otp(request: Request) -> Response:
    app: App = request.app.state.satchel
    body = await read_body(request)
    result = await otp.auth_with_otp(
        app,
        request.path_params["collection"],
        body,
        request_info(request, body),
        request.query_params.get("expand", ""),
    )
    return JSONResponse(apply_fields(result, parse_fields(request.query_params.get("fields", ""))))


routes = [
    Route("/api/collections/{collection}/request-otp", request_otp, methods=["POST"]),
    Route("/api/collections/{collection}/auth-with-otp", auth_with_otp, methods=["POST"]),
]
