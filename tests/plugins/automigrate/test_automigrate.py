"""Automigrate end to end: collection changes made through the API on one instance write migration
files; applying them to a fresh instance reproduces its collections exactly, and each file's down()
steps back through the same history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2

from satchel.core.app import App
from satchel.core.migrations import applied, discover, revert, run_pending
from satchel.plugins import automigrate
from satchel.testing import client_for, running_app, superuser_token

Snapshot = list[dict[str, Any]]


@asynccontextmanager
async def instance(data_dir: Path, folder: Path) -> AsyncIterator[tuple[App, httpx2.AsyncClient, dict[str, str]]]:
    """An app with automigrate on (as `satchel serve --dev`), its client and superuser headers."""
    async with running_app(data_dir) as app, client_for(app) as client:
        automigrate.register(app, {"dir": folder})
        yield app, client, {"Authorization": await superuser_token(app, client)}


async def collections_json(client: httpx2.AsyncClient, headers: dict[str, str]) -> Snapshot:
    """Every collection as the API shows it, minus the times of the last save (which differ by nature)."""
    r = await client.get("/api/collections", params={"perPage": 500, "sort": "name"}, headers=headers)
    assert r.status_code == 200, r.text
    return [{k: v for k, v in c.items() if k not in ("created", "updated")} for c in r.json()["items"]]


async def make_changes(client: httpx2.AsyncClient, headers: dict[str, str]) -> list[Snapshot]:
    """A session of schema work through the API; the collections JSON before and after each change."""
    states = [await collections_json(client, headers)]

    async def call(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = await client.request(method, path, json=body, headers=headers)
        assert r.status_code in (200, 204), r.text
        states.append(await collections_json(client, headers))
        return r.json() if r.status_code == 200 else {}

    posts = await call(
        "POST",
        "/api/collections",
        {
            "name": "posts",
            "listRule": "",
            "fields": [
                {"name": "title", "type": "text", "required": True, "max": 200},
                {"name": "body", "type": "editor"},
                {"name": "views", "type": "number", "onlyInt": True},
                {"name": "published", "type": "bool"},
            ],
        },
    )
    members = await call(
        "POST",
        "/api/collections",
        {
            "name": "members",
            "type": "auth",
            "fields": [{"name": "nickname", "type": "text"}],
            "passwordAuth": {"enabled": True, "identityFields": ["email", "nickname"]},
            "indexes": ["CREATE UNIQUE INDEX idx_members_nickname ON members (nickname) WHERE nickname != ''"],
        },
    )
    fields = posts["fields"]
    body = next(f for f in fields if f["name"] == "body")
    body["name"] = "content"  # a rename: same field id, the column follows
    fields.append({"name": "author", "type": "relation", "collectionId": members["id"], "maxSelect": 1})
    await call(
        "PATCH",
        f"/api/collections/{posts['id']}",
        {
            "fields": fields,
            "listRule": "published = true",
            "indexes": ["CREATE INDEX idx_posts_title ON posts (title)"],
        },
    )
    await call(
        "POST", "/api/collections", {"name": "post_titles", "type": "view", "viewQuery": "SELECT id, title FROM posts"}
    )
    await call("PATCH", f"/api/collections/{members['id']}", {"name": "authors", "authToken": {"duration": 3600}})
    scratch = await call("POST", "/api/collections", {"name": "scratch"})
    await call("DELETE", f"/api/collections/{scratch['id']}")
    now = (await client.get(f"/api/collections/{posts['id']}", headers=headers)).json()
    await call(
        "PATCH", f"/api/collections/{posts['id']}", {"fields": [f for f in now["fields"] if f["name"] != "views"]}
    )
    return states


async def test_api_changes_replay_on_a_fresh_instance_and_revert_step_by_step(tmp_path: Path) -> None:
    folder = tmp_path / "satchel_migrations"
    async with instance(tmp_path / "dev_data", folder) as (dev, client, headers):
        states = await make_changes(client, headers)
        refused = await client.post("/api/collections", json={"name": "posts"}, headers=headers)
        assert refused.status_code == 400  # a refused change writes no file
        files = [f.name for f in discover(folder)]
        # the developer's database has the changes: the next start applies nothing
        assert sorted(await applied(dev.db.executor())) == files
        assert await run_pending(dev, folder) == []
    assert len(files) == len(states) - 1
    kinds = [name.split("_", 1)[1] for name in files]
    assert kinds == [
        "created_posts.py",
        "created_members.py",
        "updated_posts.py",
        "created_post_titles.py",
        "updated_members.py",  # named for the collection before the rename
        "created_scratch.py",
        "deleted_scratch.py",
        "updated_posts.py",
    ]

    async with instance(tmp_path / "fresh_data", folder) as (app, client, headers):
        assert await collections_json(client, headers) == states[0]
        assert await run_pending(app, folder) == files
        assert await collections_json(client, headers) == states[-1]
        for step in range(len(files), 0, -1):
            assert await revert(app, folder) == [files[step - 1]]
            assert await collections_json(client, headers) == states[step - 1], files[step - 1]
        assert await applied(app.db.executor()) == []
        # applying and reverting wrote nothing new
        assert [f.name for f in discover(folder)] == files


async def test_files_carry_no_oauth2_client_secret(tmp_path: Path) -> None:
    folder = tmp_path / "satchel_migrations"
    async with instance(tmp_path / "dev_data", folder) as (_, client, headers):
        r = await client.patch(
            "/api/collections/users",
            json={
                "oauth2": {
                    "enabled": True,
                    "providers": [{"name": "github", "clientId": "public-id", "clientSecret": "very-secret-value"}],
                }
            },
            headers=headers,
        )
        assert r.status_code == 200, r.text
    (file,) = discover(folder)
    text = file.path.read_text()
    assert "public-id" in text
    assert "very-secret-value" not in text
