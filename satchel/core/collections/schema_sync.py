"""Applying a collection change to its table, inside the caller's transaction.

Fields are matched by id, so a changed name is a column rename and data survives. Indexes are
dropped first and recreated last, because SQLite refuses to drop an indexed column. A field whose
storage changes shape (single <-> multiple values) is migrated value by value.
"""

from __future__ import annotations

from satchel.core.collections.indexes import parse_index, to_ddl
from satchel.core.collections.model import Collection
from satchel.core.fields.base import Field
from satchel.ports.database import Executor
from satchel.tools.sql import ir


def _index_ddls(c: Collection) -> list[ir.CreateIndex]:
    return [to_ddl(parse_index(sql), c.name) for sql in c.indexes]


async def create_table(ex: Executor, c: Collection) -> None:
    if c.is_view:
        await ex.ddl(ir.CreateView(c.name, c.view_query))
        return
    await ex.ddl(ir.CreateTable(c.name, tuple(f.column() for f in c.fields)))
    for d in _index_ddls(c):
        await ex.ddl(d)


async def drop_table(ex: Executor, c: Collection) -> None:
    await ex.ddl(ir.DropView(c.name) if c.is_view else ir.DropTable(c.name))


async def sync_table(ex: Executor, old: Collection, new: Collection) -> None:
    if old.is_view or new.is_view:
        await drop_table(ex, old)
        await create_table(ex, new)
        return
    for sql in old.indexes:
        await ex.ddl(ir.DropIndex(parse_index(sql).name))
    if old.name != new.name:
        await ex.ddl(ir.RenameTable(old.name, new.name))
    old_by_id = {f.id: f for f in old.fields}
    new_ids = {f.id for f in new.fields}
    for f in old.fields:
        if f.id not in new_ids:
            await ex.ddl(ir.DropColumn(new.name, f.name))
    for f in new.fields:
        before = old_by_id.get(f.id)
        if before is None:
            await ex.ddl(ir.AddColumn(new.name, f.column()))
            continue
        if before.name != f.name:
            await ex.ddl(ir.RenameColumn(new.name, before.name, f.name))
        renamed = _renamed(before, f.name)
        if renamed.type != f.type or renamed.column() != f.column():
            await _replace_column(ex, new.name, renamed, f)
    for d in _index_ddls(new):
        await ex.ddl(d)


def _renamed(field: Field, name: str) -> Field:
    return type(field).from_json({**field.to_json(), "name": name})


async def _replace_column(ex: Executor, table: str, before: Field, after: Field) -> None:
    """Recreate a column whose storage changed, converting each value through the fields."""
    tmp = f"{after.name}__old"
    await ex.ddl(ir.RenameColumn(table, after.name, tmp))
    await ex.ddl(ir.AddColumn(table, after.column()))
    rows = await ex.fetch_all(ir.Select((ir.col("id"), ir.Alias(ir.col(tmp), "v")), ir.Table(table)))
    same_type = before.type == after.type
    for row in rows:
        if not same_type:
            continue  # a type change starts from the new field's zero value, as in PocketBase
        value = after.coerce(before.from_db(row["v"]))
        await ex.execute(
            ir.Update(table, {after.name: ir.Param(after.to_db(value))}, ir.eq(ir.col("id"), ir.Param(row["id"])))
        )
    await ex.ddl(ir.DropColumn(table, tmp))
