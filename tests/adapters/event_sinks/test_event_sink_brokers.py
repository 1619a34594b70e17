"""What each broker sink does beyond the shared contract: stream checks, exchange type, trimming."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest
from nats.aio.client import Client as Nats
from nats.js.api import StorageType
from rabbitmq_service import rabbitmq_url
from redis_service import redis_url
from sink_backends import AmqpBackend, NatsBackend, RedisBackend, jetstream_url, make_backend
from sink_events import events

from satchel.adapters.event_sinks import sink_from_url
from satchel.ports.event_sink import SinkError


@pytest.fixture
async def nats_backend() -> AsyncIterator[NatsBackend]:
    backend = make_backend("nats", jetstream_url())
    assert isinstance(backend, NatsBackend)
    yield backend
    await backend.cleanup()


@pytest.fixture
async def amqp_backend() -> AsyncIterator[AmqpBackend]:
    backend = make_backend("amqp", rabbitmq_url())
    assert isinstance(backend, AmqpBackend)
    yield backend
    await backend.cleanup()


@pytest.fixture
async def redis_backend() -> AsyncIterator[RedisBackend]:
    backend = make_backend("redis", redis_url())
    assert isinstance(backend, RedisBackend)
    yield backend
    await backend.cleanup()


async def test_nats_creates_a_file_stream_on_the_prefix_with_the_duplicate_window(nats_backend: NatsBackend) -> None:
    sink = sink_from_url(nats_backend.url(duplicate_window="30"))
    await sink.publish(events(1, 1))
    await sink.close()
    nc = Nats()
    await nc.connect(nats_backend.server)
    try:
        config = (await nc.jetstream().stream_info(nats_backend.stream)).config
    finally:
        await nc.close()
    assert config.subjects == [f"{nats_backend.prefix}.>"]
    assert config.storage == StorageType.FILE
    assert config.duplicate_window == 30


async def test_nats_uses_an_existing_stream_that_captures_the_prefix(nats_backend: NatsBackend) -> None:
    nc = Nats()
    await nc.connect(nats_backend.server)
    try:
        await nc.jetstream().add_stream(
            name=nats_backend.stream, subjects=[f"{nats_backend.prefix}.*.*", "elsewhere.>"]
        )
        sink = sink_from_url(nats_backend.url())
        await sink.publish(events(1, 4))
        await sink.close()
    finally:
        await nc.close()
    assert [r.id for r in await nats_backend.read_all()] == [1, 2, 3, 4]


async def test_nats_refuses_an_existing_stream_that_misses_the_prefix(nats_backend: NatsBackend) -> None:
    nc = Nats()
    await nc.connect(nats_backend.server)
    try:
        await nc.jetstream().add_stream(name=nats_backend.stream, subjects=[f"{nats_backend.prefix}.posts.>"])
        sink = sink_from_url(nats_backend.url())
        with pytest.raises(SinkError, match="do not capture"):
            await sink.publish(events(1, 4))
        await sink.close()
    finally:
        await nc.close()
    assert await nats_backend.read_all() == []


async def test_rabbitmq_refuses_an_exchange_of_another_type(amqp_backend: AmqpBackend) -> None:
    connection = await aio_pika.connect(amqp_backend.server)
    try:
        channel = await connection.channel()
        await channel.declare_exchange(amqp_backend.exchange, aio_pika.ExchangeType.DIRECT, durable=True)
    finally:
        await connection.close()
    sink = sink_from_url(amqp_backend.url())
    with pytest.raises(SinkError, match=r"PRECONDITION_FAILED|inequivalent"):
        await sink.publish(events(1, 2))
    await sink.close()


async def test_rabbitmq_routes_by_collection_and_action(amqp_backend: AmqpBackend) -> None:
    """A consumer binds only what it wants: `posts.*`, `*.delete`."""
    sink = sink_from_url(amqp_backend.url())
    await sink.publish(events(1, 1))  # declares the exchange
    connection = await aio_pika.connect(amqp_backend.server)
    try:
        channel = await connection.channel()
        posts = await channel.declare_queue(exclusive=True)
        deletes = await channel.declare_queue(exclusive=True)
        await posts.bind(amqp_backend.exchange, "posts.*")
        await deletes.bind(amqp_backend.exchange, "*.delete")
        batch = events(2, 30)
        await sink.publish(batch)
        got: dict[str, list[int]] = {"posts": [], "deletes": []}
        for key, queue in (("posts", posts), ("deletes", deletes)):
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                got[key].append(int(str(message.message_id)))
    finally:
        await connection.close()
        await sink.close()
    assert got["posts"] == [e.id for e in batch if e.collection_name == "posts"]
    assert got["deletes"] == [e.id for e in batch if e.action == "delete"]
    assert got["posts"] and got["deletes"]


async def test_redis_trims_approximately_to_maxlen_keeping_the_newest(redis_backend: RedisBackend) -> None:
    sink = sink_from_url(redis_backend.url(maxlen="100"))
    for start in range(1, 2001, 250):
        await sink.publish(events(start, start + 249))
    await sink.close()
    ids = [r.id for r in await redis_backend.read_all()]
    assert 100 <= len(ids) < 2000
    assert ids == list(range(2001 - len(ids), 2001))


async def test_redis_skips_ids_not_above_the_stream_top(redis_backend: RedisBackend) -> None:
    """The stream's own id rule is the deduplication; it also means an outbox whose ids restart
    (a new database) needs a new stream, as the documentation says."""
    sink = sink_from_url(redis_backend.url())
    await sink.publish(events(5, 8))
    await sink.publish(events(1, 10))
    await sink.close()
    assert [r.id for r in await redis_backend.read_all()] == [5, 6, 7, 8, 9, 10]


async def test_redis_uses_the_database_in_the_url(redis_backend: RedisBackend) -> None:
    other_db = redis_backend.server.rsplit("/", 1)[0] + "/14"
    stream = f"satchel-test:{uuid.uuid4().hex}"
    sink = sink_from_url(f"{other_db}?stream={stream}")
    await sink.publish(events(1, 3))
    await sink.close()
    elsewhere = RedisBackend(other_db, "unused")
    elsewhere.stream = stream
    try:
        assert [r.id for r in await elsewhere.read_all()] == [1, 2, 3]
        assert await RedisBackend(redis_backend.server, "unused").length() == 0
    finally:
        await elsewhere.cleanup()
