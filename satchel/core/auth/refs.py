"""Rows of the system collections that hang off an auth record (`_otps`, `_mfas`, `_authOrigins`,
`_externalAuths`): found, created and deleted per record.

Each points at its auth record by (collectionRef, recordRef). They are written through the
records service (model hooks, realtime for superusers) like any record, as PocketBase saves them,
and `register` makes them go with their record: deleted when it is, when its collection is, and
(per collection) when the record's password or tokenKey changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from satchel.core.collections.model import Collection
from satchel.core.hooks import CollectionEvent, RecordEvent
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.core.records.upsert import PasswordInput, validate_fields
from satchel.ports.database import Executor
from satchel.tools.datetime import parse_dt
from satchel.tools.ids import random_id
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App

OTPS = "_otps"
MFAS = "_mfas"
AUTH_ORIGINS = "_authOrigins"
EXTERNAL_AUTHS = "_externalAuths"

_REVOKED_BY: dict[str, str | None] = {
    MFAS: "password",  # a started sign-in must not survive a new password
    OTPS: "tokenKey",  # rotated on a new password or email: codes sent before are void
    AUTH_ORIGINS: "password",  # a new password starts a new set of trusted places
    EXTERNAL_AUTHS: None,  # provider links stay until the record goes
}
"""Each system collection, and the record field whose change deletes the record's rows in it."""


def system_collection(app: App, name: str) -> Collection:
    collection = app.collections.get(name)
    if collection is None:  # created at bootstrap; missing only if someone deleted system rows by hand
        raise LookupError(f"the {name} system collection is missing")
    return collection


def _of_record(name: str, record: Record) -> ir.Expr:
    return ir.Binary(
        "AND",
        ir.eq(ir.col(name, "collectionRef"), ir.Param(record.collection_id)),
        ir.eq(ir.col(name, "recordRef"), ir.Param(record.id)),
    )


async def find(app: App, name: str, row_id: str) -> Record | None:
    return await storage.fetch_by_id(app.db.executor(), system_collection(app, name), row_id)


async def find_all(app: App, name: str, record: Record, ex: Executor | None = None) -> list[Record]:
    """The record's rows, newest first."""
    collection = system_collection(app, name)
    rows = await (ex or app.db.executor()).fetch_all(
        ir.Select(
            (ir.Star(name),),
            ir.Table(name),
            where=_of_record(name, record),
            order_by=(ir.OrderBy(ir.col(name, "created"), desc=True), ir.OrderBy(ir.InsertionOrder(), desc=True)),
        )
    )
    return [storage.record_from_row(collection, row) for row in rows]


async def create(app: App, name: str, owner: Record, **values: Any) -> Record:
    """Save a new row for `owner` (validated, with its model hooks) in its own transaction."""
    collection = system_collection(app, name)
    row = Record(collection, {f.name: f.zero() for f in collection.fields})
    row.data.update(id=random_id(), collectionRef=owner.collection_id, recordRef=owner.id, **values)
    async with app.db.transaction() as tx:
        await validate_fields(row, app.records.value_context(row, tx), PasswordInput())
        await app.records.save_record(row, tx)
    return row


async def delete(app: App, rows: list[Record], ex: Executor | None = None) -> None:
    """Delete rows with their model hooks (inside `ex`'s transaction, or a new one)."""
    if not rows:
        return
    if ex is not None:
        for row in rows:
            await app.records.delete_record(row, ex)
        return
    async with app.db.transaction() as tx:
        for row in rows:
            await app.records.delete_record(row, tx)


async def delete_all(app: App, name: str, record: Record, ex: Executor | None = None) -> None:
    await delete(app, await find_all(app, name, record, ex), ex)


def has_expired(row: Record, duration_s: float, now: datetime | None = None) -> bool:
    """More than `duration_s` seconds since the row was created (PocketBase's HasExpired)."""
    created = parse_dt(row.get("created"))
    if created is None:
        return True
    return (now or datetime.now(UTC)) - created > timedelta(seconds=duration_s)


async def delete_of_collection(app: App, name: str, collection_id: str) -> None:
    """Drop every row of a deleted collection's records (their owners are gone with the table)."""
    async with app.db.transaction() as tx:
        await tx.execute(ir.Delete(name, ir.eq(ir.col("collectionRef"), ir.Param(collection_id))))


def register(app: App) -> None:
    """One set of hooks keeps every system collection above consistent with its auth records."""

    async def on_update(e: RecordEvent) -> None:
        await e.next()
        record = e.record
        if not record.collection.is_auth:
            return
        original = record.original or {}
        for name, field in _REVOKED_BY.items():
            if field is not None and original.get(field) != record.get(field):
                await delete_all(app, name, record, app.db.writer())

    async def on_delete(e: RecordEvent) -> None:
        await e.next()
        if e.record.collection.is_auth:
            for name in _REVOKED_BY:
                await delete_all(app, name, e.record, app.db.writer())

    async def on_collection_delete(e: CollectionEvent) -> None:
        await e.next()
        if e.collection.is_auth:
            for name in _REVOKED_BY:
                await delete_of_collection(app, name, e.collection.id)

    app.hooks.on_record_update.bind(on_update, id="satchel:auth-refs")
    app.hooks.on_record_delete.bind(on_delete, id="satchel:auth-refs")
    app.hooks.on_collection_delete.bind(on_collection_delete, id="satchel:auth-refs")
