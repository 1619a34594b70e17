"""deploy/nginx: `nginx -t` on the shipped files, then real traffic through nginx (TLS with a
certificate made here) to two `satchel serve` nodes: health, redirect, request ids, SSE across nodes,
a WebSocket upgrade, and bodies over nginx's default 1 MB limit.

The files are used as shipped except for what only the host decides: the listen ports (free loopback
ports here) and the upstream addresses (the two local nodes instead of the compose service names).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import re
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from deploy_nodes import Node
from nginx_proxy import NGINX, Prefix, Proxy, prepare, start_proxy, stop

from tests.apis.test_api_realtime import EMAIL, PASSWORD, Stream
from tests.apis.ws_client import GUID, WebSocket

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
CLIENT_ID = "client-chosen-id.42"
SATCHEL_SSE_IDLE = 300
"""Seconds after which Satchel ends an SSE stream that delivered nothing (docs/realtime.md)."""


def config_test(prefix: Prefix) -> subprocess.CompletedProcess[str]:
    return subprocess.run(prefix.command("-t"), capture_output=True, text=True, timeout=30, check=False)


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    res = config_test(prepare(tmp_path / "nginx", ["127.0.0.1:1", "127.0.0.1:2"]))
    assert res.returncode == 0, res.stderr
    # newer nginx deprecates `listen ... http2` (kept so that 1.22 still loads the file): nothing else
    warnings = [line for line in res.stderr.splitlines() if "[warn]" in line and "http2" not in line]
    assert warnings == []


def test_nginx_refuses_the_configuration_without_its_certificate(tmp_path: Path) -> None:
    """`nginx -t` really reads the files: take the certificate away and it fails."""
    prefix = prepare(tmp_path / "nginx", ["127.0.0.1:1", "127.0.0.1:2"])
    prefix.cert.unlink()
    res = config_test(prefix)
    assert res.returncode != 0
    assert "fullchain.pem" in res.stderr


def block(text: str, head: str) -> str:
    start = text.index(head)
    return text[start : text.index("}", start)]


def test_realtime_location_streams_and_outlives_satchel_idle_timeout() -> None:
    realtime = block((NGINX / "satchel.conf").read_text(), "location = /api/realtime {")
    assert re.search(r"^\s*proxy_buffering off;", realtime, re.MULTILINE)
    assert re.search(r"^\s*gzip off;", realtime, re.MULTILINE)
    for directive in ("proxy_read_timeout", "proxy_send_timeout"):
        match = re.search(rf"^\s*{directive} (\d+)s;", realtime, re.MULTILINE)
        assert match and int(match.group(1)) > SATCHEL_SSE_IDLE, directive


def test_upstream_balances_by_open_connections_with_keepalive() -> None:
    upstream = (NGINX / "upstream.conf").read_text()
    assert re.search(r"^\s*least_conn;", upstream, re.MULTILINE)
    assert re.search(r"^\s*keepalive \d+;", upstream, re.MULTILINE)


# ---------------------------------------------------------------- real traffic


@pytest.fixture(scope="module")
def proxy(satchel_nodes: list[Node], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    prefix = prepare(tmp_path_factory.mktemp("nginx"), [f"127.0.0.1:{node.port}" for node in satchel_nodes])
    running = start_proxy(prefix)
    try:
        yield running
    finally:
        stop(running.proc)


COLLECTIONS = [
    # readable only when Satchel received exactly the request id the client chose
    {"name": "rid_exact", "listRule": f'@request.headers.x_request_id = "{CLIENT_ID}"'},
    # readable only when Satchel received some request id
    {"name": "rid_any", "listRule": '@request.headers.x_request_id != ""'},
    {"name": "posts", "listRule": ""},
]


@pytest.fixture(scope="module")
def superuser(proxy: Proxy) -> dict[str, str]:
    """A superuser's headers, and the collections of these tests (one record each), set up through nginx."""
    with httpx2.Client(base_url=proxy.url, verify=proxy.tls, timeout=10) as http:
        r = http.post("/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD})
        assert r.status_code == 200, r.text
        su = {"Authorization": r.json()["token"]}
        for collection in COLLECTIONS:
            body = {**collection, "type": "base", "viewRule": None, "fields": [{"name": "title", "type": "text"}]}
            r = http.post("/api/collections", headers=su, json=body)
            assert r.status_code == 200, r.text
            r = http.post(f"/api/collections/{collection['name']}/records", headers=su, json={"title": "one"})
            assert r.status_code == 200, r.text
    return su


async def visible(http: httpx2.AsyncClient, collection: str, headers: dict[str, str]) -> tuple[int, str]:
    """How many records a guest sees (the list rule decides), and the response's request id."""
    r = await http.get(f"/api/collections/{collection}/records", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["totalItems"], r.headers.get("x-request-id", "")


async def test_health_through_nginx(proxy: Proxy) -> None:
    async with proxy.client() as http:
        r = await http.get("/api/health")
    assert r.status_code == 200
    assert r.json()["code"] == 200
    assert r.headers["strict-transport-security"].startswith("max-age=")


async def test_plain_http_redirects_to_https(proxy: Proxy) -> None:
    async with httpx2.AsyncClient() as http:
        r = await http.get(f"http://127.0.0.1:{proxy.prefix.http_port}/api/health?x=1")
    assert r.status_code == 301
    assert r.headers["location"].startswith("https://127.0.0.1")
    assert r.headers["location"].endswith("/api/health?x=1")


async def test_request_id_reaches_satchel(proxy: Proxy, satchel_nodes: list[Node], superuser: dict[str, str]) -> None:
    async with proxy.client() as http:
        # a well-formed id is passed on unchanged and echoed
        assert await visible(http, "rid_exact", {"X-Request-Id": CLIENT_ID}) == (1, CLIENT_ID)
        # none sent: nginx makes one, Satchel receives it, the client gets it back
        count, generated = await visible(http, "rid_any", {})
        assert count == 1 and GENERATED_ID.match(generated), generated
        assert (await visible(http, "rid_exact", {}))[0] == 0
        # a malformed one (spaces, quotes) is replaced, never forwarded
        count, replaced = await visible(http, "rid_any", {"X-Request-Id": 'forged "id" here'})
        assert count == 1 and GENERATED_ID.match(replaced), replaced
    # without nginx nobody adds one: the rule above is not trivially true
    async with httpx2.AsyncClient(base_url=satchel_nodes[0].url) as direct:
        assert (await visible(direct, "rid_any", {}))[0] == 0


async def test_sse_stream_through_nginx_receives_changes(proxy: Proxy, superuser: dict[str, str]) -> None:
    async with proxy.client() as streams, proxy.client(limits=httpx2.Limits(max_keepalive_connections=0)) as calls:
        stream = Stream(streams)
        task = asyncio.create_task(stream.run())
        try:
            first = await stream.next()
            assert first["event"] == "PB_CONNECT"
            assert stream.headers["content-type"].startswith("text/event-stream")
            client_id = first["data"]["clientId"]
            # least_conn sends this call to the node that is not holding the stream; Satchel forwards it
            r = await calls.post("/api/realtime", json={"clientId": client_id, "subscriptions": ["posts/*"]})
            assert r.status_code == 204, r.text
            r = await calls.post("/api/collections/posts/records", headers=superuser, json={"title": "live"})
            assert r.status_code == 200, r.text
            event = await stream.next()
            assert event["event"] == "posts/*"
            assert event["data"]["action"] == "create"
            assert event["data"]["record"]["title"] == "live"
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_websocket_upgrades_through_nginx(proxy: Proxy) -> None:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", proxy.prefix.https_port, ssl=proxy.tls, server_hostname="localhost"
    )
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        "GET /api/realtime HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    try:
        writer.write(request.encode())
        await writer.drain()
        head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode("latin-1")
        status, *lines = head.split("\r\n")
        assert status.split(" ")[1] == "101", head
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()  # RFC 6455 fixes SHA-1 here
        assert headers["sec-websocket-accept"] == accept
        ws = WebSocket(reader, writer)
        assert (await ws.receive_json())["type"] == "connect"
        await ws.send_json({"type": "ping"})
        assert (await ws.receive_json())["type"] == "pong"
        await ws.close()
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 5)


async def test_body_over_nginx_default_limit_reaches_satchel(proxy: Proxy, superuser: dict[str, str]) -> None:
    """nginx's default client_max_body_size (1 MB) would answer 413 itself; Satchel judges the body."""
    async with proxy.client() as http:
        r = await http.post("/api/collections/posts/records", headers=superuser, json={"title": "x" * (2 << 20)})
    assert r.headers["content-type"].startswith("application/json"), r.text[:200]
    body = r.json()
    assert body["status"] == r.status_code
    assert set(body) == {"status", "message", "data"}
