"""`GET/PATCH /api/settings` (superusers only)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.guards import require_superuser
from satchel.apis.request import read_body
from satchel.apis.responses import JSONResponse
from satchel.core.app import App
from satchel.core.settings import public_view


def _app(request: Request) -> App:
    app: App = request.app.state.satchel
    return app


async def get_settings(request: Request) -> Response:
    require_superuser(request)
    return JSONResponse(public_view(_app(request).settings.current))


async def patch_settings(request: Request) -> Response:
    require_superuser(request)
    body = await read_body(request)
    new = await _app(request).settings.patch(body)
    return JSONResponse(public_view(new))


routes = [
    Route("/api/settings", get_settings, methods=["GET"]),
    Route("/api/settings", patch_settings, methods=["PATCH"]),
]
