"""A whole Satchel instance copied SQLite -> SQLite through the port, then served by Satchel."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from migrate_source import POSTS, app_at, assert_same_instance, populate

from satchel.adapters.db.sqlite import SqliteDatabase
from satchel.core.migrate.errors import MigrationError, TargetNotEmptyError, VerificationError
from satchel.core.migrate.run import Progress, Report, Step, StorageCopy, migrate
from satchel.core.migrate.tables import INTERNAL_TABLES
from satchel.ports.database import Database


async def _run(
    src_dir: Path, dst_dir: Path, *, force: bool = False, batch_size: int = 5, progress: Progress | None = None
) -> Report:
    source: Database = SqliteDatabase(src_dir / "data.db", read_only=True, query_timeout=0)
    target: Database = SqliteDatabase(dst_dir / "data.db", query_timeout=0)
    try:
        return await migrate(
            source,
            target,
            force=force,
            batch_size=batch_size,
            progress=progress,
            storage=StorageCopy(src_dir, dst_dir),
        )
    finally:
        await source.close()
        await target.close()


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


async def test_a_satchel_instance_moves_whole(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    before = await populate(src)
    steps: list[Step] = []
    report = await _run(src, dst, batch_size=5, progress=steps.append)  # pages smaller than the tables
    checks = {c.name: c for c in report.checks}
    assert checks["posts"].source_rows == checks["posts"].target_rows == POSTS
    assert checks["titles"].view and checks["titles"].target_rows == POSTS // 2
    assert report.files == 1
    rows = [s for s in steps if s.phase == "rows"]
    assert rows[-1].overall_done == rows[-1].overall_total == sum(c.source_rows for c in checks.values() if not c.view)
    assert [s.done for s in rows if s.name == "posts"] == [0, 5, 10, 12]
    await assert_same_instance(dst, before)
    assert not [p for p in dst.iterdir() if p.name.startswith(".migrate-")]


async def test_the_source_is_never_written(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    await populate(src)
    (src / "data.db").chmod(0o444)
    with sqlite3.connect(src / "data.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stamp = (src / "data.db").read_bytes()
    await _run(src, dst)
    assert (src / "data.db").read_bytes() == stamp


async def test_rows_added_to_the_source_during_the_copy_fail_the_check(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    await populate(src)
    writer = sqlite3.connect(src / "data.db", isolation_level=None)

    def late_write(step: Step) -> None:
        if step.phase == "rows" and step.name == "posts" and step.done == step.total:
            writer.execute("INSERT INTO posts (id, title) VALUES ('latecomer000000', 'late')")

    try:
        with pytest.raises(VerificationError) as caught:
            await _run(src, dst, progress=late_write)
    finally:
        writer.close()
    bad = [c for c in caught.value.checks if not c.ok]
    assert [(c.name, c.source_rows, c.target_rows) for c in bad] == [("posts", POSTS + 1, POSTS)]
    assert _tables(dst / "data.db") == set()  # rolled back: nothing created
    assert not (dst / "storage").exists() and not [p for p in dst.iterdir() if p.name.startswith(".migrate-")]


async def test_an_id_changed_during_the_copy_fails_the_checksum(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    await populate(src)
    writer = sqlite3.connect(src / "data.db", isolation_level=None)

    def rename(step: Step) -> None:
        if step.phase == "rows" and step.name == "posts" and step.done == step.total:
            writer.execute("UPDATE posts SET id = 'renamed00000000' WHERE id = 'post00000000003'")

    try:
        with pytest.raises(VerificationError) as caught:
            await _run(src, dst, progress=rename)
    finally:
        writer.close()
    (bad,) = [c for c in caught.value.checks if not c.ok]
    assert bad.name == "posts" and bad.source_rows == bad.target_rows == POSTS
    assert bad.source_ids != bad.target_ids


async def test_a_target_with_data_is_refused_then_replaced_with_force(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    before = await populate(src)
    other = tmp_path / "other"
    await populate(other)
    await _run(other, dst)
    (dst / "storage" / "stray.txt").write_bytes(b"x")
    with pytest.raises(TargetNotEmptyError) as caught:
        await _run(src, dst)
    listed = " | ".join(caught.value.contents)
    assert "2 collection(s) of its own (posts, titles)" in listed
    assert f"{POSTS} record(s) in posts" in listed and "saved settings" in listed
    assert "file(s) in" in listed
    await _run(src, dst, force=True)
    await assert_same_instance(dst, before)
    assert not (dst / "storage" / "stray.txt").exists()


async def test_leftovers_of_a_killed_run_are_cleared(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    await populate(src)
    leftover = dst / ".migrate-storage-killed00"
    leftover.mkdir(parents=True)
    (leftover / "half-copied.bin").write_bytes(b"x")
    await _run(src, dst)
    assert sorted(p.name for p in dst.iterdir() if p.name.startswith(".")) == []


async def test_a_freshly_started_target_counts_as_empty(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    before = await populate(src)
    async with app_at(dst):
        pass  # what `satchel serve` leaves behind on its first start
    await _run(src, dst)
    await assert_same_instance(dst, before)


async def test_a_failing_copy_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    """The source has a view over a table that is not a collection: it cannot be made on the target."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    previous = await populate(dst)
    await populate(src)
    with sqlite3.connect(src / "data.db") as conn:
        conn.execute("CREATE TABLE legacy (id TEXT PRIMARY KEY)")
        conn.execute(
            "INSERT INTO _collections (id, system, type, name, fields, indexes, options, created, updated) VALUES "
            "('pbc_legacy_view', 0, 'view', 'legacy_view', '[]', '[]', '{\"viewQuery\": \"SELECT id FROM legacy\"}', "
            "'', '')"
        )
    with pytest.raises(MigrationError, match="view legacy_view: its query does not run on the target"):
        await _run(src, dst, force=True)
    await assert_same_instance(dst, previous)


async def test_a_database_that_is_no_instance_is_refused(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    with sqlite3.connect(src / "data.db") as conn:
        conn.execute("CREATE TABLE t (id TEXT)")
    with pytest.raises(MigrationError, match="not a Satchel or PocketBase database"):
        await _run(src, dst)


async def test_every_internal_table_is_copied(tmp_path: Path) -> None:
    """Bootstrap's tables are either a collection's or listed in INTERNAL_TABLES (a new one must be added)."""
    async with app_at(tmp_path / "fresh") as app:
        collection_tables = {c.name for c in app.collections.all()}
    names = {n for n in _tables(tmp_path / "fresh" / "data.db") if not n.startswith("sqlite_")}
    assert names - collection_tables == set(INTERNAL_TABLES)
