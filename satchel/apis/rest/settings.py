"""`GET/PATCH /api/settings`, `POST /api/settings/test/email` and `/test/s3` (superusers only)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.guards import require_superuser
from satchel.apis.request import read_body
from satchel.apis.responses import JSONResponse
from satchel.core.app import App
from satchel.core.auth.email_check import send_test_email
from satchel.core.files.s3_check import check_s3
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


async def test_email(request: Request) -> Response:
    require_superuser(request)
    await send_test_email(_app(request), await read_body(request))
    return Response(status_code=204)


async def test_s3(request: Request) -> Response:
    require_superuser(request)
    await check_s3(_app(request), await read_body(request))
    return Response(status_code=204)


routes = [
    Route("/api/settings", get_settings, methods=["GET"]),
    Route("/api/settings", patch_settings, methods=["PATCH"]),
    Route("/api/settings/test/email", test_email, methods=["POST"]),
    Route("/api/settings/test/s3", test_s3, methods=["POST"]),
]
