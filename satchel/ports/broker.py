"""The Broker port: opaque frames between the server processes of one deployment.

Realtime clients live in the process that holds their connection, while a change can be committed
by any process. A broker carries the change to every process (`broadcast`) and carries a request
to the one process that holds a given client (`send`, addressed by node id). Frames are opaque
bytes: the realtime core owns their format, so an adapter is only a transport.

The guarantees are those of realtime itself (PocketBase's SSE gives no more): at most once,
in order per sender, no persistence. A node never receives its own broadcasts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Receiver = Callable[[bytes], None]
"""Called on the event loop for every frame that reaches this node; must not block."""


class BrokerError(Exception):
    """The broker could not be reached or refused a frame."""


class Broker(Protocol):
    async def start(self, node: str, receive: Receiver) -> None:
        """Join the deployment as `node`: from now on `receive` gets every frame broadcast by
        another node and every frame sent to `node`. Raises BrokerError when unreachable."""
        ...

    async def broadcast(self, data: bytes) -> None:
        """Send `data` to every other node (dropped, not queued, while disconnected)."""
        ...

    async def send(self, node: str, data: bytes) -> bool:
        """Send `data` to one node. False when the broker knows that no such node listens (a reply
        is then not worth waiting for); True when sent, even where delivery cannot be known."""
        ...

    def peers(self) -> frozenset[str] | None:
        """The other nodes this one is connected to, or None when the broker cannot know them (a
        pub/sub service). With a known set, the realtime relay stops broadcasting record changes
        while every peer has told it that it holds no client."""
        ...

    async def close(self) -> None: ...
