"""Hidden fields through GraphQL: in the schema for everyone, a value for superusers only, as REST.

The posts' hidden `secret` (tests.apis.helpers.POSTS) and a hidden relation are read, written,
filtered, sorted and subscribed to by a guest, the author and a superuser, each answer compared
with what REST gives the same caller.
"""

from __future__ import annotations

from typing import Any

import httpx2

from satchel.core.app import App
from tests.apis.helpers import POSTS, create_collection, create_user, login
from tests.plugins.graphql.conftest import gql
from tests.plugins.graphql.test_graphql_ws import Socket, settle, subscribed

LIST = """query($filter: String, $sort: String) {
  postsList(filter: $filter, sort: $sort) { items { title secret } }
}"""


async def seed(client: httpx2.AsyncClient, su: dict[str, str]) -> dict[str, Any]:
    await create_collection(client, su, POSTS)
    alice = await create_user(client, "alice@example.com")
    ha = await login(client, "alice@example.com")
    for title, secret in (("a1", "s-1"), ("a2", "")):
        body = {"title": title, "author": alice["id"], "published": True, "secret": "from alice"}
        r = await client.post("/api/collections/posts/records", json=body, headers=ha)
        assert r.status_code == 200, r.text
        r = await client.patch(f"/api/collections/posts/records/{r.json()['id']}", json={"secret": secret}, headers=su)
        assert r.status_code == 200, r.text
    return {"alice": alice, "ha": ha}


async def rest_items(client: httpx2.AsyncClient, headers: dict[str, str], **query: str) -> list[dict[str, Any]]:
    r = await client.get("/api/collections/posts/records", params=query, headers=headers)
    assert r.status_code == 200, r.text
    return [{"title": i["title"], "secret": i.get("secret")} for i in r.json()["items"]]


async def test_the_field_is_in_the_schema_nullable_and_marked(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await seed(client, su)
    query = """{ __type(name: "Posts") { fields { name description type { kind name } } } }"""
    for headers in ({}, su):  # one schema, whoever asks
        fields = {f["name"]: f for f in (await gql(client, query, headers))["data"]["__type"]["fields"]}
        secret = fields["secret"]
        assert secret["type"] == {"kind": "SCALAR", "name": "String"}
        assert "superusers only" in secret["description"]
        assert "superusers only" not in (fields["title"]["description"] or "")
    create = """{ __type(name: "PostsCreateInput") { inputFields { name description } } }"""
    inputs = {f["name"]: f["description"] for f in (await gql(client, create))["data"]["__type"]["inputFields"]}
    assert "set by superusers only" in inputs["secret"]


async def test_values_for_superusers_null_for_guest_and_owner_as_rest(
    client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    s = await seed(client, su)
    for headers, expected in (
        ({}, [None, None]),
        (s["ha"], [None, None]),
        (su, ["s-1", ""]),  # "" is the field's value, not its absence
    ):
        body = await gql(client, LIST, headers, sort="title")
        assert "errors" not in body, body
        items = body["data"]["postsList"]["items"]
        assert [i["secret"] for i in items] == expected
        assert items == await rest_items(client, headers, sort="title")
    view = "query($f: String) { postsList(filter: $f) { items { id } } }"
    one = (await gql(client, view, su, f='title = "a1"'))["data"]["postsList"]["items"][0]["id"]
    get = "query($id: ID!) { posts(id: $id) { secret } }"
    assert (await gql(client, get, s["ha"], id=one))["data"]["posts"] == {"secret": None}
    assert (await gql(client, get, su, id=one))["data"]["posts"] == {"secret": "s-1"}


async def test_filter_and_sort_by_it_are_refused_but_to_superusers_as_rest(
    client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    s = await seed(client, su)
    for args in ({"filter": 'secret != ""'}, {"sort": "-secret"}):
        for headers in ({}, s["ha"]):
            rest = await client.get("/api/collections/posts/records", params=args, headers=headers)
            assert rest.status_code == 400, rest.text
            body = await gql(client, LIST, headers, **args)
            assert body["data"] is None
            [error] = body["errors"]
            assert error["message"] == rest.json()["message"]
            assert error["extensions"] == {"code": 400, "data": rest.json()["data"]}
    body = await gql(client, LIST, su, filter='secret != ""')
    assert body["data"]["postsList"]["items"] == [{"title": "a1", "secret": "s-1"}]
    body = await gql(client, LIST, su, sort="-secret")
    assert [i["title"] for i in body["data"]["postsList"]["items"]] == ["a1", "a2"]


async def test_mutations_set_it_for_superusers_only_and_answer_as_rest(
    client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    s = await seed(client, su)
    create = "mutation($d: PostsCreateInput!) { createPosts(data: $d) { id secret } }"
    mine = await gql(client, create, s["ha"], d={"title": "a3", "author": s["alice"]["id"], "secret": "mine"})
    assert "errors" not in mine, mine
    record = mine["data"]["createPosts"]
    assert record["secret"] is None
    rest = await client.get(f"/api/collections/posts/records/{record['id']}", headers=su)
    assert rest.json()["secret"] == ""  # ignored, as REST ignores a non-superuser's hidden value
    update = "mutation($id: ID!, $d: PostsUpdateInput!) { updatePosts(id: $id, data: $d) { secret } }"
    body = await gql(client, update, su, id=record["id"], d={"secret": "theirs"})
    assert body == {"data": {"updatePosts": {"secret": "theirs"}}}
    body = await gql(client, update, s["ha"], id=record["id"], d={"secret": "again", "title": "a3b"})
    assert body == {"data": {"updatePosts": {"secret": None}}}
    rest = await client.get(f"/api/collections/posts/records/{record['id']}", headers=su)
    assert (rest.json()["title"], rest.json()["secret"]) == ("a3b", "theirs")


async def test_a_hidden_relation_and_its_back_relation_resolve_for_superusers_only(
    client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    s = await seed(client, su)
    await create_collection(
        client,
        su,
        {
            "name": "notes",
            "type": "base",
            "listRule": "",
            "viewRule": "",
            "createRule": "",
            "fields": [
                {"name": "text", "type": "text"},
                {
                    "name": "about",
                    "type": "relation",
                    "collectionId": "_pb_users_auth_",
                    "maxSelect": 1,
                    "hidden": True,
                },
                {
                    "name": "tagged",
                    "type": "relation",
                    "collectionId": "_pb_users_auth_",
                    "maxSelect": 5,
                    "hidden": True,
                },
            ],
        },
    )
    alice = s["alice"]["id"]
    r = await client.post(
        "/api/collections/notes/records", json={"text": "n1", "about": alice, "tagged": [alice]}, headers=su
    )
    assert r.status_code == 200, r.text
    notes = "{ notesList { items { text about { id } about_id tagged { id } tagged_ids } } }"
    hidden = {"about": None, "about_id": None, "tagged": None, "tagged_ids": None}
    assert (await gql(client, notes, s["ha"]))["data"]["notesList"]["items"] == [{"text": "n1", **hidden}]
    assert (await gql(client, notes, su))["data"]["notesList"]["items"] == [
        {"text": "n1", "about": {"id": alice}, "about_id": alice, "tagged": [{"id": alice}], "tagged_ids": [alice]}
    ]
    # alice may view herself, yet which notes point at her through a hidden field is the field's value
    users = "{ usersList { items { id notes_via_about { text } notes_via_tagged { text } } } }"
    assert (await gql(client, users, s["ha"]))["data"]["usersList"]["items"] == [
        {"id": alice, "notes_via_about": None, "notes_via_tagged": None}
    ]
    assert (await gql(client, users, su))["data"]["usersList"]["items"] == [
        {"id": alice, "notes_via_about": [{"text": "n1"}], "notes_via_tagged": [{"text": "n1"}]}
    ]
    kinds = """{ __type(name: "Users") { fields { name type { kind } } } }"""
    types = {f["name"]: f["type"]["kind"] for f in (await gql(client, kinds))["data"]["__type"]["fields"]}
    assert types["notes_via_about"] == "LIST"  # nullable: null is "not yours to know", [] is "none"


async def test_subscription_events_carry_it_as_sse_does(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    s = await seed(client, su)
    query = "subscription($f: String) { postsChanged(filter: $f) { action record { title secret } } }"
    owner, superuser, filtered = Socket(app), Socket(app), Socket(app)
    await owner.init({"Authorization": s["ha"]["Authorization"]})
    await superuser.init({"Authorization": su["Authorization"]})
    await filtered.init({"Authorization": su["Authorization"]})
    await subscribed(app, owner, "o", query)
    await subscribed(app, superuser, "s", query)
    # a topic filter may not read hidden fields, not even a superuser's (realtime's rule): nothing matches
    await subscribed(app, filtered, "f", query, f='secret != ""')
    body = {"title": "a3", "author": s["alice"]["id"], "published": True, "secret": "s-3"}
    r = await client.post("/api/collections/posts/records", json=body, headers=su)
    assert r.status_code == 200, r.text
    await client.post("/api/collections/posts/records", json={**body, "title": "fence", "secret": ""}, headers=su)
    await settle(app)
    for socket, secret in ((owner, None), (superuser, "s-3")):
        change = (await socket.next())["payload"]["data"]["postsChanged"]
        assert change == {"action": "create", "record": {"title": "a3", "secret": secret}}
    await subscribed(app, filtered, "t", query, f='title = "fence"')
    await client.post("/api/collections/posts/records", json={**body, "title": "fence"}, headers=su)
    await settle(app)
    # the first event the filtered socket gets is the later fence: the filter on `secret` matched nothing
    seen = await filtered.next()
    assert (seen["id"], seen["payload"]["data"]["postsChanged"]["record"]["title"]) == ("t", "fence")
    for socket in (owner, superuser, filtered):
        await socket.hang_up()
