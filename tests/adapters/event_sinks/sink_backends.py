"""One backend of the event sink suites: a sink URL plus a consumer that reads everything back.

Each backend reads through the broker's own consumer API (a JetStream stream read by sequence, an
AMQP queue drained, XRANGE over the Redis stream), so a test sees what a real consumer would.
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import aio_pika
import orjson
import redis.asyncio
from nats.aio.client import Client as Nats
from nats.js.errors import NotFoundError
from nats_service import nats_url
from required_service import unavailable


@dataclass(frozen=True)
class Received:
    id: int
    """The event id the broker's own metadata carries (Nats-Msg-Id, message_id, entry id)."""
    key: str
    """`<collection>.<action>` as the broker routed it (subject tail, routing key, fields)."""
    envelope: dict[str, object]


class Backend:
    name: str
    dedup_on_server: bool
    """Whether the broker itself drops a re-published event id (JetStream, the Redis stream)."""

    def url(self, **options: str) -> str:
        raise NotImplementedError

    async def read_all(self) -> list[Received]:
        raise NotImplementedError

    async def cleanup(self) -> None:
        raise NotImplementedError


def _query(options: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in options.items())


class NatsBackend(Backend):
    name = "nats"
    dedup_on_server = True

    def __init__(self, server: str, namespace: str) -> None:
        self.server = server
        self.stream = f"T_{namespace}"
        self.prefix = f"satchel-test.{namespace}"

    def url(self, **options: str) -> str:
        return f"{self.server}?" + _query({"stream": self.stream, "prefix": self.prefix, **options})

    async def read_all(self) -> list[Received]:
        nc = Nats()
        await nc.connect(self.server, allow_reconnect=False, max_reconnect_attempts=1)
        try:
            js = nc.jetstream()
            info = await js.stream_info(self.stream)
            out: list[Received] = []
            if info.state.messages == 0:
                return out
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                msg = await js.get_msg(self.stream, seq)
                assert msg.subject is not None and msg.headers is not None and msg.data is not None
                assert msg.subject.startswith(self.prefix + ".")
                out.append(
                    Received(
                        int(msg.headers["Nats-Msg-Id"]),
                        msg.subject.removeprefix(self.prefix + "."),
                        orjson.loads(msg.data),
                    )
                )
            return out
        finally:
            await nc.close()

    async def cleanup(self) -> None:
        nc = Nats()
        await nc.connect(self.server, allow_reconnect=False, max_reconnect_attempts=1)
        try:
            with contextlib.suppress(NotFoundError):
                await nc.jetstream().delete_stream(self.stream)
        finally:
            await nc.close()


class AmqpBackend(Backend):
    name = "amqp"
    dedup_on_server = False

    def __init__(self, server: str, namespace: str) -> None:
        self.server = server
        self.exchange = f"satchel-test.{namespace}"
        self.queue = f"satchel-test.{namespace}.all"

    def url(self, **options: str) -> str:
        return f"{self.server}?" + _query({"exchange": self.exchange, "queue": self.queue, **options})

    async def read_all(self) -> list[Received]:
        connection = await aio_pika.connect(self.server)
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue(self.queue, durable=True, passive=True)
            out = []
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
                assert message.content_type == "application/json"
                assert message.exchange == self.exchange
                assert message.message_id is not None and message.routing_key is not None
                out.append(Received(int(message.message_id), message.routing_key, orjson.loads(message.body)))
            return out
        finally:
            await connection.close()

    async def cleanup(self) -> None:
        connection = await aio_pika.connect(self.server)
        try:
            channel = await connection.channel()
            await channel.queue_delete(self.queue)
            await channel.exchange_delete(self.exchange)
        finally:
            await connection.close()


class RedisBackend(Backend):
    name = "redis"
    dedup_on_server = True

    def __init__(self, server: str, namespace: str) -> None:
        self.server = server
        self.stream = f"satchel-test:{namespace}:records"

    def url(self, **options: str) -> str:
        return f"{self.server}?" + _query({"stream": self.stream, **options})

    async def read_all(self) -> list[Received]:
        client = redis.asyncio.Redis.from_url(self.server)
        try:
            out = []
            for entry_id, fields in await client.xrange(self.stream):
                event_id = int(fields[b"id"])
                assert entry_id == f"{event_id}-0".encode()
                key = f"{fields[b'collection'].decode()}.{fields[b'action'].decode()}"
                out.append(Received(event_id, key, orjson.loads(fields[b"event"])))
            return out
        finally:
            await client.aclose()

    async def length(self) -> int:
        client = redis.asyncio.Redis.from_url(self.server)
        try:
            return int(await client.xlen(self.stream))
        finally:
            await client.aclose()

    async def cleanup(self) -> None:
        client = redis.asyncio.Redis.from_url(self.server)
        try:
            await client.delete(self.stream)
        finally:
            await client.aclose()


def make_backend(kind: str, server: str) -> Backend:
    """A backend on `server` under a namespace (stream, prefix, exchange, key) no other test uses."""
    namespace = uuid.uuid4().hex[:12]
    if kind == "nats":
        return NatsBackend(server, namespace)
    if kind == "amqp":
        return AmqpBackend(server, namespace)
    return RedisBackend(server, namespace)


def jetstream_url() -> str:
    """The test NATS URL when its server has JetStream (the sink needs it; the realtime broker does not)."""
    url = nats_url()
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout=2) as s:
        info = s.recv(4096)
    if b'"jetstream":true' not in info:
        unavailable(f"the NATS server at {parts.hostname}:{parts.port} has no JetStream", "start nats-server with -js")
    return url
