"""A real HTTP server on loopback that plays a provider's avatar host.

Routes: `/img/<name>?size=N` a PNG of exactly N bytes (default `PNG`'s own size), `/redirect?to=URL`
a 302 to URL, `/loop` a 302 to itself, `/status/<code>` a PNG with that status, `/gzip` a gzip-encoded PNG, `/empty` a 200 without a body and
`/hang` an answer that never comes (released when the server stops). Every request is recorded
with its path and `Host` header, so tests can tell whether (and how) the server was reached.
"""

from __future__ import annotations

import gzip
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


PNG = (
    b"\x89PNG\r\n\x1a\n"
    + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    + _chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    + _chunk(b"IEND", b"")
)
"""A valid 1x1 PNG."""


def png_of(size: int) -> bytes:
    """A PNG signature and header padded (as trailing bytes, which sniffing ignores) to `size` bytes."""
    return (PNG + b"\x00" * size)[:size] if size >= len(PNG) else PNG[:size]


@dataclass(frozen=True)
class Seen:
    path: str
    host: str


@dataclass
class AvatarServer:
    host: str
    port: int
    seen: list[Seen] = field(default_factory=list)

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"


@contextmanager
def running(bind: str = "127.0.0.1") -> Iterator[AvatarServer]:
    release = threading.Event()
    info = AvatarServer(bind, 0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            info.seen.append(Seen(self.path, self.headers.get("host", "")))
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path.startswith("/img/"):
                self._send(200, png_of(int(query.get("size", len(PNG)))), {"content-type": "image/png"})
            elif url.path == "/loop":
                self._send(302, b"", {"location": "/loop"})
            elif url.path == "/redirect":
                self._send(302, b"", {"location": query["to"]})
            elif url.path.startswith("/status/"):
                self._send(int(url.path.rsplit("/", 1)[1]), PNG, {"content-type": "image/png"})
            elif url.path == "/gzip":
                self._send(200, gzip.compress(PNG), {"content-type": "image/png", "content-encoding": "gzip"})
            elif url.path == "/empty":
                self._send(200, b"", {})
            elif url.path == "/hang":
                release.wait(60)
            else:
                self._send(404, b"", {})

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((bind, 0), Handler)
    server.daemon_threads = True
    info.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield info
    finally:
        release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def avatar_server() -> Iterator[AvatarServer]:
    with running() as server:
        yield server
