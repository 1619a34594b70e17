"""Persistence of collections in the `_collections` table (and the `_params` key/value table)."""

from __future__ import annotations

from typing import Any

from satchel.core.collections.model import Collection
from satchel.core.fields.registry import field_from_json
from satchel.core.params import PARAMS_TABLE
from satchel.core.secrets_at_rest import Secrets
from satchel.ports.database import Executor
from satchel.tools.jsonutil import dumps, loads
from satchel.tools.sql import ir

COLLECTIONS_TABLE = "_collections"

COLLECTIONS_DDL = ir.CreateTable(
    COLLECTIONS_TABLE,
    (
        ir.ColumnDef("id", "TEXT", primary_key=True),
        ir.ColumnDef("system", "BOOLEAN", default=False),
        ir.ColumnDef("type", "TEXT", default="base"),
        ir.ColumnDef("name", "TEXT"),
        ir.ColumnDef("fields", "JSON", default="[]"),
        ir.ColumnDef("indexes", "JSON", default="[]"),
        ir.ColumnDef("listRule", "TEXT", not_null=False),
        ir.ColumnDef("viewRule", "TEXT", not_null=False),
        ir.ColumnDef("createRule", "TEXT", not_null=False),
        ir.ColumnDef("updateRule", "TEXT", not_null=False),
        ir.ColumnDef("deleteRule", "TEXT", not_null=False),
        ir.ColumnDef("options", "JSON", default="{}"),
        ir.ColumnDef("created", "TEXT", default=""),
        ir.ColumnDef("updated", "TEXT", default=""),
    ),
)
COLLECTIONS_NAME_INDEX = ir.CreateIndex(
    "idx__collections_name", COLLECTIONS_TABLE, (ir.IndexColumn("name", collate="NOCASE"),), unique=True
)
PARAMS_DDL = ir.CreateTable(
    PARAMS_TABLE,
    (
        ir.ColumnDef("id", "TEXT", primary_key=True),
        # TEXT, not PocketBase's JSON: values are plain strings too (the app secret, the schema
        # version), which PostgreSQL's jsonb refuses and SQLite's JSON (numeric) affinity mangles
        ir.ColumnDef("value", "TEXT", not_null=False),
        ir.ColumnDef("created", "TEXT", default=""),
        ir.ColumnDef("updated", "TEXT", default=""),
    ),
)


def from_row(row: dict[str, Any], secrets: Secrets | None = None) -> Collection:
    """A collection from its row; with `secrets`, sealed OAuth2 client secrets are opened (without,
    as `migrate-data` reads rows it copies verbatim, they are left sealed)."""
    options = loads(row["options"] or "{}")
    c = Collection(
        id=row["id"],
        name=row["name"],
        type=row["type"],
        system=bool(row["system"]),
        fields=[field_from_json(f) for f in loads(row["fields"] or "[]")],
        indexes=list(loads(row["indexes"] or "[]")),
        listRule=row["listRule"],
        viewRule=row["viewRule"],
        createRule=row["createRule"],
        updateRule=row["updateRule"],
        deleteRule=row["deleteRule"],
        created=row["created"],
        updated=row["updated"],
    )
    c.search = options.pop("search", None)
    if c.type == "view":
        c.view_query = str(options.get("viewQuery", ""))
    elif c.type == "auth":
        c.auth = dict(options) if secrets is None else secrets.open_auth(options, c.name)
    return c


def to_values(c: Collection, secrets: Secrets | None = None) -> dict[str, ir.Expr]:
    options: dict[str, Any] = {"viewQuery": c.view_query} if c.is_view else dict(c.auth) if c.is_auth else {}
    if c.is_auth and secrets is not None:
        options = secrets.seal_auth(options)
    if c.search is not None:
        options["search"] = c.search
    return {
        "id": ir.Param(c.id),
        "system": ir.Param(1 if c.system else 0),
        "type": ir.Param(c.type),
        "name": ir.Param(c.name),
        "fields": ir.Param(dumps([f.to_json() for f in c.fields]).decode()),
        "indexes": ir.Param(dumps(c.indexes).decode()),
        "listRule": ir.Param(c.listRule),
        "viewRule": ir.Param(c.viewRule),
        "createRule": ir.Param(c.createRule),
        "updateRule": ir.Param(c.updateRule),
        "deleteRule": ir.Param(c.deleteRule),
        "options": ir.Param(dumps(options).decode()),
        "created": ir.Param(c.created),
        "updated": ir.Param(c.updated),
    }


async def load_all(ex: Executor, secrets: Secrets | None = None) -> list[Collection]:
    rows = await ex.fetch_all(
        ir.Select(
            (ir.Star(COLLECTIONS_TABLE),), ir.Table(COLLECTIONS_TABLE), order_by=(ir.OrderBy(ir.InsertionOrder()),)
        )
    )
    return [from_row(r, secrets or Secrets()) for r in rows]


async def save(ex: Executor, c: Collection, secrets: Secrets | None = None) -> None:
    values = to_values(c, secrets)
    n = await ex.execute(ir.Update(COLLECTIONS_TABLE, values, ir.eq(ir.col("id"), ir.Param(c.id))))
    if n == 0:
        await ex.execute(ir.Insert(COLLECTIONS_TABLE, values))


async def delete(ex: Executor, collection_id: str) -> None:
    await ex.execute(ir.Delete(COLLECTIONS_TABLE, ir.eq(ir.col("id"), ir.Param(collection_id))))
