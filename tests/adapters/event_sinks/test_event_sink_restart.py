"""A broker restart in the middle of a stream of batches loses nothing and keeps the order.

Each broker is a private instance this test starts (so restarting it disturbs no one): nats-server
with JetStream on a store directory, redis-server with the append-only file, a RabbitMQ node of its
own. The dispatcher (publish a batch; on SinkError wait and retry the same batch) keeps publishing
while the broker goes down and comes back, then a consumer reads everything back and must see every
event id at least once, in order once deduplicated.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

import pytest
from conftest import make_backend
from private_brokers import PrivateRabbit, private_nats, private_redis
from sink_events import Dispatcher, events, first_seen

from satchel.adapters.event_sinks import sink_from_url

BATCH = 10
BEFORE = 100  # events published before the restart starts
AFTER = 100  # events published after the broker is back


class Restartable(Protocol):
    port: int

    def start(self) -> None: ...
    def restart(self, down_for: float) -> None: ...
    def stop(self) -> None: ...


def private_broker(kind: str, tmp: Path) -> tuple[Restartable, str]:
    if kind == "nats":
        nats = private_nats(tmp)
        return nats, f"nats://127.0.0.1:{nats.port}"
    if kind == "redis":
        redis = private_redis(tmp)
        return redis, f"redis://127.0.0.1:{redis.port}/0"
    rabbit = PrivateRabbit(tmp)
    return rabbit, f"amqp://guest:guest@127.0.0.1:{rabbit.port}/"


@pytest.mark.timeout(240)
@pytest.mark.parametrize("kind", ["nats", "amqp", "redis"])
async def test_a_broker_restart_mid_stream_loses_nothing(kind: str, tmp_path: Path) -> None:
    broker, server = private_broker(kind, tmp_path)
    await asyncio.to_thread(broker.start)
    try:
        backend = make_backend(kind, server)
        sink = sink_from_url(backend.url(timeout="2"))
        dispatcher = Dispatcher(sink, batch=BATCH, retry_delay=0.2, pause=0.005)
        next_id = 1

        async def send_batch() -> None:
            nonlocal next_id
            await dispatcher.send(events(next_id, next_id + BATCH - 1))
            next_id += BATCH

        while next_id <= BEFORE:
            await send_batch()
        restart = asyncio.create_task(asyncio.to_thread(broker.restart, 1.0))
        while not restart.done():  # keep publishing while the broker stops, is down and comes back
            await send_batch()
        await restart
        back_at = next_id
        while next_id < back_at + AFTER:
            await send_batch()
        await sink.close()

        assert dispatcher.failures >= 1, "the restart was never seen by the sink: nothing was tested"
        published = list(range(1, next_id))
        ids = [r.id for r in await backend.read_all()]
        assert set(ids) == set(published)
        assert first_seen(ids) == published
    finally:
        await asyncio.to_thread(broker.stop)
