"""Moving records between rows and `Record` objects, and the plain statements on one table."""

from __future__ import annotations

import functools
from typing import Any

from satchel.core.collections.model import Collection
from satchel.core.records.model import Record
from satchel.core.records.plans import decoder
from satchel.core.records.sealed_fields import open_into, seal_into, sealed_fields
from satchel.ports.database import Executor, Row
from satchel.tools.sql import ir


def record_from_row(collection: Collection, row: Row) -> Record:
    data: dict[str, Any] = {}
    for name, convert in decoder(collection):
        raw = row.get(name)
        # text-like columns already hold their final value: no per-field call on the hot path
        data[name] = raw if convert is None and type(raw) is str else _convert(collection, name, convert, raw)
    sealed = sealed_fields(collection)
    if sealed:
        open_into(collection, sealed, data, row)
    return Record(collection, data, dict(data))


def _convert(collection: Collection, name: str, convert: Any, raw: Any) -> Any:
    if convert is not None:
        return convert(raw)
    field = collection.field(name)
    return field.from_db(raw) if field is not None else raw


def row_from_record(record: Record) -> dict[str, ir.Expr]:
    """The stored values of a record's columns: encrypted fields sealed, with their blind indexes."""
    values: dict[str, ir.Expr] = {}
    for f in record.collection.fields:
        values[f.name] = ir.Param(f.to_db(record.data.get(f.name, f.zero())))
    sealed = sealed_fields(record.collection)
    if sealed:
        for name, value in seal_into(record.collection, sealed, record.id, record.data).items():
            values[name] = ir.Param(value)
    return values


def probe_columns(record: Record) -> tuple[ir.Alias, ...]:
    """A record's unsaved values as the columns of a one-row table that rules are evaluated on (the
    create rule, realtime visibility): the columns a stored row has, blind indexes included."""
    return tuple(ir.Alias(value, name) for name, value in row_from_record(record).items())


@functools.lru_cache(maxsize=1024)
def _by_id_prepared(name: str) -> ir.Select:
    where = ir.eq(ir.col(name, "id"), ir.Slot(0))
    return ir.Select((ir.Star(name),), ir.Table(name), where=where, limit=1)


def by_id(collection: Collection, record_id: str, extra: ir.Expr | None = None) -> ir.Select:
    where: ir.Expr = ir.eq(ir.col(collection.name, "id"), ir.Param(record_id))
    if extra is not None:
        where = ir.Binary("AND", where, extra)
    return ir.Select((ir.Star(collection.name),), ir.Table(collection.name), where=where, limit=1)


async def fetch_by_id(
    ex: Executor, collection: Collection, record_id: str, extra: ir.Expr | None = None
) -> Record | None:
    if extra is None:  # the hot path: one prepared statement per collection
        row = await ex.fetch_one_prepared(_by_id_prepared(collection.name), (record_id,))
        return record_from_row(collection, row) if row is not None else None
    row = await ex.fetch_one(by_id(collection, record_id, extra))
    return record_from_row(collection, row) if row is not None else None


async def fetch_by_ids(
    ex: Executor, collection: Collection, ids: list[str], extra: ir.Expr | None = None
) -> list[Record]:
    if not ids:
        return []
    where: ir.Expr = ir.InList(ir.col(collection.name, "id"), tuple(ir.Param(i) for i in ids))
    if extra is not None:
        where = ir.Binary("AND", where, extra)
    rows = await ex.fetch_all(ir.Select((ir.Star(collection.name),), ir.Table(collection.name), where=where))
    return [record_from_row(collection, r) for r in rows]


async def existing_ids(ex: Executor, collection: Collection, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    rows = await ex.fetch_all(
        ir.Select(
            (ir.col("id"),),
            ir.Table(collection.name),
            where=ir.InList(ir.col("id"), tuple(ir.Param(i) for i in ids)),
        )
    )
    return {str(r["id"]) for r in rows}


async def insert(ex: Executor, record: Record) -> None:
    await ex.execute(ir.Insert(record.collection.name, row_from_record(record)))


async def update(ex: Executor, record: Record) -> None:
    values = row_from_record(record)
    original_id = (record.original or {}).get("id", record.id)
    await ex.execute(ir.Update(record.collection.name, values, ir.eq(ir.col("id"), ir.Param(original_id))))


async def delete(ex: Executor, record: Record) -> None:
    await ex.execute(ir.Delete(record.collection.name, ir.eq(ir.col("id"), ir.Param(record.id))))
