"""Mutations: create, update and delete through the records service, with REST's rules, hooks and error codes."""

from __future__ import annotations

import httpx2

from satchel.core.app import App
from tests.apis.helpers import POSTS, create_collection, create_user, login
from tests.plugins.graphql.conftest import gql
from tests.plugins.graphql.test_graphql_queries import seed

CREATE = "mutation($d: PostsCreateInput!) { createPosts(data: $d) { id title views author { id } } }"
UPDATE = "mutation($id: ID!, $d: PostsUpdateInput!) { updatePosts(id: $id, data: $d) { id title views } }"
DELETE = "mutation($id: ID!) { deletePosts(id: $id) }"


async def test_create_follows_the_create_rule_and_fires_the_rest_hooks(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await create_collection(client, su, POSTS)
    alice = await create_user(client, "alice@example.com")
    ha = await login(client, "alice@example.com")
    fired: list[str] = []

    async def record(e: object) -> None:
        fired.append(type(e).__name__)
        await e.next()  # type: ignore[attr-defined]

    app.hooks.on_record_create_request.bind(record)
    guest = await gql(client, CREATE, {}, d={"title": "x"})
    assert guest["data"] == {"createPosts": None}
    rest = await client.post("/api/collections/posts/records", json={"title": "x"})
    assert guest["errors"][0]["message"] == rest.json()["message"]
    assert guest["errors"][0]["extensions"] == {"code": rest.status_code, "data": {}}
    fired.clear()
    body = await gql(client, CREATE, ha, d={"title": "mine", "views": 2, "author": alice["id"]})
    assert "errors" not in body, body
    created = body["data"]["createPosts"]
    assert (created["title"], created["views"], created["author"]) == ("mine", 2.0, {"id": alice["id"]})
    assert fired == ["RecordRequestEvent"]
    stored = await client.get(f"/api/collections/posts/records/{created['id']}", headers=ha)
    assert stored.json()["title"] == "mine"


async def test_validation_errors_carry_rest_field_codes(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await create_collection(client, su, POSTS)
    await create_user(client, "alice@example.com")
    ha = await login(client, "alice@example.com")
    bad = {"title": "", "views": -1, "tags": ["zzz"], "author": "nobody"}
    body = await gql(client, CREATE, ha, d=bad)
    rest = await client.post("/api/collections/posts/records", json=bad, headers=ha)
    assert rest.status_code == 400
    [error] = body["errors"]
    assert error["extensions"]["code"] == 400
    assert error["extensions"]["data"] == rest.json()["data"]
    assert set(error["extensions"]["data"]) == {"title", "views", "tags", "author"}
    assert error["extensions"]["data"]["title"]["code"] == "validation_required"
    assert error["message"] == rest.json()["message"]
    count = await client.get("/api/collections/posts/records", headers=su)
    assert count.json()["totalItems"] == 0  # nothing partial was written


async def test_update_and_delete_follow_their_rules(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    s = await seed(client, su)
    target = s["posts"]["a1"]["id"]
    for headers in ({}, s["hb"]):
        body = await gql(client, UPDATE, headers, id=target, d={"title": "stolen"})
        assert body["data"] == {"updatePosts": None}
        assert body["errors"][0]["extensions"]["code"] == 404  # as REST: the rule hides the record
        body = await gql(client, DELETE, headers, id=target)
        assert body["errors"][0]["extensions"]["code"] == 404
    body = await gql(client, UPDATE, s["ha"], id=target, d={"title": "renamed", "views": 9})
    assert body["data"]["updatePosts"] == {"id": target, "title": "renamed", "views": 9.0}
    body = await gql(client, UPDATE, s["ha"], id=target, d={"title": "x" * 101})
    assert body["errors"][0]["extensions"]["data"]["title"]["code"] == "validation_max_text_constraint"
    assert (await gql(client, DELETE, s["ha"], id=target)) == {"data": {"deletePosts": True}}
    assert (await client.get(f"/api/collections/posts/records/{target}", headers=su)).status_code == 404
    assert (await gql(client, DELETE, su, id=target))["errors"][0]["extensions"]["code"] == 404


async def test_auth_collections_take_passwords_and_never_show_them(client: httpx2.AsyncClient) -> None:
    create = """mutation($d: UsersCreateInput!) { createUsers(data: $d) { id email verified } }"""
    body = await gql(
        client, create, {}, d={"email": "new@example.com", "password": "pass-1234", "passwordConfirm": "nope-1234"}
    )
    assert body["errors"][0]["extensions"]["data"]["passwordConfirm"]["code"] == "validation_values_mismatch"
    body = await gql(
        client, create, {}, d={"email": "new@example.com", "password": "pass-1234", "passwordConfirm": "pass-1234"}
    )
    assert "errors" not in body, body
    # a guest created it: the email is hidden from her, as in REST's answer
    assert body["data"]["createUsers"]["email"] is None
    rest = await create_user(client, "other@example.com")
    assert "email" not in rest
    r = await client.post(
        "/api/collections/users/auth-with-password", json={"identity": "new@example.com", "password": "pass-1234"}
    )
    assert r.status_code == 200


async def test_view_collections_have_no_mutations(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await create_collection(client, su, POSTS)
    await create_collection(
        client,
        su,
        {"name": "titles", "type": "view", "listRule": "", "viewRule": "", "viewQuery": "SELECT id, title FROM posts"},
    )
    fields = '{ __type(name: "Mutation") { fields { name } } }'
    names = {f["name"] for f in (await gql(client, fields))["data"]["__type"]["fields"]}
    assert {"createPosts", "updatePosts", "deletePosts"} <= names
    assert not {n for n in names if "Titles" in n}
    assert (await gql(client, "{ titlesList { items { id title } } }"))["data"]["titlesList"]["items"] == []
