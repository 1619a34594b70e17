"""OAuth2 provider calls and avatar downloads over HTTPS: verified, and SATCHEL_CA_FILE adds a private
CA (a self-hosted OIDC provider, say). The server is a real TLS HTTP server on loopback."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from transit_ca import Leaf, TestCA

from satchel.core.auth.oauth2.avatar import AvatarError, download
from satchel.core.auth.oauth2.http import ProviderError, ProviderHTTP

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body, kind = (PNG, "image/png") if self.path.endswith(".png") else (b'{"sub": "42"}', "application/json")
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def https_server(leaf: Leaf) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = leaf.server_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_provider_calls_trust_satchel_ca_file(https_server: str, trust_ca: object) -> None:
    assert await ProviderHTTP().get_json(f"{https_server}/userinfo") == {"sub": "42"}


VERIFY_FAILED = "certificate verify failed"


async def test_provider_calls_refuse_an_unknown_ca(https_server: str) -> None:
    with pytest.raises(ProviderError, match="ConnectError") as caught:
        await ProviderHTTP().get_json(f"{https_server}/userinfo")
    assert VERIFY_FAILED in str(caught.value.__cause__)


async def test_provider_calls_refuse_a_stranger_even_with_a_ca_file(
    https_server: str, stranger: TestCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SATCHEL_CA_FILE", str(stranger.ca_file))
    with pytest.raises(ProviderError, match="ConnectError") as caught:
        await ProviderHTTP().get_json(f"{https_server}/userinfo")
    assert VERIFY_FAILED in str(caught.value.__cause__)


async def test_avatar_download_trusts_satchel_ca_file(https_server: str, trust_ca: object) -> None:
    upload = await download(ProviderHTTP(allow_private_addresses=True), f"{https_server}/me.png", 1 << 20)
    assert upload.filename == "me.png" and upload.size == len(PNG)


async def test_avatar_download_refuses_an_unknown_ca(https_server: str) -> None:
    with pytest.raises(AvatarError, match="could not be reached") as caught:
        await download(ProviderHTTP(allow_private_addresses=True), f"{https_server}/me.png", 1 << 20)
    assert VERIFY_FAILED in str(caught.value.__cause__)
