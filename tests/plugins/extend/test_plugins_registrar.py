"""The registrar: one decorator per hook point, collection tags, recorded then bound per App."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from satchel.core.app import App
from satchel.core.hooks import Hooks, RecordEvent
from satchel.core.records.model import Record
from satchel.plugins.extend import NotBoundError, Registrar
from satchel.testing import client_for, superuser_token

POSTS = {"name": "posts", "type": "base", "createRule": "", "fields": [{"name": "title", "type": "text"}]}
NOTES = {"name": "notes", "type": "base", "createRule": "", "fields": [{"name": "title", "type": "text"}]}


def test_every_hook_point_has_a_decorator() -> None:
    # a new hook in core without its decorator fails here
    names = set(Hooks().names())
    declared = {n for n in dir(Registrar) if n.startswith("on_")}
    assert declared == names


def test_decorators_check_what_they_are_given() -> None:
    r = Registrar()

    def not_async(e: Any) -> None:
        pass

    with pytest.raises(TypeError, match="async def"):
        r.on_record_create("posts")(not_async)  # type: ignore[type-var]
    with pytest.raises(TypeError, match="takes no collection names"):
        r.on_mailer_send("posts")
    with pytest.raises(TypeError, match="non-empty strings"):
        r.on_record_create("")
    with pytest.raises(ValueError, match="must start with '/'"):
        r.route("api/x")(_ok)
    assert r.bindings == [] and r.routes == []
    r.route("/api/x", methods="post")(_ok)  # one method as a string, not its letters
    assert r.routes[0].methods == {"POST"}


async def _ok(e: Any) -> None:
    await e.next()


def test_the_live_app_is_refused_before_the_server_runs() -> None:
    r = Registrar()
    with pytest.raises(NotBoundError, match="on_serve"):
        _ = r.records
    with pytest.raises(NotBoundError):
        _ = r.realtime


async def _create(client: httpx2.AsyncClient, collection: str, title: str) -> dict[str, Any]:
    r = await client.post(f"/api/collections/{collection}/records", json={"title": title})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_tags_bare_decorators_priority_and_late_bindings(app: App) -> None:
    r = Registrar()
    order: list[str] = []

    @r.on_record_create("posts")
    async def only_posts(e: RecordEvent) -> None:
        e.record.set("title", e.record.get("title") + " [posts]")
        await e.next()

    @r.on_record_create
    async def every_collection(e: RecordEvent) -> None:
        order.append("bare")
        await e.next()

    @r.on_record_create(priority=-5)
    async def first(e: RecordEvent) -> None:
        order.append("first")
        await e.next()

    r.bind(app)
    assert r.core is app and r.records is app.records
    async with client_for(app) as client:
        su = {"Authorization": await superuser_token(app, client)}
        for spec in (POSTS, NOTES):
            assert (await client.post("/api/collections", headers=su, json=spec)).status_code == 200
        order.clear()
        assert (await _create(client, "posts", "a"))["title"] == "a [posts]"
        assert (await _create(client, "notes", "b"))["title"] == "b"
        assert order == ["first", "bare", "first", "bare"]

        @r.on_record_create("notes")  # registered once bound: applies at once
        async def late(e: RecordEvent) -> None:
            e.record.set("title", "late")
            await e.next()

        assert (await _create(client, "notes", "c"))["title"] == "late"
    with pytest.raises(RuntimeError, match="import time"):
        r.route("/api/late")(_ok)


async def test_a_handler_that_does_not_go_on_stops_the_write(app: App) -> None:
    r = Registrar()
    seen: list[Record] = []

    @r.on_record_create("posts", id="skip")
    async def swallow(e: RecordEvent) -> None:
        seen.append(e.record)  # no e.next(): nothing is written

    r.bind(app)
    async with client_for(app) as client:
        su = {"Authorization": await superuser_token(app, client)}
        assert (await client.post("/api/collections", headers=su, json=POSTS)).status_code == 200
        await _create(client, "posts", "ghost")
        listed = (await client.get("/api/collections/posts/records", headers=su)).json()
    assert len(seen) == 1 and listed["totalItems"] == 0
