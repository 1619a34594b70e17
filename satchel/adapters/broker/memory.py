"""In-process broker: several apps in one process behave as nodes of one deployment (tests, embedding).

Frames are handed over with `call_soon`, never synchronously, so a sender never runs a receiver's
code inside its own call, as with a real network in between; order per sender is kept because the
event loop runs callbacks in the order they were scheduled.
"""

from __future__ import annotations

import asyncio

from satchel.ports.broker import BrokerError, Receiver


class MemoryBus:
    """The shared medium: nodes that should see each other's frames share one bus."""

    def __init__(self) -> None:
        self.nodes: dict[str, Receiver] = {}


class MemoryBroker:
    def __init__(self, bus: MemoryBus | None = None) -> None:
        self.bus = bus or MemoryBus()
        self._node = ""

    async def start(self, node: str, receive: Receiver) -> None:
        if node in self.bus.nodes:
            raise BrokerError(f"node {node!r} already joined this bus")
        self._node = node
        self.bus.nodes[node] = receive

    async def broadcast(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        for node, receive in self.bus.nodes.items():
            if node != self._node:
                loop.call_soon(receive, data)

    async def send(self, node: str, data: bytes) -> bool:
        receive = self.bus.nodes.get(node)
        if receive is None:
            return False
        asyncio.get_running_loop().call_soon(receive, data)
        return True

    def peers(self) -> frozenset[str]:
        return frozenset(node for node in self.bus.nodes if node != self._node)

    async def close(self) -> None:
        self.bus.nodes.pop(self._node, None)
