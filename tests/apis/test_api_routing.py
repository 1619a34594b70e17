"""The indexed router answers every request exactly as Starlette's scanning router would."""

from __future__ import annotations

import itertools

import httpx2
from starlette.routing import Router

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
    assert router._indexed  # a route the index cannot serve would silently fall back to the scan


async def test_same_answers_as_the_scanning_router(app: App) -> None:
    indexed = create_app(app)
    scanning = create_app(app)
    scanning.router = Router(all_routes())
    async with (
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=indexed), base_url="http://t") as a,
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=scanning), base_url="http://t") as b,
    ):
        for method, path in itertools.product(METHODS, PATHS):
            if method in ("GET", "HEAD") and path == "/api/realtime":
                continue  # an endless event stream; its route is covered by the realtime tests
            ra = await a.request(method, path, follow_redirects=False)
            rb = await b.request(method, path, follow_redirects=False)
            assert (ra.status_code, ra.content, ra.headers.get("location")) == (
                rb.status_code,
                rb.content,
                rb.headers.get("location"),
            ), (method, path)
