"""Assembles the ASGI application: routes from each endpoint module, middleware, error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from satchel.apis import dashboard
from satchel.apis.errors import error_response, exception_response, satchel_error_handler
from satchel.apis.middleware.front import FrontMiddleware, response_headers
from satchel.apis.middleware.ratelimit import RateLimitMiddleware
from satchel.apis.middleware.request_log import REQUEST_ID_HEADER, RequestLogMiddleware
from satchel.apis.openapi import endpoints as openapi
from satchel.apis.rest import (
    api_keys,
    auth_email,
    auth_oauth2,
    auth_otp,
    auth_totp,
    backups,
    batch,
    collections,
    crons,
    files,
    health,
    logs,
    realtime,
    realtime_ws,
    record_auth,
    records,
    settings,
)
from satchel.apis.routing import IndexedRouter
from satchel.core.app import App
from satchel.core.errors import SatchelError

NOT_FOUND = "The requested resource wasn't found."


def all_routes() -> list[BaseRoute]:
    # Order is precedence among routes that share a path shape (see IndexedRouter): fixed
    # collection paths (import, meta/scaffolds) stay ahead of the `{collection}` patterns.
    return [
        *records.routes,
        *record_auth.routes,
        *auth_email.routes,
        *auth_otp.routes,
        *auth_totp.routes,
        *auth_oauth2.routes,
        *api_keys.routes,
        *realtime.routes,
        *realtime_ws.routes,  # same path: Starlette dispatches websocket scopes apart from HTTP ones
        *batch.routes,
        *files.routes,
        *backups.routes,
        *collections.routes,
        *settings.routes,
        *logs.routes,
        *crons.routes,
        *health.routes,
        *openapi.routes,
        *dashboard.routes,
    ]


async def _http_exception(request: Request, exc: Exception) -> Response:
    request.scope.setdefault("state", {})["error"] = exc  # for the request log
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return error_response(404, NOT_FOUND)
        if exc.status_code == 405:
            return error_response(405, "Method Not Allowed.")
        return error_response(exc.status_code, exc.detail)
    return error_response(400, "Something went wrong while processing your request.")


def _last_resort(app: App) -> Callable[[Request, Exception], Awaitable[Response]]:
    """Starlette's outermost handler, for an exception the front middleware did not answer: one
    raised in a layer outside it (the request log, a plugin's middleware), or after the response
    started (then Starlette sends nothing and this only logs it). Its 500 is sent past the front
    middleware and the request log, so it gets here the headers they give every other answer."""

    async def handler(request: Request, exc: Exception) -> Response:
        response = exception_response(request.scope, exc)
        response.raw_headers.extend(response_headers(app, request.scope))
        request_id = request.scope.get("state", {}).get("request_id")
        if request_id:
            response.raw_headers.append((REQUEST_ID_HEADER, request_id.encode("ascii")))
        return response

    return handler


def create_app(
    app: App,
    *,
    on_startup: Callable[[], Awaitable[None]] | None = None,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
) -> Starlette:
    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if on_startup is not None:
            await on_startup()
        try:
            yield
        finally:
            if on_shutdown is not None:
                await on_shutdown()

    asgi = Starlette(
        middleware=[
            *app.asgi_middleware,
            Middleware(RequestLogMiddleware, app=app),  # inside plugins' (a tracing span covers it)
            Middleware(FrontMiddleware, app=app),
            Middleware(RateLimitMiddleware, app=app),
        ],
        exception_handlers={
            SatchelError: satchel_error_handler,
            HTTPException: _http_exception,
            Exception: _last_resort(app),
        },
    )
    asgi.router = IndexedRouter([*all_routes(), *app.routes], lifespan=lifespan)
    asgi.state.satchel = app
    return asgi
