"""API keys (beyond PocketBase): `GET/POST /api/keys`, `GET/PATCH/DELETE /api/keys/{id}`.

Managed with a record's auth token only. A request carrying an API key is refused here with a
403, even when its owner could manage keys: a leaked, narrowly scoped key must not be able to
mint a broader or longer-lived one, nor hide itself by revoking others.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.guards import require_auth
from satchel.apis.middleware.api_key_auth import KEY_PREFIX
from satchel.apis.request import read_body, request_info
from satchel.apis.responses import JSONResponse, no_content
from satchel.core.app import App
from satchel.core.errors import ForbiddenError
from satchel.core.records.model import Record
from satchel.tools.tokens import strip_bearer

KEYS_MANAGE_KEYS = "API keys cannot be used to manage API keys."


def _caller(request: Request) -> tuple[App, Record]:
    if strip_bearer(request.headers.get("authorization", "")).startswith(KEY_PREFIX):
        raise ForbiddenError(KEYS_MANAGE_KEYS)
    caller = require_auth(request)
    app: App = request.app.state.satchel
    return app, caller


async def list_keys(request: Request) -> Response:
    app, caller = _caller(request)
    return JSONResponse(await app.api_keys.list(caller, dict(request.query_params), request_info(request)))


async def create_key(request: Request) -> Response:
    app, caller = _caller(request)
    return JSONResponse(await app.api_keys.create(caller, await read_body(request)))


async def view_key(request: Request) -> Response:
    app, caller = _caller(request)
    return JSONResponse(await app.api_keys.view(caller, request.path_params["id"]))


async def update_key(request: Request) -> Response:
    app, caller = _caller(request)
    return JSONResponse(await app.api_keys.update(caller, request.path_params["id"], await read_body(request)))


async def revoke_key(request: Request) -> Response:
    app, caller = _caller(request)
    await app.api_keys.revoke(caller, request.path_params["id"])
    return no_content()


routes = [
    Route("/api/keys", list_keys, methods=["GET"]),
    Route("/api/keys", create_key, methods=["POST"]),
    Route("/api/keys/{id}", view_key, methods=["GET"]),
    Route("/api/keys/{id}", update_key, methods=["PATCH"]),
    Route("/api/keys/{id}", revoke_key, methods=["DELETE"]),
]
