"""`migrate-data` copies encrypted fields as they are, blind indexes included: the target opens and
filters them with the same key (SQLite to SQLite, and SQLite to PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from satchel.testing import client_for, superuser_token
from satchel.wiring import open_app
from tests.core.migrate.pg_schemas import postgres_urls

KEY = bytes(range(32))
NOTES = {
    "name": "notes",
    "listRule": "",
    "createRule": "",
    "fields": [{"name": "ssn", "type": "text", "encrypted": True}],
}


async def _make_source(data_dir: Path) -> None:
    app = await open_app(data_dir, encryption_key=KEY)
    try:
        async with client_for(app) as client:
            su = {"Authorization": await superuser_token(app, client)}
            assert (await client.post("/api/collections", json=NOTES, headers=su)).status_code == 200
            for ssn in ("ssn 1", "ssn 2", "ssn 2"):
                assert (await client.post("/api/collections/notes/records", json={"ssn": ssn})).status_code == 200
    finally:
        await app.realtime.close()
        await app.close()


async def _found(data_dir: Path, db_url: str = "") -> list[str]:
    app = await open_app(data_dir, db_url=db_url, encryption_key=KEY)
    try:
        async with client_for(app) as client:
            r = await client.get("/api/collections/notes/records", params={"filter": 'ssn = "ssn 2"'})
            assert r.status_code == 200, r.text
            return [i["ssn"] for i in r.json()["items"]]
    finally:
        await app.realtime.close()
        await app.close()


def test_sqlite_to_sqlite(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    asyncio.run(_make_source(src))
    r = CliRunner().invoke(main, ["migrate-data", "--from", str(src), "--to", str(dst)])
    assert r.exit_code == 0, r.output
    assert "encrypted fields of notes are copied as they are" in " ".join(r.output.split())
    assert asyncio.run(_found(dst)) == ["ssn 2", "ssn 2"]


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    with postgres_urls(tmp_path, 1) as urls:
        yield urls[0]


def test_sqlite_to_postgres(pg_url: str, tmp_path: Path) -> None:
    src, files = tmp_path / "src", tmp_path / "pg-files"
    asyncio.run(_make_source(src))
    r = CliRunner().invoke(main, ["migrate-data", "--from", str(src), "--to", pg_url, "--dir", str(files)])
    assert r.exit_code == 0, r.output
    assert asyncio.run(_found(files, db_url=pg_url)) == ["ssn 2", "ssn 2"]
