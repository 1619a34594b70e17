"""RabbitMQ sink: each outbox event a persistent message on a durable topic exchange, confirmed.

Routing key `<collection>.<action>` (bind `posts.*` or `*.delete`), `message_id` = the event id
(consumers deduplicate by it: AMQP has no server-side deduplication), JSON body. Publisher confirms
are on: publish returns only when the broker has taken responsibility for every message (for a
persistent message routed to a durable queue, once it is on disk).

An exchange keeps nothing by itself: a message no queue is bound for is dropped (that is how a topic
exchange works, and `mandatory` would stall the whole outbox on one unbound routing key). So bind
durable queues before events matter, or name one with `?queue=` and the sink declares it, durable
and bound to every routing key (`#`), at start.

A batch is pipelined in order on one channel and then its confirms awaited. Like the NATS sink this
one owns its connection instead of using aio-pika's robust reconnection: a broken connection fails
the batch and the next publish dials afresh, so the broker only ever holds a prefix of a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractExchange
from aiormq.exceptions import AMQPError, ChannelInvalidStateError

from satchel.adapters.event_sinks.confirms import abandon, confirmed
from satchel.adapters.event_sinks.envelope import encode, routing_key
from satchel.ports.event_sink import OutboxEvent, SinkError
from satchel.tools.tls_trust import amqp_ssl_context

log = logging.getLogger("satchel.event_sinks")

DEFAULT_EXCHANGE = "satchel.records"
DEFAULT_TIMEOUT = 5.0

_FAILURES = (AMQPError, ChannelInvalidStateError, OSError, TimeoutError)


class RabbitMqSink:
    def __init__(
        self,
        url: str,
        *,
        name: str,
        exchange: str = DEFAULT_EXCHANGE,
        queue: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.name = name
        self._url = url
        self._exchange_name = exchange
        self._queue = queue
        self._timeout = timeout
        self._connection: AbstractConnection | None = None
        self._exchange: AbstractExchange | None = None

    async def start(self) -> None:
        """Connect and declare the exchange (and queue); publish calls it when not connected."""
        if self._exchange is not None and self._connection is not None and not self._connection.is_closed:
            return
        await self._drop()
        connection: AbstractConnection | None = None
        try:
            connection = await aio_pika.connect(
                self._url, timeout=self._timeout, ssl_context=amqp_ssl_context(self._url)
            )
            channel = await connection.channel(publisher_confirms=True, on_return_raises=False)
            exchange = await channel.declare_exchange(
                self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True, timeout=self._timeout
            )
            if self._queue is not None:
                queue = await channel.declare_queue(self._queue, durable=True, timeout=self._timeout)
                await queue.bind(exchange, "#", timeout=self._timeout)
        except _FAILURES as exc:
            if connection is not None:
                await _close(connection)
            raise SinkError(f"RabbitMQ sink {self.name}: {_describe(exc)}") from exc
        self._connection, self._exchange = connection, exchange

    async def publish(self, events: Sequence[OutboxEvent]) -> None:
        if not events:
            return
        await self.start()
        exchange = self._exchange
        if exchange is None:  # pragma: no cover - start() either set it or raised
            raise SinkError(f"RabbitMQ sink {self.name}: not connected")
        # Tasks start in creation order and aiormq writes each publish under a FIFO lock, so the
        # frames leave in outbox order while the confirms are awaited together.
        confirms = [
            asyncio.ensure_future(
                exchange.publish(
                    aio_pika.Message(
                        encode(event),
                        message_id=str(event.id),
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        app_id="satchel",
                    ),
                    routing_key(event),
                    mandatory=False,
                )
            )
            for event in events
        ]
        try:
            await confirmed(confirms, self._timeout)
        except _FAILURES as exc:
            await abandon(confirms)
            await self._drop()
            raise SinkError(f"RabbitMQ sink {self.name}: {_describe(exc)}") from exc

    async def _drop(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        if connection is not None:
            await _close(connection)

    async def close(self) -> None:
        await self._drop()


def _describe(exc: BaseException) -> str:
    """aiormq's messages can quote the connection URL; keep only the class and the broker's reply."""
    text = str(exc)
    if "amqp://" in text or "amqps://" in text or "@" in text:
        return type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _close(connection: AbstractConnection) -> None:
    with contextlib.suppress(*_FAILURES):
        await asyncio.wait_for(connection.close(), DEFAULT_TIMEOUT)
