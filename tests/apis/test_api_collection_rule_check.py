"""`POST /api/collections/meta/rule-check`: the dashboard's rule editors ask the server whether a rule
would be accepted on save, against saved collections and against unsaved drafts."""

from __future__ import annotations

import httpx2

from tests.apis.helpers import POSTS, create_collection, create_user, login

URL = "/api/collections/meta/rule-check"


async def test_superusers_only(client: httpx2.AsyncClient) -> None:
    r = await client.post(URL, json={"collection": "users", "rule": ""})
    assert r.status_code == 401
    await create_user(client, "u@example.com")
    r = await client.post(URL, json={"collection": "users", "rule": ""}, headers=await login(client, "u@example.com"))
    assert r.status_code == 403


async def test_saved_collection(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_collection(client, su_headers, POSTS)
    for rule in (
        "",
        "published = true && author.email != ''",
        '@request.auth.id != "" && @request.body.title:isset = false',
        "@collection.users.email ?= @request.auth.email && @now > created",
        "tags:length > 1 && title:lower ~ 'x'",
    ):
        r = await client.post(URL, json={"collection": "posts", "rule": rule}, headers=su_headers)
        assert r.status_code == 204, (rule, r.text)

    r = await client.post(URL, json={"collection": "posts", "rule": "nosuchfield = 1"}, headers=su_headers)
    assert r.status_code == 400
    body = r.json()
    assert body["message"] == "Invalid rule."
    assert body["data"]["rule"]["code"] == "validation_invalid_rule"
    assert "nosuchfield" in body["data"]["rule"]["message"]
    # the message is the one a save would give for the same rule
    saved = await client.patch("/api/collections/posts", json={"listRule": "nosuchfield = 1"}, headers=su_headers)
    assert saved.json()["data"]["listRule"]["message"] == body["data"]["rule"]["message"]

    r = await client.post(URL, json={"collection": "posts", "rule": "title = "}, headers=su_headers)
    assert r.status_code == 400 and r.json()["data"]["rule"]["code"] == "validation_invalid_rule"


async def test_draft_fields_not_saved_yet(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    posts = await create_collection(client, su_headers, POSTS)
    draft = {"id": posts["id"], "fields": [*posts["fields"], {"name": "subtitle", "type": "text"}]}
    r = await client.post(URL, json={"collection": draft, "rule": "subtitle != ''"}, headers=su_headers)
    assert r.status_code == 204, r.text
    # the saved collection does not have it yet
    r = await client.post(URL, json={"collection": "posts", "rule": "subtitle != ''"}, headers=su_headers)
    assert r.status_code == 400
    # a brand-new collection, referring to itself and another collection
    new = {
        "name": "notes",
        "type": "base",
        "fields": [{"name": "owner", "type": "relation", "collectionId": posts["id"]}],
    }
    r = await client.post(
        URL, json={"collection": new, "rule": "owner.title != '' && @collection.posts.views > 1"}, headers=su_headers
    )
    assert r.status_code == 204, r.text
    r = await client.post(URL, json={"collection": new, "rule": "owner.nope = 1"}, headers=su_headers)
    assert r.status_code == 400 and "nope" in r.json()["data"]["rule"]["message"]
    # a new auth collection has its system fields already
    r = await client.post(
        URL,
        json={"collection": {"name": "members", "type": "auth"}, "rule": "verified = true && email != ''"},
        headers=su_headers,
    )
    assert r.status_code == 204, r.text
    assert (await client.get("/api/collections/notes", headers=su_headers)).status_code == 404  # nothing saved


async def test_bad_input(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await client.post(URL, json={}, headers=su_headers)
    assert r.status_code == 400
    assert r.json()["data"] == {
        "rule": {"code": "validation_required", "message": "Cannot be blank."},
        "collection": {"code": "validation_required", "message": "Cannot be blank."},
    }
    r = await client.post(URL, json={"collection": "nope", "rule": ""}, headers=su_headers)
    assert r.status_code == 404
    r = await client.post(URL, json={"collection": {"name": 5}, "rule": "a = 1"}, headers=su_headers)
    assert (
        r.status_code == 400
        and r.json()["message"] == "Failed to load the collection type data due to invalid formatting."
    )
    r = await client.post(URL, json={"collection": {"fields": "x"}, "rule": "a = 1"}, headers=su_headers)
    assert r.status_code == 400
    r = await client.post(URL, json={"collection": "posts", "rule": 3}, headers=su_headers)
    assert r.status_code == 400 and r.json()["data"]["rule"]["code"] == "validation_required"


async def test_odd_drafts_and_rules_never_fail_the_server(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    """What an editor sends mid-typing: half-made fields and rules. A verdict or a 4xx, never a 500."""
    drafts: list[object] = [
        "users",
        {"name": "x", "fields": [{"name": "rel", "type": "relation"}]},
        {"name": "x", "fields": [{"name": "rel", "type": "relation", "collectionId": "nope"}]},
        {"name": "x", "fields": [{"name": "", "type": "text"}]},
        {"name": "x", "fields": [{"name": "a", "type": "nosuchtype"}]},
        {"name": "x", "type": "view", "viewQuery": "select id from users"},
        {"id": "_pb_users_auth_", "fields": []},
    ]
    rules = ["@collection.nope.x = 1", "a.b.c.d.e = 1", "rel.nope = 1", "@request.body.x:each = 1", "id:nope = 1",
             "(", "'", "@", ":", "id = @nope", "id ?= @collection.users:u.email", "users_via_rel.id ?= 1", "a" * 5000]  # fmt: skip
    for draft in drafts:
        for rule in rules:
            r = await client.post(URL, json={"collection": draft, "rule": rule}, headers=su_headers)
            assert r.status_code in (204, 400), (draft, rule, r.status_code, r.text)
            if r.status_code == 400:
                assert r.json()["status"] == 400 and r.json()["message"]
