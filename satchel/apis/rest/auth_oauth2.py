"""OAuth2 sign-in: `auth-with-oauth2` (code for token) and `/api/oauth2-redirect` (the popup's landing).

What each does lives in `satchel.core.auth.oauth2`. The redirect answers as PocketBase does
without its bundled dashboard: a short page telling the user to go back to the app (success or
failure), never an error body: it is shown in a browser popup, not read by the SDK.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from satchel.apis.request import read_body, request_info
from satchel.apis.responses import JSONResponse
from satchel.core.app import App
from satchel.core.auth.oauth2 import redirect
from satchel.core.errors import SatchelError
from satchel.core.records.fields_param import apply_fields, parse_fields

SUCCESS = "Auth completed. You can close this window and go back to the app."
FAILURE = "Failed to authenticate. You can close this window and go back to the app to try again."


async def auth_with_oauth2(request: Request) -> Response:
    app: App = request.app.state.satchel
    body = await read_body(request)
    result = await app.auth.oauth2.authenticate(
        request.path_params["collection"],
        body,
        request_info(request, body),
        request.query_params.get("expand", ""),
    )
    return JSONResponse(apply_fields(result, parse_fields(request.query_params.get("fields", ""))))


async def oauth2_redirect(request: Request) -> Response:
    app: App = request.app.state.satchel
    if request.method == "POST":
        try:
            values = await read_body(request)
        except SatchelError:
            return PlainTextResponse(FAILURE)
    else:
        values = dict(request.query_params)
    state, code, error = (v if isinstance(v := values.get(k), str) else "" for k in ("state", "code", "error"))
    if await redirect.forward(app, state, code, error):
        return HTMLResponse(SUCCESS)
    return PlainTextResponse(FAILURE)


routes = [
    Route("/api/collections/{collection}/auth-with-oauth2", auth_with_oauth2, methods=["POST"]),
    Route("/api/oauth2-redirect", oauth2_redirect, methods=["GET", "POST"]),
]
