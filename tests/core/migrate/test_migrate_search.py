"""`migrate-data` keeps a collection's full-text search: the option travels in `_collections` and the
target builds the index in its own dialect (FTS5 table or GIN index), also over a target that had it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from migrate_source import app_at

from satchel.cli.main import main
from satchel.testing import client_for, superuser_token
from tests.apis.test_api_search import ARTICLES, DOCS
from tests.core.migrate.pg_schemas import postgres_urls


async def _make_source(data_dir: Path) -> None:
    async with app_at(data_dir) as app, client_for(app) as client:
        su = {"Authorization": await superuser_token(app, client)}
        r = await client.post("/api/collections", json=ARTICLES, headers=su)
        assert r.status_code == 200, r.text
        for title, body in DOCS:
            r = await client.post("/api/collections/articles/records", json={"title": title, "body": body})
            assert r.status_code == 200, r.text


async def _served_search(data_dir: Path, db_url: str = "") -> tuple[dict[str, object], list[str], list[str]]:
    async with app_at(data_dir, db_url) as app, client_for(app) as client:
        su = {"Authorization": await superuser_token(app, client)}
        option = (await client.get("/api/collections/articles", headers=su)).json()["search"]

        async def titles(q: str) -> list[str]:
            r = await client.get(
                "/api/collections/articles/records", params={"filter": f"search('{q}') = true", "sort": "title"}
            )
            assert r.status_code == 200, r.text
            return [i["title"] for i in r.json()["items"]]

        found = await titles("hello")
        r = await client.post("/api/collections/articles/records", json={"title": "Copied", "body": "zeppelin"})
        assert r.status_code == 200, r.text
        return option, found, await titles("zeppelin")


EXPECTED = ({"fields": ["title", "body"]}, ["Hello world", "Release notes"], ["Copied"])


def test_sqlite_to_sqlite_over_a_target_with_the_same_index(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    asyncio.run(_make_source(src))
    asyncio.run(_make_source(dst))
    runner = CliRunner()
    r = runner.invoke(main, ["migrate-data", "--from", str(src), "--to", str(dst), "--force"])
    assert r.exit_code == 0, r.output
    assert asyncio.run(_served_search(dst)) == EXPECTED


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    with postgres_urls(tmp_path, 1) as urls:
        yield urls[0]


def test_sqlite_to_postgres(pg_url: str, tmp_path: Path) -> None:
    src, files = tmp_path / "src", tmp_path / "pg-files"
    asyncio.run(_make_source(src))
    r = CliRunner().invoke(main, ["migrate-data", "--from", str(src), "--to", pg_url, "--dir", str(files)])
    assert r.exit_code == 0, r.output
    assert asyncio.run(_served_search(files, db_url=pg_url)) == EXPECTED
