"""Two Satchel apps ("nodes") on one real Redis spend one rate-limit budget and one login-guard count.

Each node has its own database, as two hosts would; only the cache URL is shared. The keys of each
test live under a prefix of their own on the test Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from redis_service import drop_prefix, redis_url, unique_prefix

from satchel.adapters.cache.redis import RedisCache
from satchel.core.app import App
from satchel.core.auth.login_guard import Limit
from satchel.testing import client_for, superuser_token
from satchel.testing import postgres as pg_testing
from satchel.wiring import build_app
from tests.apis.helpers import create_user

pytestmark = pytest.mark.skipif(pg_testing.enabled(), reason="always on SQLite: run once, in the default pass")


@dataclass
class Node:
    app: App
    client: httpx2.AsyncClient
    su: dict[str, str]


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[Node, Node]]:
    url, prefix = redis_url(), unique_prefix()
    started: list[Node] = []
    try:
        for name in ("node-a", "node-b"):
            app = build_app(tmp_path / name, cache_url=url)
            assert isinstance(app.cache, RedisCache)  # the URL picks the adapter
            await app.cache.close()
            app.cache = RedisCache(url, prefix=prefix)  # the same server, under this test's prefix
            await app.bootstrap()
            client = client_for(app)
            started.append(Node(app, client, {"Authorization": await superuser_token(app, client)}))
        yield started[0], started[1]
    finally:
        for node in started:
            await node.client.aclose()
            await node.app.realtime.close()
            await node.app.close()
        await drop_prefix(prefix)


async def enable(nodes: tuple[Node, Node], max_requests: int, duration: int) -> None:
    rules = [{"label": "/api/", "audience": "", "duration": duration, "maxRequests": max_requests}]
    for node in nodes:
        body = {"rateLimits": {"enabled": True, "rules": rules}}
        r = await node.client.patch("/api/settings", json=body, headers=node.su)
        assert r.status_code == 200, r.text


async def test_two_nodes_share_one_budget(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    await enable(nodes, max_requests=3, duration=60)
    alternating = [(await node.client.get("/api/health")).status_code for node in (a, b, a, b, a)]
    assert alternating == [200, 200, 200, 429, 429]
    r = await b.client.get("/api/health")
    assert r.headers["x-ratelimit-limit"] == "3" and r.headers["x-ratelimit-remaining"] == "0"


async def test_the_shared_window_ends_for_every_node(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    await enable(nodes, max_requests=1, duration=1)
    assert (await a.client.get("/api/health")).status_code == 200
    refused = await b.client.get("/api/health")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    await asyncio.sleep(1.1)  # wait the one-second window out
    assert (await b.client.get("/api/health")).status_code == 200
    assert (await a.client.get("/api/health")).status_code == 429


async def test_failed_logins_on_one_node_lock_the_identity_on_the_other(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    for node in nodes:
        node.app.auth.guard.identity_limit = Limit(failures=3, window=60)
    await create_user(b.client, "roamer@example.com")  # exists on node B only: node A counts it all the same
    body = {"identity": "roamer@example.com", "password": "wrong-pass"}
    failures = [
        (await a.client.post("/api/collections/users/auth-with-password", json=body)).status_code for _ in range(3)
    ]
    assert failures == [400, 400, 400]
    body["password"] = "password-123"
    r = await b.client.post("/api/collections/users/auth-with-password", json=body)
    assert r.status_code == 429
