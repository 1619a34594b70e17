"""NATS broker: nodes on several machines sharing a NATS server (core NATS subjects, no JetStream).

Realtime needs fan-out now, not a log to replay: a reconnecting SSE client resubscribes and reads
current state over REST, as with PocketBase. So plain subjects, `<prefix>.all` and
`<prefix>.node.<id>`, with the connection's `no_echo` keeping a node's own broadcasts away from
it. nats-py reconnects without limit and buffers what is published meanwhile (up to its pending
size), and calls each subscription's callback in arrival order.
"""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError

from satchel.ports.broker import BrokerError, Receiver
from satchel.tools.tls_trust import client_context

log = logging.getLogger("satchel.broker")

DEFAULT_PREFIX = "satchel.rt"
CONNECT_TIMEOUT = 2


class NatsBroker:
    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._url = url
        self._prefix = prefix
        self._nc: Client | None = None

    async def start(self, node: str, receive: Receiver) -> None:
        async def deliver(msg: Msg) -> None:
            receive(msg.data)

        first_errors: list[Exception] = []

        async def on_error(exc: Exception) -> None:
            if nc.is_connected or nc.is_reconnecting:
                log.warning("realtime broker: NATS error: %s", exc)
            else:  # while the first connection is tried: the reason it failed (e.g. certificate verify failed)
                first_errors.append(exc)

        async def on_disconnect() -> None:
            log.warning("realtime broker: NATS disconnected; reconnecting")

        async def on_reconnect() -> None:
            log.info("realtime broker: NATS reconnected")

        nc = self._nc = Client()
        try:
            # nats-py retries a first connection as long as later ones: bound the first by time
            connect = nc.connect(
                self._url,
                name=f"satchel-{node}",
                no_echo=True,
                connect_timeout=CONNECT_TIMEOUT,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=1,
                error_cb=on_error,
                tls=client_context(),  # tls:// or TLS-requiring servers: system CAs + SATCHEL_CA_FILE
                disconnected_cb=on_disconnect,
                reconnected_cb=on_reconnect,
            )
            await asyncio.wait_for(connect, CONNECT_TIMEOUT * 2)
            await nc.subscribe(f"{self._prefix}.all", cb=deliver)
            await nc.subscribe(f"{self._prefix}.node.{node}", cb=deliver)
            await nc.flush(timeout=CONNECT_TIMEOUT)
        except (NatsError, OSError, TimeoutError) as exc:
            await self.close()
            cause = first_errors[-1] if first_errors else exc
            raise BrokerError(f"cannot reach NATS: {cause!s} ({type(cause).__name__})") from exc

    async def _publish(self, subject: str, data: bytes) -> None:
        nc = self._nc
        if nc is None:
            raise BrokerError("broker not started")
        try:
            await nc.publish(subject, data)
        except (NatsError, OSError) as exc:
            raise BrokerError(str(exc)) from exc

    def peers(self) -> None:
        return None  # subscribers come and go on the server's side, unseen

    async def broadcast(self, data: bytes) -> None:
        await self._publish(f"{self._prefix}.all", data)

    async def send(self, node: str, data: bytes) -> bool:
        """Core NATS cannot tell whether anyone listens: True once published."""
        await self._publish(f"{self._prefix}.node.{node}", data)
        return True

    async def close(self) -> None:
        nc, self._nc = self._nc, None
        if nc is not None and not nc.is_closed:
            try:
                await nc.close()
            except (NatsError, OSError) as exc:
                log.debug("closing NATS: %s", exc)
