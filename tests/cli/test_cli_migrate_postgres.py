"""`satchel migrate-data` SQLite -> PostgreSQL and back, each copy then served by Satchel.

Needs a PostgreSQL server (`SATCHEL_TEST_POSTGRES_URL`, see `satchel.testing.postgres`): skipped
locally without one, a failure under CI=true. Each run uses schemas of its own, dropped after.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from satchel.testing import postgres as pg_testing
from tests.core.migrate.migrate_source import POSTS, assert_same_instance, populate
from tests.required_service import unavailable


async def _reachable() -> str:
    """Why PostgreSQL cannot be used ("" when it answers)."""
    import asyncpg

    try:
        conn = await asyncio.wait_for(asyncpg.connect(pg_testing.base_url()), timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {pg_testing.base_url()} is unreachable ({type(exc).__name__}: {exc})"
    await conn.close()
    return ""


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two fresh schemas (as database URLs) for this test; dropped when it ends."""
    if importlib.util.find_spec("satchel.adapters.db.postgres") is None or importlib.util.find_spec("asyncpg") is None:
        unavailable("the PostgreSQL adapter (satchel.adapters.db.postgres, asyncpg) is not installed")
    reason = asyncio.run(_reachable())
    if reason:
        unavailable(reason, "set SATCHEL_TEST_POSTGRES_URL or start PostgreSQL")

    async def make() -> tuple[str, str]:
        return await pg_testing.database_url(tmp_path / "pg-a"), await pg_testing.database_url(tmp_path / "pg-b")

    urls = asyncio.run(make())
    try:
        yield urls
    finally:
        asyncio.run(pg_testing.drop_schemas())


def test_sqlite_to_postgres_and_back(pg_url: tuple[str, str], tmp_path: Path) -> None:
    url, _ = pg_url
    runner = CliRunner()
    src, files = tmp_path / "src", tmp_path / "pg-files"
    before = asyncio.run(populate(src))
    r = runner.invoke(main, ["migrate-data", "--from", str(src), "--to", url, "--dir", str(files), "--batch-size", "5"])
    assert r.exit_code == 0, r.output
    assert re.search(rf"^posts +{POSTS} +{POSTS}  same$", r.output, re.MULTILINE), r.output
    assert "MISMATCH" not in r.output and "and 1 file(s) into" in r.output
    asyncio.run(assert_same_instance(files, before, db_url=url))

    again = runner.invoke(main, ["migrate-data", "--from", str(src), "--to", url, "--dir", str(files)])
    assert again.exit_code == 1 and f"{POSTS} record(s) in posts" in again.output
    assert (
        runner.invoke(main, ["migrate-data", "--from", str(src), "--to", url, "--dir", str(files), "--force"]).exit_code
        == 0
    )

    back = tmp_path / "back"
    r = runner.invoke(main, ["migrate-data", "--from", url, "--to", str(back)])
    assert r.exit_code == 0, r.output
    assert (back / "data.db").is_file()
    (back / "storage").mkdir(exist_ok=True)
    for path in (files / "storage").rglob("*"):  # files travel with a directory, not with a URL
        if path.is_file():
            dest = back / "storage" / path.relative_to(files / "storage")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(path.read_bytes())
    asyncio.run(assert_same_instance(back, before))


pytestmark = pytest.mark.timeout(240)
