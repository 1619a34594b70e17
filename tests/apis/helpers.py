"""Small builders shared by the API scenario tests."""

from __future__ import annotations

from typing import Any

import httpx2

POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": "published = true || author = @request.auth.id",
    "viewRule": "published = true || author = @request.auth.id",
    "createRule": '@request.auth.id != ""',
    "updateRule": "author = @request.auth.id",
    "deleteRule": "author = @request.auth.id",
    "fields": [
        {"name": "title", "type": "text", "required": True, "max": 100},
        {"name": "body", "type": "editor"},
        {"name": "views", "type": "number", "min": 0},
        {"name": "published", "type": "bool"},
        {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
        {"name": "meta", "type": "json"},
        {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
        {"name": "secret", "type": "text", "hidden": True},
        {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
        {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
    ],
}


async def create_collection(client: httpx2.AsyncClient, su: dict[str, str], data: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/api/collections", json=data, headers=su)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def create_user(
    client: httpx2.AsyncClient, email: str, password: str = "password-123", **extra: Any
) -> dict[str, Any]:
    r = await client.post(
        "/api/collections/users/records",
        json={"email": email, "password": password, "passwordConfirm": password, **extra},
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def login(client: httpx2.AsyncClient, email: str, password: str = "password-123") -> dict[str, str]:
    r = await client.post("/api/collections/users/auth-with-password", json={"identity": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": r.json()["token"]}


def error(status: int, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"status": status, "message": message, "data": data or {}}
