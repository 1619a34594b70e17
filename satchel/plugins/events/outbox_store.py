"""The `_outbox` table (committed record changes, in commit order) and `_outboxCursors` (how far
each sink has taken them, plus the sequence that numbers the events).

Why a counter row rather than an autoincrement column: on PostgreSQL two transactions can take
sequence values 5 and 6 and commit as 6 then 5; a dispatcher that had already moved its cursor
past 6 would never see 5. Incrementing one row makes each writer hold that row's lock until it
commits, so ids are handed out in commit order (SQLite serialises writers anyway). The lock is
taken as the last statement of the record's write, so it is held only until the commit.

The sequence row is a `KeptCounter`: restoring a backup keeps its live value when that is higher,
so an id handed out after the backup (and maybe delivered) is never given to another event. The
ids then jump over the events the restore took away; the cursors are the backup's, so the events
that were still to be sent when the backup was taken go out again, with the ids they had.
"""

from __future__ import annotations

from dataclasses import dataclass

from satchel.ports.database import Database, Executor, KeptCounter, Row
from satchel.ports.event_sink import OutboxEvent
from satchel.tools.sql import ir

OUTBOX = "_outbox"
CURSORS = "_outboxCursors"
SEQUENCE = "#sequence"
"""The `_outboxCursors` row whose position is the id of the newest event written."""

OUTBOX_DDL = ir.CreateTable(
    OUTBOX,
    (
        ir.ColumnDef("id", "INTEGER", primary_key=True),
        ir.ColumnDef("action", "TEXT", default=""),
        ir.ColumnDef("collectionId", "TEXT", default=""),
        ir.ColumnDef("collectionName", "TEXT", default=""),
        ir.ColumnDef("recordId", "TEXT", default=""),
        ir.ColumnDef("record", "TEXT", default="{}"),
        ir.ColumnDef("created", "TEXT", default=""),
    ),
)
CURSORS_DDL = ir.CreateTable(
    CURSORS,
    (
        ir.ColumnDef("id", "TEXT", primary_key=True),
        ir.ColumnDef("position", "INTEGER", default=0),
        ir.ColumnDef("updated", "TEXT", default=""),
    ),
)

SEQUENCE_KEPT = KeptCounter(CURSORS_DDL, "id", SEQUENCE, "position")
"""What `App.kept_on_restore` holds for the outbox (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class Cursor:
    name: str
    position: int


async def ensure_tables(db: Database, ex: Executor) -> None:
    if not await db.table_columns(OUTBOX):
        await ex.ddl(OUTBOX_DDL)
    if not await db.table_columns(CURSORS):
        await ex.ddl(CURSORS_DDL)
    if await get_cursor(ex, SEQUENCE) is None:
        await ex.execute(ir.Insert(CURSORS, {"id": ir.Param(SEQUENCE), "position": ir.Param(0)}))


_BUMP = ir.Update(
    CURSORS,
    {"position": ir.Binary("+", ir.col("position"), ir.Param(1))},
    ir.eq(ir.col("id"), ir.Param(SEQUENCE)),
)
_CURSOR = ir.Select((ir.col("position"),), ir.Table(CURSORS), where=ir.eq(ir.col("id"), ir.Slot(0)), limit=1)


async def append(
    tx: Executor, action: str, collection_id: str, collection_name: str, record_id: str, record: str, created: str
) -> int:
    """Write one event inside the caller's transaction; returns its id."""
    await tx.execute(_BUMP)
    row = await tx.fetch_one_prepared(_CURSOR, (SEQUENCE,))
    event_id = int(row["position"]) if row is not None else 0
    await tx.execute(
        ir.Insert(
            OUTBOX,
            {
                "id": ir.Param(event_id),
                "action": ir.Param(action),
                "collectionId": ir.Param(collection_id),
                "collectionName": ir.Param(collection_name),
                "recordId": ir.Param(record_id),
                "record": ir.Param(record),
                "created": ir.Param(created),
            },
        )
    )
    return event_id


def _event(row: Row) -> OutboxEvent:
    record = row["record"]
    return OutboxEvent(
        id=int(row["id"]),
        action=str(row["action"]),
        collection_id=str(row["collectionId"]),
        collection_name=str(row["collectionName"]),
        record_id=str(row["recordId"]),
        record=record.encode() if isinstance(record, str) else bytes(record),
        created=str(row["created"]),
    )


async def after(ex: Executor, position: int, limit: int) -> list[OutboxEvent]:
    """Up to `limit` events newer than `position`, oldest first."""
    rows = await ex.fetch_all(
        ir.Select(
            (ir.Star(OUTBOX),),
            ir.Table(OUTBOX),
            where=ir.Binary(">", ir.col("id"), ir.Param(position)),
            order_by=(ir.OrderBy(ir.col("id")),),
            limit=limit,
        )
    )
    return [_event(r) for r in rows]


async def by_id(ex: Executor, event_id: int) -> OutboxEvent | None:
    row = await ex.fetch_one(
        ir.Select((ir.Star(OUTBOX),), ir.Table(OUTBOX), where=ir.eq(ir.col("id"), ir.Param(event_id)), limit=1)
    )
    return _event(row) if row is not None else None


async def get_cursor(ex: Executor, name: str) -> int | None:
    row = await ex.fetch_one_prepared(_CURSOR, (name,))
    return int(row["position"]) if row is not None else None


async def cursors(ex: Executor) -> dict[str, int]:
    """Every stored position by name (the sequence included)."""
    rows = await ex.fetch_all(ir.Select((ir.col("id"), ir.col("position")), ir.Table(CURSORS)))
    return {str(r["id"]): int(r["position"]) for r in rows}


async def head(ex: Executor) -> int:
    """The id of the newest event written (0 before the first)."""
    return await get_cursor(ex, SEQUENCE) or 0


async def set_cursor(ex: Executor, name: str, position: int, now: str) -> None:
    values: dict[str, ir.Expr] = {"position": ir.Param(position), "updated": ir.Param(now)}
    if not await ex.execute(ir.Update(CURSORS, values, ir.eq(ir.col("id"), ir.Param(name)))):
        await ex.execute(ir.Insert(CURSORS, {"id": ir.Param(name), **values}))


async def drop_cursor(ex: Executor, name: str) -> None:
    await ex.execute(ir.Delete(CURSORS, ir.eq(ir.col("id"), ir.Param(name))))


async def delete_taken(ex: Executor, position: int, created_before: str) -> int:
    """Delete events at or below `position` (taken by every sink) committed before `created_before`."""
    where = ir.Binary(
        "AND",
        ir.Binary("<=", ir.col("id"), ir.Param(position)),
        ir.Binary("<", ir.col("created"), ir.Param(created_before)),
    )
    return await ex.execute(ir.Delete(OUTBOX, where))


async def count(ex: Executor) -> int:
    return int(await ex.fetch_value(ir.Select((ir.Raw("COUNT(*)"),), ir.Table(OUTBOX))) or 0)
