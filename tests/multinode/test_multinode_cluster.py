"""Two nodes on one PostgreSQL database, one Redis and one NATS, addressed directly (not through
nginx): a realtime subscriber on node A hears what is written through node B, and only what its
rules let it see; a rate-limit budget is one budget whichever node counts a request."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest
from multinode_cluster import Cluster, running_cluster

from tests.apis.test_api_realtime import Stream
from tests.conformance.servers import SUPERUSER_EMAIL, SUPERUSER_PASSWORD

pytestmark = pytest.mark.timeout(120)

SETTINGS_WAIT_S = 15.0
"""How long node B may take to pick up settings changed through node A (its schema poll is 5 s;
the broker's announcement normally arrives within milliseconds). A bound on waiting, not a claim."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("multinode")) as running:
        yield running


@pytest.fixture
async def direct(cluster: Cluster) -> AsyncIterator[tuple[httpx2.AsyncClient, httpx2.AsyncClient]]:
    """A client for node A and one for node B, each bound to its node."""
    async with (
        httpx2.AsyncClient(base_url=cluster.a.url, timeout=10) as a,
        httpx2.AsyncClient(base_url=cluster.b.url, timeout=10) as b,
    ):
        yield a, b


async def superuser(http: httpx2.AsyncClient) -> dict[str, str]:
    r = await http.post(
        "/api/collections/_superusers/auth-with-password",
        json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": r.json()["token"]}


def unique(name: str) -> str:
    """A collection name no other cluster on the shared NATS can be using (ids derive from names)."""
    return f"{name}_{uuid.uuid4().hex[:10]}"


async def ok(response: Any) -> dict[str, Any]:
    r = await response
    assert r.status_code == 200, f"{r.request.method} {r.request.url} -> {r.status_code} {r.text}"
    body: dict[str, Any] = r.json()
    return body


async def user(http: httpx2.AsyncClient, su: dict[str, str], email: str) -> tuple[str, dict[str, str]]:
    """A new user of the `users` collection: its id and its auth headers."""
    password = "pass-" + uuid.uuid4().hex[:12]
    body = {"email": email, "password": password, "passwordConfirm": password}
    created = await ok(http.post("/api/collections/users/records", headers=su, json=body))
    auth = await ok(
        http.post("/api/collections/users/auth-with-password", json={"identity": email, "password": password})
    )
    return created["id"], {"Authorization": auth["token"]}


@contextlib.asynccontextmanager
async def subscribed(http: httpx2.AsyncClient, topic: str, auth: dict[str, str]) -> AsyncIterator[Stream]:
    """An SSE stream on `http`'s node, subscribed to `topic` as `auth`."""
    stream = Stream(http)
    task = asyncio.create_task(stream.run())
    try:
        first = await stream.next()
        assert first["event"] == "PB_CONNECT", first
        body = {"clientId": first["data"]["clientId"], "subscriptions": [topic]}
        r = await http.post("/api/realtime", headers=auth, json=body)
        assert r.status_code == 204, r.text
        yield stream
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_subscriber_on_node_a_receives_writes_through_node_b_within_its_rules(
    cluster: Cluster, direct: tuple[httpx2.AsyncClient, httpx2.AsyncClient]
) -> None:
    _, b = direct
    su = await superuser(b)
    name = unique("notes")
    rule = "owner = @request.auth.id || public = true"
    fields = [
        {"name": "title", "type": "text"},
        {"name": "public", "type": "bool"},
        {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
    ]
    rules = {
        "listRule": rule,
        "viewRule": rule,
        "createRule": "owner = @request.auth.id",
        "updateRule": "owner = @request.auth.id",
    }
    await ok(b.post("/api/collections", headers=su, json={"name": name, **rules, "fields": fields}))
    alice_id, alice = await user(b, su, f"alice-{uuid.uuid4().hex[:8]}@example.com")
    _, bob = await user(b, su, f"bob-{uuid.uuid4().hex[:8]}@example.com")

    async with (
        httpx2.AsyncClient(base_url=cluster.a.url, timeout=10) as alice_http,
        httpx2.AsyncClient(base_url=cluster.a.url, timeout=10) as bob_http,
        subscribed(alice_http, f"{name}/*", alice) as alice_stream,
        subscribed(bob_http, f"{name}/*", bob) as bob_stream,
    ):
        # written through node B, as alice: only alice may see it
        private = await ok(
            b.post(f"/api/collections/{name}/records", headers=alice, json={"title": "mine", "owner": alice_id})
        )
        # then a record everyone may see: events leave node B and reach node A in commit order,
        # so a subscriber whose first event is this one was never sent the private record
        marker = await ok(b.post(f"/api/collections/{name}/records", headers=su, json={"title": "all", "public": True}))
        await ok(b.patch(f"/api/collections/{name}/records/{private['id']}", headers=alice, json={"title": "mine 2"}))

        event = await alice_stream.next()
        assert (event["event"], event["data"]["action"], event["data"]["record"]["id"]) == (
            f"{name}/*",
            "create",
            private["id"],
        ), cluster.describe()
        assert event["data"]["record"]["title"] == "mine"
        event = await alice_stream.next()
        assert (event["data"]["action"], event["data"]["record"]["id"]) == ("create", marker["id"])
        event = await alice_stream.next()
        assert (event["data"]["action"], event["data"]["record"]["title"]) == ("update", "mine 2")

        event = await bob_stream.next()
        assert (event["data"]["action"], event["data"]["record"]["id"]) == ("create", marker["id"]), event
        # a last public change: bob's next event is that one, not the private update before it
        await ok(b.patch(f"/api/collections/{name}/records/{marker['id']}", headers=su, json={"title": "all 2"}))
        event = await bob_stream.next()
        assert (event["data"]["action"], event["data"]["record"]["title"]) == ("update", "all 2"), event
        assert bob_stream.frames.empty()


async def wait_for_settings(http: httpx2.AsyncClient, su: dict[str, str], enabled: bool) -> None:
    """Until the node serves rate limits `enabled` (superusers are never limited: this costs no budget)."""
    deadline = time.monotonic() + SETTINGS_WAIT_S
    while True:
        current = await ok(http.get("/api/settings", headers=su))
        if current["rateLimits"]["enabled"] is enabled:
            return
        assert time.monotonic() < deadline, "node B never saw the settings changed through node A"
        await asyncio.sleep(0.05)


async def test_rate_limit_budget_is_shared_by_both_nodes(
    cluster: Cluster, direct: tuple[httpx2.AsyncClient, httpx2.AsyncClient]
) -> None:
    a, b = direct
    su = await superuser(a)
    name = unique("limited")
    await ok(
        a.post(
            "/api/collections",
            headers=su,
            json={"name": name, "listRule": "", "fields": [{"name": "t", "type": "text"}]},
        )
    )
    limit = 5
    rules = [{"label": f"{name}:list", "maxRequests": limit, "duration": 300, "audience": ""}]
    await ok(a.patch("/api/settings", headers=su, json={"rateLimits": {"enabled": True, "rules": rules}}))
    try:
        await wait_for_settings(b, await superuser(b), True)
        path = f"/api/collections/{name}/records"
        remaining = []
        for i in range(limit):  # alternating: A, B, A, B, A
            r = await (a if i % 2 == 0 else b).get(path)
            assert r.status_code == 200, (i, r.text)
            remaining.append(int(r.headers["x-ratelimit-remaining"]))
        # each node alone would still allow requests; together they spent one budget
        assert remaining == [4, 3, 2, 1, 0]
        for node in (b, a):  # the next request is refused whichever node it reaches
            r = await node.get(path)
            assert r.status_code == 429, r.text
            assert r.json() == {"data": {}, "message": "Too Many Requests.", "status": 429}
            assert int(r.headers["retry-after"]) >= 1
    finally:
        await ok(a.patch("/api/settings", headers=su, json={"rateLimits": {"enabled": False}}))
