"""Test databases on PostgreSQL: one schema per data directory, dropped when the test ends.

`SATCHEL_TEST_DB=postgres` makes `running_app` (and so every test built on the `app` fixture) run
on PostgreSQL instead of the SQLite file: the same tests, a second backend. Each data directory
maps to its own schema (a hash of its path), so two apps opened on one directory share their data
as they would share `data.db`. The dialect's SQL functions live once in `public`, which is on every
test schema's search path, so a test pays for its own tables only.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

TEST_DB_ENV = "SATCHEL_TEST_DB"
URL_ENV = "SATCHEL_TEST_POSTGRES_URL"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/satchel_test"

_created: set[str] = set()
_database_ready = False


def enabled() -> bool:
    """Whether tests run on PostgreSQL (`SATCHEL_TEST_DB=postgres`)."""
    return os.environ.get(TEST_DB_ENV, "").strip().lower() in ("postgres", "postgresql", "pg")


def base_url() -> str:
    return os.environ.get(URL_ENV, DEFAULT_URL)


def schema_for(data_dir: Path) -> str:
    return "t_" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:20]


async def _ensure_database(url: str) -> None:
    """Create the test database (C collation, as production setups are told to) if it is missing."""
    global _database_ready
    if _database_ready:
        return
    import asyncpg

    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    admin = urlunsplit(parts._replace(path="/postgres"))
    conn = await asyncpg.connect(admin)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            quoted = '"' + name.replace('"', '""') + '"'
            await conn.execute(f"CREATE DATABASE {quoted} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'")
    finally:
        await conn.close()
    # the dialect's functions, current, in `public` (on every test schema's path) once per session
    from satchel.adapters.db.postgres import PostgresDatabase

    db = PostgresDatabase(_with_search_path(url, "public"))
    try:
        await db.pool()
    finally:
        await db.close()
    _database_ready = True


def _with_search_path(url: str, path: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}search_path={path}"


async def database_url(data_dir: Path) -> str:
    """The URL of the (created) schema standing for `data_dir`'s database."""
    import asyncpg

    url = base_url()
    await _ensure_database(url)
    schema = schema_for(data_dir)
    if schema not in _created:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        finally:
            await conn.close()
        _created.add(schema)
    # tests need no durability: commits do not wait for the disk
    return _with_search_path(url, f"{schema},public") + "&synchronous_commit=off"


def hold(data_dir: Path) -> None:
    """Keep `data_dir`'s schema through the per-test drops: an app that a module's tests share (seeded
    once, only read) outlives each test. `release` hands it back to the next drop."""
    _created.discard(schema_for(data_dir))


def release(data_dir: Path) -> None:
    """Hand a held schema back: the next `drop_schemas` drops it (the sharing module calls that at its end)."""
    _created.add(schema_for(data_dir))


async def drop_schemas() -> None:
    """Drop every schema made since the last call (a test's teardown)."""
    if not _created:
        return
    import asyncpg

    schemas = sorted(_created)
    _created.clear()
    conn = await asyncpg.connect(base_url())
    try:
        for schema in schemas:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
