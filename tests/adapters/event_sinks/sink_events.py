"""Outbox events for the sink tests, and the minimal dispatcher the outbox will run for real."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson

from satchel.ports.event_sink import EventSink, OutboxEvent, SinkError

COLLECTIONS = ("posts", "users", "comments_2")
ACTIONS = ("create", "update", "delete")


def event(event_id: int) -> OutboxEvent:
    """An event whose every field depends on its id, so a mixed-up delivery cannot pass for a right one."""
    collection = COLLECTIONS[event_id % len(COLLECTIONS)]
    record = {"id": f"rec{event_id:012d}", "title": f'n°{event_id} ✓ "quoted"', "n": event_id, "tags": [1, None]}
    return OutboxEvent(
        id=event_id,
        action=ACTIONS[event_id // 3 % len(ACTIONS)],
        collection_id=f"pbc_{collection}",
        collection_name=collection,
        record_id=str(record["id"]),
        record=orjson.dumps(record),
        created=f"2026-12-05 07:{event_id // 60 % 60:02d}:{event_id % 60:02d}.123Z",
    )


def events(first: int, last: int) -> list[OutboxEvent]:
    return [event(i) for i in range(first, last + 1)]


def envelope(e: OutboxEvent) -> dict[str, object]:
    """The JSON a consumer decodes for `e` (the documented envelope)."""
    return {
        "id": e.id,
        "action": e.action,
        "collectionId": e.collection_id,
        "collectionName": e.collection_name,
        "recordId": e.record_id,
        "created": e.created,
        "record": orjson.loads(e.record),
    }


def first_seen(ids: Sequence[int]) -> list[int]:
    """The order a consumer deduplicating by id processes events in."""
    seen: set[int] = set()
    out = []
    for i in ids:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


class Dispatcher:
    """Publish batches in order; on SinkError wait and retry the same batch (the outbox's loop)."""

    def __init__(self, sink: EventSink, batch: int, retry_delay: float = 0.2, pause: float = 0.0) -> None:
        self.sink = sink
        self.batch = batch
        self.retry_delay = retry_delay
        self.pause = pause
        self.published = 0
        self.failures = 0

    async def send(self, chunk: Sequence[OutboxEvent]) -> None:
        while True:
            try:
                await self.sink.publish(chunk)
                break
            except SinkError:
                self.failures += 1
                await asyncio.sleep(self.retry_delay)
        self.published += len(chunk)
        if self.pause:
            await asyncio.sleep(self.pause)

    async def run(self, pending: Sequence[OutboxEvent]) -> None:
        for start in range(0, len(pending), self.batch):
            await self.send(pending[start : start + self.batch])
