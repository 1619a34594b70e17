"""The `_totps` table: one authenticator app per auth record (pending until its first code).

An internal table like `_params`, not a collection: PocketBase has no such collection, and the
collection list (what SDKs and the admin UI see) must stay the same as PocketBase's. Every change
that spends something (a time step, a recovery code) is one conditional UPDATE, so two requests
racing with the same code cannot both succeed.

The secret must come back in clear (an authenticator computes codes from it), so it is sealed
with the key ring when one is configured, bound to its row (`SECRET`, see `satchel.core.sealed_columns`),
and stored in clear without a key, as the settings secrets are; it is returned by no API once
enrolment ends. Recovery codes are stored as SHA-256 digests (they are 80 random bits, so a slow
hash adds nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from satchel.core.records.model import Record
from satchel.core.sealed_columns import SealedColumn, check_keys
from satchel.ports.database import Database, Executor
from satchel.tools.datetime import now_str
from satchel.tools.ids import random_id
from satchel.tools.jsonutil import dumps, loads
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App

TABLE = "_totps"
DDL = ir.CreateTable(
    TABLE,
    (
        ir.ColumnDef("id", "TEXT", primary_key=True),
        ir.ColumnDef("collectionRef", "TEXT", default=""),
        ir.ColumnDef("recordRef", "TEXT", default=""),
        ir.ColumnDef("secret", "TEXT", default=""),
        ir.ColumnDef("active", "BOOLEAN", default=False),
        ir.ColumnDef("lastStep", "INTEGER", default=0),
        ir.ColumnDef("recoveryCodes", "JSON", default="[]"),
        ir.ColumnDef("created", "TEXT", default=""),
        ir.ColumnDef("updated", "TEXT", default=""),
    ),
)
INDEX = ir.CreateIndex(
    "idx__totps_record", TABLE, (ir.IndexColumn("collectionRef"), ir.IndexColumn("recordRef")), unique=True
)
SECRET = SealedColumn(TABLE, "secret", "totps", "the authenticator app")
"""Labels `totps.<row id>.secret`: a sealed secret copied onto another record's row does not open."""


@dataclass(frozen=True, slots=True)
class Totp:
    id: str
    secret: str = field(repr=False)
    """In clear, to compute codes with ("" when the stored one cannot be opened: see `secret_error`)."""
    active: bool
    last_step: int
    recovery_codes: tuple[str, ...]
    """SHA-256 hex digests of the unused recovery codes."""
    secret_error: str = ""
    """Why the stored secret cannot be opened with the configured keys (names key ids, never a
    secret); "" when it can. Recovery codes (digests) still work then."""


async def ensure_table(db: Database, tx: Executor) -> None:
    """Create the table on every boot if missing (databases made before authenticator apps lack it)."""
    if not await db.table_columns(TABLE):
        await tx.ddl(DDL)
        await tx.ddl(INDEX)


async def check_secrets(app: App) -> int:
    """At start, as for webhook secrets: SecretsKeyError (the server does not start) when a secret
    is sealed with a key this process was not given; otherwise how many are stored in clear."""
    return await check_keys(app.db, app.keys, SECRET)


def clear_warning(app: App, in_clear: int) -> str:
    """A note for the operator at start while authenticator secrets are stored in clear ("" when none are)."""
    if not in_clear:
        return ""
    if app.keys.current is None:
        return (
            f"Warning: {in_clear} authenticator app secret(s) are stored in clear in the database: set "
            "SATCHEL_ENCRYPTION_KEY or --encryption-key-file to encrypt them (generate a key with `satchel keys new`)."
        )
    return (
        f"Note: {in_clear} authenticator app secret(s) written before a key was configured are still in clear: "
        "`satchel keys rotate` encrypts them."
    )


def _of(collection_id: str, record_id: str) -> ir.Expr:
    return ir.Binary(
        "AND",
        ir.eq(ir.col("collectionRef"), ir.Param(collection_id)),
        ir.eq(ir.col("recordRef"), ir.Param(record_id)),
    )


async def get(app: App, record: Record) -> Totp | None:
    row = await app.db.executor().fetch_one(
        ir.Select((ir.Star(),), ir.Table(TABLE), where=_of(record.collection_id, record.id), limit=1)
    )
    if row is None:
        return None
    codes = loads(row["recoveryCodes"] or "[]")
    secret, error = SECRET.open_stored(app.keys, str(row["id"]), row["secret"])
    return Totp(
        id=str(row["id"]),
        secret=secret,
        active=bool(row["active"]),
        last_step=int(row["lastStep"] or 0),
        recovery_codes=tuple(str(c) for c in codes) if isinstance(codes, list) else (),
        secret_error=error,
    )


async def is_active(app: App, record: Record) -> bool:
    row = await app.db.executor().fetch_one(
        ir.Select(
            (ir.col("active"),),
            ir.Table(TABLE),
            where=ir.Binary("AND", _of(record.collection_id, record.id), ir.eq(ir.col("active"), ir.Param(1))),
            limit=1,
        )
    )
    return row is not None


async def save_pending(app: App, record: Record, secret: str) -> None:
    """A new, not yet verified secret for `record` (replacing a pending one; never an active one),
    sealed under the current key when there is one."""
    now = now_str()
    row_id = random_id()
    async with app.db.transaction() as tx:
        await tx.execute(
            ir.Delete(
                TABLE,
                ir.Binary("AND", _of(record.collection_id, record.id), ir.eq(ir.col("active"), ir.Param(0))),
            )
        )
        await tx.execute(
            ir.Insert(
                TABLE,
                {
                    "id": ir.Param(row_id),
                    "collectionRef": ir.Param(record.collection_id),
                    "recordRef": ir.Param(record.id),
                    "secret": ir.Param(SECRET.seal(app.keys, row_id, secret)),
                    "active": ir.Param(0),
                    "lastStep": ir.Param(0),
                    "recoveryCodes": ir.Param("[]"),
                    "created": ir.Param(now),
                    "updated": ir.Param(now),
                },
            )
        )


async def _update(app: App, totp: Totp, changes: Mapping[str, ir.Expr], condition: ir.Expr) -> bool:
    values = {**changes, "updated": ir.Param(now_str())}
    where = ir.Binary("AND", ir.eq(ir.col("id"), ir.Param(totp.id)), condition)
    async with app.db.transaction() as tx:
        return await tx.execute(ir.Update(TABLE, values, where)) == 1


async def activate(app: App, totp: Totp, step: int, recovery_digests: list[str]) -> bool:
    """Pending -> active, spending `step`; False when another request activated it first."""
    values: dict[str, ir.Expr] = {
        "active": ir.Param(1),
        "lastStep": ir.Param(step),
        "recoveryCodes": ir.Param(dumps(recovery_digests).decode()),
    }
    return await _update(app, totp, values, ir.eq(ir.col("active"), ir.Param(0)))


async def spend_step(app: App, totp: Totp, step: int) -> bool:
    """Record `step` as used; False when it (or a later one) already was: the code is a replay."""
    return await _update(app, totp, {"lastStep": ir.Param(step)}, ir.Binary("<", ir.col("lastStep"), ir.Param(step)))


async def replace_recovery_codes(app: App, totp: Totp, old: tuple[str, ...], new: list[str]) -> bool:
    """Swap the digest list, only if nobody changed it meanwhile (a code spent twice at once)."""
    condition = ir.eq(ir.col("recoveryCodes"), ir.Param(dumps(list(old)).decode()))
    return await _update(app, totp, {"recoveryCodes": ir.Param(dumps(new).decode())}, condition)


async def delete(app: App, record: Record, ex: Executor | None = None) -> None:
    statement = ir.Delete(TABLE, _of(record.collection_id, record.id))
    if ex is not None:
        await ex.execute(statement)
        return
    async with app.db.transaction() as tx:
        await tx.execute(statement)


async def delete_of_collection(app: App, collection_id: str) -> None:
    async with app.db.transaction() as tx:
        await tx.execute(ir.Delete(TABLE, ir.eq(ir.col("collectionRef"), ir.Param(collection_id))))
