"""Auth endpoints of auth collections: password auth, refresh, methods, impersonation."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.request import read_body, request_info
from satchel.apis.responses import JSONResponse
from satchel.core.app import App
from satchel.core.records.fields_param import apply_fields, parse_fields


def _app(request: Request) -> App:
    app: App = request.app.state.satchel
    return app


async def _finish(request: Request, result: dict[str, object]) -> Response:
    """Apply `?fields=` to an auth response, as PocketBase does for every auth flow."""
    return JSONResponse(apply_fields(result, parse_fields(request.query_params.get("fields", ""))))


def _expand(request: Request) -> str:
    return request.query_params.get("expand", "")


async def auth_with_password(request: Request) -> Response:
    app = _app(request)
    body = await read_body(request)
    result = await app.auth.auth_with_password(
        request.path_params["collection"], body, request_info(request, body), _expand(request)
    )
    return await _finish(request, result)


async def auth_refresh(request: Request) -> Response:
    app = _app(request)
    result = await app.auth.auth_refresh(
        request.path_params["collection"], request_info(request), request.state.token, _expand(request)
    )
    return await _finish(request, result)


async def auth_methods(request: Request) -> Response:
    app = _app(request)
    return JSONResponse(
        apply_fields(
            await app.auth.auth_methods(request.path_params["collection"]),
            parse_fields(request.query_params.get("fields", "")),
        )
    )


async def impersonate(request: Request) -> Response:
    app = _app(request)
    body = await read_body(request)
    result = await app.auth.impersonate(
        request.path_params["collection"],
        request.path_params["id"],
        body,
        request_info(request, body),
        _expand(request),
    )
    return await _finish(request, result)


routes = [
    Route("/api/collections/{collection}/auth-with-password", auth_with_password, methods=["POST"]),
    Route("/api/collections/{collection}/auth-refresh", auth_refresh, methods=["POST"]),
    Route("/api/collections/{collection}/auth-methods", auth_methods, methods=["GET"]),
    Route("/api/collections/{collection}/impersonate/{id}", impersonate, methods=["POST"]),
]
