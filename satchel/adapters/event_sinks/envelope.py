"""The message body every broker sink sends: one JSON object per outbox event.

One shape for NATS, RabbitMQ and Redis so a consumer can move between brokers without rewriting
its decoder. Keys follow PocketBase's record naming (`collectionId`, `collectionName`); the record
is embedded as committed, without re-serialising it (orjson.Fragment copies the bytes as they are).
"""

from __future__ import annotations

import orjson

from satchel.ports.event_sink import OutboxEvent


def encode(event: OutboxEvent) -> bytes:
    return orjson.dumps(
        {
            "id": event.id,
            "action": event.action,
            "collectionId": event.collection_id,
            "collectionName": event.collection_name,
            "recordId": event.record_id,
            "created": event.created,
            "record": orjson.Fragment(event.record),
        }
    )


def routing_key(event: OutboxEvent) -> str:
    """`<collection>.<action>`: collection names are `\\w+` and actions are fixed words, so this is
    always two valid NATS subject tokens and a valid AMQP topic routing key."""
    return f"{event.collection_name}.{event.action}"
