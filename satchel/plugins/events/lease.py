"""One dispatcher per deployment: a lease row in the database, held by renewing it before it expires.

Every process with sinks competes (workers of one server, nodes sharing PostgreSQL); the one whose
conditional UPDATE matched holds the lease until it stops renewing, then another takes over after
`ttl` seconds. Expiry is compared with each process's clock, so nodes need synchronised clocks
(NTP); a skew shortens or lengthens the overlap, and an overlap only means duplicate deliveries,
which at-least-once delivery allows anyway.
"""

from __future__ import annotations

import time

from satchel.ports.database import Database
from satchel.tools.ids import random_string
from satchel.tools.sql import ir

TABLE = "_outboxLease"
NAME = "dispatcher"
DDL = ir.CreateTable(
    TABLE,
    (
        ir.ColumnDef("id", "TEXT", primary_key=True),
        ir.ColumnDef("holder", "TEXT", default=""),
        ir.ColumnDef("expires", "INTEGER", default=0),
    ),
)


class Lease:
    def __init__(self, db: Database, ttl: float) -> None:
        self.db = db
        self.ttl = ttl
        self.holder = random_string(16)
        self.held_until = 0.0
        """Monotonic time until which this process may act as the dispatcher."""

    async def ensure_table(self) -> None:
        async with self.db.transaction() as tx:
            if not await self.db.table_columns(TABLE):
                await tx.ddl(DDL)
            row = await tx.fetch_one(
                ir.Select((ir.col("id"),), ir.Table(TABLE), where=ir.eq(ir.col("id"), ir.Param(NAME)))
            )
            if row is None:
                await tx.execute(
                    ir.Insert(TABLE, {"id": ir.Param(NAME), "holder": ir.Param(""), "expires": ir.Param(0)})
                )

    def held(self) -> bool:
        return time.monotonic() < self.held_until

    async def acquire(self) -> bool:
        """Take or renew the lease; False while another process holds it."""
        now_ms = int(time.time() * 1000)
        started = time.monotonic()
        mine = ir.eq(ir.col("holder"), ir.Param(self.holder))
        expired = ir.Binary("<", ir.col("expires"), ir.Param(now_ms))
        where = ir.Binary("AND", ir.eq(ir.col("id"), ir.Param(NAME)), ir.Binary("OR", mine, expired))
        values: dict[str, ir.Expr] = {
            "holder": ir.Param(self.holder),
            "expires": ir.Param(now_ms + int(self.ttl * 1000)),
        }
        async with self.db.transaction() as tx:
            taken = await tx.execute(ir.Update(TABLE, values, where))
        # measured from before the write: the row may say later, never earlier
        self.held_until = started + self.ttl if taken else 0.0
        return bool(taken)

    async def release(self) -> None:
        """Let another process take over at once (on shutdown)."""
        if not self.held_until:
            return
        self.held_until = 0.0
        where = ir.Binary("AND", ir.eq(ir.col("id"), ir.Param(NAME)), ir.eq(ir.col("holder"), ir.Param(self.holder)))
        async with self.db.transaction() as tx:
            await tx.execute(ir.Update(TABLE, {"holder": ir.Param(""), "expires": ir.Param(0)}, where))
