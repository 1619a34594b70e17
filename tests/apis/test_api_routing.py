"""The indexed router answers every request exactly as Starlette's scanning router would."""

from __future__ import annotations

import itertools

import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, Router

from satchel.apis.routing import IndexedRouter
from satchel.apis.server import all_routes, create_app
from satchel.core.app import App

PATHS = [
    "/api/health", "/api/health/", "/api/healthx", "/api", "/", "/api/collections", "/api/collections/",
    "/api/collections/import", "/api/collections/meta/scaffolds", "/api/collections/meta", "/api/collections/users",
    "/api/collections/users/", "/api/collections/users/records", "/api/collections/users/records/abc",
    "/api/collections/users/records/abc/", "/api/collections/users/records/abc/x", "/api/collections/users/truncate",
    "/api/collections/users/auth-refresh", "/api/collections/users/auth-methods", "/api/collections/records/records",
    "/api/collections/import/records", "/api/collections/users/impersonate/abc", "/api/realtime", "/api/batch",
    "/api/settings", "/api/settings/x", "/api/nope", "/api/collections//records",
]
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"]


def test_every_route_is_indexed() -> None:
    router = IndexedRouter(all_routes())
    assert router._always == ()  # a route the index cannot place is tried for every request


async def _echo(request: Request) -> Response:
    return PlainTextResponse(f"custom {request.path_params}")


# what plugins and Python hooks may add: a route the index cannot place, ahead of and behind others
EXTRA_ROUTES: list[BaseRoute] = [
    Route("/api/custom/{rest:path}", _echo, methods=["GET"]),
    Route("/api/{anything:path}", _echo, methods=["PATCH"]),
]
EXTRA_PATHS = ["/api/custom/a/b", "/api/custom/", "/api/custom", "/api/x/y/z/w", "/api/collections/users/x/y/z"]


@pytest.mark.parametrize("extra", [[], EXTRA_ROUTES], ids=["built-in", "with-unplaceable-routes"])
async def test_same_answers_as_the_scanning_router(app: App, extra: list[BaseRoute]) -> None:
    app.routes.extend(extra)
    indexed = create_app(app)
    assert len(indexed.router._always) == len(extra)  # type: ignore[attr-defined]
    scanning = create_app(app)
    scanning.router = Router([*all_routes(), *extra])
    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=indexed), base_url="http://t") as a,
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=scanning), base_url="http://t") as b,
    ):
        for method, path in itertools.product(METHODS, PATHS + EXTRA_PATHS):
            if method in ("GET", "HEAD") and path == "/api/realtime":
                continue  # an endless event stream; its route is covered by the realtime tests
            ra = await a.request(method, path, follow_redirects=False)
            rb = await b.request(method, path, follow_redirects=False)
            assert (ra.status_code, ra.content, ra.headers.get("location")) == (
                rb.status_code,
                rb.content,
                rb.headers.get("location"),
            ), (method, path)
