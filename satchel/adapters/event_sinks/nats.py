"""NATS JetStream sink: each outbox event stored once in a stream, acknowledged before publish returns.

Subjects are `<prefix>.<collection>.<action>` (so consumers filter with `<prefix>.posts.>` or
`<prefix>.*.delete`), captured by one file-backed stream, created at start or checked to cover the
prefix. Every message carries `Nats-Msg-Id: <event id>`: JetStream drops a re-publish of the same id
within the stream's duplicate window, so a retried batch is stored once.

A batch is pipelined (all messages written, then every ack awaited) for throughput. Order and the
"prefix at most" promise come from owning the connection: nats-py's own reconnect would buffer
unsent messages and replay them on the new connection after the ones lost in the old socket, which
could store event 7 before event 5. Here a broken connection is closed, the batch fails, and the
next publish dials a fresh connection, so what the server stored is always a prefix of the writes.
(The exception would be the server rejecting one message and storing the next, which the stream this
sink creates, without limits, only does when its disk is full.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import PubAck, StorageType
from nats.js.errors import NotFoundError

from satchel.adapters.event_sinks.confirms import abandon, confirmed
from satchel.adapters.event_sinks.envelope import encode, routing_key
from satchel.ports.event_sink import OutboxEvent, SinkError
from satchel.tools.tls_trust import client_context

log = logging.getLogger("satchel.event_sinks")

DEFAULT_STREAM = "SATCHEL_RECORDS"
DEFAULT_PREFIX = "satchel.records"
DEFAULT_TIMEOUT = 5.0
DEFAULT_DUPLICATE_WINDOW = 120.0


def covers(pattern: str, prefix: str) -> bool:
    """Whether a stream subject pattern captures every `<prefix>.<collection>.<action>` subject."""
    wanted: list[str | None] = [*prefix.split("."), None, None]  # None: any token
    parts = pattern.split(".")
    for i, part in enumerate(parts):
        if part == ">":
            return i < len(wanted)
        if i >= len(wanted) or (part != "*" and part != wanted[i]):
            return False
    return len(parts) == len(wanted)


class NatsJetStreamSink:
    def __init__(
        self,
        url: str,
        *,
        name: str,
        stream: str = DEFAULT_STREAM,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = DEFAULT_TIMEOUT,
        duplicate_window: float = DEFAULT_DUPLICATE_WINDOW,
    ) -> None:
        self.name = name
        self._url = url
        self._stream = stream
        self._prefix = prefix
        self._timeout = timeout
        self._duplicate_window = duplicate_window
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None

    async def start(self) -> None:
        """Connect and create (or check) the stream; publish calls it when not connected."""
        if self._js is not None and self._nc is not None and self._nc.is_connected:
            return
        await self._drop()

        async def on_error(exc: Exception) -> None:
            log.debug("event sink %s: NATS error: %s", self.name, exc)

        nc = Client()
        try:
            connect = nc.connect(
                self._url,
                name=f"satchel-sink-{self.name}",
                connect_timeout=max(1, round(self._timeout)),
                allow_reconnect=False,
                max_reconnect_attempts=1,  # nats-py's first connect loops per this, not allow_reconnect
                reconnect_time_wait=0,
                pending_size=0,
                error_cb=on_error,
                tls=client_context(),  # tls:// or TLS-requiring servers: system CAs + SATCHEL_CA_FILE
            )
            await asyncio.wait_for(connect, self._timeout * 2)
            js = nc.jetstream(timeout=self._timeout)
            await self._ensure_stream(js)
        except SinkError:
            await _close(nc)
            raise
        except (NatsError, OSError, TimeoutError) as exc:
            await _close(nc)
            raise SinkError(f"NATS JetStream sink {self.name}: {_describe(exc)}") from exc
        self._nc, self._js = nc, js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        try:
            info = await js.stream_info(self._stream)
        except NotFoundError:
            await js.add_stream(
                name=self._stream,
                subjects=[f"{self._prefix}.>"],
                storage=StorageType.FILE,
                duplicate_window=self._duplicate_window,
            )
            log.info("event sink %s: created JetStream stream %s", self.name, self._stream)
            return
        subjects = info.config.subjects or []
        if not any(covers(pattern, self._prefix) for pattern in subjects):
            raise SinkError(
                f"NATS JetStream sink {self.name}: stream {self._stream} exists but its subjects "
                f"{subjects} do not capture {self._prefix}.>"
            )

    async def publish(self, events: Sequence[OutboxEvent]) -> None:
        if not events:
            return
        await self.start()
        js = self._js
        if js is None:  # pragma: no cover - start() either set it or raised
            raise SinkError(f"NATS JetStream sink {self.name}: not connected")
        acks: list[asyncio.Future[PubAck]] = []
        try:
            for event in events:
                acks.append(
                    await js.publish_async(
                        f"{self._prefix}.{routing_key(event)}",
                        encode(event),
                        wait_stall=self._timeout,
                        stream=self._stream,
                        headers={"Nats-Msg-Id": str(event.id)},
                    )
                )
            await confirmed(acks, self._timeout)
        except (NatsError, OSError, TimeoutError) as exc:
            await abandon(acks)
            await self._drop()
            raise SinkError(f"NATS JetStream sink {self.name}: {_describe(exc)}") from exc

    async def _drop(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None:
            await _close(nc)

    async def close(self) -> None:
        await self._drop()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def _close(nc: Client) -> None:
    if nc.is_closed:
        return
    with contextlib.suppress(NatsError, OSError, TimeoutError):
        await asyncio.wait_for(nc.close(), DEFAULT_TIMEOUT)  # a hung server must not hang the dispatcher
