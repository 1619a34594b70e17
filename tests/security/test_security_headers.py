"""Security headers on every response, and the CORS allow-list (`--origins`) with preflights."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.server import create_app
from satchel.config import BootConfig, ConfigError, parse_origins
from satchel.core.app import App
from satchel.testing import client_for, running_app

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def assert_hardened(r: httpx2.Response) -> None:
    for name, value in EXPECTED.items():
        assert r.headers.get_list(name) == [value], (r.request.url, name, r.headers.get_list(name))
    csp = r.headers.get_list("content-security-policy")
    assert len(csp) == 1, (r.request.url, csp)  # the route's own, or the API one: never both
    assert "frame-ancestors 'none'" in csp[0] or "sandbox" in csp[0], (r.request.url, csp)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/health", 200),
        ("HEAD", "/api/health", 200),
        ("GET", "/api/collections/users/records", 200),
        ("GET", "/api/collections/nope/records", 404),
        ("GET", "/api/settings", 401),
        ("POST", "/api/collections/users/auth-with-password", 400),
        ("DELETE", "/api/health", 405),
        ("GET", "/no/such/route", 404),
        ("OPTIONS", "/api/health", 204),
    ],
)
async def test_every_api_response_has_the_security_headers(
    client: httpx2.AsyncClient, method: str, path: str, status: int
) -> None:
    r = await client.request(method, path, headers={"Origin": "https://app.example.com"})
    assert r.status_code == status
    assert_hardened(r)
    assert r.headers["content-security-policy"] == API_CSP


async def test_the_dashboard_keeps_its_own_strict_csp(client: httpx2.AsyncClient) -> None:
    for path in ("/_/", "/_/js/main.js"):
        r = await client.get(path)
        assert r.status_code == 200
        assert_hardened(r)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
        assert "frame-ancestors 'none'" in csp


async def test_refusals_before_routing_are_hardened_too(app: App, client: httpx2.AsyncClient) -> None:
    big = b"x" * (app.config.max_body_size + 1)
    r = await client.post("/api/collections/users/auth-with-password", content=big)
    assert r.status_code == 413
    assert_hardened(r)


async def test_an_unhandled_error_is_hardened_too(tmp_path: Path) -> None:
    """Regression: the 500 of an unexpected exception is sent by Starlette's outermost layer, past the
    front middleware, and went out without the security headers."""

    async def boom(_: Request) -> Response:
        raise RuntimeError("unexpected")

    async with running_app(tmp_path / "pb_boom") as app:
        app.routes.append(Route("/api/boom", boom))
        transport = httpx2.ASGITransport(app=create_app(app), raise_app_exceptions=False)
        async with httpx2.AsyncClient(transport=transport, base_url="http://satchel.test") as c:
            r = await c.get("/api/boom")
    assert r.status_code == 500 and r.json()["status"] == 500
    assert_hardened(r)
    assert r.headers["content-security-policy"] == API_CSP


# ---------------------------------------------------------------- CORS


@pytest.fixture
async def listed(tmp_path: Path) -> AsyncIterator[httpx2.AsyncClient]:
    async with running_app(tmp_path / "pb_listed") as app:
        app.config.cors_origins = parse_origins("https://app.example.com, http://localhost:5173")
        async with client_for(app) as c:
            yield c


async def test_any_origin_by_default(client: httpx2.AsyncClient) -> None:
    r = await client.get("/api/health", headers={"Origin": "https://evil.example"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert "Origin" in r.headers.get_list("vary")
    r = await client.get("/api/health")
    assert "access-control-allow-origin" not in r.headers


async def test_preflight_of_an_allowed_origin(listed: httpx2.AsyncClient) -> None:
    r = await listed.options(
        "/api/collections/users/records",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "POST" in r.headers["access-control-allow-methods"].split(",")
    assert r.headers["access-control-allow-headers"] == "authorization,content-type"
    assert "access-control-allow-credentials" not in r.headers
    assert_hardened(r)


async def test_preflight_of_an_unlisted_origin_gets_no_cors_headers(listed: httpx2.AsyncClient) -> None:
    for origin in ("https://evil.example", "https://app.example.com.evil.example", "null", "HTTPS://APP.EXAMPLE.COM"):
        r = await listed.options(
            "/api/collections/users/records",
            headers={"Origin": origin, "Access-Control-Request-Method": "DELETE"},
        )
        assert r.status_code == 204
        assert not [h for h in r.headers if h.startswith("access-control-")], (origin, r.headers)
        r = await listed.get("/api/health", headers={"Origin": origin})
        assert r.status_code == 200  # the server answers: the browser withholds it from the page
        assert "access-control-allow-origin" not in r.headers
        assert "Origin" in r.headers.get_list("vary")


async def test_listed_origin_is_echoed_on_simple_requests(listed: httpx2.AsyncClient) -> None:
    r = await listed.get("/api/health", headers={"Origin": "http://localhost:5173"})
    assert r.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_origins_setting_is_checked_at_start() -> None:
    assert parse_origins("*") == frozenset({"*"})
    assert parse_origins("https://a.example/, https://b.example:8443") == {
        "https://a.example",
        "https://b.example:8443",
    }
    for bad in ("", " , ", "a.example", "ftp://a.example", "https://a.example/path"):
        with pytest.raises(ConfigError):
            parse_origins(bad)
    assert BootConfig.from_env(origins="https://a.example").origins == "https://a.example"
    with pytest.raises(ConfigError):
        BootConfig.from_env(origins="javascript:alert(1)")
