"""Queries: list and view per collection, through the same rules as REST, for guest, owner and superuser."""

from __future__ import annotations

from typing import Any

import httpx2

from satchel.core.app import App
from tests.apis.helpers import POSTS, create_collection, create_user, login
from tests.plugins.graphql.conftest import gql

LIST = """query($filter: String, $sort: String, $page: Int, $perPage: Int, $skipTotal: Boolean) {
  postsList(filter: $filter, sort: $sort, page: $page, perPage: $perPage, skipTotal: $skipTotal) {
    items { id title views published tags meta author_id collectionName }
    page perPage totalItems totalPages
  }
}"""


async def seed(client: httpx2.AsyncClient, su: dict[str, str]) -> dict[str, Any]:
    await create_collection(client, su, POSTS)
    alice = await create_user(client, "alice@example.com")
    bob = await create_user(client, "bob@example.com", emailVisibility=True)
    ha, hb = await login(client, "alice@example.com"), await login(client, "bob@example.com")
    posts = {}
    for title, author, headers, published in (
        ("a1", alice, ha, True),
        ("a2", alice, ha, False),
        ("b1", bob, hb, False),
    ):
        r = await client.post(
            "/api/collections/posts/records",
            json={"title": title, "author": author["id"], "published": published, "views": 3, "tags": ["a", "b"]},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        posts[title] = r.json()
    return {"alice": alice, "bob": bob, "ha": ha, "hb": hb, "posts": posts}


async def rest_titles(client: httpx2.AsyncClient, headers: dict[str, str], **query: str) -> list[str]:
    r = await client.get("/api/collections/posts/records", params=query, headers=headers)
    assert r.status_code == 200, r.text
    return [item["title"] for item in r.json()["items"]]


async def test_list_rule_decides_like_rest_for_guest_owner_and_superuser(
    client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    s = await seed(client, su)
    for headers, expected in (({}, ["a1"]), (s["ha"], ["a1", "a2"]), (s["hb"], ["a1", "b1"]), (su, ["a1", "a2", "b1"])):
        body = await gql(client, LIST, headers, sort="title")
        assert "errors" not in body, body
        page = body["data"]["postsList"]
        assert [i["title"] for i in page["items"]] == expected
        assert expected == await rest_titles(client, headers, sort="title")
        assert page["totalItems"] == len(expected)
        assert page["page"] == 1 and page["perPage"] == 30 and page["totalPages"] == 1


async def test_filter_sort_page_per_page_and_skip_total(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await seed(client, su)
    body = await gql(client, LIST, su, filter='title ~ "a"', sort="-title", page=2, perPage=1)
    page = body["data"]["postsList"]
    assert [i["title"] for i in page["items"]] == ["a1"]
    assert (page["page"], page["perPage"], page["totalItems"], page["totalPages"]) == (2, 1, 2, 2)
    body = await gql(client, LIST, su, skipTotal=True, sort="title")
    page = body["data"]["postsList"]
    assert (page["totalItems"], page["totalPages"]) == (-1, -1)
    assert [i["title"] for i in page["items"]] == ["a1", "a2", "b1"]


async def test_field_values_are_rest_values(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    s = await seed(client, su)
    body = await gql(client, LIST, s["ha"], filter='title = "a1"')
    item = body["data"]["postsList"]["items"][0]
    rest = s["posts"]["a1"]
    assert item == {
        "id": rest["id"],
        "title": "a1",
        "views": 3.0,
        "published": True,
        "tags": ["a", "b"],
        "meta": None,
        "author_id": s["alice"]["id"],
        "collectionName": "posts",
    }


async def test_a_bad_filter_is_the_rest_error(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await seed(client, su)
    body = await gql(client, LIST, {}, filter="nope ~~ (")
    rest = await client.get("/api/collections/posts/records", params={"filter": "nope ~~ ("})
    assert rest.status_code == 400
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == rest.json()["message"]
    assert error["extensions"] == {"code": 400, "data": rest.json()["data"]}
    assert error["path"] == ["postsList"]
    body = await gql(client, LIST, {}, filter='@request.auth.id != ""')
    assert body["errors"][0]["extensions"]["code"] == 403


async def test_view_by_id_follows_the_view_rule(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    s = await seed(client, su)
    query = "query($id: ID!) { posts(id: $id) { id title } }"
    hidden = s["posts"]["a2"]["id"]
    assert (await gql(client, query, {}, id=hidden)) == {"data": {"posts": None}}
    assert (await gql(client, query, s["hb"], id=hidden)) == {"data": {"posts": None}}
    assert (await gql(client, query, s["ha"], id=hidden))["data"]["posts"] == {"id": hidden, "title": "a2"}
    assert (await gql(client, query, su, id=hidden))["data"]["posts"]["title"] == "a2"
    assert (await gql(client, query, su, id="missing"))["data"] == {"posts": None}


async def test_auth_secrets_are_not_in_the_schema(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    """Hidden fields are (test_graphql_hidden_fields.py); `password` and `tokenKey` never, as in REST."""
    await seed(client, su)
    fields = """query($name: String!) { __type(name: $name) { fields { name } } }"""
    posts = {f["name"] for f in (await gql(client, fields, {}, name="Posts"))["data"]["__type"]["fields"]}
    assert {"id", "title", "body", "views", "published", "tags", "meta", "author", "author_id", "secret"} <= posts
    users = {f["name"] for f in (await gql(client, fields, {}, name="Users"))["data"]["__type"]["fields"]}
    assert {"id", "email", "emailVisibility", "verified", "name", "avatar", "posts_via_author"} <= users
    assert not {"password", "tokenKey"} & users
    body = await gql(client, "{ usersList { items { tokenKey } } }", su)
    assert body["errors"][0]["message"] == "Cannot query field 'tokenKey' on type 'Users'."


async def test_auth_records_show_email_as_rest_does(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    s = await seed(client, su)
    query = '{ usersList(sort: "email") { items { id email } } }'
    # the users collection's rules let each user see herself only; superusers see every email
    assert (await gql(client, query, s["ha"]))["data"]["usersList"]["items"] == [
        {"id": s["alice"]["id"], "email": "alice@example.com"}
    ]
    emails = [i["email"] for i in (await gql(client, query, su))["data"]["usersList"]["items"]]
    assert emails == ["alice@example.com", "bob@example.com"]


async def test_types_of_every_field_kind(app: App, client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await create_collection(
        client,
        su,
        {
            "name": "things",
            "type": "base",
            "listRule": "",
            "viewRule": "",
            "fields": [
                {"name": "when", "type": "date"},
                {"name": "site", "type": "url"},
                {"name": "mail", "type": "email"},
                {"name": "doc", "type": "editor"},
                {"name": "pick", "type": "select", "values": ["x", "y"], "maxSelect": 1},
                {"name": "odd", "type": "select", "values": ["in progress", "done"], "maxSelect": 1},
                {"name": "where", "type": "geoPoint"},
                {"name": "files", "type": "file", "maxSelect": 2},
                {"name": "created", "type": "autodate", "onCreate": True},
            ],
        },
    )
    r = await client.post(
        "/api/collections/things/records",
        headers=su,
        data={
            "when": "2024-01-02 03:04:05.000Z",
            "site": "https://x.test",
            "mail": "m@x.test",
            "pick": "y",
            "odd": "in progress",
            "where": '{"lon": 1.5, "lat": -2}',
        },
        files=[("files", ("a.txt", b"hello", "text/plain"))],
    )
    assert r.status_code == 200, r.text
    rest = r.json()
    body = await gql(
        client,
        "{ thingsList { items { id when site mail doc pick odd where { lon lat } files { name url } created } } }",
    )
    assert "errors" not in body, body
    item = body["data"]["thingsList"]["items"][0]
    assert item["when"] == "2024-01-02 03:04:05.000Z" and item["created"] == rest["created"]
    assert (item["site"], item["mail"], item["doc"], item["pick"], item["odd"]) == (
        "https://x.test",
        "m@x.test",
        "",
        "y",
        "in progress",
    )
    assert item["where"] == {"lon": 1.5, "lat": -2.0}
    [stored] = rest["files"]
    assert item["files"] == [
        {"name": stored, "url": f"http://satchel.test/api/files/{rest['collectionId']}/{rest['id']}/{stored}"}
    ]
    assert (await client.get(item["files"][0]["url"])).content == b"hello"
    kinds = """{ __type(name: "Things") { fields { name type { kind name ofType { kind ofType { name } } } } } }"""
    types = {f["name"]: f["type"] for f in (await gql(client, kinds))["data"]["__type"]["fields"]}
    assert types["pick"] == {"kind": "ENUM", "name": "Things_pick", "ofType": None}
    assert types["odd"]["name"] == "String"  # "in progress" cannot be an enum value
    assert types["where"]["name"] == "GeoPoint"
    assert types["files"]["kind"] == "NON_NULL"
