"""Relations and back-relations: one query per relation per level (no N+1), under the target's rules."""

from __future__ import annotations

from typing import Any

import httpx2

from satchel.core.app import App
from tests.apis.helpers import POSTS, create_collection, create_user, login
from tests.plugins.graphql.conftest import gql
from tests.probe_recording import recording

COMMENTS = {
    "name": "comments",
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "fields": [
        {"name": "text", "type": "text"},
        {"name": "post", "type": "relation", "collectionId": "", "maxSelect": 1},
        {"name": "likedBy", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 5},
    ],
}

NESTED = """{
  postsList(perPage: 100, sort: "title") {
    items {
      title
      author { email posts_via_author { title } }
      comments_via_post { text likedBy { email } post { title } }
    }
  }
}"""


async def seed(client: httpx2.AsyncClient, su: dict[str, str], n: int) -> list[dict[str, Any]]:
    posts = await create_collection(client, su, POSTS)
    await create_collection(
        client,
        su,
        {
            **COMMENTS,
            "fields": [
                COMMENTS["fields"][0],
                {**COMMENTS["fields"][1], "collectionId": posts["id"]},
                COMMENTS["fields"][2],
            ],
        },
    )
    users = [await create_user(client, f"u{i}@example.com", emailVisibility=True) for i in range(n)]
    for i, user in enumerate(users):
        r = await client.post(
            "/api/collections/posts/records",
            json={"title": f"p{i:02}", "author": user["id"], "published": True},
            headers=su,
        )
        post = r.json()
        for j in range(2):
            likers = [u["id"] for u in users[: j + 1]]
            r = await client.post(
                "/api/collections/comments/records", json={"text": f"c{i}.{j}", "post": post["id"], "likedBy": likers}
            )
            assert r.status_code == 200, r.text
    return users


async def selects(client: httpx2.AsyncClient, headers: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    with recording() as recorder:
        body = await gql(client, NESTED, headers)
    statements = [f.attrs["db.statement"] for f in recorder.named("db.query") if f.attrs["db.operation"] == "SELECT"]
    return body, statements


async def test_one_query_per_relation_per_level_whatever_the_number_of_records(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await seed(client, su, 3)
    small, few = await selects(client, su)
    assert "errors" not in small, small
    assert len(small["data"]["postsList"]["items"]) == 3
    for i in range(3, 12):
        user = await create_user(client, f"more{i}@example.com", emailVisibility=True)
        r = await client.post(
            "/api/collections/posts/records",
            json={"title": f"p{i:02}", "author": user["id"], "published": True},
            headers=su,
        )
        post = r.json()
        await client.post(
            "/api/collections/comments/records", json={"text": "c", "post": post["id"], "likedBy": [user["id"]]}
        )
    large, many = await selects(client, su)
    assert len(large["data"]["postsList"]["items"]) == 12
    assert len(many) == len(few), (few, many)
    # the page (no count: no total is selected), then per level: author, author's posts, comments,
    # their likers, their post
    record_selects = [s for s in many if "__via_je" in s or '"users"' in s or '"posts"' in s or '"comments"' in s]
    assert len(record_selects) == 6, record_selects
    assert not any("COUNT(" in s for s in many), many


async def test_nested_values_and_order(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await seed(client, su, 2)
    body = await gql(client, NESTED, su)
    first = body["data"]["postsList"]["items"][0]
    assert first["title"] == "p00"
    assert first["author"] == {"email": "u0@example.com", "posts_via_author": [{"title": "p00"}]}
    assert first["comments_via_post"] == [
        {"text": "c0.0", "likedBy": [{"email": "u0@example.com"}], "post": {"title": "p00"}},
        {
            "text": "c0.1",
            "likedBy": [{"email": "u0@example.com"}, {"email": "u1@example.com"}],
            "post": {"title": "p00"},
        },
    ]


async def test_relations_apply_the_related_collections_view_rule_like_expand(
    client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    users = await seed(client, su, 2)
    h0 = await login(client, "u0@example.com")
    body = await gql(client, NESTED, h0)
    assert "errors" not in body, body
    items = body["data"]["postsList"]["items"]
    # users' viewRule is `id = @request.auth.id`: u0 sees herself only, never u1
    assert items[0]["author"] == {"email": "u0@example.com", "posts_via_author": [{"title": "p00"}]}
    assert items[1]["author"] is None
    assert items[1]["comments_via_post"][1]["likedBy"] == [{"email": "u0@example.com"}]
    rest = await client.get(
        "/api/collections/posts/records",
        params={"sort": "title", "expand": "author,comments_via_post.likedBy"},
        headers=h0,
    )
    expanded = rest.json()["items"]
    assert expanded[0]["expand"]["author"]["id"] == users[0]["id"]
    assert "author" not in expanded[1].get("expand", {})
    guest = await gql(client, NESTED, {})
    assert [i["author"] for i in guest["data"]["postsList"]["items"]] == [None, None]
    assert guest["data"]["postsList"]["items"][0]["comments_via_post"][0]["likedBy"] == []


async def test_api_key_scopes_apply_to_relations_like_expand(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await seed(client, su, 1)
    h0 = await login(client, "u0@example.com")
    r = await client.post(
        "/api/keys",
        json={"name": "posts only", "scopes": [{"collection": "posts", "actions": ["list", "view"]}]},
        headers=h0,
    )
    assert r.status_code == 200, r.text
    key = {"Authorization": "Bearer " + r.json()["key"]}
    query = "{ postsList { items { title author { email } } } }"
    assert (await gql(client, query, h0))["data"]["postsList"]["items"] == [
        {"title": "p00", "author": {"email": "u0@example.com"}}
    ]
    # the key may not view users: the relation is left empty, as ?expand= leaves it out
    assert (await gql(client, query, key))["data"]["postsList"]["items"] == [{"title": "p00", "author": None}]
    rest = await client.get("/api/collections/posts/records", params={"expand": "author"}, headers=key)
    assert "author" not in rest.json()["items"][0].get("expand", {})
    denied = await gql(client, "{ usersList { totalItems } }", key)
    assert denied["errors"][0]["extensions"]["code"] == 403
