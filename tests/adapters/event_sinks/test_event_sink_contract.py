"""The EventSink port's contract, run against every broker sink on the real servers of this machine.

What the outbox relies on: a batch arrives whole and in order with the documented envelope and
routing; order holds across calls; a retried batch (the dispatcher's answer to SinkError) leaves
every event readable at least once and in order once deduplicated by id; an unreachable broker is
a SinkError, promptly.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest
from sink_backends import Backend
from sink_events import envelope, event, events, first_seen

from satchel.adapters.event_sinks import sink_from_url
from satchel.ports.event_sink import EventSink, SinkError


@pytest.fixture
async def sink(backend: Backend) -> AsyncIterator[EventSink]:
    s = sink_from_url(backend.url())
    yield s
    await s.close()


async def test_a_batch_arrives_whole_in_order_with_its_envelope_and_routing(backend: Backend, sink: EventSink) -> None:
    batch = events(1, 9)
    await sink.publish(batch)
    received = await backend.read_all()
    assert [r.id for r in received] == [e.id for e in batch]
    assert [r.key for r in received] == [f"{e.collection_name}.{e.action}" for e in batch]
    assert [r.envelope for r in received] == [envelope(e) for e in batch]


async def test_order_holds_across_batches_of_any_size(backend: Backend, sink: EventSink) -> None:
    sizes = [1, 2, 50, 7, 1201, 3, 137]  # 1201: more than one Redis script run (500)
    start = 1
    for size in sizes:
        await sink.publish(events(start, start + size - 1))
        start += size
    received = await backend.read_all()
    assert [r.id for r in received] == list(range(1, start))


async def test_a_retried_batch_is_read_at_least_once_and_in_order_once_deduplicated(
    backend: Backend, sink: EventSink
) -> None:
    await sink.publish(events(1, 10))
    await sink.publish(events(6, 15))  # the dispatcher retrying a batch whose first half had landed
    await sink.publish(events(16, 20))
    ids = [r.id for r in await backend.read_all()]
    assert first_seen(ids) == list(range(1, 21))
    if backend.dedup_on_server:
        assert ids == list(range(1, 21))
    else:  # AMQP keeps both copies, each with the event id as message_id for consumers to drop
        assert ids == [*range(1, 11), *range(6, 16), *range(16, 21)]


async def test_an_empty_batch_is_a_no_op(backend: Backend, sink: EventSink) -> None:
    await sink.publish([])
    await sink.publish([event(1)])
    assert [r.id for r in await backend.read_all()] == [1]


async def test_the_sink_carries_on_after_close(backend: Backend, sink: EventSink) -> None:
    """Closing releases the connection; the dispatcher may still publish later (a new connection)."""
    await sink.publish(events(1, 2))
    await sink.close()
    await sink.close()
    await sink.publish(events(3, 4))
    assert [r.id for r in await backend.read_all()] == [1, 2, 3, 4]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("scheme", ["nats", "amqp", "redis"])
async def test_an_unreachable_broker_is_a_sink_error_promptly(scheme: str) -> None:
    port = closed_port()
    url = {
        "nats": f"nats://127.0.0.1:{port}?timeout=2",
        "amqp": f"amqp://guest:guest@127.0.0.1:{port}/?timeout=2",
        "redis": f"redis://127.0.0.1:{port}/0?timeout=2",
    }[scheme]
    sink = sink_from_url(url)
    started = time.monotonic()
    try:
        with pytest.raises(SinkError) as caught:
            await asyncio.wait_for(sink.publish(events(1, 3)), 30)
    finally:
        await sink.close()
    assert time.monotonic() - started < 10
    assert "guest" not in str(caught.value)  # credentials never reach a message that gets logged
