"""Outbound calls carry the request's trace: `traceparent` on provider HTTP calls, client spans around them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from satchel.apis.server import create_app
from satchel.core.auth.oauth2 import avatar
from satchel.core.auth.oauth2.http import ProviderError
from satchel.plugins.tracing.outbound_http import TracedTransport
from tests.plugins.tracing.conftest import Traced

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@contextmanager
def provider() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A loopback HTTP server that answers JSON (or a 503 on /down) and keeps each request's headers."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            if self.path.startswith("/avatar"):
                body, status, kind = PNG, 200, "image/png"
            else:
                status = 503 if self.path.startswith("/down") else 200
                body, kind = json.dumps({"sub": "1"}).encode(), "application/json"
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def outbound(traced: Traced) -> Iterator[tuple[str, list[dict[str, str]], httpx2.AsyncClient]]:
    http = traced.app.auth.oauth2.http
    http.allow_private_addresses = True  # the provider lives on loopback

    async def call(request: Request) -> JSONResponse:
        url = request.query_params["url"]
        if request.query_params.get("avatar"):
            upload = await avatar.download(http, url, 1 << 20)
            return JSONResponse({"size": upload.size})
        try:
            return JSONResponse(await http.get_json(url, {"Authorization": "Bearer do-not-export"}))
        except ProviderError as exc:
            return JSONResponse({"error": exc.status}, status_code=400)

    traced.app.routes.append(Route("/test/call", call))
    transport = httpx2.ASGITransport(app=create_app(traced.app))
    with provider() as (url, seen):
        yield url, seen, httpx2.AsyncClient(transport=transport, base_url="http://satchel.test")


async def test_provider_calls_carry_traceparent_of_their_client_span(
    traced: Traced, outbound: tuple[str, list[dict[str, str]], httpx2.AsyncClient]
) -> None:
    url, seen, client = outbound
    async with client:
        r = await client.get("/test/call", params={"url": f"{url}/userinfo?access_token=do-not-export"})
    assert r.status_code == 200 and r.json() == {"sub": "1"}
    request_span = traced.server_span("GET /test/call")
    (call,) = traced.children(request_span, "GET")
    assert call.kind is SpanKind.CLIENT
    assert call.status.status_code is StatusCode.UNSET
    attrs = dict(call.attributes or {})
    assert attrs["http.response.status_code"] == 200
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["url.full"] == f"{url}/userinfo"  # no query: tokens ride there
    assert "do-not-export" not in call.to_json()
    (headers,) = seen
    trace_id, span_id = format(call.context.trace_id, "032x"), format(call.context.span_id, "016x")
    version, sent_trace, sent_span, flags = headers["traceparent"].split("-")
    assert (version, sent_trace, sent_span) == ("00", trace_id, span_id)
    assert int(flags, 16) & 1  # sampled
    assert call.context.trace_id == request_span.context.trace_id


async def test_an_error_answer_makes_an_error_client_span(
    traced: Traced, outbound: tuple[str, list[dict[str, str]], httpx2.AsyncClient]
) -> None:
    url, _, client = outbound
    async with client:
        r = await client.get("/test/call", params={"url": f"{url}/down"})
    assert r.status_code == 400 and r.json() == {"error": 503}
    (call,) = traced.children(traced.server_span("GET /test/call"), "GET")
    assert call.status.status_code is StatusCode.ERROR
    assert dict(call.attributes or {})["http.response.status_code"] == 503


async def test_an_unreachable_provider_makes_an_error_client_span(
    traced: Traced, outbound: tuple[str, list[dict[str, str]], httpx2.AsyncClient]
) -> None:
    _, _, client = outbound
    async with client:
        r = await client.get("/test/call", params={"url": "http://127.0.0.1:1/token"})
    assert r.status_code == 400
    (call,) = traced.children(traced.server_span("GET /test/call"), "GET")
    assert call.status.status_code is StatusCode.ERROR
    assert dict(call.attributes or {})["error.type"] == "ConnectError"


async def test_avatar_downloads_pinned_to_an_address_name_the_host_and_end_after_the_body(
    traced: Traced, outbound: tuple[str, list[dict[str, str]], httpx2.AsyncClient]
) -> None:
    url, seen, client = outbound
    named = url.replace("127.0.0.1", "localhost")
    async with client:
        r = await client.get("/test/call", params={"url": f"{named}/avatar.png", "avatar": "1"})
    assert r.status_code == 200 and r.json() == {"size": len(PNG)}
    (call,) = traced.children(traced.server_span("GET /test/call"), "GET")
    assert dict(call.attributes or {})["server.address"] == "localhost"
    assert seen[0]["traceparent"].split("-")[2] == format(call.context.span_id, "016x")


async def test_calls_outside_a_trace_pass_through_untouched(traced: Traced) -> None:
    http = traced.app.auth.oauth2.http
    assert isinstance(http.transport, TracedTransport)
    with provider() as (url, seen):
        assert await http.get_json(f"{url}/jwks") == {"sub": "1"}
    assert "traceparent" not in seen[0] and traced.spans() == []
