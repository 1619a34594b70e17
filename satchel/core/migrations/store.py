"""The `_migrations` table: which migration files this database has applied, and when.

PocketBase's table, column for column (`file` primary key, `applied` in Unix microseconds), so a
database copied from one to the other keeps a readable history.
"""

from __future__ import annotations

import time

from satchel.ports.database import Database, Executor
from satchel.tools.sql import ir

MIGRATIONS_TABLE = "_migrations"

DDL = ir.CreateTable(
    MIGRATIONS_TABLE,
    (
        ir.ColumnDef("file", "TEXT", primary_key=True),
        ir.ColumnDef("applied", "INTEGER", default=0),
    ),
)


async def ensure_table(db: Database, ex: Executor) -> None:
    """Created on first use: databases made before migrations existed have no such table."""
    if not await db.table_columns(MIGRATIONS_TABLE):
        await ex.ddl(DDL)


async def applied(ex: Executor) -> list[str]:
    """Applied files, most recent last (by time applied, then name: one second holds many)."""
    rows = await ex.fetch_all(
        ir.Select(
            (ir.col("file"),),
            ir.Table(MIGRATIONS_TABLE),
            order_by=(ir.OrderBy(ir.col("applied")), ir.OrderBy(ir.col("file"))),
        )
    )
    return [str(r["file"]) for r in rows]


async def is_applied(ex: Executor, file: str) -> bool:
    row = await ex.fetch_one(
        ir.Select((ir.col("file"),), ir.Table(MIGRATIONS_TABLE), where=ir.eq(ir.col("file"), ir.Param(file)))
    )
    return row is not None


async def record(ex: Executor, file: str) -> None:
    await ex.execute(ir.Insert(MIGRATIONS_TABLE, {"file": ir.Param(file), "applied": ir.Param(time.time_ns() // 1000)}))


async def forget(ex: Executor, file: str) -> None:
    await ex.execute(ir.Delete(MIGRATIONS_TABLE, ir.eq(ir.col("file"), ir.Param(file))))
