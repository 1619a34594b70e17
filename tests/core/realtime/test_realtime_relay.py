"""Realtime across processes: two apps on one database joined by an in-process bus behave as two workers.

Changes committed through one app reach the clients of the other with that app's rules and auth;
a subscription call or an OAuth2 redirect that reaches the wrong app is carried to the one holding
the client; what the holder refuses is refused with PocketBase's answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest

from satchel.adapters.broker.memory import MemoryBroker, MemoryBus
from satchel.apis.rest.auth_oauth2 import FAILURE, SUCCESS
from satchel.core.app import App
from satchel.core.realtime.relay import BrokerTransport
from satchel.core.realtime.subscriptions import Client
from satchel.core.records.model import Record
from satchel.testing import client_for, superuser_token
from satchel.wiring import build_app
from tests.apis.helpers import POSTS, create_collection, create_user, login


@dataclass
class Node:
    app: App
    http: httpx2.AsyncClient

    @property
    def transport(self) -> BrokerTransport:
        transport = self.app.realtime.transport
        assert isinstance(transport, BrokerTransport)
        return transport

    async def settle(self) -> None:
        await self.transport.drain()


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[Node, Node]]:
    bus = MemoryBus()
    started: list[Node] = []
    for _ in range(2):
        app = build_app(tmp_path / "pb_data", workers=2, broker=MemoryBroker(bus))
        await app.bootstrap()
        await app.realtime.open()
        started.append(Node(app, client_for(app)))
    yield started[0], started[1]
    for node in started:
        await node.http.aclose()
        await node.app.realtime.close()
        await node.app.close()


@pytest.fixture
async def world(nodes: tuple[Node, Node]) -> dict[str, Any]:
    a, _ = nodes
    su = {"Authorization": await superuser_token(a.app, a.http)}
    await create_collection(a.http, su, POSTS)
    alice = await create_user(a.http, "alice@example.com", name="alice")
    await create_user(a.http, "bob@example.com", name="bob")
    return {"su": su, "alice": alice, "alice_h": await login(a.http, "alice@example.com")}


async def user(app: App, record_id: str) -> Record:
    users = app.collections.get("users")
    assert users is not None
    record = await app.records.get_by_id(users, record_id)
    assert record is not None
    return record


def received(client: Client) -> list[tuple[str, dict[str, Any]]]:
    out = []
    while not client.queue.empty():
        item = client.queue.get_nowait()
        assert item is not None
        out.append((item.topic, orjson.loads(item.data)))
    return out


async def deliveries(*nodes: Node) -> None:
    """Until every frame on the bus has been delivered (the in-process bus hands frames over with
    `call_soon`: one loop turn puts them on the receiving node's queue)."""
    for _ in range(2):
        await asyncio.sleep(0)
        for node in nodes:
            await node.settle()


async def test_a_change_on_one_node_reaches_the_clients_of_the_other_under_their_rules(
    nodes: tuple[Node, Node], world: dict[str, Any]
) -> None:
    a, b = nodes
    guest = await b.app.realtime.join("127.0.0.1")
    b.app.realtime.subscribe(guest, ["posts/*"], None)
    owner = await b.app.realtime.join("127.0.0.1")
    b.app.realtime.subscribe(owner, ["posts/*"], await user(b.app, world["alice"]["id"]))

    r = await a.http.post(
        "/api/collections/posts/records",
        headers=world["alice_h"],
        json={"title": "draft", "author": world["alice"]["id"], "secret": "s"},
    )
    assert r.status_code == 200, r.text
    r = await a.http.post(
        "/api/collections/posts/records",
        headers=world["alice_h"],
        json={"title": "out", "published": True, "author": world["alice"]["id"]},
    )
    assert r.status_code == 200, r.text
    await deliveries(a, b)

    assert [(t, m["action"], m["record"]["title"]) for t, m in received(owner)] == [
        ("posts/*", "create", "draft"),
        ("posts/*", "create", "out"),
    ]
    guest_events = received(guest)
    assert [(m["action"], m["record"]["title"]) for _, m in guest_events] == [("create", "out")]
    assert "secret" not in guest_events[0][1]["record"]


async def test_custom_messages_cross_nodes(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    client = await b.app.realtime.join("127.0.0.1")
    b.app.realtime.subscribe(client, ["chat"], None)
    await a.app.realtime.send_custom("chat", {"text": "hi"})
    await deliveries(a, b)
    assert received(client) == [("chat", {"text": "hi"})]


async def test_a_subscription_call_reaching_the_other_node_is_carried_to_the_holder(
    nodes: tuple[Node, Node], world: dict[str, Any]
) -> None:
    a, b = nodes
    client = await b.app.realtime.join("127.0.0.1")
    assert a.app.realtime.client(client.id) is None

    r = await a.http.post(
        "/api/realtime", headers=world["alice_h"], json={"clientId": client.id, "subscriptions": ["posts/*"]}
    )
    assert r.status_code == 204, r.text
    assert set(client.subscriptions) == {"posts/*"}
    assert client.auth is not None and client.auth.id == world["alice"]["id"]

    # the bound auth is checked by the holder: a guest call for this client is refused
    r = await a.http.post("/api/realtime", json={"clientId": client.id, "subscriptions": []})
    assert r.status_code == 403
    assert r.json()["message"] == "The current and the previous request authorization don't match."
    assert set(client.subscriptions) == {"posts/*"}


async def test_refusals_of_the_holder_keep_pocketbase_answers(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    elsewhere = await b.app.realtime.join("10.0.0.9")
    r = await a.http.post("/api/realtime", json={"clientId": elsewhere.id, "subscriptions": ["chat"]})
    assert (r.status_code, r.json()["message"]) == (400, "Invalid realtime client.")
    assert elsewhere.subscriptions == {}

    gone = await b.app.realtime.join("127.0.0.1")
    b.app.realtime.disconnect(gone.id)
    r = await a.http.post("/api/realtime", json={"clientId": gone.id, "subscriptions": ["chat"]})
    assert (r.status_code, r.json()["message"]) == (404, "Missing or invalid client id.")


async def test_a_client_of_a_node_that_does_not_answer_is_unknown(nodes: tuple[Node, Node]) -> None:
    a, _ = nodes
    a.transport.request_timeout = 0.2
    r = await a.http.post("/api/realtime", json={"clientId": "zzzzzzzzzz" + "x" * 30, "subscriptions": ["chat"]})
    assert (r.status_code, r.json()["message"]) == (404, "Missing or invalid client id.")


async def test_the_oauth2_redirect_reaches_the_client_on_the_other_node(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    client = await b.app.realtime.join("127.0.0.1")
    b.app.realtime.subscribe(client, ["@oauth2"], None)
    r = await a.http.get("/api/oauth2-redirect", params={"state": client.id, "code": "c0de"})
    assert (r.status_code, r.text) == (200, SUCCESS)
    assert received(client) == [("@oauth2", {"state": client.id, "code": "c0de"})]
    assert "@oauth2" not in client.subscriptions
    r = await a.http.get("/api/oauth2-redirect", params={"state": client.id, "code": "again"})
    assert (r.status_code, r.text) == (200, FAILURE)
    assert received(client) == []


async def test_a_new_token_key_on_one_node_signs_the_client_out_on_the_other(
    nodes: tuple[Node, Node], world: dict[str, Any]
) -> None:
    a, b = nodes
    client = await b.app.realtime.join("127.0.0.1")
    b.app.realtime.subscribe(client, ["posts/*"], await user(b.app, world["alice"]["id"]))
    r = await a.http.patch(
        f"/api/collections/users/records/{world['alice']['id']}",
        headers=world["su"],
        json={"password": "new-password-1", "passwordConfirm": "new-password-1"},
    )
    assert r.status_code == 200, r.text
    await deliveries(a, b)
    assert client.auth is None


async def test_rules_changed_on_one_node_apply_on_the_other(nodes: tuple[Node, Node], world: dict[str, Any]) -> None:
    a, b = nodes
    guest = await b.app.realtime.join("127.0.0.1")
    b.app.realtime.subscribe(guest, ["posts/*"], None)
    b.app.collections.get("posts")  # b has loaded the old rule
    r = await a.http.patch("/api/collections/posts", headers=world["su"], json={"listRule": ""})
    assert r.status_code == 200, r.text
    r = await a.http.post("/api/collections/posts/records", headers=world["su"], json={"title": "unpublished"})
    assert r.status_code == 200, r.text
    await deliveries(a, b)
    assert [m["record"]["title"] for _, m in received(guest)] == ["unpublished"]


def counting_broadcasts(node: Node) -> list[bytes]:
    """Record the frames `node` broadcasts (and still send them)."""
    sent: list[bytes] = []
    broker = node.transport.broker
    original = broker.broadcast

    async def broadcast(data: bytes) -> None:
        sent.append(data)
        await original(data)

    broker.broadcast = broadcast  # type: ignore[method-assign]
    return sent


async def test_changes_stay_local_while_every_peer_is_idle_and_the_first_client_wakes_them(
    nodes: tuple[Node, Node], world: dict[str, Any]
) -> None:
    a, b = nodes
    await deliveries(a, b)  # each node announced at start that it holds no client
    sent = counting_broadcasts(a)
    r = await a.http.post("/api/collections/posts/records", headers=world["su"], json={"title": "nobody listens"})
    assert r.status_code == 200, r.text
    await a.app.realtime.send_custom("chat", {"text": "nobody"})
    assert sent == []  # b holds no client: nothing crossed

    client = await b.app.realtime.join("127.0.0.1")  # returns once a has heard that b is busy
    b.app.realtime.subscribe(client, ["posts/*", "chat"], None)
    r = await a.http.post(
        "/api/collections/posts/records", headers=world["su"], json={"title": "heard", "published": True}
    )
    assert r.status_code == 200, r.text
    await a.app.realtime.send_custom("chat", {"text": "hi"})
    await deliveries(a, b)
    assert [(t, m.get("record", m).get("title", m.get("text"))) for t, m in received(client)] == [
        ("posts/*", "heard"),
        ("chat", "hi"),
    ]
    assert len(sent) == 2


async def test_a_peer_not_heard_from_counts_as_busy(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    await b.app.realtime.close()  # b stops announcing; its idle mark at a would go stale...
    bus_peer = MemoryBroker(b.transport.broker.bus)  # type: ignore[attr-defined]
    heard: list[bytes] = []
    await bus_peer.start("newcomer", heard.append)  # ...and a node a has never heard from joins
    sent = counting_broadcasts(a)
    await a.app.realtime.send_custom("chat", {"text": "for the newcomer"})
    await asyncio.sleep(0)
    assert len(sent) == 1 and len(heard) == 1
    await bus_peer.close()
