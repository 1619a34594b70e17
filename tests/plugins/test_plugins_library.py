"""Library use in process: docs/hooks.md's `app.py` through `Satchel(...).asgi()`, with its lifespan."""

from __future__ import annotations

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
