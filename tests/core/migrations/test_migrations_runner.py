"""The migrations runner on a real database (SQLite, and PostgreSQL on the CI's second pass)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from satchel.core.app import App
from satchel.core.collections.store import load_all
from satchel.core.migrations import (
    MIGRATIONS_TABLE,
    SchemaMigrationError,
    applied,
    history_sync,
    new_file_name,
    revert,
    run_pending,
)
from satchel.core.migrations.files import discover
from satchel.testing import running_app
from satchel.tools.sql import ir


def create_collection(name: str, fail_after: bool = False) -> str:
    """A migration creating collection `name` (then raising, when `fail_after`); down deletes it."""
    tail = "    raise RuntimeError('boom after the change')\n" if fail_after else ""
    return (
        "async def up(app):\n"
        f"    await app.collections_service.create({{'name': {name!r}, 'type': 'base',"
        " 'fields': [{'name': 'title', 'type': 'text'}]})\n"
        f"{tail}\n\n"
        "async def down(app):\n"
        f"    await app.collections_service.delete({name!r})\n"
    )


def write(folder: Path, name: str, source: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    file = new_file_name(folder, name)
    (folder / file).write_text(source)
    return file


async def db_names(app: App) -> set[str]:
    """Collection names as stored in the database (not the in-memory copy)."""
    return {c.name for c in await load_all(app.db.executor())}


async def test_pending_files_apply_in_order_once(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    first = write(folder, "posts", create_collection("posts"))
    # the second needs the first: it adds a relation to posts
    second = write(
        folder,
        "comments",
        "async def up(app):\n"
        "    posts = app.collections.get('posts')\n"
        "    await app.collections_service.create({'name': 'comments', 'fields': ["
        "{'name': 'post', 'type': 'relation', 'collectionId': posts.id, 'maxSelect': 1}]})\n",
    )
    assert await run_pending(app, folder) == [first, second]
    assert {"posts", "comments"} <= await db_names(app)
    assert app.collections.get("comments") is not None
    assert await applied(app.db.executor()) == [first, second]
    assert await run_pending(app, folder) == []  # recorded: not applied again


async def test_a_failing_migration_rolls_back_and_stops(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    ok = write(folder, "posts", create_collection("posts"))
    bad = write(folder, "broken", create_collection("broken", fail_after=True))
    later = write(folder, "later", create_collection("later"))
    with pytest.raises(SchemaMigrationError) as info:
        await run_pending(app, folder)
    assert info.value.file == bad
    assert "boom after the change" in str(info.value)
    names = await db_names(app)
    assert "posts" in names and "broken" not in names and "later" not in names
    assert app.collections.get("broken") is None  # the in-memory copy forgot it too
    assert not await app.db.table_columns("broken")  # the table went with the transaction
    assert await applied(app.db.executor()) == [ok]
    (folder / bad).unlink()
    assert await run_pending(app, folder) == [later]


async def test_a_rejected_collection_change_names_its_field_errors(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    bad = write(folder, "bad", "async def up(app):\n    await app.collections_service.create({'name': ''})\n")
    with pytest.raises(SchemaMigrationError, match=r"Failed to create collection.*validation_required") as info:
        await run_pending(app, folder)
    assert info.value.file == bad


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def up(app):\n    pass\n", "up must be an async function"),
        ("async def down(app):\n    pass\n", r"defines no up\(app\)"),
        ("async def up(app) pass\n", "cannot be loaded: SyntaxError"),
    ],
)
async def test_malformed_files_are_refused_by_name(app: App, tmp_path: Path, source: str, message: str) -> None:
    folder = tmp_path / "migrations"
    file = write(folder, "malformed", source)
    with pytest.raises(SchemaMigrationError, match=message) as info:
        await run_pending(app, folder)
    assert info.value.file == file
    assert await applied(app.db.executor()) == []


async def test_down_reverts_the_last_n_most_recent_first(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    files = [write(folder, n, create_collection(n)) for n in ("one", "two", "three")]
    await run_pending(app, folder)
    assert await revert(app, folder) == [files[2]]
    assert await revert(app, folder, 5) == [files[1], files[0]]
    assert not {"one", "two", "three"} & await db_names(app)
    assert await applied(app.db.executor()) == []
    assert await revert(app, folder) == []
    assert await run_pending(app, folder) == files  # and up again


async def test_down_refuses_a_missing_file_or_one_without_down(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    only_up = write(folder, "only_up", "async def up(app):\n    pass\n")
    await run_pending(app, folder)
    with pytest.raises(SchemaMigrationError, match="defines no down"):
        await revert(app, folder)
    (folder / only_up).unlink()
    with pytest.raises(SchemaMigrationError, match="history-sync"):
        await revert(app, folder)
    assert await applied(app.db.executor()) == [only_up]


async def test_history_sync_forgets_missing_python_files_only(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    kept = write(folder, "kept", "async def up(app):\n    pass\n\n\nasync def down(app):\n    pass\n")
    gone = write(folder, "gone", "async def up(app):\n    pass\n")
    await run_pending(app, folder)
    async with app.db.transaction() as tx:  # a row PocketBase left in a copied database
        await tx.execute(ir.Insert(MIGRATIONS_TABLE, {"file": ir.Param("1640988000_init.go"), "applied": ir.Param(1)}))
    (folder / gone).unlink()
    assert await history_sync(app, folder) == [gone]
    assert sorted(await applied(app.db.executor())) == sorted(["1640988000_init.go", kept])
    assert await history_sync(app, folder) == []
    assert await revert(app, folder, 5) == [kept]  # and down leaves it alone too
    assert await applied(app.db.executor()) == ["1640988000_init.go"]


async def test_a_data_migration_writes_records_through_the_query_compiler(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    write(folder, "posts", create_collection("posts"))
    write(
        folder,
        "seed",
        "from satchel.tools.sql import ir\n\n"
        "async def up(app):\n"
        "    await app.db.writer().execute(ir.Insert('posts', {'id': ir.Param('seedpost0000001'),"
        " 'title': ir.Param(\"it's seeded\")}))\n\n"
        "async def down(app):\n"
        "    await app.db.writer().execute(ir.Delete('posts', ir.eq(ir.col('id'), ir.Param('seedpost0000001'))))\n",
    )
    await run_pending(app, folder)
    rows = await app.db.executor().fetch_all(ir.Select((ir.col("title"),), ir.Table("posts")))
    assert [r["title"] for r in rows] == ["it's seeded"]
    await revert(app, folder)
    assert await app.db.executor().fetch_all(ir.Select((ir.col("title"),), ir.Table("posts"))) == []


async def test_two_apps_on_one_database_apply_each_file_once(tmp_path: Path) -> None:
    """Two nodes (or a restart racing a deploy) starting at once: each file runs exactly once."""
    folder = tmp_path / "migrations"
    log = tmp_path / "ran.log"
    for n in ("one", "two", "three"):
        write(
            folder,
            n,
            f"import asyncio\n\nasync def up(app):\n    await asyncio.sleep(0.2)\n"
            f"    with open({str(log)!r}, 'a') as f:\n        f.write({n!r} + '\\n')\n"
            f"    await app.collections_service.create({{'name': {n!r}}})\n",
        )
    data = tmp_path / "pb_data"
    async with running_app(data) as a, running_app(data) as b:
        await history_sync(a, folder)  # the table exists: both read the (empty) history at once
        results = await asyncio.gather(run_pending(a, folder), run_pending(b, folder))
        assert sorted(results[0] + results[1]) == sorted(f.name for f in discover(folder))
        assert log.read_text().split() == ["one", "two", "three"]
        assert len(await applied(a.db.executor())) == 3
