"""Writes each record change to the outbox inside the record's own transaction.

Bound to the model hooks (`on_record_create/update/delete`), which run inside the write's
transaction: the event commits or rolls back with the change. Bound only while some sink exists,
so with none the record write path is exactly what it was (an empty hook chain is skipped).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from satchel.core.hooks import RecordEvent
from satchel.core.records.model import Record
from satchel.plugins.events import outbox_store
from satchel.tools.datetime import now_str

if TYPE_CHECKING:
    from satchel.core.app import App

HOOK_ID = "satchel.events.outbox"
SECRET_FIELDS = ("password", "tokenKey")
"""Left out of events: a password hash or a token key must never leave the server."""


def record_json(record: Record) -> str:
    """The committed values, hidden fields included, secrets excluded."""
    data: dict[str, Any] = {
        name: value for name, value in record.data.items() if name not in SECRET_FIELDS or not record.collection.is_auth
    }
    for f in record.collection.fields:
        if f.type == "password":
            data.pop(f.name, None)
    return orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class OutboxWriter:
    def __init__(self, app: App, on_written: Callable[[], None]) -> None:
        self.app = app
        self.on_written = on_written
        """Called after a transaction that wrote events commits (wakes the dispatcher)."""
        self.bound = False

    def enable(self, on: bool) -> None:
        hooks = self.app.hooks
        if on and not self.bound:
            hooks.on_record_create.bind(self._created, id=HOOK_ID, priority=1 << 30)
            hooks.on_record_update.bind(self._updated, id=HOOK_ID, priority=1 << 30)
            hooks.on_record_delete.bind(self._deleted, id=HOOK_ID, priority=1 << 30)
        elif not on and self.bound:
            for hook in (hooks.on_record_create, hooks.on_record_update, hooks.on_record_delete):
                hook.unbind(HOOK_ID)
        self.bound = on

    async def _created(self, e: RecordEvent) -> None:
        await e.next()
        await self._append("create", e.record)

    async def _updated(self, e: RecordEvent) -> None:
        await e.next()
        await self._append("update", e.record)

    async def _deleted(self, e: RecordEvent) -> None:
        await e.next()
        await self._append("delete", e.record)

    async def _append(self, action: str, record: Record) -> None:
        tx = self.app.db.writer()
        await outbox_store.append(
            tx, action, record.collection.id, record.collection.name, record.id, record_json(record), now_str()
        )
        on_written = self.on_written

        async def wake() -> None:
            on_written()

        tx.on_commit(wake)
