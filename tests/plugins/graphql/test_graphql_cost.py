"""The cost model: root fields, queries, counts and writes weigh what they cost the database.

A request that multiplies database work with aliases is refused with a GraphQL error before any
statement runs (counted with the same probe recording as the N+1 proof); the queries of the docs,
the parity scenario and the bench still run under the default limits.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx2
from graphql import FragmentDefinitionNode, OperationDefinitionNode

from satchel.core.app import App
from satchel.plugins.graphql import limits
from satchel.plugins.graphql.execution import GraphQLService, Options
from tests.apis.helpers import POSTS, create_collection, create_user
from tests.plugins.graphql.conftest import gql
from tests.plugins.graphql.test_graphql_batching import COMMENTS, NESTED
from tests.probe_recording import recording

# `bench/` is not an installed package: plain `pytest` (unlike `python -m pytest`) would not find it
REPO_ROOT = str(Path(__file__).resolve().parents[3])
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from bench.apis import graphql_body  # noqa: E402
from bench.seed import collection_defs  # noqa: E402

PUBLIC_POSTS = {**POSTS, "listRule": "", "viewRule": ""}
WITH_TOTALS = limits.QUERY_COST + limits.COUNT_COST + 2
"""`aN: postsList(perPage: 1) { totalItems }`: the list field, its total, a query and a count."""


def aliases(n: int, selection: str, args: str = "perPage: 1") -> str:
    return "{ " + " ".join(f"a{i}: postsList({args}) {{ {selection} }}" for i in range(n)) + " }"


async def statements(
    client: httpx2.AsyncClient, query: str, headers: dict[str, str] | None = None
) -> tuple[Any, list[str]]:
    """The answer and the SQL statements run on the records' tables while answering it."""
    with recording() as recorder:
        body = await gql(client, query, headers)
    run = [str(f.attrs["db.statement"]) for f in recorder.named("db.query")]
    return body, [s for s in run if '"posts"' in s or '"users"' in s or '"comments"' in s]


def weight(app: App, query: str, **variables: Any) -> int:
    """The operation's whole complexity (the refusals report it only up to where counting stopped)."""
    service = GraphQLService(app)
    prepared = service.prepare(query, variables, None)
    assert prepared.document is not None, prepared.errors
    [operation] = [d for d in prepared.document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in prepared.document.definitions if isinstance(d, FragmentDefinitionNode)}
    walker = limits.Walker(prepared.schema, fragments.get, 10**9, variables)
    return walker.cost(operation.selection_set, walker.root(operation), frozenset(), 0)


async def seed_posts(client: httpx2.AsyncClient, su: dict[str, str], n: int = 3) -> None:
    await create_collection(client, su, PUBLIC_POSTS)
    for i in range(n):
        r = await client.post("/api/collections/posts/records", json={"title": f"p{i}", "published": True}, headers=su)
        assert r.status_code == 200, r.text


async def test_600_aliased_totals_are_refused_before_any_query(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await seed_posts(client, su)
    for n in (600, 100):
        body, run = await statements(client, aliases(n, "totalItems"))  # as a guest
        assert body.get("data") is None
        [error] = body["errors"]
        assert error["message"] == (
            f"The operation selects {n} root fields (aliases included); at most {limits.MAX_ROOT_FIELDS} are allowed."
            " Split it into several requests."
        )
        assert error["extensions"]["code"] == 400
        assert run == []
    # the same request within the root-field limit runs a list and a count per alias
    body, run = await statements(client, aliases(3, "totalItems"))
    assert body == {"data": {f"a{i}": {"totalItems": 3} for i in range(3)}}
    assert len(run) == 6 and sum("COUNT(" in s for s in run) == 3, run


async def test_counts_weigh_enough_to_refuse_what_the_root_field_limit_lets_through(
    client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await seed_posts(client, su)
    n = limits.DEFAULT_MAX_COMPLEXITY // WITH_TOTALS + 1
    assert n <= limits.MAX_ROOT_FIELDS  # so the complexity, not the root-field count, refuses it
    body, run = await statements(client, aliases(n, "totalItems"))
    [error] = body["errors"]
    assert error["message"].startswith(
        f"The query's complexity is at least {n * WITH_TOTALS}; at most {limits.DEFAULT_MAX_COMPLEXITY} is allowed."
    )
    assert "skipTotal: true" in error["message"]
    assert run == []
    # one alias fewer passes; so do as many lists without their totals (no count runs at all)
    body, run = await statements(client, aliases(n - 1, "totalItems"))
    assert "errors" not in body and len(run) == 2 * (n - 1)
    body, run = await statements(client, aliases(n, "items { id }"))
    assert "errors" not in body and len(run) == n and not any("COUNT(" in s for s in run)
    # skipTotal: the totals are -1 and cost no count
    body, run = await statements(client, aliases(n, "totalItems totalPages", "perPage: 1, skipTotal: true"))
    assert body["data"]["a0"] == {"totalItems": -1, "totalPages": -1} and len(run) == n


async def test_a_count_runs_only_when_a_total_is_selected(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await seed_posts(client, su, 4)
    for query, counted in [
        ("{ postsList(perPage: 3) { items { title } page perPage } }", False),
        ("{ postsList(perPage: 3) { items { title } totalItems } }", True),
        ("{ postsList(perPage: 3) { ...T } } fragment T on PostsList { totalPages }", True),
        ("{ postsList(perPage: 3) { ... on PostsList { totalItems } } }", True),
    ]:
        body, run = await statements(client, query)
        assert "errors" not in body, body
        assert sum("COUNT(" in s for s in run) == (1 if counted else 0), (query, run)
        page = body["data"]["postsList"]
        assert page.get("totalItems", 4) == 4 and page.get("totalPages", 2) == 2
    # the model charges the count in the same cases
    plain = weight(app, "{ postsList(perPage: 1) { perPage } }")
    assert weight(app, "{ postsList(perPage: 1) { perPage totalItems } }") == plain + 1 + limits.COUNT_COST
    assert weight(app, "{ postsList(perPage: 1) { perPage ...T } } fragment T on PostsList { totalPages }") == (
        plain + 1 + limits.COUNT_COST
    )
    assert weight(app, "{ postsList(perPage: 1, skipTotal: true) { perPage totalItems } }") == plain + 1
    skip = "query($s: Boolean) { postsList(perPage: 1, skipTotal: $s) { perPage totalItems } }"
    assert weight(app, skip, s=True) == plain + 1
    assert weight(app, skip, s=False) == plain + 1 + limits.COUNT_COST


async def test_root_fields_are_limited_per_operation(app: App, client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await seed_posts(client, su, 1)
    views = lambda n: "{ " + " ".join(f'v{i}: posts(id: "x") {{ id }}' for i in range(n)) + " }"  # noqa: E731
    assert (await gql(client, views(limits.MAX_ROOT_FIELDS)))["data"]["v0"] is None
    body = await gql(client, views(limits.MAX_ROOT_FIELDS + 1))
    assert body["errors"][0]["message"].startswith(f"The operation selects {limits.MAX_ROOT_FIELDS + 1} root fields")
    # fragments count as what they expand to; __typename is no root field of any cost
    query = '{ __typename ...F c: postsList { page } } fragment F on Query { a: postsList { page } b: posts(id: "x") { id } }'
    assert "errors" not in await gql(client, query)
    tight = GraphQLService(app, Options(max_root_fields=2))
    assert tight.prepare(query, {}, None).errors[0]["message"].startswith("The operation selects 3 root fields")


async def test_queries_relations_and_writes_weigh_their_database_work(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await create_collection(client, su, POSTS)
    q, count, write = limits.QUERY_COST, limits.COUNT_COST, limits.WRITE_COST
    # a record by id: a query, and its fields once
    assert weight(app, '{ posts(id: "x") { id title } }') == 1 + q + 2
    # a list's items weigh perPage times, its totals once; a relation is one query per page,
    # whatever perPage, its fields per record
    assert weight(app, "{ postsList(perPage: 7) { items { author { id } } } }") == 1 + q + (1 + 7 * (1 + 1)) + q
    assert weight(app, "query($n: Int) { postsList(perPage: $n) { items { id } totalItems } }", n=5) == (
        1 + q + count + (1 + 5 * 1) + 1
    )
    # a back-relation: one query, its fields LIST_ESTIMATE times per record
    assert weight(app, "{ usersList(perPage: 2) { items { posts_via_author { id } } } }") == (
        1 + q + (1 + 2 * (1 + limits.LIST_ESTIMATE)) + q
    )
    # every mutation is a write
    assert weight(app, 'mutation { a: createPosts(data: {title: "a"}) { id } b: deletePosts(id: "x") }') == (
        (1 + write + 1) + (1 + write)
    )


async def test_the_queries_of_the_docs_parity_and_bench_pass_the_default_limits(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    bench_posts = next(c for c in collection_defs("_pb_users_auth_") if c["name"] == "posts")
    posts = await create_collection(client, su, bench_posts)
    post = (await client.post("/api/collections/posts/records", json={"title": "t"}, headers=su)).json()
    for op in ("list", "get"):
        body = await gql(client, json.loads(graphql_body(op, post["id"]))["query"])
        assert "errors" not in body, (op, body)
    await client.delete(f"/api/collections/{posts['id']}", headers=su)
    # the parity scenario's list (tests/plugins/test_api_parity.py), NESTED of the N+1 proof, and
    # a page of 1000 records with its totals and a relation
    await create_collection(client, su, PUBLIC_POSTS)
    posts_id = (await client.get("/api/collections/posts", headers=su)).json()["id"]
    fields = [COMMENTS["fields"][0], {**COMMENTS["fields"][1], "collectionId": posts_id}, COMMENTS["fields"][2]]
    await create_collection(client, su, {**COMMENTS, "fields": fields})
    await create_user(client, "someone@example.com")
    parity = "query($f: String, $s: String) { postsList(filter: $f, sort: $s, perPage: 100) { items { id title published author_id author { id name } } } }"
    big = "{ postsList(perPage: 1000) { items { id title body views published tags meta author_id created updated author { id name email } } totalItems totalPages } }"
    dashboard = (
        "{ " + " ".join(f"l{i}: postsList(perPage: 10) {{ items {{ id title }} totalItems }}" for i in range(10)) + " }"
    )
    for query in (parity, NESTED, big, dashboard):
        body = await gql(client, query)
        assert "errors" not in body, (query, body)
