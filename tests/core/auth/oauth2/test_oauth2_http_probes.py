"""Requests to OAuth2 providers are `oauth2.http` probes (against a real HTTP server on loopback)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from satchel.core.auth.oauth2.http import ProviderError, ProviderHTTP
from tests.probe_recording import recording

TOKEN = "access-token-in-the-query"


class _Provider(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 500 if self.path.startswith("/broken") else 200
        body = json.dumps({"id": "u1"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


async def test_a_provider_call_is_a_probe_without_its_query(provider: str) -> None:
    with recording() as rec:
        assert await ProviderHTTP().get_json(f"{provider}/userinfo?access_token={TOKEN}") == {"id": "u1"}
    [call] = rec.named("oauth2.http")
    assert call.attrs == {
        "http.method": "GET",
        "server.address": "127.0.0.1",
        "url.path": "/userinfo",
        "http.status_code": 200,
    }
    assert call.error is None and TOKEN not in str(call.attrs)


async def test_an_error_status_is_a_failed_probe(provider: str) -> None:
    with recording() as rec, pytest.raises(ProviderError):
        await ProviderHTTP().get_json(f"{provider}/broken")
    [call] = rec.named("oauth2.http")
    assert isinstance(call.error, ProviderError) and call.attrs["http.status_code"] == 500
