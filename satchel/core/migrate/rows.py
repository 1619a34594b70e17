"""Streaming one table's rows from the source into the target's open transaction.

Rows are read in pages of `batch_size` by row position (keyset, never OFFSET: each page costs the
same however deep), so memory stays bounded by one page whatever the table's size. Values are
copied as stored: ids, timestamps and password hashes (bcrypt from PocketBase, argon2 from
Satchel) arrive unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from satchel.core.migrate.errors import MigrationError
from satchel.core.migrate.tables import ROWID
from satchel.ports.database import Database, DatabaseError, Executor, IntegrityError, Row
from satchel.tools.sql import ir

DEFAULT_BATCH = 500


async def pages(ex: Executor, table: str, columns: Sequence[str], batch_size: int) -> AsyncIterator[list[Row]]:
    """The rows of `table` (only `columns`), in insertion order, one page at a time."""
    position: Any = None
    select_list: tuple[ir.SelectItem, ...] = (ir.Alias(ir.Raw("rowid"), ROWID), *(ir.col(c) for c in columns))
    while True:
        after = None if position is None else ir.Binary(">", ir.Raw("rowid"), ir.Param(position))
        rows = await ex.fetch_all(
            ir.Select(
                select_list, ir.Table(table), where=after, order_by=(ir.OrderBy(ir.Raw("rowid")),), limit=batch_size
            )
        )
        if not rows:
            return
        position = rows[-1][ROWID]
        for row in rows:
            del row[ROWID]
        yield rows
        if len(rows) < batch_size:
            return


def stored(value: Any) -> Any:
    """A value as the target should store it: text kept as text.

    PocketBase writes some JSON columns (`_params.value`) as SQLite blobs; every Satchel column is
    text, JSON, a number or a boolean, so a blob that is UTF-8 text is written as text (which a
    PostgreSQL JSON column requires, and which Satchel reads back the same).
    """
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode()
        except UnicodeDecodeError:
            return raw
    return value


async def copy_table(
    source: Database,
    tx: Executor,
    table: str,
    columns: Sequence[str],
    batch_size: int,
    on_page: Callable[[int], None],
) -> int:
    """Insert every source row into `table` on the target; returns how many rows were copied."""
    copied = 0
    async for rows in pages(source.executor(), table, columns, batch_size):
        for row in rows:
            try:
                await tx.execute(ir.Insert(table, {c: ir.Param(stored(row[c])) for c in columns}))
            except IntegrityError as exc:
                raise MigrationError(f"{table}: row {row.get('id', '?')!r} breaks a constraint on the target") from exc
            except DatabaseError as exc:
                # the driver's text may quote the value (a password hash): name the row only
                raise MigrationError(f"{table}: row {row.get('id', '?')!r} was refused by the target") from exc
        copied += len(rows)
        on_page(len(rows))
    return copied
