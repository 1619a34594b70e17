"""Two nodes on one broker bus and one database: a subscription on one node sees changes made through
the other, and a collection created through one is in the other's schema at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from satchel.adapters.broker.memory import MemoryBroker, MemoryBus
from satchel.core.app import App
from satchel.core.realtime.relay import BrokerTransport
from satchel.plugins import graphql
from satchel.testing import client_for, superuser_token
from satchel.wiring import build_app
from tests.apis.helpers import POSTS, create_collection, create_user
from tests.plugins.graphql.conftest import gql
from tests.plugins.graphql.test_graphql_ws import Socket, subscribed

Node = tuple[App, httpx2.AsyncClient]


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[Node, Node]]:
    bus = MemoryBus()
    started: list[Node] = []
    for _ in range(2):
        app = build_app(tmp_path / "pb_data", workers=2, broker=MemoryBroker(bus))
        graphql.register(app)
        await app.bootstrap()
        await app.realtime.open()
        started.append((app, client_for(app)))
    yield started[0], started[1]
    for app, http in started:
        await http.aclose()
        await app.realtime.close()
        await app.close()


async def delivered(*apps: App) -> None:
    """Until every frame on the in-process bus reached the other node's queue and was delivered."""
    for _ in range(2):
        await asyncio.sleep(0)
        for app in apps:
            transport = app.realtime.transport
            assert isinstance(transport, BrokerTransport)
            await transport.drain()


async def test_subscriptions_and_schema_across_nodes(nodes: tuple[Node, Node]) -> None:
    (a, a_http), (b, b_http) = nodes
    su = {"Authorization": await superuser_token(a, a_http)}
    await create_collection(a_http, su, POSTS)
    # created through node a: node b's schema has it on its next request
    assert (await gql(b_http, "{ postsList { totalItems } }", su)) == {"data": {"postsList": {"totalItems": 0}}}
    socket = Socket(b)
    await socket.init()
    await subscribed(b, socket, "x", "subscription { postsChanged { action record { title } } }")
    r = await a_http.post("/api/collections/posts/records", json={"title": "from a", "published": True}, headers=su)
    assert r.status_code == 200, r.text
    owner = await create_user(a_http, "owner@example.com")  # a draft with no author would match a guest's empty id
    draft = {"title": "hidden", "published": False, "author": owner["id"]}
    await a_http.post("/api/collections/posts/records", json=draft, headers=su)
    await a_http.post("/api/collections/posts/records", json={"title": "last", "published": True}, headers=su)
    await delivered(a, b)
    events: list[Any] = [await socket.next(), await socket.next()]
    assert [e["payload"]["data"]["postsChanged"]["record"]["title"] for e in events] == ["from a", "last"]
    await socket.hang_up()
