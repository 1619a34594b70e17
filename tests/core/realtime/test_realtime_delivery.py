"""Broker fan-out on a real SQLite-backed app: rules, options, payloads, order, overflow, auth changes."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import httpx2
import orjson
import pytest

from satchel.core.app import App
from satchel.core.realtime.broker import LocalTransport, RealtimeBroker
from satchel.core.realtime.subscriptions import CLIENT_QUEUE, Client
from satchel.core.realtime.visibility import EventView, subscriber_request
from satchel.core.records.model import Record
from satchel.core.rules.request_info import RequestInfo
from tests.apis.helpers import POSTS, create_collection, create_user, login


def opt(target: str, **query: str) -> str:
    return f"{target}?options={urllib.parse.quote(json.dumps({'query': query}), safe='')}"


def messages(client: Client) -> list[tuple[str, dict[str, Any]]]:
    out = []
    while not client.queue.empty():
        item = client.queue.get_nowait()
        assert item is not None
        out.append((item[0], orjson.loads(item[1])))
    return out


async def settle(app: App) -> None:
    transport = app.realtime.transport
    assert isinstance(transport, LocalTransport)
    await transport.drain()


async def auth_record(app: App, collection: str, record_id: str) -> Record:
    c = app.collections.get(collection)
    assert c is not None
    rec = await app.records.get_by_id(c, record_id)
    assert rec is not None
    return rec


@pytest.fixture
async def world(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> dict[str, Any]:
    await create_collection(client, su_headers, POSTS)
    r = await client.patch(
        "/api/collections/users",
        headers=su_headers,
        json={"listRule": "", "viewRule": "", "manageRule": "@request.auth.name = 'boss'"},
    )
    assert r.status_code == 200, r.text
    alice = await create_user(client, "alice@example.com", name="alice")
    bob = await create_user(client, "bob@example.com", name="bob")
    boss = await create_user(client, "boss@example.com", name="boss")
    su = await client.get("/api/collections/_superusers/records", headers=su_headers)
    return {
        "su_h": su_headers,
        "alice_h": await login(client, "alice@example.com"),
        "alice": await auth_record(app, "users", alice["id"]),
        "bob": await auth_record(app, "users", bob["id"]),
        "boss": await auth_record(app, "users", boss["id"]),
        "su": await auth_record(app, "_superusers", su.json()["items"][0]["id"]),
    }


def listen(app: App, topics: list[str], auth: Record | None = None) -> Client:
    client = app.realtime.connect("127.0.0.1")
    app.realtime.subscribe(client, topics, auth)
    return client


async def post(client: httpx2.AsyncClient, headers: dict[str, str], **data: Any) -> dict[str, Any]:
    r = await client.post("/api/collections/posts/records", json=data, headers=headers)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_list_rule_decides_per_subscriber(app: App, client: httpx2.AsyncClient, world: dict[str, Any]) -> None:
    guest = listen(app, ["posts/*"])
    alice = listen(app, ["posts/*"], world["alice"])
    bob = listen(app, ["posts"], world["bob"])  # deprecated bare form = posts/*
    hidden = await post(client, world["alice_h"], title="draft", author=world["alice"].id, published=False)
    shown = await post(client, world["alice_h"], title="out", author=world["alice"].id, published=True)
    await settle(app)
    assert [(t, m["record"]["id"]) for t, m in messages(guest)] == [("posts/*", shown["id"])]
    assert [m["record"]["id"] for _, m in messages(alice)] == [hidden["id"], shown["id"]]
    assert [(t, m["record"]["id"]) for t, m in messages(bob)] == [("posts", shown["id"])]


async def test_record_topic_uses_view_rule_and_null_rule_means_superusers(
    app: App, client: httpx2.AsyncClient, world: dict[str, Any]
) -> None:
    r = await client.patch("/api/collections/posts", headers=world["su_h"], json={"viewRule": None})
    assert r.status_code == 200
    rec = await post(client, world["alice_h"], title="t", author=world["alice"].id, published=True)
    alice = listen(app, [f"posts/{rec['id']}", "posts/*"], world["alice"])
    su = listen(app, [f"posts/{rec['id']}"], world["su"])
    r = await client.patch(f"/api/collections/posts/records/{rec['id']}", headers=world["alice_h"], json={"views": 3})
    assert r.status_code == 200
    await settle(app)
    assert [(t, m["action"]) for t, m in messages(alice)] == [("posts/*", "update")]
    got = messages(su)
    assert [(t, m["action"], m["record"]["views"]) for t, m in got] == [(f"posts/{rec['id']}", "update", 3)]
    assert "secret" in got[0][1]["record"]  # hidden fields only for superusers


async def test_delete_is_checked_on_the_deleted_values(
    app: App, client: httpx2.AsyncClient, world: dict[str, Any]
) -> None:
    shown = await post(client, world["alice_h"], title="a", author=world["alice"].id, published=True)
    draft = await post(client, world["alice_h"], title="b", author=world["alice"].id, published=False)
    guest = listen(app, ["posts/*"])
    for rec in (shown, draft):
        r = await client.delete(f"/api/collections/posts/records/{rec['id']}", headers=world["alice_h"])
        assert r.status_code == 204
    await settle(app)
    got = messages(guest)
    assert [(m["action"], m["record"]["id"], m["record"]["title"]) for _, m in got] == [("delete", shown["id"], "a")]


async def test_filter_expand_fields_options(app: App, client: httpx2.AsyncClient, world: dict[str, Any]) -> None:
    topics = [
        opt("posts/*", filter="title ~ 'keep'"),
        opt("posts/*", expand="author", fields="id,expand.author.name"),
        opt("posts/*", filter="secret = 'x'"),  # hidden field: refused in filters, even for superusers
    ]
    su = listen(app, topics, world["su"])
    alice = listen(app, topics[:2], world["alice"])
    await post(client, world["su_h"], title="keep me", author=world["alice"].id, published=True, secret="x")
    await post(client, world["su_h"], title="drop me", published=True, secret="x")
    await settle(app)
    got = messages(alice)
    assert next(m["record"] for t, m in got if t == topics[1]) == {
        "id": got[0][1]["record"]["id"],
        "expand": {"author": {"name": "alice"}},
    }
    assert [m["record"]["title"] for t, m in got if t == topics[0]] == ["keep me"]
    assert [t for t, _ in messages(su)].count(topics[2]) == 0


async def test_superuser_only_fields_in_filter_or_sort_deny_non_superusers(
    app: App, client: httpx2.AsyncClient, world: dict[str, Any]
) -> None:
    topics = [opt("posts/*", filter="@request.auth.id != ''"), opt("posts/*", filter="id != ''", sort="@collection.x")]
    alice = listen(app, topics, world["alice"])
    su = listen(app, topics, world["su"])
    await post(client, world["su_h"], title="t", published=True)
    await settle(app)
    assert messages(alice) == []
    assert sorted(t for t, _ in messages(su)) == sorted(topics)


async def test_email_visibility_owner_manager_and_others(
    app: App, client: httpx2.AsyncClient, world: dict[str, Any]
) -> None:
    alice_c = listen(app, ["users/*"], world["alice"])
    bob_c = listen(app, ["users/*"], world["bob"])
    boss_c = listen(app, ["users/*"], world["boss"])
    r = await client.patch(
        f"/api/collections/users/records/{world['alice'].id}", headers=world["su_h"], json={"name": "alice2"}
    )
    assert r.status_code == 200
    await settle(app)
    assert messages(alice_c)[0][1]["record"]["email"] == "alice@example.com"
    assert "email" not in messages(bob_c)[0][1]["record"]
    assert messages(boss_c)[0][1]["record"]["email"] == "alice@example.com"


async def test_rule_checks_are_memoised_per_auth(app: App, world: dict[str, Any]) -> None:
    posts = app.collections.get("posts")
    assert posts is not None
    record = Record(posts, {f.name: f.zero() for f in posts.fields} | {"id": "x" * 15, "published": False})
    view = EventView(app, "create", record)
    calls = 0
    original = app.db.executor

    def counting() -> Any:
        nonlocal calls
        calls += 1
        return original()

    app.db.executor = counting  # type: ignore[method-assign]
    try:
        for _ in range(5):
            req = subscriber_request(world["alice"], subscriber_options())
            assert not await view.allowed(req, posts.listRule)
        assert calls == 1
        assert not await view.allowed(subscriber_request(world["bob"], subscriber_options()), posts.listRule)
        assert calls == 2
    finally:
        app.db.executor = original  # type: ignore[method-assign]


def subscriber_options() -> Any:
    from satchel.core.realtime.subscriptions import SubscriptionOptions

    return SubscriptionOptions()


async def test_request_query_and_headers_reach_rules(
    app: App, client: httpx2.AsyncClient, world: dict[str, Any]
) -> None:
    r = await client.patch(
        "/api/collections/posts",
        headers=world["su_h"],
        json={
            "listRule": "@request.headers.x_token = 'abc' && @request.query.k = '1.5' && @request.context = 'realtime'"
        },
    )
    assert r.status_code == 200
    good = "posts/*?options=" + urllib.parse.quote(
        json.dumps({"query": {"k": 1.5}, "headers": {"X-Token": "abc"}}), safe=""
    )
    bad = "posts/*?options=" + urllib.parse.quote(json.dumps({"query": {"k": 1.5}, "headers": {"X-Token": "no"}}))
    guest = listen(app, [good, bad])
    await post(client, world["su_h"], title="t", published=True)
    await settle(app)
    assert [t for t, _ in messages(guest)] == [good]


async def test_per_client_order_and_custom_topics(app: App, client: httpx2.AsyncClient, world: dict[str, Any]) -> None:
    su = listen(app, ["posts/*", "chat", "chat?options=%7B%7D"], world["su"])
    rec = await post(client, world["su_h"], title="t0", published=True)
    for i in range(1, 6):
        r = await client.patch(f"/api/collections/posts/records/{rec['id']}", headers=world["su_h"], json={"views": i})
        assert r.status_code == 200
    await app.realtime.send_custom("chat", {"hello": [1, 2]})
    await app.realtime.send_custom("other", {"x": 1})
    await settle(app)
    got = messages(su)
    assert [m.get("action") for _, m in got[:6]] == ["create"] + ["update"] * 5
    assert [m["record"]["views"] for _, m in got[1:6]] == [1, 2, 3, 4, 5]
    assert got[6:] == [("chat", {"hello": [1, 2]})]


async def test_publish_returns_before_fan_out(app: App, world: dict[str, Any]) -> None:
    posts = app.collections.get("posts")
    assert posts is not None
    su = listen(app, ["posts/*"], world["su"])
    record = Record(posts, {f.name: f.zero() for f in posts.fields} | {"id": "y" * 15})
    await app.realtime.publish("create", record)
    assert su.queue.empty()  # nothing delivered inside the publisher's call
    record.data["title"] = "mutated after publish"
    await settle(app)
    assert messages(su)[0][1]["record"]["title"] == ""  # a snapshot was taken


async def test_overflowing_client_is_disconnected_without_blocking(app: App, world: dict[str, Any]) -> None:
    posts = app.collections.get("posts")
    assert posts is not None
    slow = listen(app, ["chat"])
    fast = listen(app, ["chat"])
    for i in range(CLIENT_QUEUE + 1):
        await app.realtime.send_custom("chat", i)
        if i % 100 == 0:
            await settle(app)
            messages(fast)
    await settle(app)
    assert slow.discarded and slow.id not in app.realtime.clients
    assert not fast.discarded
    assert app.realtime.subscribers("chat") == [fast]


async def test_auth_changes_follow_the_record(app: App, client: httpx2.AsyncClient, world: dict[str, Any]) -> None:
    c1 = listen(app, ["posts/*"], world["alice"])
    c2 = listen(app, ["posts/*"], world["bob"])
    r = await client.patch(
        f"/api/collections/users/records/{world['alice'].id}", headers=world["su_h"], json={"name": "alice3"}
    )
    assert r.status_code == 200
    r = await client.patch(
        f"/api/collections/users/records/{world['bob'].id}",
        headers=world["su_h"],
        json={"password": "new-password-1", "passwordConfirm": "new-password-1"},
    )
    assert r.status_code == 200
    await settle(app)
    assert c1.auth is not None and c1.auth.get("name") == "alice3"
    assert c2.auth is None  # new tokenKey: the stream stays, unauthenticated
    r = await client.delete(f"/api/collections/users/records/{world['alice'].id}", headers=world["su_h"])
    assert r.status_code == 204
    await settle(app)
    assert c1.auth is None


async def test_disconnect_and_close(app: App) -> None:
    broker = app.realtime
    a = listen(app, ["chat"])
    b = listen(app, ["chat", "posts/*"])
    broker.disconnect(a.id)
    broker.disconnect(a.id)  # idempotent
    assert broker.client(a.id) is None and broker.subscribers("chat") == [b]
    await broker.close()
    assert b.discarded and broker.clients == {} and broker.subscribers("posts/*") == []


async def test_broker_without_clients_skips_publishing(app: App) -> None:
    broker = RealtimeBroker(app)
    posts_like = app.collections.get("users")
    assert posts_like is not None
    await broker.publish("create", Record(posts_like, {"id": "z" * 15}))
    transport = broker.transport
    assert isinstance(transport, LocalTransport)
    assert transport._worker is None
    await broker.close()


def test_subscriber_request_is_a_realtime_get() -> None:
    from satchel.core.realtime.subscriptions import SubscriptionOptions

    req = subscriber_request(None, SubscriptionOptions(query={"a": "1"}, headers={"x": "y"}))
    assert req == RequestInfo(auth=None, method="GET", context="realtime", query={"a": "1"}, headers={"x": "y"})


def blank_post(app: App, **values: Any) -> Record:
    posts = app.collections.get("posts")
    assert posts is not None
    return Record(posts, {f.name: f.zero() for f in posts.fields} | {"id": "w" * 15} | values)


async def test_a_rule_that_does_not_read_the_auth_is_checked_once_for_every_user(
    app: App, world: dict[str, Any]
) -> None:
    view = EventView(app, "create", blank_post(app, published=True))
    calls = 0
    original = app.db.executor

    def counting() -> Any:
        nonlocal calls
        calls += 1
        return original()

    app.db.executor = counting  # type: ignore[method-assign]
    try:
        users = [world["alice"], world["bob"], world["boss"], None]
        for auth in users:
            assert await view.allowed(subscriber_request(auth, subscriber_options()), "published = true")
        assert calls == 1
        for auth in users:
            await view.allowed(subscriber_request(auth, subscriber_options()), "author = @request.auth.id")
        assert calls == 1 + len(users)  # this one reads the auth: one check per user
    finally:
        app.db.executor = original  # type: ignore[method-assign]


async def test_filters_are_checked_per_user_even_when_their_text_ignores_the_auth(
    app: App, client: httpx2.AsyncClient, world: dict[str, Any]
) -> None:
    # the filter reaches `users` through the relation, so the users list rule applies, and it reads the auth
    r = await client.patch("/api/collections/users", headers=world["su_h"], json={"listRule": "id = @request.auth.id"})
    assert r.status_code == 200, r.text
    topic = opt("posts/*", filter="author.name != ''")
    alice = listen(app, [topic], world["alice"])
    bob = listen(app, [topic], world["bob"])
    await post(client, world["alice_h"], title="t", author=world["alice"].id, published=True)
    await settle(app)
    assert [t for t, _ in messages(alice)] == [topic]
    assert messages(bob) == []


async def test_subscribers_who_see_the_same_record_share_one_message(
    app: App, client: httpx2.AsyncClient, world: dict[str, Any]
) -> None:
    same = [listen(app, ["posts/*"]), listen(app, ["posts/*"]), listen(app, ["posts/*"], world["alice"])]
    same.append(listen(app, ["posts/*"], world["bob"]))
    su = listen(app, ["posts/*"], world["su"])
    other_topic = listen(app, ["posts"])
    await post(client, world["su_h"], title="t", published=True, secret="s")
    await settle(app)
    got = [c.queue.get_nowait() for c in [*same, su, other_topic]]
    first = got[0]
    assert first is not None and all(item is first for item in got[: len(same)])  # one object, one JSON document
    assert "secret" not in orjson.loads(first.data)["record"]
    assert got[-2] is not first and "secret" in orjson.loads(got[-2][1])["record"]  # superusers see hidden fields
    assert got[-1] is not first and got[-1][:2] == ("posts", first.data)  # another event name, same document
