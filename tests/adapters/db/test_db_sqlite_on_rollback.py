"""On-rollback callbacks: side effects outside the database undone exactly when the write is."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from satchel.adapters.db.sqlite import SqliteDatabase
from satchel.tools.sql import ir


async def _db(tmp_path: Path) -> SqliteDatabase:
    db = SqliteDatabase(tmp_path / "data.db")
    async with db.transaction() as tx:
        await tx.ddl(ir.CreateTable("t", (ir.ColumnDef("id", "TEXT", primary_key=True),)))
    return db


def _recorder(fired: list[str], name: str) -> Callable[[], Awaitable[None]]:
    async def cb() -> None:
        fired.append(name)

    return cb


async def test_outer_rollback_runs_callbacks_newest_first_and_commit_drops_them(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    fired: list[str] = []
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            tx.on_rollback(_recorder(fired, "first"))
            async with db.transaction() as inner:
                inner.on_rollback(_recorder(fired, "nested"))  # released savepoint: still undone by the outer
            raise RuntimeError
    assert fired == ["nested", "first"]
    fired.clear()
    async with db.transaction() as tx:
        tx.on_rollback(_recorder(fired, "committed"))
    assert fired == []
    await db.close()


async def test_a_failing_savepoint_undoes_only_its_own_callbacks(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    fired: list[str] = []
    async with db.transaction() as tx:
        tx.on_rollback(_recorder(fired, "outer"))
        with pytest.raises(RuntimeError):
            async with db.transaction() as inner:
                inner.on_rollback(_recorder(fired, "inner"))
                raise RuntimeError
        assert fired == ["inner"]
    assert fired == ["inner"]  # the outer committed: its callback never runs
    await db.close()


async def test_outside_a_transaction_nothing_is_registered(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    fired: list[str] = []
    db.writer().on_rollback(_recorder(fired, "x"))
    await asyncio.sleep(0)
    assert fired == []
    await db.close()


async def test_a_failing_callback_is_logged_and_the_cause_still_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = await _db(tmp_path)
    fired: list[str] = []

    async def broken() -> None:
        raise OSError("disk gone")

    with caplog.at_level(logging.ERROR), pytest.raises(KeyError):
        async with db.transaction() as tx:
            tx.on_rollback(_recorder(fired, "still runs"))
            tx.on_rollback(broken)
            raise KeyError("cause")
    assert fired == ["still runs"]
    assert "on-rollback callback failed" in caplog.text
    await db.close()
