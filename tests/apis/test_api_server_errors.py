"""Unexpected exceptions (a custom route or a record hook raising): PocketBase's generic 500 with the
headers of every other answer (X-Request-Id, CORS for an allowed origin, the security headers),
logged under that request id, never showing the exception, and leaving no partial write."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.middleware import Middleware
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from satchel.apis.middleware.request_log import STDOUT
from satchel.apis.server import create_app
from satchel.config import parse_origins
from satchel.core.app import App
from satchel.core.hooks import RecordEvent
from satchel.core.logs.handler import attach
from satchel.core.logs.model import ERROR
from satchel.plugins.extend import Registrar, RouteEvent
from satchel.testing import postgres as pg_testing
from satchel.testing import running_app, superuser_token
from tests.apis.test_api_realtime import EMAIL, PASSWORD, free_port, healthy
from tests.apis.test_api_realtime_scaleout import Serve

ALLOWED = "https://app.example.com"
SECRET = "db password is hunter2"
INTERNAL = {"data": {}, "message": "Something went wrong while processing your request.", "status": 500}
SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}
NOTES = {
    "name": "notes",
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "fields": [
        {"name": "title", "type": "text"},
        {"name": "attachment", "type": "file", "maxSelect": 1, "maxSize": 1 << 20},
    ],
}


class Boom(RuntimeError):
    """What the hooks here raise: a bug, as far as Satchel knows."""


def registrations(after_commit: list[str]) -> Registrar:
    """A custom route and a record hook that raise, registered as hook files and library users do."""
    reg = Registrar()

    @reg.route("/api/boom", methods=["GET", "POST"])
    async def boom(e: RouteEvent) -> None:
        raise Boom(SECRET)

    @reg.route("/api/half-sent", methods=["GET"])
    async def half_sent(e: RouteEvent) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b'{"first": "chunk"'
            raise Boom(SECRET)

        return StreamingResponse(body(), media_type="application/json")

    @reg.on_record_create("notes")
    async def fail_after_the_write(e: RecordEvent) -> None:
        await e.next()  # the row (and its file) is written inside the transaction...
        if e.record.get("title") == "explode":
            raise Boom(SECRET)  # ...which this must roll back

    @reg.on_record_after_create_success("notes")
    async def committed(e: RecordEvent) -> None:
        after_commit.append(str(e.record.get("title")))
        await e.next()

    return reg


@dataclass
class Served:
    app: App
    client: httpx2.AsyncClient
    su: dict[str, str]
    after_commit: list[str]

    async def entries(self, filter_text: str) -> list[dict[str, Any]]:
        r = await self.client.get("/api/logs", params={"filter": filter_text, "perPage": 500}, headers=self.su)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with running_app(tmp_path / "pb_data") as app:
        app.config.cors_origins = parse_origins(f"{ALLOWED}, http://localhost:5173")
        app.config.log_format = "json"  # --log-requests: one stdout line per request
        after_commit: list[str] = []
        registrations(after_commit).bind(app)
        detach = attach(app.logs, None)  # what `satchel serve` installs: app logs into _logs
        # the default transport raises what the app raises: an exception reaching the server fails the test
        transport = httpx2.ASGITransport(app=create_app(app))
        try:
            async with httpx2.AsyncClient(transport=transport, base_url="http://satchel.test") as client:
                su = {"Authorization": await superuser_token(app, client)}
                r = await client.post("/api/collections", json=NOTES, headers=su)
                assert r.status_code == 200, r.text
                yield Served(app, client, su, after_commit)
        finally:
            detach()
            STDOUT.flush()  # this test's request lines leave while its output is captured


def assert_internal_error(r: httpx2.Response, origin: str | None) -> None:
    assert r.status_code == 500
    assert r.json() == INTERNAL
    assert r.headers["content-type"] == "application/json"
    assert SECRET not in r.text and "Traceback" not in r.text and "Boom" not in r.text
    for name, value in SECURITY.items():
        assert r.headers.get_list(name) == [value], (name, r.headers.get_list(name))
    assert "Origin" in r.headers.get_list("vary")
    assert r.headers.get_list("access-control-allow-origin") == ([] if origin is None else [origin])
    assert len(r.headers.get_list("x-request-id")) == 1


def stdout_lines(capfd: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    STDOUT.flush()
    return [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]


async def test_a_custom_route_that_raises(served: Served, capfd: pytest.CaptureFixture[str]) -> None:
    r = await served.client.get("/api/boom", headers={"Origin": ALLOWED, "X-Request-Id": "boom-1"})
    assert_internal_error(r, ALLOWED)
    assert r.headers["x-request-id"] == "boom-1"
    [line] = [line for line in stdout_lines(capfd) if line.get("requestId") == "boom-1"]
    assert (line["requestId"], line["status"], line["level"]) == ("boom-1", 500, "ERROR")
    assert line["route"] == "/api/boom" and line["errorMessage"] == "Boom (unhandled)"

    entries = await served.entries("data.requestId = 'boom-1'")
    [request] = [e for e in entries if e["data"]["type"] == "request"]
    assert request["level"] == ERROR and request["data"]["status"] == 500
    assert request["data"]["error"] == "Boom (unhandled)" and SECRET not in str(request)
    [traceback] = [e for e in entries if e["data"]["type"] == "app"]  # for superusers: the whole story
    assert traceback["level"] == ERROR and traceback["data"]["logger"] == "satchel.apis"
    assert traceback["message"] == "unhandled error on GET /api/boom"
    assert "in boom" in traceback["data"]["error"] and SECRET in traceback["data"]["error"]


async def test_a_generated_request_id_matches_the_log_entry(served: Served) -> None:
    r = await served.client.post("/api/boom", headers={"Origin": "http://localhost:5173"}, json={})
    assert_internal_error(r, "http://localhost:5173")
    request_id = r.headers["x-request-id"]
    assert len(request_id) == 20
    entries = await served.entries(f"data.requestId = '{request_id}'")
    assert sorted(e["data"]["type"] for e in entries) == ["app", "request"]
    assert all(e["data"].get("status", 500) == 500 for e in entries)


@pytest.mark.parametrize("origin", [None, "https://evil.example", "https://app.example.com.evil.example"])
async def test_an_origin_off_the_list_gets_no_cors_header(served: Served, origin: str | None) -> None:
    r = await served.client.get("/api/boom", headers={} if origin is None else {"Origin": origin})
    assert_internal_error(r, None)


async def test_any_origin_by_default(tmp_path: Path) -> None:
    async with running_app(tmp_path / "pb_any") as app:
        registrations([]).bind(app)
        async with httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=create_app(app)), base_url="http://satchel.test"
        ) as client:
            r = await client.get("/api/boom", headers={"Origin": "https://anywhere.example"})
    assert_internal_error(r, "*")


async def test_a_record_hook_that_raises_writes_nothing(served: Served) -> None:
    upload = {"attachment": ("note.txt", b"kept only if the record is", "text/plain")}
    r = await served.client.post(
        "/api/collections/notes/records",
        data={"title": "explode"},
        files=upload,
        headers={"Origin": ALLOWED, "X-Request-Id": "hook-1"},
    )
    assert_internal_error(r, ALLOWED)
    assert r.headers["x-request-id"] == "hook-1"
    [request] = [e for e in await served.entries("data.requestId = 'hook-1'") if e["data"]["type"] == "request"]
    assert request["data"]["status"] == 500 and request["data"]["error"] == "Boom (unhandled)"

    listed = await served.client.get("/api/collections/notes/records", headers=served.su)
    assert listed.json()["totalItems"] == 0, "the row written before the hook raised was rolled back"
    assert await served.app.storages.files().list() == [], "the upload stored before the hook raised was removed"
    assert served.after_commit == []

    # the same request without the failure goes through: the 500 came from the hook alone
    r = await served.client.post(
        "/api/collections/notes/records", data={"title": "calm"}, files=upload, headers={"Origin": ALLOWED}
    )
    assert r.status_code == 200, r.text
    assert served.after_commit == ["calm"]
    assert len(await served.app.storages.files().list()) == 1


async def test_an_error_after_the_response_started_is_logged_once(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing more can be sent: the connection ends early, the client sees a broken body."""
    with caplog.at_level(logging.ERROR, logger="satchel.apis"), pytest.raises(Boom):
        await served.client.get("/api/half-sent", headers={"X-Request-Id": "half-1"})
    [record] = [r for r in caplog.records if r.name == "satchel.apis"]
    assert record.exc_info is not None and record.exc_info[0] is Boom
    assert getattr(record, "requestId", None) == "half-1"
    [request] = [e for e in await served.entries("data.requestId = 'half-1'") if e["data"]["type"] == "request"]
    assert request["data"]["status"] == 200  # what was sent: the status line left before the failure


class FailingPluginMiddleware:
    """A plugin's middleware (outside Satchel's own layers) with a bug."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/health":
            raise Boom(SECRET)
        await self.app(scope, receive, send)


async def test_an_error_outside_satchels_layers_gets_the_same_headers(tmp_path: Path) -> None:
    """Starlette's last-resort handler answers it: still PocketBase's 500 with CORS and the security
    headers (no request id: the request log, which gives them, never saw the request)."""
    async with running_app(tmp_path / "pb_plugin") as app:
        app.config.cors_origins = parse_origins(ALLOWED)
        app.asgi_middleware.insert(0, Middleware(FailingPluginMiddleware))
        transport = httpx2.ASGITransport(app=create_app(app), raise_app_exceptions=False)
        async with httpx2.AsyncClient(transport=transport, base_url="http://satchel.test") as client:
            r = await client.get("/api/health", headers={"Origin": ALLOWED})
            assert r.status_code == 500
            assert r.json() == INTERNAL and SECRET not in r.text
            for name, value in SECURITY.items():
                assert r.headers.get_list(name) == [value], name
            assert r.headers["access-control-allow-origin"] == ALLOWED
            assert "x-request-id" not in r.headers
            assert (await client.get("/api/health", headers={"Origin": "https://evil.example"})).headers.get_list(
                "access-control-allow-origin"
            ) == []


# ---------------------------------------------------------------- a real server process

HOOK_FILE = f"""
@app.route("/api/boom", methods=["GET"])
async def boom(e):
    raise RuntimeError({SECRET!r})


@app.on_record_create("notes")
async def explode(e):
    await e.next()
    raise RuntimeError({SECRET!r})
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Serve, Path]]:
    """`satchel serve` with a hook file, an origins allow-list and a JSON line per request."""
    data, hooks, out = tmp_path / "data", tmp_path / "hooks", tmp_path / "stdout.txt"
    hooks.mkdir()
    (hooks / "failing.py").write_text(HOOK_FILE)
    cli = [sys.executable, "-m", "satchel.cli.main"]
    subprocess.run([*cli, "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(data)], check=True, capture_output=True)
    port = free_port()
    args = ["--http", f"127.0.0.1:{port}", "--dir", str(data), "--hooks-dir", str(hooks), "--origins", ALLOWED]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("SATCHEL_LOG_FORMAT", None)
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [*cli, "serve", *args, "--log-requests", "--log-format", "json"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    served = Serve(proc, f"http://127.0.0.1:{port}", data)
    try:
        assert healthy(served.url, proc), out.read_text()
        yield served, out
    finally:
        served.stop()


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def wait_for_lines(path: Path, request_id: str, count: int) -> list[dict[str, Any]]:
    """The stdout lines of one request (written in batches a fraction of a second apart)."""
    for _ in range(100):
        lines = [line for line in json_lines(path) if line.get("requestId") == request_id]
        if len(lines) >= count:
            return lines
        time.sleep(0.1)
    raise AssertionError(f"{count} lines of {request_id} never came: {path.read_text()}")


@pytest.mark.skipif(pg_testing.enabled(), reason="always on SQLite: run once, in the default pass")
def test_through_a_real_server(server: tuple[Serve, Path]) -> None:
    served, out = server
    with httpx2.Client(base_url=served.url, timeout=10) as http:
        r = http.get("/api/boom", headers={"Origin": ALLOWED, "X-Request-Id": "real-1"})
        assert_internal_error(r, ALLOWED)
        assert r.headers["x-request-id"] == "real-1"
        lines = wait_for_lines(out, "real-1", 2)
        [request] = [line for line in lines if line.get("type") == "request"]
        assert (request["status"], request["level"], request["errorMessage"]) == (
            500,
            "ERROR",
            "RuntimeError (unhandled)",
        )
        [app_log] = [line for line in lines if line.get("logger") == "satchel.apis"]
        assert app_log["level"] == "ERROR" and "in boom" in app_log["error"]

        login = {"identity": EMAIL, "password": PASSWORD}
        su = {"Authorization": http.post("/api/collections/_superusers/auth-with-password", json=login).json()["token"]}
        assert http.post("/api/collections", json=NOTES, headers=su).status_code == 200
        r = http.post("/api/collections/notes/records", data={"title": "x"}, headers={"Origin": "https://evil.example"})
        assert_internal_error(r, None)
        assert http.get("/api/collections/notes/records", headers=su).json()["totalItems"] == 0
        request_id = r.headers["x-request-id"]
        assert [line["status"] for line in wait_for_lines(out, request_id, 2) if line.get("type") == "request"] == [500]
    assert served.proc.poll() is None, "the worker survived both"
