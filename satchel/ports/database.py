"""The Database port: what core needs from a relational store.

Core builds statements as `satchel.tools.sql.ir` trees; the adapter compiles them with its dialect
and runs them. Transactions nest (savepoints) and know which callbacks to run after the outermost
commit, which is where "after success" hooks and realtime publishing hang.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from satchel.tools.sql import ir

Row = dict[str, Any]


class DatabaseError(Exception):
    """A driver error translated at the adapter boundary."""


class IntegrityError(DatabaseError):
    """A constraint failed (unique index, not null); `column` names the offending column when known."""

    def __init__(self, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


class QueryTimeoutError(DatabaseError):
    """The query ran longer than the configured budget and was interrupted."""


class InvalidCopyError(DatabaseError):
    """A file offered as a database copy is not one this backend can restore (corrupt, foreign)."""


CopyProgress = Callable[[int, int], None]
"""`(units copied, units in all)` while a copy runs; called from a worker thread."""


@dataclass(frozen=True, slots=True)
class KeptCounter:
    """A counter row that a restore must never move back.

    The numbers it handed out may already live outside the database (event ids a broker or a
    webhook receiver has seen), so a restored copy holding an older value would hand them out
    again for other things. The restore takes the live value when it is the higher one, read while
    the restore holds the write lock: no number taken before the swap is missed.
    """

    table: ir.CreateTable
    """The counter's table, created in the restored contents when the copy lacks it."""
    key_column: str
    key: str
    """The counter row's key (`key_column = key`)."""
    value_column: str


class Executor(Protocol):
    """Runs statements on one connection (inside or outside a transaction)."""

    async def fetch_all(self, st: ir.Select) -> list[Row]: ...

    async def fetch_one(self, st: ir.Select) -> Row | None: ...

    async def fetch_value(self, st: ir.Select) -> Any: ...

    async def fetch_one_prepared(self, st: ir.Select, args: tuple[Any, ...]) -> Row | None:
        """Run a statement whose `ir.Slot`s take `args`; it is compiled once and cached."""
        ...

    async def execute(self, st: ir.Statement) -> int:
        """Run a write; returns the number of affected rows."""
        ...

    async def execute_many(self, st: ir.Insert, rows: Sequence[tuple[Any, ...]]) -> int:
        """Run `st` once per row, its `ir.Slot`s taking that row's values; compiled once, sent as one
        batch (log entries are written this way: a few microseconds a row instead of a statement's
        full cost). Returns the number of rows."""
        ...

    async def ddl(self, d: ir.DDL) -> None: ...

    def on_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` after the outermost transaction commits (immediately when outside one)."""
        ...

    def on_rollback(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` if the work done so far is undone: the enclosing savepoint or the outermost
        transaction rolls back, or its commit fails. Never runs after a commit, nor outside a
        transaction (there nothing can be undone). For side effects outside the database, such as
        uploaded files, that must not outlive a write that did not happen. A callback that raises
        is logged, never allowed to replace the error that caused the rollback.
        """
        ...

    @property
    def in_transaction(self) -> bool: ...


class Database(Protocol):
    dialect: str

    def executor(self) -> Executor:
        """The current task's transaction if one is open, else an autocommit reader."""
        ...

    def writer(self) -> Executor:
        """The current transaction, else an autocommit executor on the write connection."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """Open (or nest into) a write transaction; rolls back when the block raises."""
        ...

    async def table_columns(self, table: str) -> list[str]: ...

    async def validate_select(self, select_sql: str) -> list[str]:
        """Check a superuser-written SELECT on a read-only path; returns its column names."""
        ...

    async def snapshot(self, dest: Path, progress: CopyProgress | None = None) -> None:
        """Write a consistent copy of the whole database to the new file `dest`.

        The copy is one point in time: writes committed while it runs (the server keeps taking
        them) are either wholly in it or wholly absent.
        """
        ...

    async def check_copy(self, path: Path, tables: Sequence[str]) -> None:
        """Raise InvalidCopyError unless `path` is an intact copy holding every one of `tables`."""
        ...

    async def read_copy(self, path: Path, query: ir.Select) -> list[Row]:
        """The rows of `query` on the copy `path` (checked with `check_copy`), opened read-only:
        what a restore would bring in can be judged before anything is replaced."""
        ...

    async def restore(
        self, source: Path, progress: CopyProgress | None = None, keep: Sequence[KeptCounter] = ()
    ) -> None:
        """Replace the live contents with those of the copy `source` (checked with `check_copy`).

        Every connection, in this process and in others, sees the restored contents once this
        returns; none sees a mix. `source` is scratch: the backend may rewrite it. Each counter in
        `keep` ends at the higher of its live and copied values, in the same swap.
        """
        ...

    async def close(self) -> None: ...


RowStream = AsyncIterator[Row]


_background: set[asyncio.Future[None]] = set()
_log = logging.getLogger("satchel.db")


def run_detached(callback: Callable[[], Awaitable[None]]) -> None:
    """Run an on-commit callback registered outside a transaction (its write is already committed),
    keeping a reference so the task is not collected mid-flight. Shared by every adapter."""
    task = asyncio.ensure_future(callback())
    _background.add(task)
    task.add_done_callback(_background.discard)


async def run_rollbacks(callbacks: list[Callable[[], Awaitable[None]]], cause: BaseException) -> None:
    """Run on-rollback callbacks, newest first; one that fails is logged so `cause` still surfaces."""
    if isinstance(cause, GeneratorExit):
        return  # the context was abandoned, not rolled back by an error: no awaiting here
    for callback in reversed(callbacks):
        try:
            await callback()
        except Exception:
            _log.exception("on-rollback callback failed")
