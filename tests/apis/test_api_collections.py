"""Collections API scenarios (superusers only) at the HTTP level."""

from __future__ import annotations

import httpx2

from tests.apis.helpers import POSTS, create_collection, create_user, error, login


async def test_requires_superuser(client: httpx2.AsyncClient) -> None:
    r = await client.get("/api/collections")
    assert r.status_code == 401 and r.json() == error(401, "The request requires valid record authorization token.")
    await create_user(client, "u@example.com")
    r = await client.get("/api/collections", headers=await login(client, "u@example.com"))
    assert r.status_code == 403


async def test_system_collections_and_listing(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await client.get("/api/collections", params={"perPage": 100}, headers=su_headers)
    assert r.status_code == 200
    by_name = {c["name"]: c for c in r.json()["items"]}
    assert {"_superusers", "users", "_mfas", "_otps", "_externalAuths", "_authOrigins"} <= set(by_name)
    assert by_name["_superusers"]["id"] == "pbc_3142635823" and by_name["users"]["id"] == "_pb_users_auth_"
    r = await client.get("/api/collections", params={"filter": "system = false", "sort": "-name"}, headers=su_headers)
    assert [c["name"] for c in r.json()["items"]] == ["users"]
    r = await client.get("/api/collections", params={"filter": "name ~ 'user'", "fields": "name"}, headers=su_headers)
    assert r.json()["items"] == [{"name": "_superusers"}, {"name": "users"}]


async def test_create_update_delete_collection(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    coll = await create_collection(client, su_headers, POSTS)
    assert coll["id"] == "pbc_1125843985"
    assert [f["name"] for f in coll["fields"]][:2] == ["id", "title"]
    r = await client.post("/api/collections", json=POSTS, headers=su_headers)
    assert r.status_code == 400 and r.json()["data"]["name"]["code"] == "validation_collection_name_exists"
    # rename a field and the collection; existing data is kept
    await client.post("/api/collections/posts/records", json={"title": "keep me"}, headers=su_headers)
    fields = coll["fields"]
    for f in fields:
        if f["name"] == "title":
            f["name"] = "headline"
    r = await client.patch("/api/collections/posts", json={"name": "articles", "fields": fields}, headers=su_headers)
    assert r.status_code == 200, r.text
    r = await client.get("/api/collections/articles/records", headers=su_headers)
    assert r.json()["items"][0]["headline"] == "keep me"
    r = await client.patch("/api/collections/articles", json={"listRule": "nosuchfield = 1"}, headers=su_headers)
    assert r.status_code == 400 and "listRule" in r.json()["data"]
    r = await client.delete("/api/collections/articles/truncate", headers=su_headers)
    assert r.status_code == 204
    assert (await client.get("/api/collections/articles/records", headers=su_headers)).json()["totalItems"] == 0
    r = await client.delete("/api/collections/articles", headers=su_headers)
    assert r.status_code == 204
    assert (await client.get("/api/collections/articles", headers=su_headers)).status_code == 404
    r = await client.delete("/api/collections/_superusers", headers=su_headers)
    assert r.status_code == 400


async def test_view_collection_and_scaffolds(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_user(client, "v@example.com", name="Vee")
    r = await client.post(
        "/api/collections",
        headers=su_headers,
        json={"name": "names", "type": "view", "listRule": "", "viewQuery": "SELECT id, name FROM users"},
    )
    assert r.status_code == 200, r.text
    r = await client.get("/api/collections/names/records")
    assert [i["name"] for i in r.json()["items"]] == ["Vee"]
    r = await client.post("/api/collections/names/records", json={"name": "x"}, headers=su_headers)
    assert r.status_code == 400 and r.json()["message"] == "Unsupported collection type."
    r = await client.get("/api/collections/meta/scaffolds", headers=su_headers)
    assert set(r.json()) == {"base", "auth", "view"}


async def test_import(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await client.put(
        "/api/collections/import",
        json={
            "collections": [
                {"name": "tags", "type": "base", "fields": [{"name": "label", "type": "text"}]},
            ]
        },
        headers=su_headers,
    )
    assert r.status_code == 204, r.text
    assert (await client.get("/api/collections/tags", headers=su_headers)).status_code == 200
    r = await client.put("/api/collections/import", json={"collections": "nope"}, headers=su_headers)
    assert r.status_code == 400
