"""Schema changes through the HTTP API of two nodes (one database file, separate data directories,
an in-process bus): each node serves the other's collections and rules at its next request, and
its realtime clients get the events of collections created through the other node.
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
from satchel.core import schema_events
from satchel.core.app import App
from satchel.core.realtime.relay import BrokerTransport
from satchel.core.realtime.subscriptions import Client
from satchel.testing import client_for, superuser_token
from satchel.wiring import DB_FILE, build_app

THINGS = {
    "name": "things",
    "type": "base",
    "listRule": "public = true",
    "createRule": "",
    "fields": [{"name": "title", "type": "text"}, {"name": "public", "type": "bool"}],
}


@dataclass
class Node:
    app: App
    http: httpx2.AsyncClient
    su: dict[str, str]

    @property
    def transport(self) -> BrokerTransport:
        transport = self.app.realtime.transport
        assert isinstance(transport, BrokerTransport)
        return transport


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[Node, Node]]:
    bus = MemoryBus()
    started: list[Node] = []
    for name in ("a", "b"):
        data_dir = tmp_path / name
        data_dir.mkdir()
        if started:  # the same database file, seen from another data directory (another machine)
            (data_dir / DB_FILE).symlink_to(tmp_path / "a" / DB_FILE)
        app = build_app(data_dir, broker=MemoryBroker(bus))
        app.schema.poll_interval = 3600.0  # no periodic read in the middle of a test
        await app.bootstrap()
        await app.realtime.open()
        started.append(Node(app, client_for(app), {}))
    su = {"Authorization": await superuser_token(started[0].app, started[0].http)}  # one database: valid on both
    for node in started:
        node.su = su
    yield started[0], started[1]
    for node in started:
        await node.http.aclose()
        await node.app.realtime.close()
        await node.app.close()


async def deliveries(*nodes: Node) -> None:
    """Until every frame on the bus is delivered (handed over with `call_soon`, then queued)."""
    for _ in range(2):
        await asyncio.sleep(0)
        for node in nodes:
            await node.transport.drain()


def received(client: Client) -> list[dict[str, Any]]:
    out = []
    while not client.queue.empty():
        item = client.queue.get_nowait()
        assert item is not None
        out.append(orjson.loads(item.data))
    return out


async def subscribe(node: Node, topics: list[str]) -> Client:
    client = await node.app.realtime.join("127.0.0.1")
    r = await node.http.post("/api/realtime", json={"clientId": client.id, "subscriptions": topics})
    assert r.status_code == 204, r.text
    return client


async def test_collections_created_at_once_through_two_nodes_are_served_by_both(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    created = await asyncio.gather(
        a.http.post("/api/collections", headers=a.su, json={**THINGS, "name": "one"}),
        b.http.post("/api/collections", headers=b.su, json={**THINGS, "name": "two"}),
    )
    assert [r.status_code for r in created] == [200, 200], [r.text for r in created]
    await deliveries(a, b)
    for node in (a, b):
        for name in ("one", "two"):
            r = await node.http.get(f"/api/collections/{name}/records")
            assert r.status_code == 200, (name, r.text)


async def test_a_subscriber_gets_records_of_a_collection_created_through_the_other_node(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    r = await b.http.post("/api/collections", headers=b.su, json=THINGS)
    assert r.status_code == 200, r.text
    await deliveries(a, b)
    client = await subscribe(a, ["things/*"])

    r = await b.http.post("/api/collections/things/records", json={"title": "hello", "public": True}, headers=b.su)
    assert r.status_code == 200, r.text
    await deliveries(a, b)

    assert [(m["action"], m["record"]["title"]) for m in received(client)] == [("create", "hello")]


async def test_an_event_of_a_collection_whose_announcement_was_lost_is_still_delivered(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    client = await subscribe(a, ["things/*"])
    b.app.schema.announcers.clear()  # b's announcement never leaves (its realtime events still do)
    r = await b.http.post("/api/collections", headers=b.su, json=THINGS)
    assert r.status_code == 200, r.text
    await deliveries(a, b)
    assert not a.app.stale()

    r = await b.http.post("/api/collections/things/records", json={"title": "hello", "public": True}, headers=b.su)
    assert r.status_code == 200, r.text
    await deliveries(a, b)

    assert [m["record"]["title"] for m in received(client)] == ["hello"]
    assert a.app.collections.get("things") is not None


async def test_a_rule_changed_through_one_node_decides_the_events_of_the_other(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    r = await b.http.post("/api/collections", headers=b.su, json=THINGS)
    assert r.status_code == 200, r.text
    await deliveries(a, b)
    guest = await subscribe(a, ["things/*"])
    for title in ("hidden", "shown"):
        r = await b.http.post("/api/collections/things/records", json={"title": title, "public": title == "shown"})
        assert r.status_code == 200, r.text
    await deliveries(a, b)
    assert [m["record"]["title"] for m in received(guest)] == ["shown"]  # a compiled the rule

    r = await b.http.patch("/api/collections/things", headers=b.su, json={"listRule": ""})
    assert r.status_code == 200, r.text
    r = await b.http.post("/api/collections/things/records", json={"title": "private", "public": False})
    assert r.status_code == 200, r.text
    await deliveries(a, b)

    assert [m["record"]["title"] for m in received(guest)] == ["private"]


async def test_requests_read_no_version_while_nothing_changed(
    nodes: tuple[Node, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = nodes
    reads: list[str] = []
    real_read = schema_events.read_version

    async def counting_read(ex: Any) -> str:
        version = await real_read(ex)
        reads.append(version)
        return version

    monkeypatch.setattr(schema_events, "read_version", counting_read)
    await a.app.sync()  # past the signal of a's own startup
    reads.clear()
    for _ in range(5):
        assert (await a.http.get("/api/health")).status_code == 200
    assert reads == []

    r = await b.http.post("/api/collections", headers=b.su, json=THINGS)
    assert r.status_code == 200, r.text
    await deliveries(a, b)
    reads.clear()
    for _ in range(3):
        assert (await a.http.get("/api/collections/things/records")).status_code == 200
    assert reads == [b.app.schema.version]  # one read, at the first request after the change


async def test_a_collection_made_on_one_node_is_usable_on_the_other_before_any_announcement(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    b_heard = b.app.schema.heard  # B misses the announcement: only the database can tell it
    b.app.schema.heard = lambda version: None  # type: ignore[method-assign]
    try:
        r = await a.http.post("/api/collections", json=THINGS, headers=a.su)
        assert r.status_code == 200, r.text
        assert b.app.collections.get("things") is None and not b.app.stale()
        # an unknown name makes B compare with the database's version before answering 404
        r = await b.http.post("/api/collections/things/records", json={"title": "t", "public": True})
        assert r.status_code == 200, r.text
        r = await b.http.get("/api/collections/things/records")
        assert [i["title"] for i in r.json()["items"]] == ["t"]
        r = await b.http.get("/api/collections/nothing/records")
        assert r.status_code == 404  # a name no node has is still a 404
    finally:
        b.app.schema.heard = b_heard  # type: ignore[method-assign]
