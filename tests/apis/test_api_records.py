"""Records API scenarios: status, parsed JSON and which hooks fired."""

from __future__ import annotations

import httpx2
import pytest

from satchel.core.app import App
from satchel.testing import HookRecorder
from tests.apis.helpers import POSTS, create_collection, create_user, error, login

NOT_FOUND = error(404, "The requested resource wasn't found.")


@pytest.fixture
async def world(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> dict[str, object]:
    await create_collection(client, su_headers, POSTS)
    alice = await create_user(client, "alice@example.com")
    bob = await create_user(client, "bob@example.com", emailVisibility=True)
    return {
        "alice": alice,
        "bob": bob,
        "alice_h": await login(client, "alice@example.com"),
        "bob_h": await login(client, "bob@example.com"),
    }


async def _post(client: httpx2.AsyncClient, headers: dict[str, str], **data: object) -> httpx2.Response:
    return await client.post("/api/collections/posts/records", json=data, headers=headers)


async def test_create_view_update_delete_roundtrip(
    client: httpx2.AsyncClient, world: dict, hooks: HookRecorder
) -> None:
    alice_id = world["alice"]["id"]
    r = await _post(
        client,
        world["alice_h"],
        title="Hello",
        views=3,
        published=True,
        tags=["b", "a", "b"],
        meta={"k": [1, 2]},
        author=alice_id,
        secret="s3",
    )
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["title"] == "Hello" and rec["views"] == 3 and rec["tags"] == ["b", "a"]
    assert rec["meta"] == {"k": [1, 2]} and rec["author"] == alice_id
    assert "secret" not in rec  # hidden field: not visible to a non-superuser
    assert rec["collectionName"] == "posts" and len(rec["id"]) == 15
    assert rec["created"].endswith("Z") and rec["created"] == rec["updated"]
    assert hooks.fired == [
        "on_record_create_request",
        "on_record_create",
        "on_record_after_create_success",
    ]
    hooks.clear()

    r = await client.patch(
        f"/api/collections/posts/records/{rec['id']}",
        json={"views+": 5, "tags-": "b", "+tags": "c"},
        headers=world["alice_h"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["views"] == 8 and r.json()["tags"] == ["c", "a"]
    assert hooks.fired == ["on_record_update_request", "on_record_update", "on_record_after_update_success"]

    r = await client.get(f"/api/collections/posts/records/{rec['id']}")
    assert r.status_code == 200 and r.json()["views"] == 8

    r = await client.delete(f"/api/collections/posts/records/{rec['id']}", headers=world["bob_h"])
    assert r.status_code == 404 and r.json() == NOT_FOUND
    r = await client.delete(f"/api/collections/posts/records/{rec['id']}", headers=world["alice_h"])
    assert r.status_code == 204 and r.content == b""
    r = await client.get(f"/api/collections/posts/records/{rec['id']}", headers=world["alice_h"])
    assert r.status_code == 404


async def test_rules(client: httpx2.AsyncClient, world: dict, su_headers: dict[str, str]) -> None:
    alice_id = world["alice"]["id"]
    # createRule requires auth: a guest gets 400 with no field details
    r = await _post(client, {}, title="x", author=alice_id)
    assert r.status_code == 400 and r.json() == error(400, "Failed to create record.")
    hidden = (await _post(client, world["alice_h"], title="draft", author=alice_id)).json()
    public = (await _post(client, world["alice_h"], title="pub", author=alice_id, published=True)).json()
    # list is filtered by the rule, view of a hidden record is 404
    r = await client.get("/api/collections/posts/records")
    assert [i["id"] for i in r.json()["items"]] == [public["id"]]
    assert (await client.get(f"/api/collections/posts/records/{hidden['id']}")).status_code == 404
    r = await client.get("/api/collections/posts/records", headers=world["alice_h"])
    assert r.json()["totalItems"] == 2
    # update by a non-owner is 404, by a superuser always allowed, and superusers see hidden fields
    r = await client.patch(
        f"/api/collections/posts/records/{public['id']}", json={"title": "x"}, headers=world["bob_h"]
    )
    assert r.status_code == 404
    r = await client.patch(f"/api/collections/posts/records/{public['id']}", json={"secret": "k"}, headers=su_headers)
    assert r.status_code == 200 and r.json()["secret"] == "k"
    # null rules: superusers only (403 for everyone else)
    r = await client.patch("/api/collections/posts", json={"listRule": None, "viewRule": None}, headers=su_headers)
    assert r.status_code == 200, r.text
    r = await client.get("/api/collections/posts/records", headers=world["alice_h"])
    assert r.status_code == 403 and r.json() == error(403, "Only superusers can perform this action.")
    r = await client.get(f"/api/collections/posts/records/{public['id']}", headers=world["alice_h"])
    assert r.status_code == 403
    assert (await client.get("/api/collections/posts/records", headers=su_headers)).json()["totalItems"] == 2


async def test_validation_errors_keep_database_unchanged(client: httpx2.AsyncClient, world: dict, app: App) -> None:
    alice_id = world["alice"]["id"]
    r = await _post(client, world["alice_h"], body="no title", views=-1, tags=["zzz"], author="nope12345678901")
    assert r.status_code == 400
    data = r.json()["data"]
    assert r.json()["message"] == "Failed to create record."
    assert data["title"]["code"] == "validation_required"
    assert set(data) == {"title", "views", "tags", "author"}
    r = await client.get("/api/collections/posts/records", headers=world["alice_h"])
    assert r.json()["totalItems"] == 0
    ok = (await _post(client, world["alice_h"], title="ok", author=alice_id)).json()
    r = await client.patch(
        f"/api/collections/posts/records/{ok['id']}", json={"title": "x" * 101}, headers=world["alice_h"]
    )
    assert r.status_code == 400 and r.json()["message"] == "Failed to update record."
    r = await client.get(f"/api/collections/posts/records/{ok['id']}", headers=world["alice_h"])
    assert r.json()["title"] == "ok"


async def test_list_params(client: httpx2.AsyncClient, world: dict) -> None:
    alice_id = world["alice"]["id"]
    for i in range(7):
        await _post(
            client,
            world["alice_h"],
            title=f"t{i}",
            views=i * 10,
            author=alice_id,
            published=i % 2 == 0,
            body=f"<p>Body <b>{i}</b> of a long text</p>",
        )
    h = world["alice_h"]
    r = await client.get(
        "/api/collections/posts/records", params={"perPage": 3, "page": 2, "sort": "-views"}, headers=h
    )
    body = r.json()
    assert [i["title"] for i in body["items"]] == ["t3", "t2", "t1"]
    assert (body["page"], body["perPage"], body["totalItems"], body["totalPages"]) == (2, 3, 7, 3)
    r = await client.get(
        "/api/collections/posts/records",
        params={"filter": "views >= 30 && published = true", "skipTotal": "1"},
        headers=h,
    )
    assert sorted(i["title"] for i in r.json()["items"]) == ["t4", "t6"] and r.json()["totalItems"] == -1
    r = await client.get(
        "/api/collections/posts/records",
        params={"fields": "id,title,body:excerpt(9,true)", "perPage": 1, "sort": "title"},
        headers=h,
    )
    item = r.json()["items"][0]
    assert set(item) == {"id", "title", "body"} and item["body"] == "Body 0 of..."
    r = await client.get("/api/collections/posts/records", params={"expand": "author", "perPage": 1}, headers=h)
    assert r.json()["items"][0]["expand"]["author"]["id"] == alice_id
    # bad input: 400, never 500
    for params in (
        {"filter": "title ~~ 1"},
        {"filter": "nosuch = 1"},
        {"sort": "nosuch"},
        {"perPage": "x"},
        {"filter": "secret = 'a'"},
        {"fields": "id,body:excerpt(0)"},  # modifiers PocketBase refuses with a 400
        {"fields": "id,body:nosuch(5)"},
    ):
        r = await client.get("/api/collections/posts/records", params=params, headers=h)
        assert r.status_code == 400, (params, r.text)
    r = await client.get("/api/collections/posts/records", params={"filter": "@request.auth.id != ''"}, headers=h)
    assert r.status_code == 403 and r.json()["message"] == "Only superusers can filter by @request."


async def test_back_relation_expand_and_cascade(client: httpx2.AsyncClient, world: dict, su_headers: dict) -> None:
    alice_id = world["alice"]["id"]
    p = (await _post(client, world["alice_h"], title="p", author=alice_id, published=True)).json()
    r = await client.get(
        f"/api/collections/users/records/{alice_id}", params={"expand": "posts_via_author"}, headers=world["alice_h"]
    )
    assert [x["id"] for x in r.json()["expand"]["posts_via_author"]] == [p["id"]]
    # deleting the user clears the (optional, non-cascading) reference
    r = await client.delete(f"/api/collections/users/records/{alice_id}", headers=su_headers)
    assert r.status_code == 204, r.text
    r = await client.get(f"/api/collections/posts/records/{p['id']}", headers=su_headers)
    assert r.json()["author"] == ""


async def test_unknown_collection_and_bad_json(client: httpx2.AsyncClient) -> None:
    r = await client.get("/api/collections/nope/records")
    assert r.status_code == 404 and r.json() == error(404, "Missing collection context.")
    r = await client.post("/api/collections/nope/records", json={})
    assert r.status_code == 404 and r.json() == error(404, "Missing or invalid collection context.")
    r = await client.post(
        "/api/collections/users/records", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json() == error(400, "An error occurred while loading the submitted data.")
