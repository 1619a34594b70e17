"""The audit trail of superuser actions in `_logs`: who, what, when, from where, and never a value."""

from __future__ import annotations

from typing import Any

import httpx2

from satchel.core.app import App
from satchel.core.auth.superusers import find_superuser
from satchel.core.logs.model import WARN
from satchel.testing import SUPERUSER_EMAIL
from tests.apis.helpers import POSTS, create_collection, create_user, login

SECRET = "hunter2-s3cr3t-value"


async def _audits(client: httpx2.AsyncClient, su: dict[str, str], extra: str = "") -> list[dict[str, Any]]:
    query = "data.audit = true" + (f" && ({extra})" if extra else " && data.action.signIn != true")
    r = await client.get("/api/logs", params={"filter": query, "perPage": 500, "sort": "created"}, headers=su)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_superuser_writes_are_audited_with_who_what_where(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await app.settings.patch({"trustedProxy": {"headers": ["X-Real-IP"], "useLeftmostIP": False}})
    proxied = {**su_headers, "X-Real-IP": "203.0.113.7"}
    await create_collection(client, su_headers, POSTS)
    r = await client.post(
        "/api/collections/users/records",
        json={"email": "bob@example.com", "password": SECRET, "passwordConfirm": SECRET, "name": "Bob"},
        headers=proxied,
    )
    assert r.status_code == 200, r.text
    user_id = r.json()["id"]
    r = await client.patch(f"/api/collections/users/records/{user_id}", json={"name": "Robert"}, headers=proxied)
    assert r.status_code == 200
    r = await client.patch("/api/settings", json={"smtp": {"enabled": False, "password": SECRET}}, headers=proxied)
    assert r.status_code == 200, r.text
    r = await client.delete(f"/api/collections/users/records/{user_id}", headers=proxied)
    assert r.status_code == 204
    r = await client.delete("/api/collections/users/records/nosuchrecord12", headers=proxied)
    assert r.status_code == 404  # attempts are audited too

    entries = await _audits(client, su_headers, "data.actor.userIP = '203.0.113.7'")
    actions = [(e["data"]["action"]["method"], e["data"]["action"]["route"]) for e in entries]
    assert actions == [
        ("POST", "/api/collections/{collection}/records"),
        ("PATCH", "/api/collections/{collection}/records/{id}"),
        ("PATCH", "/api/settings"),
        ("DELETE", "/api/collections/{collection}/records/{id}"),
        ("DELETE", "/api/collections/{collection}/records/{id}"),
    ]
    create, update, settings, delete, missing = (e["data"] for e in entries)
    superuser = await find_superuser(app, SUPERUSER_EMAIL)
    assert superuser is not None
    for data in (create, update, settings, delete, missing):
        assert data["type"] == "audit"
        assert data["actor"]["collection"] == "_superusers"
        assert data["actor"]["email"] == SUPERUSER_EMAIL
        assert data["actor"]["id"] == superuser.id
        assert data["actor"]["remoteIP"]  # the socket peer, beside the proxied client address
        assert data["requestId"]
    assert create["action"]["collection"] == "users"
    assert create["action"]["fields"] == ["email", "name", "password", "passwordConfirm"]
    assert create["action"]["status"] == 200
    assert update["action"]["recordId"] == user_id and update["action"]["fields"] == ["name"]
    assert settings["action"]["fields"] == ["smtp"]
    assert delete["action"]["recordId"] == user_id and delete["action"]["fields"] == []
    assert missing["action"]["status"] == 404
    assert all(e["level"] == WARN and e["message"].startswith("Superuser action: ") for e in entries)
    everything = await client.get("/api/logs", params={"perPage": 500}, headers=su_headers)
    assert SECRET not in everything.text


async def test_reads_and_non_superusers_are_not_audited(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await client.get("/api/collections", headers=su_headers)
    await client.get("/api/settings", headers=su_headers)
    await create_user(client, "carol@example.com")  # a guest's signup
    carol = await login(client, "carol@example.com")
    await client.patch("/api/settings", json={"meta": {"appName": "x"}}, headers=carol)  # refused, not audited
    assert await _audits(client, su_headers) == []


async def test_audit_survives_min_level_but_not_disabled_retention(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await app.settings.patch({"logs": {"minLevel": 8}})  # only errors for ordinary entries
    r = await client.post("/api/collections", json={"name": "notes", "type": "base"}, headers=su_headers)
    assert r.status_code == 200
    [entry] = await _audits(client, su_headers)
    assert entry["data"]["action"]["route"] == "/api/collections"
    assert entry["data"]["action"]["fields"] == ["name", "type"]
    await app.settings.patch({"logs": {"minLevel": 0, "maxDays": 0}})
    await client.delete("/api/collections/notes", headers=su_headers)
    await app.settings.patch({"logs": {"maxDays": 7}})
    assert len(await _audits(client, su_headers)) == 1


async def test_batch_lists_its_sub_requests(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await app.settings.patch({"batch": {"enabled": True, "maxRequests": 5, "timeout": 3, "maxBodySize": 0}})
    await create_collection(client, su_headers, POSTS)
    r = await client.post(
        "/api/batch",
        json={
            "requests": [
                {
                    "method": "POST",
                    "url": "/api/collections/posts/records?token=x",
                    "body": {"title": "a", "secret": SECRET},
                },
                {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "b"}},
            ]
        },
        headers=su_headers,
    )
    assert r.status_code == 200, r.text
    [entry] = await _audits(client, su_headers, "data.action.route = '/api/batch'")
    assert entry["data"]["action"]["batch"] == [
        {"method": "POST", "url": "/api/collections/posts/records", "fields": ["secret", "title"]},
        {"method": "POST", "url": "/api/collections/posts/records", "fields": ["title"]},
    ]
    assert SECRET not in str(entry)


async def test_superuser_sign_ins_are_audited_without_the_password(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await app.settings.patch({"trustedProxy": {"headers": ["X-Real-IP"], "useLeftmostIP": False}})
    for collection in ("_superusers", app.collections.get("_superusers").id):  # type: ignore[union-attr]
        r = await client.post(
            f"/api/collections/{collection}/auth-with-password",
            json={"identity": SUPERUSER_EMAIL, "password": SECRET},
            headers={"X-Real-IP": "198.51.100.9"},
        )
        assert r.status_code == 400
    await create_user(client, "dora@example.com")
    await login(client, "dora@example.com")  # a user's sign-in: not a superuser's, not audited
    entries = await _audits(client, su_headers, "data.action.signIn = true && data.action.status = 400")
    assert len(entries) == 2
    for entry in entries:
        assert entry["message"].startswith("Superuser sign-in: POST /api/collections/")
        data = entry["data"]
        assert data["actor"]["email"] == SUPERUSER_EMAIL and data["actor"]["id"] == ""
        assert data["actor"]["userIP"] == "198.51.100.9"
        assert data["action"]["status"] == 400 and data["action"]["fields"] == ["identity", "password"]
    everything = await client.get("/api/logs", params={"perPage": 500}, headers=su_headers)
    assert SECRET not in everything.text
    # the sign-in of the `su_headers` fixture itself succeeded and was audited before all this
    r = await client.get(
        "/api/logs", params={"filter": "data.action.signIn = true && data.action.status = 200"}, headers=su_headers
    )
    assert r.json()["totalItems"] == 1
