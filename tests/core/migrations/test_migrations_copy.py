"""`satchel migrate-data` carries the migration history: the target does not apply the files again."""

from __future__ import annotations

from pathlib import Path

from satchel.adapters.db.sqlite import SqliteDatabase
from satchel.core.migrate.run import migrate
from satchel.core.migrations import applied, run_pending
from tests.core.migrate.migrate_source import app_at


async def test_applied_migrations_travel_with_a_copy(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1700000000_posts.py").write_text(
        "async def up(app):\n    await app.collections_service.create({'name': 'posts'})\n"
    )
    async with app_at(tmp_path / "src") as app:
        assert await run_pending(app, folder) == ["1700000000_posts.py"]
    source = SqliteDatabase(tmp_path / "src" / "data.db", read_only=True, query_timeout=0)
    target = SqliteDatabase(tmp_path / "dst" / "data.db", query_timeout=0)
    try:
        await migrate(source, target, force=False, batch_size=10)
    finally:
        await source.close()
        await target.close()
    async with app_at(tmp_path / "dst") as app:
        assert await applied(app.db.executor()) == ["1700000000_posts.py"]
        assert await run_pending(app, folder) == []  # "posts" exists there already: applying again would fail
        assert app.collections.get("posts") is not None
