"""Batch (one transaction, PocketBase's result and error shapes) and the settings API."""

from __future__ import annotations

import httpx2

from satchel.core.app import App
from tests.apis.helpers import POSTS, create_collection, create_user, error, login


async def test_batch_disabled_by_default(client: httpx2.AsyncClient) -> None:
    r = await client.post("/api/batch", json={"requests": []})
    assert r.status_code == 403 and r.json() == error(403, "Batch requests are not allowed.")


async def test_batch_commits_all_or_nothing(client: httpx2.AsyncClient, su_headers: dict[str, str], app: App) -> None:
    await create_collection(client, su_headers, POSTS)
    r = await client.patch("/api/settings", json={"batch": {"enabled": True}}, headers=su_headers)
    assert r.status_code == 200 and r.json()["batch"]["enabled"] is True
    user = await create_user(client, "alice@example.com")
    h = await login(client, "alice@example.com")
    ok = {
        "requests": [
            {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "A", "author": user["id"]}},
            {
                "method": "PUT",
                "url": "/api/collections/posts/records",
                "body": {"id": "abcdefghijklmno", "title": "B", "author": user["id"]},
            },
            {"method": "PATCH", "url": "/api/collections/posts/records/abcdefghijklmno", "body": {"title": "B2"}},
        ]
    }
    r = await client.post("/api/batch", json=ok, headers=h)
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()] == [200, 200, 200] and r.json()[2]["body"]["title"] == "B2"
    bad = {
        "requests": [
            {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "C", "author": user["id"]}},
            {"method": "POST", "url": "/api/collections/posts/records", "body": {"author": user["id"]}},
        ]
    }
    r = await client.post("/api/batch", json=bad, headers=h)
    assert r.status_code == 400
    assert r.json() == error(
        400,
        "Batch transaction failed.",
        {
            "requests": {
                "1": {
                    "code": "batch_request_failed",
                    "message": "Batch request failed.",
                    "response": error(
                        400,
                        "Failed to create record.",
                        {"title": {"code": "validation_required", "message": "Cannot be blank."}},
                    ),
                }
            }
        },
    )
    r = await client.get("/api/collections/posts/records", headers=h)
    assert sorted(x["title"] for x in r.json()["items"]) == ["A", "B2"]


async def test_settings_require_superuser_and_validate(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    assert (await client.get("/api/settings")).status_code == 401
    r = await client.get("/api/settings", headers=su_headers)
    assert r.status_code == 200 and r.json()["meta"]["appName"] == "Acme" and "password" not in r.json()["smtp"]
    r = await client.patch("/api/settings", json={"batch": {"enabled": "yes"}}, headers=su_headers)
    assert r.status_code == 400
    r = await client.patch("/api/settings", json={"batch": {"enabled": True, "maxRequests": 0}}, headers=su_headers)
    assert r.status_code == 400 and r.json()["data"]["batch"]["maxRequests"]["code"] == "validation_required"
    r = await client.patch("/api/settings", json={"meta": {"appName": "Mine"}}, headers=su_headers)
    assert r.json()["meta"]["appName"] == "Mine"
    assert (await client.get("/api/settings", headers=su_headers)).json()["meta"]["appName"] == "Mine"


async def test_null_settings_are_zero_values(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    """As PocketBase 0.40.6 answers (probed): null decodes to the type's zero value, then validation runs."""
    body = {"trustedProxy": {"headers": None}, "superuserIPs": None, "batch": {"maxRequests": None}}
    r = await client.patch("/api/settings", json=body, headers=su_headers)
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["trustedProxy"]["headers"], s["superuserIPs"], s["batch"]["maxRequests"]) == ([], [], 0)
    r = await client.patch("/api/settings", json={"meta": {"appName": None}}, headers=su_headers)
    assert r.status_code == 400 and r.json()["data"]["meta"]["appName"]["code"] == "validation_required"
