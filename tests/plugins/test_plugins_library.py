"""Library use in process: docs/hooks.md's `app.py` through `Satchel(...).asgi()`, with its lifespan."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from satchel import Satchel
from satchel.core.hooks import ServeEvent
from satchel.plugins.extend import RouteEvent
from satchel.testing import database_url_for, superuser_token
from satchel.tools import passwords
from tests.apis.test_api_realtime import EMAIL, PASSWORD, free_port, healthy
from tests.apis.test_api_realtime_scaleout import Serve
from tests.plugins.docs_examples import examples

NOTES = {
    "name": "notes",
    "type": "base",
    "listRule": "@request.auth.id != ''",
    "viewRule": "owner = @request.auth.id",
    "createRule": "",
    "deleteRule": "",
    "fields": [{"name": "body", "type": "text"}, {"name": "owner", "type": "text"}],
}
USERS_PASSWORD = "secret-pass-1"


@pytest.fixture
async def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Satchel, httpx2.AsyncClient]]:
    monkeypatch.chdir(tmp_path)  # the example uses dir="./satchel_data"
    if url := await database_url_for(tmp_path / "satchel_data"):
        monkeypatch.setenv("SATCHEL_DB", url)
    namespace: dict[str, Any] = {"__name__": "docs_app"}
    exec(compile(examples()["app.py"], "app.py", "exec"), namespace)  # the documented program, not __main__
    app: Satchel = namespace["app"]
    assert app.config.dir == tmp_path / "satchel_data"
    extra_routes(app)
    asgi = app.asgi()
    try:
        async with asgi.router.lifespan_context(asgi):
            transport = httpx2.ASGITransport(app=asgi, raise_app_exceptions=False)  # a 500 is a response
            async with httpx2.AsyncClient(transport=transport, base_url="http://satchel.test") as client:
                yield app, client
    finally:
        passwords.configure(time_cost=1, memory_cost=8, parallelism=1)  # build_asgi set production costs


def extra_routes(app: Satchel) -> None:
    """Routes using the rest of RouteEvent, beside the documented ones."""
    served: list[str] = []

    @app.on_serve()
    async def started(e: ServeEvent) -> None:
        served.append(e.app.records.find("_superusers").name)  # bootstrapped before on_serve
        await e.next()

    @app.route("/api/echo/{id}", methods=["POST"])
    async def echo(e: RouteEvent) -> Any:
        body = await e.body()
        return e.json(201, {"id": e.path_params["id"], "q": e.query, "body": body, "served": served})

    @app.route("/api/notes/{id}/access", methods=["GET"])
    async def access(e: RouteEvent) -> Any:
        return {a: await e.can_access("notes", e.path_params["id"], a) for a in ("view", "list", "delete")}

    @app.route("/api/admin-only", methods=["GET"])
    async def admin_only(e: RouteEvent) -> None:
        e.require_superuser()

    @app.route("/api/boom", methods=["GET"])
    async def boom(e: RouteEvent) -> None:
        raise RuntimeError("a secret detail")


async def _user(app: Satchel, client: httpx2.AsyncClient, su: dict[str, str], email: str) -> tuple[str, dict[str, str]]:
    r = await client.post(
        "/api/collections/users/records",
        headers=su,
        json={"email": email, "password": USERS_PASSWORD, "passwordConfirm": USERS_PASSWORD},
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        "/api/collections/users/auth-with-password", json={"identity": email, "password": USERS_PASSWORD}
    )
    return r.json()["record"]["id"], {"Authorization": r.json()["token"]}


async def test_the_documented_program_in_process(library: tuple[Satchel, httpx2.AsyncClient]) -> None:
    app, client = library
    su = {"Authorization": await superuser_token(app.core, client)}
    assert (await client.post("/api/collections", headers=su, json=NOTES)).status_code == 200
    alice, alice_h = await _user(app, client, su, "alice@example.com")
    _, bob_h = await _user(app, client, su, "bob@example.com")

    # on_record_create("notes"): the body is stripped before the write
    r = await client.post("/api/collections/notes/records", json={"body": "  hi  ", "owner": alice})
    assert r.status_code == 200 and r.json()["body"] == "hi"
    note = r.json()["id"]
    # on_record_delete_request("notes"): a 403 in PocketBase's shape, nothing deleted
    r = await client.delete(f"/api/collections/notes/records/{note}", headers=su)
    assert r.status_code == 403
    assert r.json() == {"data": {}, "message": "Notes are kept forever.", "status": 403}
    assert (await client.get(f"/api/collections/notes/records/{note}", headers=su)).status_code == 200
    # the custom route: auth required, the records service under the collection's list rule
    r = await client.get("/api/notes/count")
    assert r.status_code == 401 and r.json()["status"] == 401
    assert (await client.get("/api/notes/count", headers=bob_h)).json() == {"total": 1}
    assert (await client.get("/api/notes/count", headers=alice_h)).json() == {"total": 1}


async def test_route_event_helpers(library: tuple[Satchel, httpx2.AsyncClient]) -> None:
    app, client = library
    su = {"Authorization": await superuser_token(app.core, client)}
    assert (await client.post("/api/collections", headers=su, json=NOTES)).status_code == 200
    alice, alice_h = await _user(app, client, su, "alice@example.com")
    _, bob_h = await _user(app, client, su, "bob@example.com")
    note = (await client.post("/api/collections/notes/records", json={"body": "x", "owner": alice})).json()["id"]

    r = await client.post("/api/echo/7?a=1&a=2", json={"k": [1]})
    assert r.status_code == 201
    assert r.json() == {"id": "7", "q": {"a": "2"}, "body": {"k": [1]}, "served": ["_superusers"]}
    r = await client.post("/api/echo/7", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["message"] == "An error occurred while loading the submitted data."

    access = f"/api/notes/{note}/access"
    assert (await client.get(access, headers=alice_h)).json() == {"view": True, "list": True, "delete": True}
    assert (await client.get(access, headers=bob_h)).json() == {"view": False, "list": True, "delete": True}
    assert (await client.get(access)).json() == {"view": False, "list": False, "delete": True}
    assert (await client.get("/api/notes/nope/access", headers=su)).json() == {
        "view": False,
        "list": False,
        "delete": False,
    }

    assert (await client.get("/api/admin-only")).status_code == 401
    r = await client.get("/api/admin-only", headers=alice_h)
    assert r.status_code == 403 and r.json()["message"] == "The authorized record is not allowed to perform this action."
    assert (await client.get("/api/admin-only", headers=su)).status_code == 204
    r = await client.get("/api/boom")
    assert r.status_code == 500 and "secret" not in r.text
    assert r.json() == {"data": {}, "message": "Something went wrong while processing your request.", "status": 500}
    assert (await client.post("/api/notes/count")).status_code == 405


PROGRAM = """
import os
import sys

from satchel import Satchel

app = Satchel(dir=sys.argv[1])


@app.on_record_create("notes")
async def stamp(e):
    e.record.set("owner", f"pid {os.getpid()}")
    await e.next()


@app.route("/api/pid", methods=["GET"])
async def pid(e):
    return {"pid": os.getpid(), "notes": app.records.find("notes") is not None}


if __name__ == "__main__":
    app.serve(http=sys.argv[2], workers=2)
"""


def test_serve_runs_the_program_on_two_workers(tmp_path: Path) -> None:
    """`Satchel.serve(workers=2)`: granian forks workers that each build an App with the registrations."""
    (tmp_path / "program.py").write_text(PROGRAM)
    port = free_port()
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}  # this checkout's satchel, not an installed one
    cmd = [sys.executable, str(tmp_path / "program.py"), str(tmp_path / "data"), f"127.0.0.1:{port}"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    server = Serve(proc, f"http://127.0.0.1:{port}", tmp_path / "data")
    try:
        assert healthy(server.url, proc)
        subprocess.run(
            [sys.executable, "-m", "satchel.cli.main", "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(tmp_path / "data")],
            check=True,
            capture_output=True,
            env=env,
        )
        with httpx2.Client(base_url=server.url, timeout=10, limits=httpx2.Limits(max_keepalive_connections=0)) as http:
            pids = {http.get("/api/pid").json()["pid"] for _ in range(40)}
            assert len(pids) == 2 and proc.pid not in pids  # two worker processes answered
            r = http.post("/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD})
            su = {"Authorization": r.json()["token"]}
            assert http.post("/api/collections", headers=su, json=NOTES).status_code == 200
            owners = {http.post("/api/collections/notes/records", json={"body": "b"}).json()["owner"] for _ in range(20)}
            assert owners <= {f"pid {p}" for p in pids} and owners
            assert {http.get("/api/pid").json()["notes"] for _ in range(10)} == {True}
    finally:
        server.stop()


def test_importing_satchel_loads_the_facade_only_when_asked() -> None:
    code = (
        "import sys, satchel.tools.hooks, satchel;"
        "print('satchel.wiring' in sys.modules, 'satchel.library' in sys.modules);"
        "satchel.Satchel;"
        "print('satchel.library' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root).stdout
    assert out.split() == ["False", "False", "True"]


async def test_on_serve_and_on_terminate_wrap_the_lifespan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if url := await database_url_for(tmp_path / "d"):
        monkeypatch.setenv("SATCHEL_DB", url)
    app = Satchel(dir=tmp_path / "d")
    events: list[str] = []

    @app.on_serve()
    async def serving(e: ServeEvent) -> None:
        events.append(f"serve {e.app.secret != ''}")  # bootstrapped: the signing secret exists
        await e.next()

    @app.on_terminate()
    async def terminating(e: ServeEvent) -> None:
        events.append(f"terminate {e.app is app.core}")
        await e.next()

    asgi = app.asgi()
    try:
        assert events == []
        async with asgi.router.lifespan_context(asgi):
            assert events == ["serve True"]
        assert events == ["serve True", "terminate True"]
    finally:
        passwords.configure(time_cost=1, memory_cost=8, parallelism=1)
