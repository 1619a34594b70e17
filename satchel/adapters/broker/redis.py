"""Redis pub/sub broker: nodes on several machines sharing one Redis.

Two channels per deployment: `<prefix>all` for broadcasts and `<prefix>node:<id>` for frames to
one node. Pub/sub is fire-and-forget, which is realtime's contract: a node that is disconnected
misses what is published meanwhile (its SDK clients are disconnected with it and resubscribe).
Redis hands a publisher its own broadcasts back, so each frame carries its sender's id and a node
drops its own. redis-py resubscribes by itself after a reconnect; the reader only waits between
attempts so an outage is one log line and a retry per second, not a busy loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from satchel.ports.broker import BrokerError, Receiver
from satchel.tools.tls_trust import redis_options

log = logging.getLogger("satchel.broker")

DEFAULT_PREFIX = "satchel:rt:"
TIMEOUT = 2.0
RETRY_DELAY = 1.0


class RedisBroker:
    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._url = url
        self._prefix = prefix
        self._redis: Redis = Redis.from_url(
            url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT, **redis_options(url)
        )
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._node = b""
        self._reader: asyncio.Task[None] | None = None

    async def start(self, node: str, receive: Receiver) -> None:
        self._node = node.encode()
        try:
            await self._pubsub.subscribe(self._prefix + "all", self._prefix + "node:" + node)
        except (RedisError, OSError) as exc:
            raise BrokerError(str(exc)) from exc
        self._reader = asyncio.get_running_loop().create_task(self._read(receive), name="satchel-broker-redis")

    async def _read(self, receive: Receiver) -> None:
        failing = False
        while True:
            try:
                # no read timeout here: an idle channel is not a failure
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            except (RedisError, OSError) as exc:
                if not failing:
                    log.warning("realtime broker: Redis unreachable (%s); retrying", exc)
                failing = True
                await asyncio.sleep(RETRY_DELAY)
                continue
            if failing:
                log.info("realtime broker: Redis reachable again")
                failing = False
            if message is None or message.get("type") != "message":
                continue
            origin, _, data = bytes(message["data"]).partition(b" ")
            if origin != self._node:
                receive(data)

    async def _publish(self, channel: str, data: bytes) -> int:
        """The number of subscribers that got it (Redis counts them)."""
        try:
            receivers: int = await self._redis.publish(channel, self._node + b" " + data)
        except (RedisError, OSError) as exc:
            raise BrokerError(str(exc)) from exc
        return receivers

    def peers(self) -> None:
        return None  # subscribers come and go on the server's side, unseen

    async def broadcast(self, data: bytes) -> None:
        await self._publish(self._prefix + "all", data)

    async def send(self, node: str, data: bytes) -> bool:
        return await self._publish(self._prefix + "node:" + node, data) > 0

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await self._reader
            self._reader = None
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()
        with contextlib.suppress(RedisError, OSError):
            await self._redis.aclose()
