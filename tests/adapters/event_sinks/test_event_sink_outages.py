"""Broker outages in the middle of a stream of batches lose nothing and keep the order.

Each broker is a private instance this module starts (so restarting or pausing it disturbs no one):
nats-server with JetStream on a store directory, redis-server with the append-only file, a RabbitMQ
node of its own. The dispatcher (publish a batch; on SinkError wait and retry the same batch) keeps
publishing through the outage, then a consumer reads everything back and must see every event id at
least once, in order once deduplicated.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from private_brokers import PrivateRabbit, pause, private_nats, private_redis, resume
from sink_backends import make_backend
from sink_events import Dispatcher, events, first_seen

from satchel.adapters.event_sinks import sink_from_url
from satchel.ports.event_sink import SinkError

BATCH = 10
BEFORE = 100  # events published before the outage starts
AFTER = 100  # events published after the broker is back
pytestmark = pytest.mark.timeout(240)


class Restartable(Protocol):
    port: int

    def start(self) -> None: ...
    def restart(self, down_for: float) -> None: ...
    def pid(self) -> int: ...
    def stop(self) -> None: ...


class Private:
    def __init__(self, kind: str, broker: Restartable, server: str) -> None:
        self.kind = kind
        self.broker = broker
        self.server = server


@pytest.fixture(scope="module", params=["nats", "amqp", "redis"])
def private(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Private]:
    kind: str = request.param
    tmp: Path = tmp_path_factory.mktemp(kind)
    broker: Restartable
    if kind == "nats":
        broker = private_nats(tmp)
        server = f"nats://127.0.0.1:{broker.port}"
    elif kind == "redis":
        broker = private_redis(tmp)
        server = f"redis://127.0.0.1:{broker.port}/0"
    else:
        broker = PrivateRabbit(tmp)
        server = f"amqp://guest:guest@127.0.0.1:{broker.port}/"
    broker.start()
    try:
        yield Private(kind, broker, server)
    finally:
        broker.stop()


async def test_a_broker_restart_mid_stream_loses_nothing(private: Private) -> None:
    backend = make_backend(private.kind, private.server)
    sink = sink_from_url(backend.url(timeout="2"))
    dispatcher = Dispatcher(sink, batch=BATCH, retry_delay=0.2, pause=0.005)
    next_id = 1

    async def send_batch() -> None:
        nonlocal next_id
        await dispatcher.send(events(next_id, next_id + BATCH - 1))
        next_id += BATCH

    try:
        while next_id <= BEFORE:
            await send_batch()
        restart = asyncio.create_task(asyncio.to_thread(private.broker.restart, 1.0))
        while not restart.done():  # keep publishing while the broker stops, is down and comes back
            await send_batch()
        await restart
        back_at = next_id
        while next_id < back_at + AFTER:
            await send_batch()
    finally:
        await sink.close()

    assert dispatcher.failures >= 1, "the restart was never seen by the sink: nothing was tested"
    published = list(range(1, next_id))
    ids = [r.id for r in await backend.read_all()]
    assert set(ids) == set(published)
    assert first_seen(ids) == published
    await backend.cleanup()


async def test_a_broker_that_stops_answering_is_a_sink_error_and_nothing_is_lost(private: Private) -> None:
    """A hung broker (SIGSTOP: connections accepted, nothing confirmed) fails the batch after the
    timeout instead of blocking the dispatcher; once it answers again the retried batch lands."""
    backend = make_backend(private.kind, private.server)
    sink = sink_from_url(backend.url(timeout="1"))
    try:
        await sink.publish(events(1, 10))
        pid = private.broker.pid()
        await asyncio.to_thread(pause, pid)
        try:
            started = time.monotonic()
            with pytest.raises(SinkError):
                await asyncio.wait_for(sink.publish(events(11, 20)), 30)
            assert time.monotonic() - started < 10
        finally:
            resume(pid)
        dispatcher = Dispatcher(sink, batch=BATCH, retry_delay=0.2)
        await dispatcher.run(events(11, 30))
    finally:
        await sink.close()
    ids = [r.id for r in await backend.read_all()]
    assert first_seen(ids) == list(range(1, 31))
    await backend.cleanup()
