"""A Satchel instance worth migrating, built over its own HTTP API, and what it answered before the copy."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from satchel.core.app import App
from satchel.testing import client_for, superuser_token
from satchel.wiring import open_app

USER_EMAIL = "reader@example.com"
USER_PASSWORD = "Reader12345!"
FILE_BYTES = b"a file that must survive the move\n"
POSTS = 12
"""Ids are given in descending order, so a copy sorted by id would list them differently."""


@dataclass
class Before:
    """Responses of the source instance, to compare with the target's after the copy."""

    user_id: str = ""
    user_token: str = ""
    su_token: str = ""
    collections: list[dict[str, Any]] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    view: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    file_url: str = ""


def _ok(r: httpx2.Response) -> dict[str, Any]:
    assert r.status_code in (200, 204), r.text
    return r.json() if r.content else {}


async def listing(client: httpx2.AsyncClient, name: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = await client.get(
        f"/api/collections/{name}/records", params={"perPage": 500, "expand": "author"}, headers=headers
    )
    items: list[dict[str, Any]] = _ok(r)["items"]
    return items


async def all_collections(client: httpx2.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _ok(await client.get("/api/collections", params={"perPage": 500}, headers=headers))[
        "items"
    ]
    return items


@asynccontextmanager
async def app_at(data_dir: Path, db_url: str = "") -> AsyncIterator[App]:
    """An app on `db_url`, by default the SQLite file of `data_dir` (whichever backend the suite runs on:
    these tests are about moving between named databases)."""
    app = await (open_app(data_dir, db_url=db_url) if db_url else open_app(data_dir))
    try:
        yield app
    finally:
        await app.realtime.close()
        await app.close()


async def populate(data_dir: Path, db_url: str = "") -> Before:
    """Users, a relation, a file, a view, edited settings; returns what the source serves."""
    before = Before()
    async with app_at(data_dir, db_url) as app, client_for(app) as client:
        before.su_token = await superuser_token(app, client)
        su = {"Authorization": before.su_token}
        user = _ok(
            await client.post(
                "/api/collections/users/records",
                json={"email": USER_EMAIL, "password": USER_PASSWORD, "passwordConfirm": USER_PASSWORD, "name": "R"},
            )
        )
        before.user_id = user["id"]
        auth = _ok(
            await client.post(
                "/api/collections/users/auth-with-password", json={"identity": USER_EMAIL, "password": USER_PASSWORD}
            )
        )
        before.user_token = auth["token"]
        posts = {
            "name": "posts",
            "type": "base",
            "listRule": "@request.auth.id != ''",
            "viewRule": "author = @request.auth.id",
            "fields": [
                {"name": "title", "type": "text", "required": True},
                {"name": "rank", "type": "number"},
                {"name": "published", "type": "bool"},
                {"name": "meta", "type": "json"},
                {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
                {"name": "attachment", "type": "file", "maxSelect": 1, "maxSize": 1000},
                {"name": "created", "type": "autodate", "onCreate": True},
                {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
            ],
            "indexes": ["CREATE UNIQUE INDEX idx_posts_title ON posts (title)"],
        }
        _ok(await client.post("/api/collections", json=posts, headers=su))
        view = {
            "name": "titles",
            "type": "view",
            "listRule": "",
            "viewQuery": "SELECT id, title, rank FROM posts WHERE published = TRUE",  # both dialects
        }
        _ok(await client.post("/api/collections", json=view, headers=su))
        for n in range(POSTS, 0, -1):
            data = {
                "id": f"post{n:011d}",
                "title": f"post {n}",
                "rank": str(n / 2),
                "published": "true" if n % 2 else "false",
                "meta": json.dumps({"n": n, "tags": ["a", "b"]}),
                "author": before.user_id,
            }
            files = {"attachment": ("note.txt", FILE_BYTES, "text/plain")} if n == 1 else None
            _ok(await client.post("/api/collections/posts/records", data=data, files=files, headers=su))
        _ok(await client.patch("/api/settings", json={"meta": {"appName": "Moved App"}}, headers=su))
        before.collections = await all_collections(client, su)
        before.posts = await listing(client, "posts", su)
        before.view = await listing(client, "titles", {})
        before.settings = _ok(await client.get("/api/settings", headers=su))
        first = next(p for p in before.posts if p["attachment"])
        before.file_url = f"/api/files/{first['collectionId']}/{first['id']}/{first['attachment']}"
        r = await client.get(before.file_url)
        assert r.content == FILE_BYTES
    return before


async def assert_same_instance(data_dir: Path, before: Before, db_url: str = "") -> None:
    """The target serves what the source did: data, order, tokens, passwords, files, settings."""
    async with app_at(data_dir, db_url) as app, client_for(app) as client:
        su = {"Authorization": before.su_token}  # issued by the source: still valid
        assert await all_collections(client, su) == before.collections
        assert await listing(client, "posts", su) == before.posts
        assert await listing(client, "titles", {}) == before.view
        assert _ok(await client.get("/api/settings", headers=su)) == before.settings
        refreshed = _ok(
            await client.post("/api/collections/users/auth-refresh", headers={"Authorization": before.user_token})
        )
        assert refreshed["record"]["id"] == before.user_id
        signed_in = _ok(
            await client.post(
                "/api/collections/users/auth-with-password", json={"identity": USER_EMAIL, "password": USER_PASSWORD}
            )
        )
        assert signed_in["record"]["id"] == before.user_id
        r = await client.get(before.file_url)
        assert r.status_code == 200 and r.content == FILE_BYTES
