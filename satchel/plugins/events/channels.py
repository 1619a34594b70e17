"""One channel per sink: its cursor, its failures and when it may try again.

A broker sink takes batches and is retried forever (with backoff) when it fails: nothing is
skipped, so a broker restart loses nothing. A webhook takes one event per request; after
`max_attempts` failures the event is dead-lettered and the webhook moves on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from satchel.plugins.events import backoff, outbox_store
from satchel.plugins.events.config import EventsConfig
from satchel.plugins.events.webhooks import store
from satchel.plugins.events.webhooks.sink import WebhookSink, event_body
from satchel.ports.event_sink import EventSink, OutboxEvent, SinkError
from satchel.tools.datetime import now_str
from satchel.tools.ids import random_id

if TYPE_CHECKING:
    from satchel.ports.database import Database

log = logging.getLogger("satchel.events")


@dataclass(slots=True)
class Channel:
    sink: EventSink
    cursor: int
    failures: int = 0
    due: float = 0.0
    """Monotonic time before which the channel waits (backing off after a failure)."""
    last_error: str = field(default="")

    @property
    def name(self) -> str:
        return self.sink.name

    def failed(self, config: EventsConfig, error: str) -> None:
        self.failures += 1
        self.last_error = error
        self.due = time.monotonic() + backoff.delay(self.failures, config.backoff_base, config.backoff_cap)

    async def step(self, db: Database, config: EventsConfig, events: list[OutboxEvent]) -> bool:
        """Hand `events` (newer than the cursor) to the sink; True when the cursor moved."""
        try:
            await self.sink.publish(events)
        except Exception as exc:  # a sink bug must not stop the other sinks
            if not isinstance(exc, SinkError):
                log.exception("event sink %s failed", self.name)
            self.failed(config, str(exc) or type(exc).__name__)
            log.warning("event sink %s: %s (retry %d)", self.name, self.last_error, self.failures)
            return False
        self.failures = 0
        self.cursor = events[-1].id
        async with db.transaction() as tx:
            await outbox_store.set_cursor(tx, self.name, self.cursor, now_str())
        return True


@dataclass(slots=True)
class WebhookChannel(Channel):
    async def step(self, db: Database, config: EventsConfig, events: list[OutboxEvent]) -> bool:
        sink = self.sink
        assert isinstance(sink, WebhookSink)
        start = self.cursor
        for event in events:
            if not sink.wants(event):
                self.cursor = event.id
                continue
            if not await self._deliver(db, config, sink, event):
                break
        if self.cursor != start:  # skipped events too (delivered ones are saved as they go)
            async with db.transaction() as tx:
                await outbox_store.set_cursor(tx, self.name, self.cursor, now_str())
        return self.cursor != start

    async def _deliver(self, db: Database, config: EventsConfig, sink: WebhookSink, event: OutboxEvent) -> bool:
        """One attempt; True when the webhook moves past `event` (delivered or dead-lettered)."""
        body = event_body(event)
        attempt = await sink.attempt(event.id, body, self.failures + 1)
        async with db.transaction() as tx:
            await store.add_attempt(tx, attempt)
            if not attempt.error:
                self.failures = 0
                self.cursor = event.id
                await outbox_store.set_cursor(tx, self.name, event.id, attempt.created)
                return True
            if attempt.attempt < config.max_attempts:
                self.failed(config, attempt.error)
                return False
            letter = store.DeadLetter(
                id=random_id(),
                webhook_id=sink.hook.id,
                event_id=event.id,
                event=body,
                attempts=attempt.attempt,
                error=attempt.error,
                created=attempt.created,
            )
            await store.add_dead_letter(tx, letter)
            await outbox_store.set_cursor(tx, self.name, event.id, attempt.created)
        log.warning(
            "webhook %s: event %d dead-lettered after %d attempts (%s)",
            sink.hook.id,
            event.id,
            attempt.attempt,
            attempt.error,
        )
        self.failures = 0
        self.cursor = event.id
        return True
