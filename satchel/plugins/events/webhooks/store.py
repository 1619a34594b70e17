"""The webhook tables: `_webhooks` (the configured endpoints), `_webhookAttempts` (every delivery
attempt, for the dashboard) and `_webhookDeadLetters` (events given up on, kept for replay).

Internal tables, not collections: PocketBase has none of them and its collection list must stay
identical. The signing secret is sealed with the key ring when one is configured (`SECRET`),
opened on every read (it must be usable to sign) and never answered.

Whoever reads a webhook's secret can sign events its receiver trusts, so a database dump or a
backup must not hand it out. Without a key the secret is stored in clear, as settings secrets are,
and a sealed one then cannot be used: at start that stops the server (`SecretsKeyError`, naming the
key and the fix); met later (a sibling started with another key, a restored backup) it fails that
webhook's deliveries with the reason instead of signing with something else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from satchel.core.sealed_columns import SealedColumn
from satchel.ports.database import Database, Executor, Row
from satchel.tools.jsonutil import JSONDecodeError, dumps, loads
from satchel.tools.keyring import KeyRing
from satchel.tools.sql import ir

WEBHOOKS = "_webhooks"
ATTEMPTS = "_webhookAttempts"
DEAD_LETTERS = "_webhookDeadLetters"
SECRET = SealedColumn(WEBHOOKS, "secret", "webhooks", "the webhook")
"""The signing secret's column; each value is bound to `webhooks.<id>.secret`."""

_TABLES = (
    ir.CreateTable(
        WEBHOOKS,
        (
            ir.ColumnDef("id", "TEXT", primary_key=True),
            ir.ColumnDef("name", "TEXT", default=""),
            ir.ColumnDef("url", "TEXT", default=""),
            ir.ColumnDef("collections", "JSON", default="[]"),
            ir.ColumnDef("actions", "JSON", default="[]"),
            ir.ColumnDef("secret", "TEXT", default=""),
            ir.ColumnDef("active", "BOOLEAN", default=True),
            ir.ColumnDef("created", "TEXT", default=""),
            ir.ColumnDef("updated", "TEXT", default=""),
        ),
    ),
    ir.CreateTable(
        ATTEMPTS,
        (
            ir.ColumnDef("id", "TEXT", primary_key=True),
            ir.ColumnDef("webhookId", "TEXT", default=""),
            ir.ColumnDef("eventId", "INTEGER", default=0),
            ir.ColumnDef("attempt", "INTEGER", default=0),
            ir.ColumnDef("status", "INTEGER", default=0),
            ir.ColumnDef("error", "TEXT", default=""),
            ir.ColumnDef("durationMs", "REAL", default=0),
            ir.ColumnDef("created", "TEXT", default=""),
        ),
    ),
    ir.CreateTable(
        DEAD_LETTERS,
        (
            ir.ColumnDef("id", "TEXT", primary_key=True),
            ir.ColumnDef("webhookId", "TEXT", default=""),
            ir.ColumnDef("eventId", "INTEGER", default=0),
            ir.ColumnDef("event", "TEXT", default="{}"),
            ir.ColumnDef("attempts", "INTEGER", default=0),
            ir.ColumnDef("error", "TEXT", default=""),
            ir.ColumnDef("created", "TEXT", default=""),
        ),
    ),
)
_INDEXES = (
    ir.CreateIndex("idx__webhookAttempts_hook", ATTEMPTS, (ir.IndexColumn("webhookId"), ir.IndexColumn("created"))),
    ir.CreateIndex("idx__webhookDeadLetters_hook", DEAD_LETTERS, (ir.IndexColumn("webhookId"),)),
)


def definitions() -> dict[str, tuple[ir.CreateTable, tuple[ir.CreateIndex, ...]]]:
    """Each table with its indexes (what `migrate-data` creates on a target)."""
    return {t.name: (t, tuple(i for i in _INDEXES if i.table == t.name)) for t in _TABLES}


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    name: str
    url: str
    collections: tuple[str, ...]
    """Collection names or ids whose changes are sent; empty: every collection."""
    actions: tuple[str, ...]
    """`create`, `update`, `delete`; empty: all three."""
    secret: str = field(repr=False)
    """In clear, to sign with ("" when the stored one cannot be opened: see `secret_error`)."""
    active: bool
    created: str
    updated: str
    stored_secret: str = field(default="", repr=False)
    """The column as read: written back unchanged while the secret cannot be opened."""
    secret_error: str = ""
    """Why the stored secret cannot be used (names key ids, never a secret); "" when it can."""

    @property
    def sink_name(self) -> str:
        return f"webhook:{self.id}"

    def to_json(self) -> dict[str, Any]:
        """What the API answers: never the secret."""
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "collections": list(self.collections),
            "actions": list(self.actions),
            "active": self.active,
            "created": self.created,
            "updated": self.updated,
        }


async def ensure_tables(db: Database, ex: Executor) -> None:
    if await db.table_columns(WEBHOOKS):
        return
    for table in _TABLES:
        await ex.ddl(table)
    for index in _INDEXES:
        await ex.ddl(index)


def _strings(raw: Any) -> tuple[str, ...]:
    try:
        items = loads(raw) if isinstance(raw, str | bytes) else raw
    except JSONDecodeError:
        return ()
    return tuple(str(i) for i in items) if isinstance(items, list) else ()


def _webhook(row: Row, keys: KeyRing) -> Webhook:
    stored = "" if row["secret"] is None else str(row["secret"])
    secret, error = SECRET.open_stored(keys, str(row["id"]), stored)
    return Webhook(
        id=str(row["id"]),
        name=str(row["name"]),
        url=str(row["url"]),
        collections=_strings(row["collections"]),
        actions=_strings(row["actions"]),
        secret=secret,
        active=bool(row["active"]),
        created=str(row["created"]),
        updated=str(row["updated"]),
        stored_secret=stored,
        secret_error=error,
    )


def _values(hook: Webhook, keys: KeyRing) -> dict[str, ir.Expr]:
    """The row to write: the secret sealed under the current key (so a row read in clear, or under
    an older key, is sealed anew on save), or as it was stored when it cannot be opened."""
    secret = hook.stored_secret if hook.secret_error else SECRET.seal(keys, hook.id, hook.secret)
    return {
        "id": ir.Param(hook.id),
        "name": ir.Param(hook.name),
        "url": ir.Param(hook.url),
        "collections": ir.Param(dumps(list(hook.collections)).decode()),
        "actions": ir.Param(dumps(list(hook.actions)).decode()),
        "secret": ir.Param(secret),
        "active": ir.Param(hook.active),
        "created": ir.Param(hook.created),
        "updated": ir.Param(hook.updated),
    }


def _by(column: str, value: Any) -> ir.Expr:
    return ir.eq(ir.col(column), ir.Param(value))


async def all_webhooks(ex: Executor, keys: KeyRing) -> list[Webhook]:
    rows = await ex.fetch_all(
        ir.Select(
            (ir.Star(WEBHOOKS),), ir.Table(WEBHOOKS), order_by=(ir.OrderBy(ir.col("created")), ir.OrderBy(ir.col("id")))
        )
    )
    return [_webhook(r, keys) for r in rows]


async def get(ex: Executor, hook_id: str, keys: KeyRing) -> Webhook | None:
    row = await ex.fetch_one(ir.Select((ir.Star(WEBHOOKS),), ir.Table(WEBHOOKS), where=_by("id", hook_id), limit=1))
    return _webhook(row, keys) if row is not None else None


async def insert(ex: Executor, hook: Webhook, keys: KeyRing) -> None:
    await ex.execute(ir.Insert(WEBHOOKS, _values(hook, keys)))


async def update(ex: Executor, hook: Webhook, keys: KeyRing) -> None:
    values = _values(hook, keys)
    del values["id"]
    await ex.execute(ir.Update(WEBHOOKS, values, _by("id", hook.id)))


async def delete(ex: Executor, hook_id: str) -> None:
    await ex.execute(ir.Delete(WEBHOOKS, _by("id", hook_id)))
    await ex.execute(ir.Delete(ATTEMPTS, _by("webhookId", hook_id)))
    await ex.execute(ir.Delete(DEAD_LETTERS, _by("webhookId", hook_id)))


# ---------------------------------------------------------------- attempts and dead letters
@dataclass(frozen=True, slots=True)
class Attempt:
    id: str
    webhook_id: str
    event_id: int
    attempt: int
    status: int
    """The HTTP status answered; 0 when there was no answer (refused, timed out)."""
    error: str
    duration_ms: float
    created: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "webhookId": self.webhook_id,
            "eventId": self.event_id,
            "attempt": self.attempt,
            "status": self.status,
            "success": 200 <= self.status < 300,
            "error": self.error,
            "durationMs": self.duration_ms,
            "created": self.created,
        }


async def add_attempt(ex: Executor, a: Attempt) -> None:
    await ex.execute(
        ir.Insert(
            ATTEMPTS,
            {
                "id": ir.Param(a.id),
                "webhookId": ir.Param(a.webhook_id),
                "eventId": ir.Param(a.event_id),
                "attempt": ir.Param(a.attempt),
                "status": ir.Param(a.status),
                "error": ir.Param(a.error),
                "durationMs": ir.Param(a.duration_ms),
                "created": ir.Param(a.created),
            },
        )
    )


async def attempts(ex: Executor, hook_id: str, limit: int, offset: int) -> tuple[int, list[Attempt]]:
    """One page of a webhook's attempts, newest first, and how many there are."""
    where = _by("webhookId", hook_id)
    total = int(await ex.fetch_value(ir.Select((ir.Raw("COUNT(*)"),), ir.Table(ATTEMPTS), where=where)) or 0)
    rows = await ex.fetch_all(
        ir.Select(
            (ir.Star(ATTEMPTS),),
            ir.Table(ATTEMPTS),
            where=where,
            order_by=(ir.OrderBy(ir.col("created"), desc=True), ir.OrderBy(ir.InsertionOrder(), desc=True)),
            limit=limit,
            offset=offset,
        )
    )
    items = [
        Attempt(
            id=str(r["id"]),
            webhook_id=str(r["webhookId"]),
            event_id=int(r["eventId"]),
            attempt=int(r["attempt"]),
            status=int(r["status"]),
            error=str(r["error"]),
            duration_ms=float(r["durationMs"]),
            created=str(r["created"]),
        )
        for r in rows
    ]
    return total, items


async def delete_attempts_before(ex: Executor, created_before: str) -> int:
    return await ex.execute(ir.Delete(ATTEMPTS, ir.Binary("<", ir.col("created"), ir.Param(created_before))))


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    webhook_id: str
    event_id: int
    event: bytes
    """The request body that was being delivered (the event as JSON)."""
    attempts: int
    error: str
    created: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "webhookId": self.webhook_id,
            "eventId": self.event_id,
            "event": loads(self.event),
            "attempts": self.attempts,
            "error": self.error,
            "created": self.created,
        }


async def add_dead_letter(ex: Executor, d: DeadLetter) -> None:
    await ex.execute(
        ir.Insert(
            DEAD_LETTERS,
            {
                "id": ir.Param(d.id),
                "webhookId": ir.Param(d.webhook_id),
                "eventId": ir.Param(d.event_id),
                "event": ir.Param(d.event.decode()),
                "attempts": ir.Param(d.attempts),
                "error": ir.Param(d.error),
                "created": ir.Param(d.created),
            },
        )
    )


def _dead_letter(r: Row) -> DeadLetter:
    event = r["event"]
    return DeadLetter(
        id=str(r["id"]),
        webhook_id=str(r["webhookId"]),
        event_id=int(r["eventId"]),
        event=event.encode() if isinstance(event, str) else bytes(event),
        attempts=int(r["attempts"]),
        error=str(r["error"]),
        created=str(r["created"]),
    )


async def dead_letters(ex: Executor, hook_id: str) -> list[DeadLetter]:
    rows = await ex.fetch_all(
        ir.Select(
            (ir.Star(DEAD_LETTERS),),
            ir.Table(DEAD_LETTERS),
            where=_by("webhookId", hook_id),
            order_by=(ir.OrderBy(ir.col("eventId")),),
        )
    )
    return [_dead_letter(r) for r in rows]


async def dead_letter(ex: Executor, hook_id: str, letter_id: str) -> DeadLetter | None:
    where = ir.Binary("AND", _by("webhookId", hook_id), _by("id", letter_id))
    row = await ex.fetch_one(ir.Select((ir.Star(DEAD_LETTERS),), ir.Table(DEAD_LETTERS), where=where, limit=1))
    return _dead_letter(row) if row is not None else None


async def delete_dead_letter(ex: Executor, letter_id: str) -> None:
    await ex.execute(ir.Delete(DEAD_LETTERS, _by("id", letter_id)))
