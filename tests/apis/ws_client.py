"""A small RFC 6455 WebSocket client over asyncio streams, for the realtime tests.

The test environment has no WebSocket client library (httpx2's needs wsproto); this one does what
the tests need and nothing more: the upgrade handshake, masked text/binary/close frames out,
unmasked frames in (fragmented messages reassembled, pings answered), and the close handshake.
Working at the frame level also lets tests send what a library would refuse to (oversized or
binary frames).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from typing import Any

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0
TIMEOUT = 10.0
"""How long a test waits for a frame it expects before failing (never reached when all is well)."""


class Closed(Exception):
    """The server closed the connection; `code` and `reason` come from its close frame."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed: {code} {reason!r}")
        self.code = code
        self.reason = reason


class HandshakeError(Exception):
    def __init__(self, status_line: str, headers: dict[str, str]) -> None:
        super().__init__(status_line)
        self.status_line = status_line
        self.headers = headers


@dataclass
class WebSocket:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    closed: Closed | None = None

    # ------------------------------------------------------------------ sending
    async def send_frame(self, opcode: int, payload: bytes, *, fin: bool = True) -> None:
        mask = os.urandom(4)
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        key = int.from_bytes(mask * (n // 4 + 1), "big") >> (8 * (4 - n % 4))
        masked = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big") if n else b""
        self.writer.write(head + mask + masked)
        await self.writer.drain()

    async def send_text(self, text: str) -> None:
        await self.send_frame(TEXT, text.encode())

    async def send_json(self, value: Any) -> None:
        await self.send_text(json.dumps(value))

    async def close(self, code: int = 1000) -> None:
        if self.writer.is_closing():
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.send_frame(CLOSE, struct.pack("!H", code))
        self.writer.close()

    # ------------------------------------------------------------------ receiving
    async def _read_frame(self) -> tuple[bool, int, bytes]:
        b0, b1 = await self.reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
        assert not b1 & 0x80, "a server must not mask its frames"
        return bool(b0 & 0x80), b0 & 0x0F, await self.reader.readexactly(n)

    async def receive(self, timeout: float = TIMEOUT) -> tuple[int, bytes]:
        """The next message as (opcode, payload); raises `Closed` once the server closed."""
        return await asyncio.wait_for(self._receive(), timeout)

    async def _receive(self) -> tuple[int, bytes]:
        if self.closed is not None:
            raise self.closed
        parts: list[bytes] = []
        first = 0
        while True:
            try:
                fin, opcode, payload = await self._read_frame()
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                self.closed = Closed(None, "connection lost")
                raise self.closed from exc
            if opcode == PING:
                await self.send_frame(PONG, payload)
                continue
            if opcode == PONG:
                continue
            if opcode == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self.closed = Closed(code, payload[2:].decode())
                await self.close(code or 1000)
                raise self.closed
            if opcode != CONTINUATION:
                first = opcode
            parts.append(payload)
            if fin:
                return first, b"".join(parts)

    async def receive_json(self, timeout: float = TIMEOUT) -> Any:
        opcode, payload = await self.receive(timeout)
        assert opcode == TEXT, f"expected a text frame, got opcode {opcode}"
        return json.loads(payload)

    async def wait_closed(self, timeout: float = TIMEOUT) -> Closed:
        """Read (and drop) messages until the server closes; the close frame's code and reason."""
        while True:
            try:
                await self.receive(timeout)
            except Closed as closed:
                return closed


async def connect(url: str, headers: dict[str, str] | None = None) -> WebSocket:
    """Open `ws://host:port/path` and complete the upgrade; raises HandshakeError on a refusal."""
    assert url.startswith("ws://")
    hostport, _, path = url[len("ws://") :].partition("/")
    host, _, port = hostport.partition(":")
    reader, writer = await asyncio.open_connection(host, int(port or 80))
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET /{path} HTTP/1.1",
        f"Host: {hostport}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    response_headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
    if status_line.split(" ")[1:2] != ["101"]:
        writer.close()
        raise HandshakeError(status_line, response_headers)
    expected = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()  # RFC 6455 fixes SHA-1 here
    assert response_headers.get("sec-websocket-accept") == expected
    return WebSocket(reader, writer)
