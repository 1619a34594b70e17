"""Depth and complexity limits, introspection, the HTTP envelope, and the schema following collection changes."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from graphql import get_introspection_query, parse, validate

from satchel.config import BootConfig
from satchel.core.app import App
from satchel.plugins.graphql.execution import GraphQLService, Options
from satchel.plugins.graphql.limits import QUERY_COST, complexity_rule
from satchel.plugins.graphql.plugin import GraphQL
from satchel.wiring import build_asgi
from tests.apis.helpers import POSTS, create_collection
from tests.plugins.graphql.conftest import gql


def nested(levels: int) -> str:
    """`postsList { items { author { posts_via_author { author { ... id } } } } }`, `levels` deep in all."""
    chain = [("author", "posts_via_author")[i % 2] for i in range(levels - 3)]
    inner = "id"
    for name in reversed(chain):
        inner = f"{name} {{ {inner} }}"
    return f"{{ postsList(perPage: 1) {{ items {{ {inner} }} }} }}"


async def test_depth_limit_refuses_before_running(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await create_collection(client, su, POSTS)
    assert "errors" not in await gql(client, nested(10), su)
    body = await gql(client, nested(11), su)
    assert "data" not in body or body["data"] is None
    [error] = body["errors"]
    assert error["message"] == "The query is nested 11 levels deep; at most 10 are allowed."
    assert error["extensions"]["code"] == 400
    # fragments count as what they expand to
    fragment = "fragment F on Posts { author { posts_via_author { author { posts_via_author { author { posts_via_author { id } } } } } } }"
    body = await gql(
        client, f"{{ postsList(perPage: 1) {{ items {{ author {{ posts_via_author {{ ...F }} }} }} }} }} {fragment}", su
    )
    assert body["errors"][0]["message"].startswith("The query is nested 11 levels deep")


async def test_complexity_limit_counts_per_page_and_lists(
    app: App, su: dict[str, str], client: httpx2.AsyncClient
) -> None:
    await create_collection(client, su, POSTS)
    small = GraphQLService(app, Options(max_complexity=200))
    query = "query($n: Int) { postsList(perPage: $n) { items { id title author { id } } } }"
    # 1 (postsList) + 1 (items) + n * (1 id + 1 title + 1 author + 1 author.id), plus two queries
    # (the page and the authors: no count, no total is selected)
    queries = 2 * QUERY_COST
    prepared = small.prepare(query, {"n": 24}, None)
    assert prepared.errors == []
    prepared = small.prepare(query, {"n": 25}, None)
    assert prepared.errors[0]["message"].startswith(
        f"The query's complexity is at least {2 + 4 * 25 + queries}; at most 200 is allowed."
    )
    # a list-valued relation weighs LIST_ESTIMATE (10) times its selection: 1 + (1 + 20 * (1 + (1 + 10 * 1)))
    prepared = small.prepare("{ postsList(perPage: 20) { items { author { posts_via_author { id } } } } }", {}, None)
    assert prepared.errors[0]["message"].startswith(f"The query's complexity is at least {242 + 3 * QUERY_COST};")


async def test_introspection_is_allowed_and_not_limited(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await create_collection(client, su, POSTS)
    tight = GraphQLService(app, Options(max_depth=2, max_complexity=5))
    assert tight.prepare(get_introspection_query(), {}, None).errors == []
    body = await gql(client, get_introspection_query())
    types = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert {"Posts", "PostsList", "PostsCreateInput", "PostsUpdateInput", "PostsChange", "JSON", "File"} <= types


async def test_schema_follows_collection_changes_without_restart(
    client: httpx2.AsyncClient, su: dict[str, str], plugin: GraphQL
) -> None:
    assert "errors" in await gql(client, "{ postsList { items { id } } }")
    builds = plugin.service.builds
    await gql(client, "{ usersList { totalItems } }", su)
    assert plugin.service.builds == builds  # nothing changed: the cached schema
    posts = await create_collection(client, su, POSTS)
    body = await gql(client, "{ postsList { items { id title } } }", su)
    assert body == {"data": {"postsList": {"items": []}}}
    assert plugin.service.builds == builds + 1
    fields = [f for f in posts["fields"] if f["name"] != "body"] + [{"name": "subtitle", "type": "text"}]
    r = await client.patch(f"/api/collections/{posts['id']}", json={"fields": fields}, headers=su)
    assert r.status_code == 200, r.text
    assert "errors" not in await gql(client, "{ postsList { items { subtitle } } }", su)
    body = await gql(client, "{ postsList { items { body } } }", su)
    assert body["errors"][0]["message"] == "Cannot query field 'body' on type 'Posts'."
    assert (await client.delete(f"/api/collections/{posts['id']}", headers=su)).status_code == 204
    assert "errors" in await gql(client, "{ postsList { items { id } } }", su)


async def test_http_envelope(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await create_collection(client, su, POSTS)
    r = await client.get("/api/graphql", params={"query": "{ postsList { totalItems } }"}, headers=su)
    assert r.json() == {"data": {"postsList": {"totalItems": 0}}}
    r = await client.get(
        "/api/graphql", params={"query": 'mutation { createPosts(data: {title: "x"}) { id } }'}, headers=su
    )
    assert r.status_code == 405
    assert r.json()["errors"][0]["message"] == "Mutations are not run on GET: send them with POST."
    r = await client.post("/api/graphql", content=b"not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {
        "errors": [
            {
                "message": "The body must be a JSON object with a string `query` (GraphQL over HTTP).",
                "extensions": {"code": 400, "data": {}},
            }
        ]
    }
    r = await client.post("/api/graphql", json={"query": "{ postsList { totalItems } }", "variables": [1]})
    assert r.status_code == 400
    r = await client.post("/api/graphql", json={"query": "subscription { postsChanged { action } }"})
    assert r.status_code == 400
    assert "WebSocket" in r.json()["errors"][0]["message"]
    r = await client.post(
        "/api/graphql", content=b"{ postsList { perPage } }", headers={"content-type": "application/graphql", **su}
    )
    assert r.json() == {"data": {"postsList": {"perPage": 30}}}
    body = await gql(client, "{ postsList { ")
    assert body["errors"][0]["message"].startswith("Syntax Error")
    assert body["errors"][0]["extensions"]["code"] == 400


async def test_plugin_is_on_by_default_in_the_server(tmp_path: Path) -> None:
    on = build_asgi(BootConfig(dir=tmp_path / "on"), own_process=False)
    off = build_asgi(BootConfig(dir=tmp_path / "off", graphql=False), own_process=False)
    assert "/api/graphql" in {getattr(r, "path", "") for r in on.router.routes}
    assert "/api/graphql" not in {getattr(r, "path", "") for r in off.router.routes}


def test_the_environment_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SATCHEL_GRAPHQL", raising=False)
    assert BootConfig.from_env().graphql is True
    monkeypatch.setenv("SATCHEL_GRAPHQL", "0")
    assert BootConfig.from_env().graphql is False


async def test_documents_are_cached_per_schema_and_complexity_still_checked(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await create_collection(client, su, POSTS)
    service = GraphQLService(app, Options(max_complexity=200))
    query = "query($n: Int) { postsList(perPage: $n) { items { id title author { id } } } }"
    first = service.prepare(query, {"n": 1}, None)
    assert service.prepare(query, {"n": 2}, None).document is first.document  # parsed and validated once
    refused = service.prepare(query, {"n": 40}, None)  # the cached document, other variables
    assert refused.errors[0]["message"].startswith(f"The query's complexity is at least {2 + 4 * 40 + 2 * QUERY_COST};")
    # the same check as a validation rule, for callers that validate documents themselves
    errors = validate(first.schema, parse(query), [complexity_rule(200, {"n": 40})])
    assert [e.message for e in errors] == [refused.errors[0]["message"]]
    await create_collection(client, su, {"name": "more", "fields": [{"name": "x", "type": "text"}]})
    assert service.prepare(query, {"n": 1}, None).document is not first.document  # a new schema: parsed again
