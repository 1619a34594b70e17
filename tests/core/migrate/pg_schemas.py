"""Fresh PostgreSQL schemas for the migration tests: skipped locally without a server, a failure under CI."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from satchel.testing import postgres as pg_testing
from tests.required_service import unavailable


async def _unreachable() -> str:
    """Why PostgreSQL cannot be used ("" when it answers)."""
    import asyncpg

    try:
        conn = await asyncio.wait_for(asyncpg.connect(pg_testing.base_url()), timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {pg_testing.base_url()} is unreachable ({type(exc).__name__}: {exc})"
    await conn.close()
    return ""


@contextmanager
def postgres_urls(tmp_path: Path, count: int) -> Iterator[list[str]]:
    """`count` database URLs, each an empty schema of the test database; all dropped afterwards."""
    if importlib.util.find_spec("satchel.adapters.db.postgres") is None or importlib.util.find_spec("asyncpg") is None:
        unavailable("the PostgreSQL adapter (satchel.adapters.db.postgres, asyncpg) is not installed")
    reason = asyncio.run(_unreachable())
    if reason:
        unavailable(reason, "set SATCHEL_TEST_POSTGRES_URL or start PostgreSQL")

    async def make() -> list[str]:
        return [await pg_testing.database_url(tmp_path / f"pg-{n}") for n in range(count)]

    urls = asyncio.run(make())
    try:
        yield urls
    finally:
        asyncio.run(pg_testing.drop_schemas())
