"""`/api/realtime` over a real socket: a granian server in a subprocess, read with a streaming client.

In-process ASGI transports buffer whole responses, so SSE needs a real server. Expected responses
are the ones PocketBase 0.40.6 gives for the same requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest

from satchel.testing import postgres as pg_testing

EMAIL, PASSWORD = "admin@example.com", "Admin12345!"

ENTRY = textwrap.dedent(
    """
    import os
    from satchel.apis.server import create_app
    from satchel.apis.shutdown import install_granian_hook, on_worker_stop
    from satchel.wiring import build_app

    install_granian_hook()

    core = build_app(os.environ["SATCHEL_DIR"], db_url=os.environ["SATCHEL_DB"])
    core.realtime.idle_timeout = float(os.environ.get("RT_IDLE", "300"))

    async def startup():
        await core.bootstrap()
        on_worker_stop(core.realtime.disconnect_all)

    async def shutdown():
        await core.realtime.close()
        await core.close()

    app = create_app(core, on_startup=startup, on_shutdown=shutdown)
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        # granian's worker is a child process: kill the whole session, not just the parent
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


def start_server(tmp: Path, db: str = "", **env: str) -> Server:
    """A server on `tmp/data`, on `db` (empty: the SQLite file there)."""
    data = tmp / "data"
    subprocess.run(
        [sys.executable, "-m", "satchel.cli.main", "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(data)],
        env={**os.environ, "SATCHEL_DB": db},
        check=True,
        capture_output=True,
    )
    (tmp / "rt_entry.py").write_text(ENTRY)
    port = free_port()
    environ = {
        **os.environ,
        "SATCHEL_DIR": str(data),
        "SATCHEL_DB": db,
        "PYTHONPATH": f"{tmp}{os.pathsep}{Path.cwd()}",
        **env,
    }
    cmd = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "rt_entry:app"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = Server(proc, f"http://127.0.0.1:{port}")
    if healthy(server.url, proc):
        return server
    server.stop()
    raise RuntimeError("realtime test server did not start")


def healthy(url: str, proc: subprocess.Popen[bytes]) -> bool:
    """Wait (30 s at most) until the server at `url` answers its health check; False if it died."""
    for _ in range(300):
        try:
            if httpx2.get(url + "/api/health", timeout=1).status_code == 200:
                return True
        except httpx2.TransportError:
            pass
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


@contextlib.contextmanager
def shared_server(tmp: Path) -> Iterator[Server]:
    """The server a module's tests share, on the pass's database: under `SATCHEL_TEST_DB=postgres` a
    PostgreSQL schema, held through the per-test drops until the module ends (one start, real coverage
    of the served app on PostgreSQL; the tests that start servers of their own stay on SQLite)."""
    data, db = tmp / "data", ""
    if pg_testing.enabled():
        db = asyncio.run(pg_testing.database_url(data))
        pg_testing.hold(data)
    try:
        s = start_server(tmp, db)
        try:
            yield s
        finally:
            s.stop()
    finally:
        if pg_testing.enabled():
            pg_testing.release(data)
            asyncio.run(pg_testing.drop_schemas())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with shared_server(tmp_path_factory.mktemp("rt")) as s:
        yield s


@dataclass
class Stream:
    """One SSE connection read in the background into parsed frames."""

    http: httpx2.AsyncClient
    frames: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    raw: bytearray = field(default_factory=bytearray)
    headers: dict[str, str] = field(default_factory=dict)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    client_id: str = ""

    async def run(self) -> None:
        try:
            async with self.http.stream("GET", "/api/realtime", timeout=None) as r:
                self.headers = dict(r.headers)
                buf = b""
                async for chunk in r.aiter_raw():
                    self.raw.extend(chunk)
                    buf += chunk
                    while b"\n\n" in buf:
                        block, buf = buf.split(b"\n\n", 1)
                        lines = dict(line.split(":", 1) for line in block.decode().split("\n"))
                        self.frames.put_nowait({**lines, "data": json.loads(lines["data"])})
        except httpx2.TransportError:
            pass
        finally:
            self.ended.set()

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.frames.get(), 10)


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=server.url, timeout=10) as c:
        yield c


async def open_stream(http: httpx2.AsyncClient) -> tuple[Stream, asyncio.Task[None]]:
    stream = Stream(http)
    task = asyncio.create_task(stream.run())
    first = await stream.next()
    stream.client_id = first["id"]
    return stream, task


async def su_headers(http: httpx2.AsyncClient) -> dict[str, str]:
    r = await http.post(
        "/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD}
    )
    return {"Authorization": r.json()["token"]}


def bad_request(data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"data": data or {}, "message": "Something went wrong while processing your request.", "status": 400}


async def test_connect_frame_and_headers(http: httpx2.AsyncClient) -> None:
    stream, task = await open_stream(http)
    cid = stream.client_id
    assert re.fullmatch(r"[A-Za-z0-9]{40}", cid)
    assert bytes(stream.raw) == f'id:{cid}\nevent:PB_CONNECT\ndata:{{"clientId":"{cid}"}}\n\n'.encode()
    assert stream.headers["content-type"] == "text/event-stream"
    assert stream.headers["cache-control"] == "no-store"
    assert stream.headers["x-accel-buffering"] == "no"
    assert "content-length" not in stream.headers
    task.cancel()


LONG = {"code": "validation_length_too_long"}


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (b"", 400, bad_request({"clientId": {"code": "validation_required", "message": "Cannot be blank."}})),
        (b"{}", 400, bad_request({"clientId": {"code": "validation_required", "message": "Cannot be blank."}})),
        (b'{"clientId":"x"}', 404, {"data": {}, "message": "Missing or invalid client id.", "status": 404}),
        (b'{"clientId":"x","subscriptions":null}', 404, None),
        (b'{"clientId":123}', 400, bad_request()),
        (b'{"clientId":"x","subscriptions":"a"}', 400, bad_request()),
        (b'{"clientId":"x","subscriptions":[1]}', 400, bad_request()),
        (b"[1]", 400, bad_request()),
        (b"nojson", 400, bad_request()),
        (
            json.dumps({"clientId": "a" * 256, "subscriptions": ["a"] * 1001}).encode(),
            400,
            bad_request(
                {
                    "clientId": {
                        "code": "validation_length_out_of_range",
                        "message": "The length must be between 1 and 255.",
                        "params": {"max": 255, "min": 1},
                    },
                    "subscriptions": {
                        "code": "validation_length_too_long",
                        "message": "The length must be no more than 1000.",
                        "params": {"max": 1000, "min": 0},
                    },
                }
            ),
        ),
        (
            json.dumps({"clientId": "x", "subscriptions": ["a", "a" * 2501]}).encode(),
            400,
            bad_request(
                {
                    "subscriptions": {
                        "1": {
                            "code": "validation_length_too_long",
                            "message": "The length must be no more than 2500.",
                            "params": {"max": 2500, "min": 0},
                        }
                    }
                }
            ),
        ),
    ],
)
async def test_subscribe_validation(http: httpx2.AsyncClient, body: bytes, status: int, expected: Any) -> None:
    r = await http.post("/api/realtime", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status
    if expected is not None:
        assert r.json() == expected


async def test_events_flow_and_auth_binding(http: httpx2.AsyncClient) -> None:
    su = await su_headers(http)
    r = await http.post(
        "/api/collections",
        headers=su,
        json={
            "name": "notes",
            "listRule": "public = true",
            "viewRule": "public = true",
            "fields": [{"name": "text", "type": "text"}, {"name": "public", "type": "bool"}],
        },
    )
    assert r.status_code == 200, r.text
    guest, guest_task = await open_stream(http)
    admin, admin_task = await open_stream(http)
    r = await http.post("/api/realtime", json={"clientId": guest.client_id, "subscriptions": ["notes/*"]})
    assert r.status_code == 204 and r.content == b""
    r = await http.post("/api/realtime", headers=su, json={"clientId": admin.client_id, "subscriptions": ["notes"]})
    assert r.status_code == 204
    # guest -> auth is an allowed upgrade; auth -> guest or another auth is refused
    forbidden = {
        "data": {},
        "message": "The current and the previous request authorization don't match.",
        "status": 403,
    }
    r = await http.post("/api/realtime", json={"clientId": admin.client_id, "subscriptions": ["notes"]})
    assert (r.status_code, r.json()) == (403, forbidden)

    for text, public in (("secret", False), ("hello", True)):
        r = await http.post("/api/collections/notes/records", headers=su, json={"text": text, "public": public})
        assert r.status_code == 200
    frame = await guest.next()
    assert frame["id"] == guest.client_id and frame["event"] == "notes/*"
    assert frame["data"]["action"] == "create" and frame["data"]["record"]["text"] == "hello"
    assert [(await admin.next())["data"]["record"]["text"] for _ in range(2)] == ["secret", "hello"]
    assert guest.frames.empty()
    raw = bytes(guest.raw).split(b"\n\n")[1]
    assert raw.startswith(f"id:{guest.client_id}\nevent:notes/*\ndata:{{".encode())
    assert raw.index(b'"record"') < raw.index(b'"action"')  # PocketBase's key order
    guest_task.cancel()
    admin_task.cancel()


async def test_hangup_frees_the_client(http: httpx2.AsyncClient, server: Server) -> None:
    stream, task = await open_stream(http)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    async with httpx2.AsyncClient(base_url=server.url, timeout=10) as other:
        for _ in range(100):
            r = await other.post("/api/realtime", json={"clientId": stream.client_id, "subscriptions": []})
            if r.status_code == 404:
                break
            await asyncio.sleep(0.05)
        assert r.status_code == 404


@pytest.mark.skipif(pg_testing.enabled(), reason="always on SQLite: run once, in the default pass")
async def test_idle_stream_is_closed(tmp_path: Path) -> None:
    server = start_server(tmp_path, RT_IDLE="0.3")
    try:
        async with httpx2.AsyncClient(base_url=server.url, timeout=10) as http:
            stream, task = await open_stream(http)
            await asyncio.wait_for(stream.ended.wait(), 20)
            r = await http.post("/api/realtime", json={"clientId": stream.client_id, "subscriptions": []})
            assert r.status_code == 404
            await task
    finally:
        server.stop()


@pytest.mark.skipif(pg_testing.enabled(), reason="always on SQLite: run once, in the default pass")
async def test_sigterm_ends_open_streams_and_the_server_stops(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        async with httpx2.AsyncClient(base_url=server.url, timeout=10) as http:
            stream, task = await open_stream(http)
            server.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(stream.ended.wait(), 20)
            await task
        assert await asyncio.to_thread(server.proc.wait, 20) == 0
    finally:
        server.stop()


async def test_subscribe_from_another_ip_is_refused(http: httpx2.AsyncClient) -> None:
    su = await su_headers(http)
    r = await http.patch("/api/settings", headers=su, json={"trustedProxy": {"headers": ["X-Forwarded-For"]}})
    assert r.status_code == 200, r.text
    try:
        stream = Stream(http)
        http.headers["X-Forwarded-For"] = "10.0.0.1, 1.2.3.4"
        task = asyncio.create_task(stream.run())
        cid = (await stream.next())["id"]
        del http.headers["X-Forwarded-For"]
        body = {"clientId": cid, "subscriptions": ["chat"]}
        r = await http.post("/api/realtime", json=body, headers={"X-Forwarded-For": "5.6.7.8"})
        assert (r.status_code, r.json()) == (400, {"data": {}, "message": "Invalid realtime client.", "status": 400})
        r = await http.post("/api/realtime", json=body, headers={"X-Forwarded-For": "9.9.9.9,1.2.3.4"})
        assert r.status_code == 204  # the rightmost valid address is the one the proxy vouches for
        task.cancel()
    finally:
        r = await http.patch("/api/settings", headers=su, json={"trustedProxy": {"headers": []}})
        assert r.status_code == 200
