"""Checking the copy against its source, table by table, before it is committed.

Each table is compared by its row count and by a checksum of its ids. The checksum is a sum of
hashes, so it does not depend on the order either database returns rows in (PostgreSQL's and
SQLite's text collations differ) and no id can cancel another out. Both sides are read again
here rather than trusted from the copy loop: a source written to during the copy, or a target
that dropped or altered rows, shows up as a mismatch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from satchel.core.collections.model import Collection
from satchel.core.migrate.rows import pages, stored
from satchel.core.migrate.tables import Plan, TablePlan
from satchel.ports.database import Executor
from satchel.tools.sql import ir

_MODULUS = 1 << 128


@dataclass(frozen=True, slots=True)
class TableCheck:
    name: str
    source_rows: int
    target_rows: int
    source_ids: str = ""
    """Checksum of the ids (empty for views, whose ids may be computed per query)."""
    target_ids: str = ""
    view: bool = False

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_ids == self.target_ids


async def count(ex: Executor, table: str) -> int:
    return int(await ex.fetch_value(ir.Select((ir.Raw("COUNT(*)"),), ir.Table(table))) or 0)


async def id_checksum(ex: Executor, table: str, batch_size: int) -> str:
    total = 0
    async for rows in pages(ex, table, ("id",), batch_size):
        for row in rows:
            digest = hashlib.sha256(str(stored(row["id"])).encode()).digest()
            total = (total + int.from_bytes(digest[:16], "big")) % _MODULUS
    return f"{total:032x}"


async def check_table(source: Executor, target: Executor, table: TablePlan, batch_size: int) -> TableCheck:
    if not table.source_columns:
        return TableCheck(table.name, 0, await count(target, table.name))
    has_id = "id" in table.source_columns
    return TableCheck(
        table.name,
        await count(source, table.name),
        await count(target, table.name),
        await id_checksum(source, table.name, batch_size) if has_id else "",
        await id_checksum(target, table.name, batch_size) if has_id else "",
    )


async def check_view(source: Executor, target: Executor, view: Collection) -> TableCheck:
    return TableCheck(view.name, await count(source, view.name), await count(target, view.name), view=True)


async def check_all(source: Executor, target: Executor, plan: Plan, batch_size: int) -> list[TableCheck]:
    checks = [await check_table(source, target, t, batch_size) for t in plan.tables]
    return checks + [await check_view(source, target, v) for v in plan.views]
