"""The events plugin's running parts: outbox writer, dispatcher, webhook service, sync listener."""

from __future__ import annotations

from typing import TYPE_CHECKING

from satchel.core.sealed_columns import check_keys
from satchel.plugins.events import outbox_store
from satchel.plugins.events.config import EventsConfig
from satchel.plugins.events.dispatcher import Dispatcher
from satchel.plugins.events.outbox_writer import OutboxWriter
from satchel.plugins.events.webhooks import store
from satchel.plugins.events.webhooks.service import WebhooksService
from satchel.ports.database import DatabaseError, IntegrityError
from satchel.ports.event_sink import EventSink
from satchel.tools.datetime import now_str
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App


class Events:
    def __init__(self, app: App, config: EventsConfig, sinks: list[EventSink]) -> None:
        self.app = app
        self.config = config
        self.sinks = sinks
        self.webhooks_active = False
        self.dispatcher = Dispatcher(app, config, sinks, self.enabled)
        self.writer = OutboxWriter(app, self.dispatcher.notify)
        self.webhooks = WebhooksService(app, self.refresh, config.webhook_timeout)

    def enabled(self) -> bool:
        return bool(self.sinks) or self.webhooks_active

    async def start(self) -> None:
        """After `app.bootstrap()`: tables, cursors of new boot sinks, then writing and dispatching.

        Raises SecretsKeyError, as the bootstrap does for settings secrets, when a webhook secret is
        sealed with a key this process was not given.
        """
        try:
            await self._prepare()
        except (IntegrityError, DatabaseError):
            await self._prepare()  # a sibling worker created the same tables at the same moment
        await check_keys(self.app.db, self.app.keys, store.SECRET)
        self.app.sync_listeners.append(self.refresh)
        await self.refresh()
        self.dispatcher.start()

    async def _prepare(self) -> None:
        async with self.app.db.transaction() as tx:
            await outbox_store.ensure_tables(self.app.db, tx)
            await store.ensure_tables(self.app.db, tx)
        await self.dispatcher.lease.ensure_table()
        async with self.app.db.transaction() as tx:
            # before this process writes: a new sink starts with the changes committed from now on
            for sink in self.sinks:
                if await outbox_store.get_cursor(tx, sink.name) is None:
                    await outbox_store.set_cursor(tx, sink.name, await outbox_store.head(tx), now_str())

    async def refresh(self) -> None:
        """Write the outbox only while some sink exists (re-run when a sibling changed webhooks)."""
        try:
            active = await self._active_webhooks()
        except DatabaseError:  # a restored backup (PocketBase's, or older) without this plugin's tables
            await self._prepare()
            active = await self._active_webhooks()
        self.webhooks_active = bool(active)
        self.writer.enable(self.enabled())
        if self.enabled():
            self.dispatcher.kick()

    async def _active_webhooks(self) -> int:
        count = await self.app.db.executor().fetch_value(
            ir.Select((ir.Raw("COUNT(*)"),), ir.Table(store.WEBHOOKS), where=ir.eq(ir.col("active"), ir.Param(True)))
        )
        return int(count or 0)

    async def close(self) -> None:
        self.writer.enable(False)
        await self.dispatcher.close()
        for sink in self.sinks:
            await sink.close()
