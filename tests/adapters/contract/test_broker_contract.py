"""The Broker port's contract, run against every backend: in-process, the unix-socket mesh, Redis, NATS.

Two (or three) brokers joined as different nodes stand for processes of one deployment. Each test
uses a namespace of its own (bus, socket directory, channel or subject prefix), so runs never see
each other on the shared servers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from nats_service import nats_url
from redis_service import redis_url

from satchel.adapters.broker.memory import MemoryBroker, MemoryBus
from satchel.adapters.broker.mesh import MeshBroker
from satchel.adapters.broker.nats import NatsBroker
from satchel.adapters.broker.redis import RedisBroker
from satchel.ports.broker import Broker, BrokerError

Factory = Callable[[], Broker]


@pytest.fixture(params=["memory", "mesh", "redis", "nats"])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Factory:
    namespace = uuid.uuid4().hex
    if request.param == "memory":
        bus = MemoryBus()
        return lambda: MemoryBroker(bus)
    if request.param == "mesh":
        return lambda: MeshBroker(tmp_path / "rt")
    if request.param == "redis":
        url = redis_url()
        return lambda: RedisBroker(url, prefix=f"satchel-test:{namespace}:")
    url = nats_url()
    return lambda: NatsBroker(url, prefix=f"satchel-test.{namespace}")


class Node:
    def __init__(self, name: str, broker: Broker) -> None:
        self.name = name
        self.broker = broker
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()

    async def start(self) -> Node:
        await self.broker.start(self.name, self.frames.put_nowait)
        return self

    async def next(self) -> bytes:
        return await asyncio.wait_for(self.frames.get(), 5)


@pytest.fixture
async def nodes(factory: Factory) -> AsyncIterator[list[Node]]:
    started = [await Node(name, factory()).start() for name in ("nodea", "nodeb", "nodec")]
    await settle(started)
    yield started
    for node in started:
        await node.broker.close()


async def settle(nodes: list[Node]) -> None:
    """Wait until every node hears every other one (subscriptions and dials are asynchronous)."""
    for sender in nodes:
        for receiver in nodes:
            if receiver is sender:
                continue
            for _ in range(100):
                await sender.broker.send(receiver.name, b"ping")
                try:
                    assert await asyncio.wait_for(receiver.frames.get(), 0.1) == b"ping"
                    break
                except TimeoutError:
                    continue
            else:
                raise AssertionError(f"{receiver.name} never heard {sender.name}")
            while not receiver.frames.empty():
                receiver.frames.get_nowait()


async def test_a_broadcast_reaches_every_other_node_and_not_its_sender(nodes: list[Node]) -> None:
    a, b, c = nodes
    await a.broker.broadcast(b"hello")
    assert await b.next() == b"hello"
    assert await c.next() == b"hello"
    await b.broker.broadcast(b"marker")  # a's own frame, if echoed, would arrive before this one
    assert await a.next() == b"marker"
    assert await c.next() == b"marker"


async def test_a_frame_sent_to_a_node_reaches_only_that_node(nodes: list[Node]) -> None:
    a, b, c = nodes
    await a.broker.send("nodeb", b"for b")
    await a.broker.broadcast(b"marker")
    assert await b.next() == b"for b"
    assert await b.next() == b"marker"
    assert await c.next() == b"marker"  # nothing for c came before the marker


async def test_frames_keep_their_order_and_bytes(nodes: list[Node]) -> None:
    a, b, _ = nodes
    frames = [bytes([i % 256]) * (i * 37 % 5000) + b"\n\x00" + str(i).encode() for i in range(300)]
    for frame in frames:
        await a.broker.broadcast(frame)
    assert [await b.next() for _ in frames] == frames


async def test_a_frame_for_an_unknown_node_is_dropped(nodes: list[Node]) -> None:
    a, b, _ = nodes
    known = await a.broker.send("nodeb", b"known")
    assert known is True
    unknown = await a.broker.send("nobody", b"lost")
    # NATS cannot know whether a subject has listeners; the others can and say so
    assert unknown is isinstance(a.broker, NatsBroker)
    await a.broker.send("nodeb", b"after")
    assert [await b.next(), await b.next()] == [b"known", b"after"]


async def test_a_closed_node_receives_nothing_and_the_others_carry_on(nodes: list[Node]) -> None:
    a, b, c = nodes
    await c.broker.close()
    await a.broker.broadcast(b"still here")
    assert await b.next() == b"still here"
    await asyncio.sleep(0.05)
    assert c.frames.empty()


async def test_peers_are_the_connected_nodes_where_the_broker_can_know_them(nodes: list[Node]) -> None:
    """The realtime relay stops broadcasting when every peer is idle: only a complete peer list may
    allow that, so a pub/sub service (whose listeners are invisible) must answer None."""
    a, b, c = nodes
    if isinstance(a.broker, (RedisBroker, NatsBroker)):
        assert a.broker.peers() is None
        return
    assert a.broker.peers() == {"nodeb", "nodec"}
    await c.broker.close()
    for _ in range(100):  # the mesh notices the closed socket asynchronously
        if a.broker.peers() == {"nodeb"} and b.broker.peers() == {"nodea"}:
            break
        await asyncio.sleep(0.01)
    assert a.broker.peers() == {"nodeb"} and b.broker.peers() == {"nodea"}


async def test_unreachable_servers_fail_at_start() -> None:
    with pytest.raises(BrokerError):
        await RedisBroker("redis://127.0.0.1:1/0").start("nodea", lambda _: None)
    with pytest.raises(BrokerError):
        await NatsBroker("nats://127.0.0.1:1").start("nodea", lambda _: None)
