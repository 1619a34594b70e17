"""The `_apiKeys` table: one row per API key, owned by an auth record.

An internal table, not a collection: PocketBase has no such collection, and the collection list
(which SDKs and the admin UI read) must stay identical to PocketBase's. Rows are found by their
public `prefix` (unique index) on every key-authenticated request, and by owner when the owner
goes away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from satchel.core.collections.model import Collection
from satchel.core.fields.text import TextField
from satchel.ports.database import Database, Executor
from satchel.tools.jsonutil import JSONDecodeError, dumps, loads
from satchel.tools.sql import ir

TABLE = "_apiKeys"

DDL = ir.CreateTable(
    TABLE,
    (
        ir.ColumnDef("id", "TEXT", primary_key=True),
        ir.ColumnDef("collectionRef", "TEXT", default=""),
        ir.ColumnDef("recordRef", "TEXT", default=""),
        ir.ColumnDef("name", "TEXT", default=""),
        ir.ColumnDef("prefix", "TEXT", default=""),
        ir.ColumnDef("hash", "TEXT", default=""),
        ir.ColumnDef("scopes", "JSON", default="[]"),
        ir.ColumnDef("expires", "TEXT", default=""),
        ir.ColumnDef("lastUsed", "TEXT", default=""),
        ir.ColumnDef("created", "TEXT", default=""),
        ir.ColumnDef("updated", "TEXT", default=""),
    ),
)
INDEXES = (
    ir.CreateIndex("idx__apiKeys_prefix", TABLE, (ir.IndexColumn("prefix"),), unique=True),
    ir.CreateIndex("idx__apiKeys_owner", TABLE, (ir.IndexColumn("collectionRef"), ir.IndexColumn("recordRef"))),
)

META = Collection(
    id=TABLE,
    name=TABLE,
    fields=[
        TextField(name=name)
        for name in ("id", "collectionRef", "recordRef", "name", "prefix", "expires", "lastUsed", "created", "updated")
    ],
)
"""The table as a pseudo-collection so the one filter resolver serves `GET /api/keys?filter=`.

`hash` and `scopes` are left out: neither can be filtered or sorted on."""

_BY_PREFIX = ir.Select((ir.Star(TABLE),), ir.Table(TABLE), where=ir.eq(ir.col(TABLE, "prefix"), ir.Slot(0)), limit=1)


@dataclass(frozen=True, slots=True)
class StoredScope:
    collection: str
    """A collection id, or `*` for every collection."""
    actions: tuple[str, ...]
    """Record actions in canonical order, or `("*",)` for all of them."""


@dataclass(frozen=True, slots=True)
class KeyRow:
    id: str
    collection_ref: str
    record_ref: str
    name: str
    prefix: str
    hash: str
    scopes: tuple[StoredScope, ...]
    expires: str
    last_used: str
    created: str
    updated: str

    def to_json(self) -> dict[str, Any]:
        """What clients see: never the hash (and the secret is not stored at all)."""
        return {
            "id": self.id,
            "collectionRef": self.collection_ref,
            "recordRef": self.record_ref,
            "name": self.name,
            "prefix": self.prefix,
            "scopes": [{"collection": s.collection, "actions": list(s.actions)} for s in self.scopes],
            "expires": self.expires,
            "lastUsed": self.last_used,
            "created": self.created,
            "updated": self.updated,
        }


def _scopes_from_db(raw: Any) -> tuple[StoredScope, ...]:
    try:
        items = loads(raw or "[]")
    except JSONDecodeError:
        return ()
    out: list[StoredScope] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("collection"), str) and isinstance(item.get("actions"), list):
            out.append(StoredScope(item["collection"], tuple(str(a) for a in item["actions"])))
    return tuple(out)


def scopes_to_db(scopes: tuple[StoredScope, ...]) -> str:
    return dumps([{"collection": s.collection, "actions": list(s.actions)} for s in scopes]).decode()


def from_row(row: dict[str, Any]) -> KeyRow:
    return KeyRow(
        id=str(row["id"]),
        collection_ref=str(row["collectionRef"]),
        record_ref=str(row["recordRef"]),
        name=str(row["name"]),
        prefix=str(row["prefix"]),
        hash=str(row["hash"]),
        scopes=_scopes_from_db(row["scopes"]),
        expires=str(row["expires"] or ""),
        last_used=str(row["lastUsed"] or ""),
        created=str(row["created"]),
        updated=str(row["updated"]),
    )


def _values(key: KeyRow) -> dict[str, ir.Expr]:
    return {
        "id": ir.Param(key.id),
        "collectionRef": ir.Param(key.collection_ref),
        "recordRef": ir.Param(key.record_ref),
        "name": ir.Param(key.name),
        "prefix": ir.Param(key.prefix),
        "hash": ir.Param(key.hash),
        "scopes": ir.Param(scopes_to_db(key.scopes)),
        "expires": ir.Param(key.expires),
        "lastUsed": ir.Param(key.last_used),
        "created": ir.Param(key.created),
        "updated": ir.Param(key.updated),
    }


def _by_id(key_id: str) -> ir.Expr:
    return ir.eq(ir.col(TABLE, "id"), ir.Param(key_id))


def owned_by(collection_ref: str, record_ref: str | None = None) -> ir.Expr:
    """Keys of one record (or, without `record_ref`, of every record of one collection)."""
    cond: ir.Expr = ir.eq(ir.col(TABLE, "collectionRef"), ir.Param(collection_ref))
    if record_ref is not None:
        cond = ir.Binary("AND", cond, ir.eq(ir.col(TABLE, "recordRef"), ir.Param(record_ref)))
    return cond


async def ensure_table(db: Database, ex: Executor) -> None:
    """Create the table on first run, and on databases created before API keys existed."""
    if await db.table_columns(TABLE):
        return
    await ex.ddl(DDL)
    for index in INDEXES:
        await ex.ddl(index)


async def by_prefix(ex: Executor, prefix: str) -> KeyRow | None:
    row = await ex.fetch_one_prepared(_BY_PREFIX, (prefix,))
    return from_row(row) if row is not None else None


async def by_id(ex: Executor, key_id: str, extra: ir.Expr | None = None) -> KeyRow | None:
    where = _by_id(key_id) if extra is None else ir.Binary("AND", _by_id(key_id), extra)
    row = await ex.fetch_one(ir.Select((ir.Star(TABLE),), ir.Table(TABLE), where=where, limit=1))
    return from_row(row) if row is not None else None


async def count(ex: Executor, where: ir.Expr | None) -> int:
    return int(await ex.fetch_value(ir.Select((ir.Raw("COUNT(*)"),), ir.Table(TABLE), where=where)) or 0)


async def page(
    ex: Executor, where: ir.Expr | None, order: tuple[ir.OrderBy, ...], limit: int, offset: int
) -> list[KeyRow]:
    rows = await ex.fetch_all(
        ir.Select(
            (ir.Star(TABLE),),
            ir.Table(TABLE),
            where=where,
            order_by=(*order, ir.OrderBy(ir.InsertionOrder())),
            limit=limit,
            offset=offset,
        )
    )
    return [from_row(r) for r in rows]


async def insert(ex: Executor, key: KeyRow) -> None:
    await ex.execute(ir.Insert(TABLE, _values(key)))


async def update(ex: Executor, key: KeyRow) -> None:
    values = _values(key)
    del values["id"]
    await ex.execute(ir.Update(TABLE, values, _by_id(key.id)))


async def set_last_used(ex: Executor, key_id: str, when: str) -> None:
    await ex.execute(ir.Update(TABLE, {"lastUsed": ir.Param(when)}, _by_id(key_id)))


async def delete(ex: Executor, where: ir.Expr) -> int:
    return await ex.execute(ir.Delete(TABLE, where))
