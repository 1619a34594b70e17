"""The EventSink port: where committed record changes go out of Satchel (issue 8, "events out").

Every committed create, update and delete is first written to a transactional outbox in the same
transaction as the change (so a change is never published without being committed, nor committed
without being published eventually). A dispatcher then hands batches of outbox events to each
configured sink, in outbox order, and advances that sink's cursor only when `publish` returned:
delivery is at least once, so consumers deduplicate by `OutboxEvent.id`.

Adapters: webhooks (HTTP, HMAC-signed), NATS JetStream, RabbitMQ, Redis Streams.

Configuration (boot, fixed for the process lifetime): `satchel serve --event-sink URL` (repeatable)
or `SATCHEL_EVENT_SINKS="URL URL ..."` (whitespace-separated), kept in `BootConfig.event_sinks`.
Each URL becomes a sink through `satchel.adapters.event_sinks.sink_from_url(url) -> EventSink`
(nats://, amqp://, redis://...); a sink's `name` must be stable across restarts (its cursor is kept
under that name), so derive it from the URL without its password. Webhooks are sinks too, but
configured at run time through `/api/webhooks` (the `satchel.plugins.events` plugin), one cursor each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class SinkError(Exception):
    """The sink did not take the batch (unreachable, refused, timed out): it will be retried."""


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: int
    """Increasing in commit order within one deployment and never given to two events, even across
    a backup restore (gaps are possible); the deduplication key for consumers."""
    action: str
    """`create`, `update` or `delete`."""
    collection_id: str
    collection_name: str
    record_id: str
    record: bytes
    """The record as JSON (the values committed, hidden fields included: sinks are server-side)."""
    created: str
    """When the change was committed (PocketBase's datetime format, UTC)."""


class EventSink(Protocol):
    name: str
    """Unique per configured sink; the dispatcher keeps one cursor per name."""

    async def publish(self, events: Sequence[OutboxEvent]) -> None:
        """Deliver `events` in order, or raise SinkError having delivered a prefix at most."""
        ...

    async def close(self) -> None: ...
