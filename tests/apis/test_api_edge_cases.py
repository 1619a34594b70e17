"""Edge cases across the API: multipart, unique indexes, cascades, legacy hashes, CORS, body limits."""

from __future__ import annotations

import bcrypt
import httpx2

from satchel.core.app import App
from satchel.tools.sql import ir
from tests.apis.helpers import create_collection, create_user, error, login


async def test_multipart_with_json_payload_and_repeated_keys(client: httpx2.AsyncClient, su_headers: dict) -> None:
    await create_collection(client, su_headers, {"name": "notes", "createRule": "", "fields": [
        {"name": "title", "type": "text"}, {"name": "n", "type": "number"},
        {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3}]})
    r = await client.post("/api/collections/notes/records",
                          data={"title": "from form", "tags": ["a", "c"], "@jsonPayload": '{"n": 7}'})
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["n"], r.json()["tags"]) == ("from form", 7, ["a", "c"])
    r = await client.post("/api/collections/notes/records", data={"@jsonPayload": "{broken"})
    assert r.status_code == 400


async def test_unique_index_and_cascade_and_required_reference(client: httpx2.AsyncClient, su_headers: dict) -> None:
    await create_collection(client, su_headers, {
        "name": "teams", "fields": [{"name": "slug", "type": "text"}],
        "indexes": ["CREATE UNIQUE INDEX `idx_slug` ON `teams` (`slug`)"]})
    await create_collection(client, su_headers, {"name": "members", "fields": [
        {"name": "team", "type": "relation", "collectionId": "teams", "cascadeDelete": True},
        {"name": "owner", "type": "relation", "collectionId": "teams", "required": True}]})
    t1 = (await client.post("/api/collections/teams/records", json={"slug": "a"}, headers=su_headers)).json()
    t2 = (await client.post("/api/collections/teams/records", json={"slug": "b"}, headers=su_headers)).json()
    r = await client.post("/api/collections/teams/records", json={"slug": "a"}, headers=su_headers)
    assert r.status_code == 400 and r.json() == error(400, "Failed to create record.", {
        "slug": {"code": "validation_not_unique", "message": "Value must be unique."}})
    m = (await client.post("/api/collections/members/records", json={"team": t1["id"], "owner": t2["id"]},
                           headers=su_headers)).json()
    # t2 is a required reference of m: deleting it is refused and nothing changes
    r = await client.delete(f"/api/collections/teams/records/{t2['id']}", headers=su_headers)
    assert r.status_code == 400
    assert r.json()["message"].startswith("Failed to delete record. Make sure that the record is not part of a required")
    assert (await client.get(f"/api/collections/teams/records/{t2['id']}", headers=su_headers)).status_code == 200
    # t1 cascades to m
    assert (await client.delete(f"/api/collections/teams/records/{t1['id']}", headers=su_headers)).status_code == 204
    assert (await client.get(f"/api/collections/members/records/{m['id']}", headers=su_headers)).status_code == 404


async def test_legacy_bcrypt_hash_logs_in_and_is_upgraded(client: httpx2.AsyncClient, app: App) -> None:
    user = await create_user(client, "legacy@example.com")
    legacy = bcrypt.hashpw(b"old-pocketbase-pass", bcrypt.gensalt(rounds=4)).decode()
    async with app.db.transaction() as tx:
        await tx.execute(ir.Update("users", {"password": ir.Param(legacy)}, ir.eq(ir.col("id"), ir.Param(user["id"]))))
    await login(client, "legacy@example.com", "old-pocketbase-pass")
    row = await app.db.executor().fetch_one(
        ir.Select((ir.col("password"),), ir.Table("users"), where=ir.eq(ir.col("id"), ir.Param(user["id"]))))
    assert row is not None and row["password"].startswith("$argon2id$")
    await login(client, "legacy@example.com", "old-pocketbase-pass")


async def test_cors_preflight_and_unknown_routes(client: httpx2.AsyncClient) -> None:
    r = await client.options("/api/health", headers={"Origin": "http://x.test", "Access-Control-Request-Method": "POST",
                                                     "Access-Control-Request-Headers": "authorization,x-y"})
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-allow-methods"] == "GET,HEAD,PUT,PATCH,POST,DELETE"
    assert r.headers["access-control-allow-headers"] == "authorization,x-y"
    assert r.headers.get_list("vary") == ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"]
    r = await client.options("/api/anything")  # PocketBase answers every OPTIONS, with or without an Origin
    assert r.status_code == 204 and "access-control-allow-origin" not in r.headers and r.headers["vary"] == "Origin"
    r = await client.get("/api/health", headers={"Origin": "http://x.test"})
    assert r.headers["access-control-allow-origin"] == "*" and r.headers["vary"] == "Origin"
    r = await client.get("/api/health")
    assert "access-control-allow-origin" not in r.headers and r.headers["vary"] == "Origin"
    r = await client.get("/api/nope")
    assert r.status_code == 404 and r.json()["status"] == 404


async def test_body_limit(app: App, su_headers: dict) -> None:
    from satchel.testing import client_for

    json_type = {"content-type": "application/json"}

    def body(size: int) -> bytes:
        return b"{" + b" " * (size - 2) + b"}"

    app.config.max_body_size = 1000
    async with client_for(app) as c:
        r = await c.post("/api/collections/users/auth-with-password", content=body(2000), headers=json_type)
        assert r.status_code == 413 and r.json()["status"] == 413
        # record writes get room for what the collection's fields may carry (PocketBase's dynamic limit):
        # here 1000 + 2 files x 3000 bytes
        fields = [{"name": "docs", "type": "file", "maxSelect": 2, "maxSize": 3000}]
        r = await c.post("/api/collections", json={"name": "papers", "type": "base", "createRule": "",
                                                   "updateRule": "", "fields": fields}, headers=su_headers)
        assert r.status_code == 200, r.text
        r = await c.post("/api/collections/papers/records", content=body(7000), headers=json_type)
        assert r.status_code == 200, r.text
        r = await c.patch(f"/api/collections/papers/records/{r.json()['id']}", content=body(7000), headers=json_type)
        assert r.status_code == 200, r.text
        r = await c.post("/api/collections/papers/records", content=body(7001), headers=json_type)
        assert r.status_code == 413
        # the batch route has its own limit (settings.batch.maxBodySize; 0 means PocketBase's 128 MB)
        await app.settings.patch({"batch": {"enabled": True, "maxRequests": 5, "timeout": 3, "maxBodySize": 0}})
        r = await c.post("/api/batch", content=b'{"requests": []' + b" " * 2000 + b"}", headers=json_type)
        assert r.status_code == 400 and r.json()["status"] == 400
        await app.settings.patch({"batch": {"enabled": True, "maxRequests": 5, "timeout": 3, "maxBodySize": 100}})
        r = await c.post("/api/batch", content=b'{"requests": []' + b" " * 200 + b"}", headers=json_type)
        assert r.status_code == 413


async def test_hostile_json_nesting_is_a_400(client: httpx2.AsyncClient) -> None:
    deep = "[" * 5000 + "]" * 5000
    r = await client.post("/api/collections/users/records", content=('{"name": ' + deep + "}").encode(),
                          headers={"content-type": "application/json"})
    assert r.status_code == 400


async def test_email_visibility_rules(client: httpx2.AsyncClient, su_headers: dict) -> None:
    await client.patch("/api/collections/users", json={"listRule": "", "viewRule": ""}, headers=su_headers)
    hidden = await create_user(client, "hidden@example.com")
    shown = await create_user(client, "shown@example.com", emailVisibility=True)
    r = await client.get("/api/collections/users/records", params={"sort": "created"})
    emails = {i["id"]: i.get("email") for i in r.json()["items"]}
    assert emails == {hidden["id"]: None, shown["id"]: "shown@example.com"}
    r = await client.get(f"/api/collections/users/records/{hidden['id']}", headers=await login(client, "hidden@example.com"))
    assert r.json()["email"] == "hidden@example.com"
    r = await client.get(f"/api/collections/users/records/{hidden['id']}", headers=su_headers)
    assert r.json()["email"] == "hidden@example.com" and "password" not in r.json() and "tokenKey" not in r.json()


async def test_workers_see_each_others_schema_changes(tmp_path: object) -> None:
    """Two apps on one database file (as two worker processes): a collection made through one is usable through
    the other on its very next request."""
    from pathlib import Path

    from satchel.testing import client_for, superuser_token
    from satchel.wiring import build_app

    data = Path(str(tmp_path)) / "shared"
    a, b = build_app(data, workers=2), build_app(data, workers=2)
    await a.bootstrap()
    await b.bootstrap()
    try:
        async with client_for(a) as ca, client_for(b) as cb:
            su = {"Authorization": await superuser_token(a, ca)}
            r = await ca.post("/api/collections", json={"name": "notes", "createRule": "", "listRule": "",
                                                         "fields": [{"name": "t", "type": "text"}]}, headers=su)
            assert r.status_code == 200
            r = await cb.post("/api/collections/notes/records", json={"t": "via b"})
            assert r.status_code == 200, r.text
            r = await ca.patch("/api/settings", json={"meta": {"appName": "Shared"}}, headers=su)
            assert r.status_code == 200
            assert (await cb.get("/api/settings", headers=su)).json()["meta"]["appName"] == "Shared"
    finally:
        await a.close()
        await b.close()
