"""Rate limits count a GraphQL request's root fields: each is a list, a view or a write that REST
would serve as a request of its own, so aliases cannot multiply a client's budget."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.apis.helpers import POSTS, create_collection
from tests.probe_recording import recording

TOO_MANY = {"data": {}, "message": "Too Many Requests.", "status": 429}
PUBLIC_POSTS = {**POSTS, "listRule": "", "viewRule": ""}


def aliases(n: int) -> dict[str, Any]:
    return {"query": "{ " + " ".join(f"a{i}: postsList(perPage: 1) {{ items {{ id }} }}" for i in range(n)) + " }"}


async def limit(client: httpx2.AsyncClient, su: dict[str, str], label: str, max_requests: int) -> None:
    rule = {"label": label, "audience": "", "duration": 3600, "maxRequests": max_requests}
    r = await client.patch("/api/settings", json={"rateLimits": {"enabled": True, "rules": [rule]}}, headers=su)
    assert r.status_code == 200, r.text


async def test_each_root_field_is_counted_as_a_request(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await create_collection(client, su, PUBLIC_POSTS)
    await limit(client, su, "/api/graphql", 6)
    r = await client.post("/api/graphql", json=aliases(4))
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    assert (r.headers["x-ratelimit-limit"], r.headers["x-ratelimit-remaining"]) == ("6", "2")
    # three more root fields exceed the budget: PocketBase's 429, before any query runs
    with recording() as recorder:
        refused = await client.post("/api/graphql", json=aliases(3))
    assert refused.status_code == 429 and refused.json() == TOO_MANY
    assert refused.headers["x-ratelimit-remaining"] == "0" and int(refused.headers["retry-after"]) >= 1
    assert not [f for f in recorder.named("db.query") if '"posts"' in str(f.attrs["db.statement"])]
    # superusers are never limited, whatever the number of root fields
    r = await client.post("/api/graphql", json=aliases(10), headers=su)
    assert r.status_code == 200 and "x-ratelimit-limit" not in r.headers


async def test_a_one_field_request_counts_once_and_refusals_before_running_count_once(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await create_collection(client, su, PUBLIC_POSTS)
    await limit(client, su, "/api/", 4)
    r = await client.post("/api/graphql", json=aliases(1))
    assert r.headers["x-ratelimit-remaining"] == "3"
    # a document that does not validate runs nothing: counted as the one request it is
    r = await client.post("/api/graphql", json={"query": "{ nope }"})
    assert r.status_code == 200 and r.json()["errors"] and r.headers["x-ratelimit-remaining"] == "2"
    r = await client.post("/api/graphql", json=aliases(2))
    assert r.status_code == 200 and r.headers["x-ratelimit-remaining"] == "0"
    assert (await client.get("/api/health")).status_code == 429  # one budget for every path under /api/
