"""Request size, shape and pace limits: body and multipart limits, JSON depth, slow clients."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from satchel.core.app import App
from tests.security.served import served

JSON = {"content-type": "application/json"}
DEEP_OBJECT = ('{"a":' * 3000 + "1" + "}" * 3000).encode()
DEEP_ARRAY = ("[" * 100_000 + "]" * 100_000).encode()  # past orjson's own recursion limit too
MODERATE = ('{"meta": ' + "[" * 100 + "]" * 100 + "}").encode()  # parses, but deeper than the 64 allowed


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/collections/users/records"),
        ("POST", "/api/collections/users/auth-with-password"),
        ("POST", "/api/collections"),
        ("PATCH", "/api/settings"),
        ("POST", "/api/batch"),
        ("POST", "/api/realtime"),
        ("POST", "/api/keys"),
        ("POST", "/api/collections/users/request-otp"),
    ],
)
@pytest.mark.parametrize("body", [DEEP_OBJECT, DEEP_ARRAY, MODERATE], ids=["object", "array", "moderate"])
async def test_deeply_nested_json_is_a_400_never_a_500(
    client: httpx2.AsyncClient, su_headers: dict[str, str], method: str, path: str, body: bytes
) -> None:
    for headers in ({}, su_headers):
        r = await client.request(method, path, content=body, headers={**JSON, **headers})
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        assert r.json()["status"] == r.status_code


async def test_deep_json_inside_multipart_payload_is_a_400(client: httpx2.AsyncClient) -> None:
    r = await client.post(
        "/api/collections/users/records", data={"@jsonPayload": DEEP_OBJECT.decode()}, files={"x": ("a.txt", b"a")}
    )
    assert r.status_code == 400 and r.json()["status"] == 400


async def test_undeclared_length_body_is_cut_at_the_limit(app: App) -> None:
    from satchel.testing import client_for

    app.config.max_body_size = 10_000
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"identity": "'
        for _ in range(10_000):  # 10 MB if it were all read
            sent += 1
            yield b"x" * 1000
        yield b'"}'

    async with client_for(app) as c:
        r = await c.post("/api/collections/users/auth-with-password", content=chunks(), headers=JSON)
    assert r.status_code == 413 and r.json()["status"] == 413
    assert sent < 10_000  # the server stopped reading


async def test_multipart_part_and_file_counts_are_capped(client: httpx2.AsyncClient) -> None:
    files = [("f", (f"{n}.txt", b"x")) for n in range(1001)]
    r = await client.post("/api/collections/users/records", files=files)
    assert r.status_code == 400 and r.json()["status"] == 400
    fields = {f"k{n}": "v" for n in range(10_001)}
    r = await client.post("/api/collections/users/records", data=fields, files={"x": ("a.txt", b"a")})
    assert r.status_code == 400 and r.json()["status"] == 400


async def test_malformed_multipart_is_a_400(client: httpx2.AsyncClient) -> None:
    for body in (b"--b\r\nContent-Disposition: form-data\r\n\r\nno end", b"garbage", b"--b--" * 1000):
        r = await client.post(
            "/api/collections/users/records", content=body, headers={"content-type": "multipart/form-data; boundary=b"}
        )
        assert r.status_code == 400, (body[:30], r.status_code, r.text)


# ---------------------------------------------------------------- slow clients (a real server)


def _read_all(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection (the socket timeout is a safety net only)."""
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def test_slow_clients_are_cut_off(tmp_path: Path) -> None:
    with served(tmp_path / "pb", "--read-timeout", "1") as server:
        # a complete request on a raw socket is answered: the cut-offs below are about pace only
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert _read_all(s).startswith(b"HTTP/1.1 200")
        # headers that never end: the connection is closed without an answer
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            s.sendall(b"a")
            assert _read_all(s) == b""
        # a body that stalls after its headers: 408 in PocketBase's error shape, then the connection closes
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
            s.sendall(
                b"POST /api/collections/users/records HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n" + b'{"email": "a'
            )
            answer = _read_all(s)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"status":408' in body
        # the server is still fine for everyone else
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert _read_all(s).startswith(b"HTTP/1.1 200")
