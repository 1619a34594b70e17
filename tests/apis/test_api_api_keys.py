"""API keys: managing them over `/api/keys`, authenticating with them, and their scopes."""

from __future__ import annotations

from typing import Any

import httpx2

from satchel.core.app import App
from satchel.core.auth.api_keys import hash_key
from satchel.tools.sql import ir
from tests.apis.helpers import POSTS, create_collection, create_user, error, login

ALL = [{"collection": "*", "actions": ["*"]}]
INVALID = "An error occurred while validating the submitted data."


async def new_key(
    client: httpx2.AsyncClient, headers: dict[str, str], scopes: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    r = await client.post("/api/keys", json={"name": "ci", "scopes": scopes or ALL, **extra}, headers=headers)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def bearer(key: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": "Bearer " + key["key"]}


async def whoami(client: httpx2.AsyncClient, headers: dict[str, str]) -> list[str]:
    """Ids of the users visible to the caller: the users listRule is `id = @request.auth.id`."""
    r = await client.get("/api/collections/users/records", headers=headers)
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


async def stored_rows(app: App) -> list[dict[str, Any]]:
    return await app.db.executor().fetch_all(ir.Select((ir.Star("_apiKeys"),), ir.Table("_apiKeys")))


async def set_column(app: App, key_id: str, column: str, value: str) -> None:
    async with app.db.transaction() as tx:
        await tx.execute(ir.Update("_apiKeys", {column: ir.Param(value)}, ir.eq(ir.col("id"), ir.Param(key_id))))


async def test_owner_creates_lists_views_and_revokes(client: httpx2.AsyncClient) -> None:
    user = await create_user(client, "alice@example.com")
    h = await login(client, "alice@example.com")
    r = await client.post(
        "/api/keys",
        json={"name": " deploy bot ", "scopes": [{"collection": "users", "actions": ["view", "list", "view"]}]},
        headers=h,
    )
    assert r.status_code == 200, r.text
    created = r.json()
    assert created["key"].startswith(created["prefix"] + "_") and created["prefix"].startswith("sk_")
    assert len(created["key"]) == 59 and created["key"][16:].isalnum()
    users_id = created["scopes"][0]["collection"]
    assert created["scopes"] == [{"collection": users_id, "actions": ["list", "view"]}] and users_id != "users"
    shown = {k: v for k, v in created.items() if k != "key"}
    assert shown["name"] == "deploy bot" and shown["recordRef"] == user["id"] and shown["collectionRef"] == users_id
    assert shown["expires"] == "" and shown["lastUsed"] == ""

    # shown once: later reads have everything but the key
    r = await client.get(f"/api/keys/{created['id']}", headers=h)
    assert r.status_code == 200 and r.json() == shown
    r = await client.get("/api/keys", headers=h)
    assert r.status_code == 200
    assert r.json() == {"items": [shown], "page": 1, "perPage": 30, "totalItems": 1, "totalPages": 1}

    assert await whoami(client, bearer(created)) == [user["id"]]
    assert await whoami(client, {"Authorization": created["key"]}) == [user["id"]]  # `Bearer ` is optional

    r = await client.delete(f"/api/keys/{created['id']}", headers=h)
    assert r.status_code == 204
    assert await whoami(client, bearer(created)) == []  # revoked: a guest
    assert (await client.get(f"/api/keys/{created['id']}", headers=h)).status_code == 404
    assert (await client.get("/api/keys")).status_code == 401


async def test_superuser_manages_every_key_others_only_their_own(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    alice = await create_user(client, "alice@example.com")
    bob = await create_user(client, "bob@example.com")
    ha = await login(client, "alice@example.com")
    own = await new_key(client, ha)
    for_bob = await new_key(client, su_headers, collectionRef="users", recordRef=bob["id"])
    assert for_bob["recordRef"] == bob["id"]
    assert await whoami(client, bearer(for_bob)) == [bob["id"]]

    # alice neither sees nor touches bob's key, and cannot create one for him
    r = await client.get("/api/keys", headers=ha)
    assert [k["id"] for k in r.json()["items"]] == [own["id"]]
    for method in ("GET", "PATCH", "DELETE"):
        r = await client.request(method, f"/api/keys/{for_bob['id']}", json={"name": "x"}, headers=ha)
        assert r.status_code == 404 and r.json() == error(404, "The requested resource wasn't found.")
    body = {"name": "x", "scopes": ALL, "collectionRef": "users", "recordRef": bob["id"]}
    r = await client.post("/api/keys", json=body, headers=ha)
    assert r.status_code == 403 and r.json() == error(403, "Only superusers can manage API keys of other records.")
    # naming herself is fine
    r = await client.post("/api/keys", json={**body, "recordRef": alice["id"]}, headers=ha)
    assert r.status_code == 200 and r.json()["recordRef"] == alice["id"]

    r = await client.get("/api/keys", headers=su_headers)
    assert r.json()["totalItems"] == 3
    r = await client.get("/api/keys", params={"filter": f"recordRef = '{bob['id']}'"}, headers=su_headers)
    assert [k["id"] for k in r.json()["items"]] == [for_bob["id"]]
    r = await client.get("/api/keys", params={"filter": "nope = 1"}, headers=su_headers)
    assert r.status_code == 400
    r = await client.delete(f"/api/keys/{own['id']}", headers=su_headers)
    assert r.status_code == 204
    assert await whoami(client, bearer(own)) == []


async def test_key_is_stored_hashed(client: httpx2.AsyncClient, app: App) -> None:
    await create_user(client, "alice@example.com")
    key = await new_key(client, await login(client, "alice@example.com"))
    rows = await stored_rows(app)
    assert len(rows) == 1
    row = rows[0]
    assert row["prefix"] == key["prefix"] and row["hash"] == hash_key(app.secret, key["key"])
    secret = key["key"].rsplit("_", 1)[1]
    assert not any(secret in str(value) for value in row.values())


async def test_superuser_key_for_itself(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    key = await new_key(client, su_headers)
    superusers = (await client.get("/api/collections/_superusers", headers=su_headers)).json()
    assert key["collectionRef"] == superusers["id"]
    r = await client.get("/api/collections/_superusers/records", headers=bearer(key))
    assert r.status_code == 200 and r.json()["totalItems"] == 1
    # only record endpoints accept keys: everywhere else the request is a guest
    assert (await client.get("/api/collections", headers=bearer(key))).status_code == 401
    assert (await client.get("/api/settings", headers=bearer(key))).status_code == 401


async def test_validation(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_collection(client, su_headers, POSTS)
    h = su_headers
    r = await client.post("/api/keys", json={}, headers=h)
    assert r.status_code == 400
    assert r.json() == error(
        400,
        INVALID,
        {
            "name": {"code": "validation_required", "message": "Cannot be blank."},
            "scopes": {"code": "validation_required", "message": "Cannot be blank."},
        },
    )
    body = {
        "name": "x" * 101,
        "scopes": [
            {"collection": "nope", "actions": ["list"]},
            {"collection": "posts", "actions": ["list", "explode"]},
            {"collection": "posts", "actions": []},
            "posts",
            {"collection": "*", "actions": ["*"]},
        ],
        "expires": "2001-01-01 00:00:00.000Z",
    }
    r = await client.post("/api/keys", json=body, headers=h)
    assert r.status_code == 400
    data = r.json()["data"]
    assert data["name"]["code"] == "validation_max_text_constraint"
    assert data["expires"]["code"] == "validation_date_in_past"
    scopes = data["scopes"]
    assert set(scopes) == {"0", "1", "2", "3"}
    assert scopes["0"] == {
        "collection": {"code": "validation_unknown_collection", "message": "Missing or invalid collection."}
    }
    assert scopes["1"]["actions"]["code"] == "validation_in_invalid"
    assert scopes["2"]["actions"]["code"] == "validation_required"
    assert scopes["3"]["code"] == "validation_invalid_value"
    r = await client.post("/api/keys", json={"name": "x", "scopes": ALL, "expires": "soon"}, headers=h)
    assert r.status_code == 400 and r.json()["data"]["expires"]["code"] == "validation_invalid_date"
    r = await client.post("/api/keys", json={"name": "x", "scopes": "posts"}, headers=h)
    assert r.status_code == 400 and r.json()["data"]["scopes"]["code"] == "validation_invalid_value"
    r = await client.post("/api/keys", content=b"[1, 2", headers=h)
    assert r.status_code == 400 and r.json() == error(400, "An error occurred while loading the submitted data.")

    # owners named by a superuser must be auth records
    base = {"name": "x", "scopes": ALL}
    r = await client.post("/api/keys", json={**base, "collectionRef": "posts", "recordRef": "abc"}, headers=h)
    assert r.status_code == 400 and r.json()["data"]["collectionRef"]["code"] == "validation_unknown_collection"
    r = await client.post("/api/keys", json={**base, "collectionRef": "users", "recordRef": "missing"}, headers=h)
    assert r.status_code == 400 and r.json()["data"]["recordRef"]["code"] == "validation_missing_record"
    assert (await client.get("/api/keys", headers=h)).json()["totalItems"] == 0  # nothing was stored

    # PATCH: only what is sent is checked and changed; the owner never changes
    key = await new_key(client, h, [{"collection": "posts", "actions": ["list"]}])
    r = await client.patch(f"/api/keys/{key['id']}", json={"scopes": [], "expires": 5}, headers=h)
    assert r.status_code == 400 and set(r.json()["data"]) == {"scopes", "expires"}
    r = await client.patch(
        f"/api/keys/{key['id']}",
        json={"name": "renamed", "expires": "2999-01-02T03:04:05Z", "recordRef": "other"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["name"] == "renamed" and out["expires"] == "2999-01-02 03:04:05.000Z"
    assert out["scopes"] == key["scopes"] and out["recordRef"] == key["recordRef"] and "key" not in out
    r = await client.patch(f"/api/keys/{key['id']}", json={"expires": ""}, headers=h)
    assert r.status_code == 200 and r.json()["expires"] == ""


async def test_expired_revoked_tampered_and_unknown_keys_are_guests(client: httpx2.AsyncClient, app: App) -> None:
    user = await create_user(client, "alice@example.com")
    h = await login(client, "alice@example.com")
    key = await new_key(client, h, expires="2999-01-01 00:00:00.000Z")
    assert await whoami(client, bearer(key)) == [user["id"]]
    secret = key["key"]
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for bad in (tampered, secret + "x", secret[:-1], "sk_", "sk_" + "a" * 56, key["prefix"] + "_" + "a" * 43):
        assert await whoami(client, {"Authorization": bad}) == [], bad
    await set_column(app, key["id"], "expires", "2001-01-01 00:00:00.000Z")
    assert await whoami(client, bearer(key)) == []


async def test_scopes_are_enforced_on_every_action(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_collection(client, su_headers, POSTS)
    user = await create_user(client, "alice@example.com")
    h = await login(client, "alice@example.com")
    r = await client.post("/api/collections/posts/records", json={"title": "mine", "author": user["id"]}, headers=h)
    post = r.json()
    read_only = bearer(await new_key(client, h, [{"collection": "posts", "actions": ["list", "view"]}]))
    writer = bearer(await new_key(client, h, [{"collection": "posts", "actions": ["create", "update", "delete"]}]))
    url = "/api/collections/posts/records"
    denied = error(403, "The API key is not allowed to perform this action.")

    assert (await client.get(url, headers=read_only)).json()["totalItems"] == 1
    assert (await client.get(f"{url}/{post['id']}", headers=read_only)).status_code == 200
    for r in (
        await client.post(url, json={"title": "x", "author": user["id"]}, headers=read_only),
        await client.patch(f"{url}/{post['id']}", json={"title": "x"}, headers=read_only),
        await client.delete(f"{url}/{post['id']}", headers=read_only),
        await client.get("/api/collections/users/records", headers=read_only),
        await client.get(url, headers=writer),
        await client.get(f"{url}/{post['id']}", headers=writer),
        # out of scope is refused before the record is looked up: no existence oracle
        await client.get(f"{url}/missing", headers=writer),
    ):
        assert r.status_code == 403 and r.json() == denied

    r = await client.post(url, json={"title": "by key", "author": user["id"]}, headers=writer)
    assert r.status_code == 200, r.text
    created = r.json()
    r = await client.patch(f"{url}/{created['id']}", json={"title": "edited"}, headers=writer)
    assert r.status_code == 200 and r.json()["title"] == "edited"
    assert (await client.delete(f"{url}/{created['id']}", headers=writer)).status_code == 204


async def test_scopes_bind_batch_sub_requests(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_collection(client, su_headers, POSTS)
    await client.patch("/api/settings", json={"batch": {"enabled": True}}, headers=su_headers)
    user = await create_user(client, "alice@example.com")
    h = await login(client, "alice@example.com")
    key = bearer(await new_key(client, h, [{"collection": "posts", "actions": ["create"]}]))
    url = "/api/collections/posts/records"
    create = {"method": "POST", "url": url, "body": {"id": "abcdefghijklmno", "title": "A", "author": user["id"]}}
    r = await client.post("/api/batch", json={"requests": [create]}, headers=key)
    assert r.status_code == 200 and r.json()[0]["status"] == 200
    for sub in (
        {"method": "PATCH", "url": f"{url}/abcdefghijklmno", "body": {"title": "B"}},
        {"method": "PUT", "url": url, "body": {"id": "abcdefghijklmno", "title": "B"}},  # upsert = update here
        {"method": "DELETE", "url": f"{url}/abcdefghijklmno"},
        {"method": "POST", "url": "/api/collections/users/records", "body": {}},
    ):
        r = await client.post("/api/batch", json={"requests": [create | {"body": {"title": "C"}}, sub]}, headers=key)
        assert r.status_code == 400, sub
        inner = r.json()["data"]["requests"]["1"]["response"]
        assert inner == error(403, "The API key is not allowed to perform this action."), sub
    # all or nothing: the refused batches left no "C" post behind
    r = await client.get(url, headers=h)
    assert [p["title"] for p in r.json()["items"]] == ["A"]


async def test_expand_stays_in_scope(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_collection(client, su_headers, POSTS)
    user = await create_user(client, "alice@example.com")
    h = await login(client, "alice@example.com")
    await client.post("/api/collections/posts/records", json={"title": "t", "author": user["id"]}, headers=h)
    posts_only = bearer(await new_key(client, h, [{"collection": "posts", "actions": ["list"]}]))
    both = bearer(
        await new_key(
            client, h, [{"collection": "posts", "actions": ["list"]}, {"collection": "users", "actions": ["view"]}]
        )
    )
    url = "/api/collections/posts/records?expand=author"
    item = (await client.get(url, headers=posts_only)).json()["items"][0]
    assert item.get("expand", {}) == {}
    item = (await client.get(url, headers=both)).json()["items"][0]
    assert item["expand"]["author"]["id"] == user["id"]


async def test_rules_see_the_owning_record(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_collection(client, su_headers, POSTS)
    await create_collection(
        client,
        su_headers,
        {
            "name": "notes",
            "type": "base",
            "listRule": "@request.auth.collectionName = 'users' && @request.auth.email ~ 'example.com'",
            "fields": [{"name": "text", "type": "text"}],
        },
    )
    await client.post("/api/collections/notes/records", json={"text": "n"}, headers=su_headers)
    alice = await create_user(client, "alice@example.com")
    await create_user(client, "bob@example.com")
    ha, hb = await login(client, "alice@example.com"), await login(client, "bob@example.com")
    bob = (await client.get("/api/collections/users/records", headers=hb)).json()["items"][0]
    r = await client.post("/api/collections/posts/records", json={"title": "b", "author": bob["id"]}, headers=hb)
    assert r.status_code == 200
    bobs_post = r.json()
    key = bearer(await new_key(client, ha))
    assert (await client.get("/api/collections/notes/records", headers=key)).json()["totalItems"] == 1
    assert (await client.get("/api/collections/notes/records")).json()["totalItems"] == 0
    su_key = bearer(await new_key(client, su_headers))  # a superuser key is a superuser for rules too
    assert (await client.get("/api/collections/notes/records", headers=su_key)).json()["totalItems"] == 1
    # `author = @request.auth.id`: alice's key updates her own posts only
    r = await client.post("/api/collections/posts/records", json={"title": "a", "author": alice["id"]}, headers=key)
    assert r.status_code == 200
    own = r.json()
    assert own["author"] == alice["id"]
    assert (await client.patch(f"/api/collections/posts/records/{own['id']}", json={}, headers=key)).status_code == 200
    r = await client.patch(f"/api/collections/posts/records/{bobs_post['id']}", json={}, headers=key)
    assert r.status_code == 404


async def test_owner_deleted_takes_its_keys(client: httpx2.AsyncClient, su_headers: dict[str, str], app: App) -> None:
    alice = await create_user(client, "alice@example.com")
    await create_user(client, "bob@example.com")
    ha = await login(client, "alice@example.com")
    gone = await new_key(client, ha)
    kept = await new_key(client, await login(client, "bob@example.com"))
    r = await client.delete(f"/api/collections/users/records/{alice['id']}", headers=ha)
    assert r.status_code == 204
    assert [row["id"] for row in await stored_rows(app)] == [kept["id"]]
    assert await whoami(client, bearer(gone)) == []

    # and with a whole auth collection
    await create_collection(
        client, su_headers, {"name": "bots", "type": "auth", "fields": [], "passwordAuth": {"enabled": True}}
    )
    r = await client.post(
        "/api/collections/bots/records",
        json={"email": "bot@example.com", "password": "password-123", "passwordConfirm": "password-123"},
        headers=su_headers,
    )
    bot = r.json()
    await new_key(client, su_headers, collectionRef="bots", recordRef=bot["id"])
    assert len(await stored_rows(app)) == 2
    assert (await client.delete("/api/collections/bots", headers=su_headers)).status_code == 204
    assert [row["id"] for row in await stored_rows(app)] == [kept["id"]]


async def test_password_change_keeps_keys(client: httpx2.AsyncClient) -> None:
    user = await create_user(client, "alice@example.com")
    h = await login(client, "alice@example.com")
    key = await new_key(client, h)
    r = await client.patch(
        f"/api/collections/users/records/{user['id']}",
        json={"password": "new-password-1", "passwordConfirm": "new-password-1", "oldPassword": "password-123"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert await whoami(client, bearer(key)) == [user["id"]]


async def test_last_used_is_recorded_and_throttled(client: httpx2.AsyncClient, app: App) -> None:
    user = await create_user(client, "alice@example.com")
    h = await login(client, "alice@example.com")
    key = await new_key(client, h)
    assert await whoami(client, bearer(key)) == [user["id"]]
    first = (await client.get(f"/api/keys/{key['id']}", headers=h)).json()["lastUsed"]
    assert first >= key["created"]
    await set_column(app, key["id"], "lastUsed", "")
    assert await whoami(client, bearer(key)) == [user["id"]]
    assert (await client.get(f"/api/keys/{key['id']}", headers=h)).json()["lastUsed"] == ""  # throttled
    clock = app.api_keys.clock
    app.api_keys.clock = lambda: clock() + 61
    assert await whoami(client, bearer(key)) == [user["id"]]
    assert (await client.get(f"/api/keys/{key['id']}", headers=h)).json()["lastUsed"] >= first


async def test_a_key_cannot_manage_keys_or_mint_tokens(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    user = await create_user(client, "alice@example.com")
    key = await new_key(client, await login(client, "alice@example.com"))
    su_key = await new_key(client, su_headers)
    refused = error(403, "API keys cannot be used to manage API keys.")
    for k in (key, su_key):
        for method, path in (
            ("GET", "/api/keys"),
            ("POST", "/api/keys"),
            ("GET", f"/api/keys/{key['id']}"),
            ("PATCH", f"/api/keys/{key['id']}"),
            ("DELETE", f"/api/keys/{key['id']}"),
        ):
            r = await client.request(method, path, json={"name": "x", "scopes": ALL}, headers=bearer(k))
            assert r.status_code == 403 and r.json() == refused, (method, path)
    # no token comes out of a key: refresh and impersonation see a guest
    assert (await client.post("/api/collections/users/auth-refresh", headers=bearer(key))).status_code == 401
    r = await client.post(f"/api/collections/users/impersonate/{user['id']}", json={}, headers=bearer(su_key))
    assert r.status_code == 401
    assert (await client.get("/api/keys", headers=su_headers)).json()["totalItems"] == 2


async def test_keys_are_not_a_collection(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await new_key(client, su_headers)
    r = await client.get("/api/collections", params={"perPage": 500}, headers=su_headers)
    assert "_apiKeys" not in [c["name"] for c in r.json()["items"]]
    r = await client.get("/api/collections/_apiKeys/records", headers=su_headers)
    assert r.status_code == 404
