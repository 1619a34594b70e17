"""A superuser's `POST /api/graphql` over HTTP: the GraphQL plugin writes one audit entry per mutation
(`satchel.plugins.graphql.audit`), so the request log writes none for the request itself. A query
changes nothing and leaves no audit entry; a mutation leaves exactly the plugin's one."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.plugins.graphql.conftest import gql

POSTS = {"name": "posts", "type": "base", "fields": [{"name": "title", "type": "text"}]}


async def audit_entries(client: httpx2.AsyncClient, su: dict[str, str]) -> list[dict[str, Any]]:
    r = await client.get("/api/logs", params={"filter": "data.audit = true", "perPage": 100}, headers=su)
    assert r.status_code == 200, r.text
    return [e["data"]["action"] for e in r.json()["items"]]


async def test_a_superusers_query_is_not_audited_and_a_mutation_once(
    client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    r = await client.post("/api/collections", headers=su, json=POSTS)
    assert r.status_code == 200, r.text
    before = await audit_entries(client, su)  # the collection's creation: audited by the request log

    body = await gql(client, "{ postsList { items { id } } }", su)
    assert body["data"]["postsList"]["items"] == []
    assert await audit_entries(client, su) == before

    body = await gql(client, 'mutation { createPosts(data: {title: "t"}) { id } }', su)
    record_id = body["data"]["createPosts"]["id"]
    added = [a for a in await audit_entries(client, su) if a not in before]
    assert [(a["method"], a["url"], a["route"], a["recordId"]) for a in added] == [
        ("POST", "/api/collections/posts/records", "/api/graphql", record_id)
    ]
