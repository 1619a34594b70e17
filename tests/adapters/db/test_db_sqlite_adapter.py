"""The SQLite adapter: nested transactions, after-commit callbacks, error translation, time budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from satchel.adapters.db.sqlite import SqliteDatabase
from satchel.ports.database import IntegrityError, QueryTimeoutError
from satchel.tools.sql import ir


async def _db(tmp_path: Path, **kw: float) -> SqliteDatabase:
    db = SqliteDatabase(tmp_path / "data.db", **kw)
    async with db.transaction() as tx:
        await tx.ddl(
            ir.CreateTable("t", (ir.ColumnDef("id", "TEXT", primary_key=True), ir.ColumnDef("n", "NUMERIC", default=0)))
        )
        await tx.ddl(ir.CreateIndex("idx_n", "t", (ir.IndexColumn("n"),), unique=True))
    return db


def _ids() -> ir.Select:
    return ir.Select((ir.col("id"),), ir.Table("t"), order_by=(ir.OrderBy(ir.col("id")),))


async def test_commit_rollback_and_savepoints(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    async with db.transaction() as tx:
        await tx.execute(ir.Insert("t", {"id": ir.Param("a"), "n": ir.Param(1)}))
        with pytest.raises(RuntimeError):
            async with db.transaction() as inner:
                assert inner is tx
                await inner.execute(ir.Insert("t", {"id": ir.Param("b"), "n": ir.Param(2)}))
                raise RuntimeError("inner fails")
        # the inner savepoint is gone, the outer write is still there (and visible inside the tx)
        assert [r["id"] for r in await db.executor().fetch_all(_ids())] == ["a"]
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute(ir.Insert("t", {"id": ir.Param("c"), "n": ir.Param(3)}))
            raise RuntimeError("outer fails")
    assert [r["id"] for r in await db.executor().fetch_all(_ids())] == ["a"]
    await db.close()


async def test_on_commit_runs_only_after_outer_commit(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    fired: list[str] = []

    async def cb() -> None:
        # by now the write is visible to the separate reader connection
        fired.append(",".join(r["id"] for r in await db.executor().fetch_all(_ids())))

    async with db.transaction() as tx:
        await tx.execute(ir.Insert("t", {"id": ir.Param("a"), "n": ir.Param(1)}))
        tx.on_commit(cb)
        async with db.transaction() as inner:
            inner.on_commit(cb)
        assert fired == []
    assert fired == ["a", "a"]
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            tx.on_commit(cb)
            raise RuntimeError
    assert fired == ["a", "a"]
    await db.close()


async def test_unique_violation_names_the_column(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    async with db.transaction() as tx:
        await tx.execute(ir.Insert("t", {"id": ir.Param("a"), "n": ir.Param(1)}))
    with pytest.raises(IntegrityError) as info:
        async with db.transaction() as tx:
            await tx.execute(ir.Insert("t", {"id": ir.Param("b"), "n": ir.Param(1)}))
    assert info.value.column == "n"
    await db.close()


async def test_reader_is_read_only(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    with pytest.raises(Exception, match=r"readonly|read-only|query_only|attempt to write"):
        await db.executor().execute(ir.Insert("t", {"id": ir.Param("a")}))
    await db.close()


async def test_long_query_is_interrupted(tmp_path: Path) -> None:
    db = await _db(tmp_path, query_timeout=0.05)
    # a recursive CTE that would run for a very long time; only reachable through validate_select
    slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) AS m FROM c"
    with pytest.raises(QueryTimeoutError):
        db._reader.run(slow)  # the statement path every executor call goes through
    # the connection stays usable afterwards
    assert db._reader.run("SELECT 1 AS one").fetchone() == (1,)
    await db.close()


async def test_validate_select_reports_columns_and_refuses_two_statements(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    assert await db.validate_select("SELECT id, n AS total FROM t") == ["id", "total"]
    with pytest.raises(Exception, match=r"single SELECT"):
        await db.validate_select("SELECT 1; DELETE FROM t")
    await db.close()


async def test_waiting_for_another_process_write_lock_keeps_the_loop_running(tmp_path: Path) -> None:
    """Two databases on one file stand for two worker processes sharing it.

    SQLite's own busy handler would sleep inside `BEGIN` with the event loop blocked, so the
    holder below (which needs the loop to finish) could never commit: a deadlock until timeout.
    """
    import asyncio

    a = await _db(tmp_path)
    b = SqliteDatabase(tmp_path / "data.db")
    events: list[str] = []
    holding = asyncio.Event()

    async def holder() -> None:
        async with a.transaction() as tx:
            await tx.execute(ir.Insert("t", {"id": ir.Param("a"), "n": ir.Param(1)}))
            holding.set()
            await asyncio.sleep(0.2)  # needs the loop while b waits for the lock
            events.append("a commits")

    async def waiter() -> None:
        await holding.wait()
        async with b.transaction() as tx:
            events.append("b begins")
            await tx.execute(ir.Insert("t", {"id": ir.Param("b"), "n": ir.Param(2)}))

    await asyncio.wait_for(asyncio.gather(holder(), waiter()), 5)
    assert events == ["a commits", "b begins"]
    assert [r["id"] for r in await b.executor().fetch_all(_ids())] == ["a", "b"]
    await a.close()
    await b.close()


async def test_write_lock_wait_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from satchel.adapters.db import sqlite as adapter
    from satchel.ports.database import DatabaseError

    monkeypatch.setattr(adapter, "BUSY_TIMEOUT_S", 0.05)
    a = await _db(tmp_path)
    b = SqliteDatabase(tmp_path / "data.db")
    async with a.transaction():
        with pytest.raises(DatabaseError, match="locked"):
            async with b.transaction():
                pass
        await asyncio.sleep(0)
    async with b.transaction() as tx:  # free again once a is done
        await tx.execute(ir.Insert("t", {"id": ir.Param("b"), "n": ir.Param(2)}))
    await a.close()
    await b.close()


async def test_commits_leave_checkpointing_to_the_background_thread(tmp_path: Path) -> None:
    from satchel.adapters.db.sqlite import Checkpointer

    db = await _db(tmp_path)
    assert db.checkpointer is not None
    db.checkpointer.close()  # stop the thread so the WAL is observed as the commits left it
    db.checkpointer = None
    for i in range(500):
        async with db.transaction() as tx:
            await tx.execute(ir.Insert("t", {"id": ir.Param(f"r{i}"), "n": ir.Param(i)}))
    checker = Checkpointer(str(tmp_path / "data.db"), interval=3600)
    busy, frames, done = checker.checkpoint()
    # SQLite's automatic checkpoint at 1,000 pages would have restarted the WAL on the way
    assert busy == 0 and done == frames > 1000
    checker.close()
    await db.close()


def _commits(db: SqliteDatabase) -> list[str]:
    seen: list[str] = []
    db._writer.raw.set_trace_callback(lambda sql: seen.append(sql) if sql == "COMMIT" else None)
    return seen


async def test_writers_queued_behind_another_process_share_one_commit(tmp_path: Path) -> None:
    """Queued transactions join the first one's BEGIN; a failing member loses only its own write."""
    import asyncio

    a = await _db(tmp_path)
    b = SqliteDatabase(tmp_path / "data.db")
    commits = _commits(b)
    holding, release = asyncio.Event(), asyncio.Event()

    async def other_process() -> None:
        async with a.transaction() as tx:
            await tx.execute(ir.Insert("t", {"id": ir.Param("x"), "n": ir.Param(0)}))
            holding.set()
            await release.wait()

    async def write(i: int) -> str:
        async with b.transaction() as tx:
            await tx.execute(ir.Insert("t", {"id": ir.Param(f"r{i}"), "n": ir.Param(i)}))
            if i == 2:
                raise RuntimeError("member 2 fails")
            # a duplicate of an earlier member's uncommitted row is seen as such
            if i == 4:
                await tx.execute(ir.Insert("t", {"id": ir.Param("dup"), "n": ir.Param(1)}))
        return f"r{i}"

    holder = asyncio.create_task(other_process())
    await holding.wait()
    writers = [asyncio.create_task(write(i)) for i in range(1, 6)]
    await asyncio.sleep(0.05)  # all five are now waiting: one for SQLite's lock, four behind it
    assert not any(w.done() for w in writers)
    release.set()
    results = await asyncio.gather(*writers, return_exceptions=True)
    await holder
    assert [type(r).__name__ if isinstance(r, BaseException) else r for r in results] == [
        "r1",
        "RuntimeError",
        "r3",
        "IntegrityError",  # n=1 is member 1's uncommitted row: the unique index sees it
        "r5",
    ]
    assert [r["id"] for r in await b.executor().fetch_all(_ids())] == ["r1", "r3", "r5", "x"]
    assert commits == ["COMMIT"]  # four successful members, one transaction
    await a.close()
    await b.close()


async def test_a_group_commits_when_its_last_queued_writer_is_cancelled(tmp_path: Path) -> None:
    import asyncio

    a = await _db(tmp_path)
    b = SqliteDatabase(tmp_path / "data.db")
    holding, release = asyncio.Event(), asyncio.Event()
    inside, proceed = asyncio.Event(), asyncio.Event()

    async def other_process() -> None:
        async with a.transaction():
            holding.set()
            await release.wait()

    async def first() -> None:
        async with b.transaction() as tx:
            await tx.execute(ir.Insert("t", {"id": ir.Param("first"), "n": ir.Param(1)}))
            inside.set()
            await proceed.wait()  # the group stays open: a sibling is queued

    async def second() -> None:
        async with b.transaction() as tx:
            await tx.execute(ir.Insert("t", {"id": ir.Param("second"), "n": ir.Param(2)}))

    holder = asyncio.create_task(other_process())
    await holding.wait()
    one = asyncio.create_task(first())
    await asyncio.sleep(0.01)
    two = asyncio.create_task(second())
    await asyncio.sleep(0.01)
    release.set()
    await inside.wait()
    proceed.set()
    await asyncio.sleep(0)  # `first` releases the lock to `second` ...
    two.cancel()  # ... which is cancelled before it runs
    await asyncio.wait_for(one, 2)
    with pytest.raises(asyncio.CancelledError):
        await two
    await holder
    assert [r["id"] for r in await b.executor().fetch_all(_ids())] == ["first"]
    async with a.transaction() as tx:  # and SQLite's write lock is free again
        await tx.execute(ir.Insert("t", {"id": ir.Param("later"), "n": ir.Param(3)}))
    await a.close()
    await b.close()
