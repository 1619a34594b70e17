"""Database snapshots and restores through the port: online, consistent, seen by every connection."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from satchel.adapters.db import sqlite_copy
from satchel.adapters.db.sqlite import SqliteDatabase
from satchel.ports.database import DatabaseError, InvalidCopyError, KeptCounter
from satchel.tools.sql import ir

T = ir.Table("t")


async def _db(path: Path, rows: int = 0) -> SqliteDatabase:
    db = SqliteDatabase(path)
    async with db.transaction() as tx:
        await tx.ddl(ir.CreateTable("t", (ir.ColumnDef("id", "INTEGER", primary_key=True), ir.ColumnDef("v", "TEXT"))))
        await tx.ddl(ir.CreateTable("counter", (ir.ColumnDef("n", "INTEGER"),)))
        await tx.execute(ir.Insert("counter", {"n": ir.Param(rows)}))
        for i in range(1, rows + 1):
            await tx.execute(ir.Insert("t", {"id": ir.Param(i), "v": ir.Param("x" * 500)}))
    return db


async def _write_one(db: SqliteDatabase, i: int) -> None:
    """One row and the counter in one transaction: a torn copy would show them disagreeing."""
    async with db.transaction() as tx:
        await tx.execute(ir.Insert("t", {"id": ir.Param(i), "v": ir.Param(f"row {i}")}))
        await tx.execute(ir.Update("counter", {"n": ir.Param(i)}, None))


def _read(path: Path) -> tuple[list[int], int, str]:
    conn = sqlite3.connect(path)
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM t ORDER BY id")]
        (n,) = conn.execute("SELECT n FROM counter").fetchone()
        (check,) = conn.execute("PRAGMA integrity_check").fetchone()
        return ids, int(n), str(check)
    finally:
        conn.close()


SEQ = ir.CreateTable("seq", (ir.ColumnDef("id", "TEXT", primary_key=True), ir.ColumnDef("position", "INTEGER")))
KEPT = KeptCounter(SEQ, "id", "#seq", "position")


async def _set_seq(db: SqliteDatabase, value: int) -> None:
    async with db.transaction() as tx:
        if not await db.table_columns("seq"):
            await tx.ddl(SEQ)
        if not await tx.execute(ir.Update("seq", {"position": ir.Param(value)}, ir.eq(ir.col("id"), ir.Param("#seq")))):
            await tx.execute(ir.Insert("seq", {"id": ir.Param("#seq"), "position": ir.Param(value)}))


def _seq(path: Path) -> int | None:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT position FROM seq WHERE id = '#seq'").fetchone()
        return None if row is None else int(row[0])
    except sqlite3.OperationalError:  # no such table
        return None
    finally:
        conn.close()


async def test_snapshot_is_one_point_in_time_while_writes_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await _db(tmp_path / "data.db", rows=300)
    monkeypatch.setattr(sqlite_copy, "STEP_PAGES", 4)  # many steps, so writes land between them
    written = 300
    first_step = threading.Event()
    writes_done = threading.Event()
    stop = asyncio.Event()
    mark = 0
    """Rows committed when the copy had made its first step: the snapshot was taken before."""

    async def writer() -> None:
        nonlocal written
        while not stop.is_set():
            written += 1
            await _write_one(db, written)
            if first_step.is_set() and written >= mark + 40:
                writes_done.set()
            await asyncio.sleep(0)

    steps: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        nonlocal mark
        steps.append((done, total))
        if not first_step.is_set():
            mark = written
            first_step.set()
            # hold the copy mid-way until the server has committed more writes
            assert writes_done.wait(30), "writes were blocked by the snapshot"

    task = asyncio.create_task(writer())
    try:
        await db.snapshot(tmp_path / "snap.db", progress)
    finally:
        stop.set()
        await task
    ids, counter, check = _read(tmp_path / "snap.db")
    assert check == "ok"
    assert len(steps) > 2 and steps[-1][0] == steps[-1][1]
    assert ids == list(range(1, len(ids) + 1)), "not a prefix of the writes"
    assert counter == len(ids), "a transaction was torn"
    assert 300 <= len(ids) <= mark < mark + 40 <= written, "writes committed during the copy leaked into it"
    await db.close()


async def test_restore_replaces_contents_for_every_connection(tmp_path: Path) -> None:
    db = await _db(tmp_path / "data.db", rows=5)
    await db.snapshot(tmp_path / "snap.db")
    sibling = SqliteDatabase(tmp_path / "data.db")  # another worker on the same file
    for i in range(6, 50):
        await _write_one(db, i)
    assert (await sibling.executor().fetch_value(ir.Select((ir.Func("COUNT", (ir.Star(),)),), T))) == 49
    await db.restore(tmp_path / "snap.db")
    count = ir.Select((ir.Func("COUNT", (ir.Star(),)),), T)
    assert await db.executor().fetch_value(count) == 5
    assert await sibling.executor().fetch_value(count) == 5
    # both keep writing on their old connections, to the restored contents
    await _write_one(db, 6)
    await _write_one(sibling, 7)
    assert await db.executor().fetch_value(count) == 7
    assert _read(tmp_path / "data.db")[2] == "ok"
    await sibling.close()
    await db.close()


async def test_transactions_queued_behind_a_restore_run_after_it(tmp_path: Path) -> None:
    db = await _db(tmp_path / "data.db", rows=2)
    await db.snapshot(tmp_path / "snap.db")
    for i in range(3, 10):
        await _write_one(db, i)
    restore = asyncio.create_task(db.restore(tmp_path / "snap.db"))
    await asyncio.sleep(0)  # the restore holds the write lock now
    await _write_one(db, 3)
    await restore
    ids, counter, _ = _read(tmp_path / "data.db")
    assert ids == [1, 2, 3] and counter == 3
    await db.close()


@pytest.mark.parametrize("kept", [False, True], ids=["plain", "kept-counter"])
async def test_restore_from_another_page_size(tmp_path: Path, kept: bool) -> None:
    db = await _db(tmp_path / "data.db", rows=3)
    if kept:
        await _set_seq(db, 11)
    other = tmp_path / "big-pages.db"
    conn = sqlite3.connect(other, isolation_level=None)
    conn.execute("PRAGMA page_size = 8192")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("CREATE TABLE counter (n INTEGER)")
    conn.execute("INSERT INTO counter VALUES (1)")
    conn.execute("INSERT INTO t VALUES (42, 'from elsewhere')")
    conn.close()
    await db.restore(other, keep=[KEPT] if kept else ())
    assert _read(tmp_path / "data.db") == ([42], 1, "ok")
    assert _seq(tmp_path / "data.db") == (11 if kept else None)  # rewritten copy, pinned as well
    await db.close()


async def test_a_restore_that_cannot_get_the_lock_leaves_the_data_alone(tmp_path: Path) -> None:
    db = await _db(tmp_path / "data.db", rows=4)
    await db.snapshot(tmp_path / "snap.db")
    await _write_one(db, 5)
    holder = sqlite3.connect(tmp_path / "data.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process mid-write, and it never finishes
    try:
        with pytest.raises(DatabaseError, match="locked"):
            await asyncio.to_thread(sqlite_copy.restore, db.path, tmp_path / "snap.db", None, 0.3)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _read(tmp_path / "data.db") == ([1, 2, 3, 4, 5], 5, "ok")
    await db.close()


async def test_check_copy_refuses_what_is_not_an_intact_database(tmp_path: Path) -> None:
    db = await _db(tmp_path / "data.db", rows=400)
    good = tmp_path / "snap.db"
    await db.snapshot(good)
    await db.check_copy(good, ["t", "counter"])
    with pytest.raises(InvalidCopyError, match="system tables"):
        await db.check_copy(good, ["t", "_collections"])
    with pytest.raises(InvalidCopyError, match="missing"):
        await db.check_copy(tmp_path / "absent.db", ["t"])
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(InvalidCopyError, match="not a SQLite database"):
        await db.check_copy(garbage, ["t"])
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InvalidCopyError):
        await db.check_copy(truncated, ["t"])
    damaged = tmp_path / "damaged.db"
    raw = bytearray(good.read_bytes())
    page = 4096
    raw[page * 3 : page * 3 + 200] = b"\xff" * 200  # scribble over a b-tree page
    damaged.write_bytes(bytes(raw))
    with pytest.raises(InvalidCopyError):
        await db.check_copy(damaged, ["t"])
    await db.close()


async def test_snapshot_refuses_to_overwrite(tmp_path: Path) -> None:
    db = await _db(tmp_path / "data.db")
    (tmp_path / "exists.db").write_bytes(b"")
    with pytest.raises(DatabaseError, match="exists"):
        await db.snapshot(tmp_path / "exists.db")
    await db.close()


async def test_read_copy_reads_a_copy_without_changing_it(tmp_path: Path) -> None:
    db = await _db(tmp_path / "data.db", rows=3)
    copy = tmp_path / "snap.db"
    await db.snapshot(copy)
    await _write_one(db, 4)  # the live database moves on; the copy does not
    before = copy.read_bytes()
    rows = await db.read_copy(copy, ir.Select((ir.col("id"),), T, where=ir.eq(ir.col("id"), ir.Param(2))))
    assert rows == [{"id": 2}]
    assert await db.read_copy(copy, ir.Select((ir.col("n"),), ir.Table("counter"))) == [{"n": 3}]
    assert copy.read_bytes() == before
    with pytest.raises(InvalidCopyError):
        await db.read_copy(copy, ir.Select((ir.col("n"),), ir.Table("absent")))
    await db.close()


@pytest.mark.parametrize("rows", [3, 12000], ids=["one-step", "many-steps"])
async def test_a_kept_counter_never_goes_back_with_a_restore(tmp_path: Path, rows: int) -> None:
    db = await _db(tmp_path / "data.db", rows=rows)
    await _set_seq(db, 5)
    await db.snapshot(tmp_path / "snap.db")
    for i in range(rows + 1, rows + 5):
        await _write_one(db, i)
    await _set_seq(db, 9)  # numbers 6..9 were handed out after the backup
    reported: list[tuple[int, int]] = []
    await db.restore(tmp_path / "snap.db", lambda done, total: reported.append((done, total)), keep=[KEPT])
    assert reported and reported == sorted(reported) and reported[-1][0] == reported[-1][1]  # never back
    ids, counter, check = _read(tmp_path / "data.db")
    assert (len(ids), counter, check) == (rows, rows, "ok")  # the rest is the backup's
    assert _seq(tmp_path / "data.db") == 9
    await db.close()


async def test_a_kept_counter_higher_in_the_copy_stays(tmp_path: Path) -> None:
    db = await _db(tmp_path / "data.db", rows=2)
    await _set_seq(db, 7)
    await db.snapshot(tmp_path / "snap.db")
    await _set_seq(db, 3)
    await db.restore(tmp_path / "snap.db", keep=[KEPT])
    assert _seq(tmp_path / "data.db") == 7
    await db.close()


async def test_a_kept_counter_is_created_in_a_copy_without_it(tmp_path: Path) -> None:
    db = await _db(tmp_path / "data.db", rows=2)
    await db.snapshot(tmp_path / "snap.db")  # before the counter's table existed (an older backup)
    await _set_seq(db, 4)
    await db.restore(tmp_path / "snap.db", keep=[KEPT])
    assert _seq(tmp_path / "data.db") == 4
    assert _read(tmp_path / "data.db")[2] == "ok"
    other = await _db(tmp_path / "other.db", rows=1)  # and a live database without it leaves the copy alone
    await other.snapshot(tmp_path / "snap2.db")
    await other.restore(tmp_path / "snap2.db", keep=[KEPT])
    assert _seq(tmp_path / "other.db") is None
    await other.close()
    await db.close()


async def test_a_pinned_restore_reads_the_live_file_while_no_one_can_commit(tmp_path: Path) -> None:
    """The pin is where the kept counters are read: a writer of another process must be shut out
    by then, or it could hand out a number the restore does not see."""
    db = await _db(tmp_path / "data.db", rows=3)
    await db.snapshot(tmp_path / "snap.db")
    outcomes: list[str] = []

    def pin() -> None:
        other = sqlite3.connect(tmp_path / "data.db", isolation_level=None, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            outcomes.append("got the lock")
            other.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            outcomes.append(str(exc))
        finally:
            other.close()

    await asyncio.to_thread(sqlite_copy.restore, db.path, tmp_path / "snap.db", None, 5.0, pin)
    assert outcomes == ["database is locked"]
    await db.close()


async def test_a_failing_pin_leaves_the_data_alone(tmp_path: Path) -> None:
    db = await _db(tmp_path / "data.db", rows=3)
    await db.snapshot(tmp_path / "snap.db")
    await _write_one(db, 4)

    def pin() -> None:
        raise DatabaseError("refused")

    with pytest.raises(DatabaseError, match="refused"):
        await asyncio.to_thread(sqlite_copy.restore, db.path, tmp_path / "snap.db", None, 5.0, pin)
    assert _read(tmp_path / "data.db") == ([1, 2, 3, 4], 4, "ok")
    await db.close()
