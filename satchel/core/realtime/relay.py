"""Realtime across processes and nodes: events and requests carried by a Broker.

Every process delivers its own events to its own clients at once (no broker round trip on the
local path) and broadcasts a copy that the other processes deliver to theirs. A record event
travels as its collection id and committed values; the receiver rebuilds the record against its
own collection registry, so rules and payloads are decided where the subscribers are, with the
receiving process's view of auth and collections (reloaded first when a sibling changed them).

Requests go to one node: a subscription POST or an OAuth2 redirect that reached a process other
than the one holding the client's stream. Client ids start with the id of their node, so the
request is addressed without asking everyone; an unanswered request (the node is gone) times out
and the caller answers as for an unknown client.

Schema changes share the connection: after a commit that changed collections or settings, the
node broadcasts the new version (an `s` frame, no body); the others mark their copy stale and
reload it before their next request or event (see `core.schema_events`).

Idle peers: a record change is broadcast only while some other node may hold a client. Where the
broker knows the peers (the unix-socket mesh of `--workers N`, the in-process bus), a node without
clients says so every `IDLE_ANNOUNCE_S` (an `i` frame); once every peer has, changes stay local
(measured: ~15% of a record create's CPU went to copies nobody received). A node that gets its
first client asks every peer to take it off the idle list and waits for their answers before the
client's stream opens, so no change committed after the client connected is skipped: the answer
comes back on the same ordered connection the earlier `i` frames took. A peer not heard from, or
connected since, counts as busy; with a pub/sub broker (peers unknown) every change is broadcast.

Frame: a JSON header, a newline, then the body bytes (record values, a custom message's JSON,
request arguments) left as they are so nothing is encoded twice. Record and custom-message frames
carry the sender's wall clock (`ts`, ns since the epoch): the receiver reports the broker lag as a
`realtime.relay` probe (nodes' clocks are assumed NTP-synchronised; skew shows as lag or as 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from satchel.core.realtime.broker import CustomMessage, RealtimeEvent, RecordChange
from satchel.core.records.model import Record
from satchel.ports.broker import Broker, BrokerError
from satchel.tools import probes

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.realtime")

REQUEST_TIMEOUT = 5.0
"""Seconds to wait for the node that holds a client; a request to a node that is gone times out."""
IDLE_ANNOUNCE_S = 2.0
"""How often a node without clients tells the others (also reaches peers that joined since)."""
WAKE = "wake"
"""The request a node sends each peer when it gets its first client: "I am not idle any more"."""

Handler = Callable[[Any], Awaitable[Any]]
Inbound = tuple[str, dict[str, Any], bytes]
"""A frame from another node not decoded yet: kind, header, body."""


class BrokerTransport:
    """A Transport over a Broker: local delivery in publish order, plus a copy to the other nodes."""

    def __init__(self, app: App, broker: Broker, node: str) -> None:
        self.app = app
        self.broker = broker
        self.node = node
        self._deliver: Callable[[RealtimeEvent], Awaitable[None]] | None = None
        self._queue: asyncio.Queue[RealtimeEvent | Inbound] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._handlers: dict[str, Handler] = {}
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._open = False
        self.request_timeout = REQUEST_TIMEOUT
        self._failing = False
        self._schema_failing = False
        self._idle_peers: set[str] = set()
        """Peers that said they hold no client (and have not asked to be woken since)."""
        self._announcer: asyncio.Task[None] | None = None
        self.idle_announce_s = IDLE_ANNOUNCE_S
        self._handlers[WAKE] = self._woken
        app.schema.announcers.append(self.announce_schema)

    # ------------------------------------------------------------------ Transport
    def start(self, deliver: Callable[[RealtimeEvent], Awaitable[None]]) -> None:
        self._deliver = deliver

    async def open(self) -> None:
        """Join the other nodes (raises BrokerError when the broker is unreachable)."""
        await self.broker.start(self.node, self._receive)
        self._open = True
        self._announcer = asyncio.get_running_loop().create_task(self._announce_idle(), name="satchel-realtime-idle")

    @property
    def shared(self) -> bool:
        return True

    async def send(self, event: RealtimeEvent) -> None:
        if self.app.realtime.clients:  # nobody here: no delivery, no bound auth to refresh
            self._enqueue(event)
        if self._open and not self._peers_idle():
            try:
                await self.broker.broadcast(encode_event(event, self.node))
            except BrokerError as exc:
                if not self._failing:  # one line per outage, not one per change
                    log.warning("realtime events are not reaching the other nodes: %s", exc)
                self._failing = True
            else:
                if self._failing:
                    log.info("realtime events reach the other nodes again")
                self._failing = False

    async def announce_schema(self, version: str) -> None:
        """Tell the other nodes that collections or settings are now at `version`."""
        if not self._open:
            return
        try:
            await self.broker.broadcast(_frame({"k": "s", "v": version}, b""))
        except BrokerError as exc:
            if not self._schema_failing:
                log.warning("schema changes are not reaching the other nodes (they poll for them): %s", exc)
            self._schema_failing = True
        else:
            self._schema_failing = False

    # ------------------------------------------------------------------ idle peers
    def _peers_idle(self) -> bool:
        peers = self.broker.peers()
        return peers is not None and peers <= self._idle_peers

    async def _announce_idle(self) -> None:
        while True:
            if not self.app.realtime.clients:
                # an outage is reported by `send`; the next round tries again
                with contextlib.suppress(BrokerError):
                    await self.broker.broadcast(_frame({"k": "i", "n": self.node}, b""))
            await asyncio.sleep(self.idle_announce_s)

    async def wake(self) -> None:
        """This node got its first client: every peer must broadcast to it again before it serves one."""
        peers = self.broker.peers() if self._open else None
        if peers:
            await asyncio.gather(*(self.request(peer, WAKE, self.node) for peer in peers))

    async def _woken(self, node: Any) -> bool:
        self._idle_peers.discard(str(node))
        return True

    def _enqueue(self, item: RealtimeEvent | Inbound) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run(), name="satchel-realtime")
        self._queue.put_nowait(item)

    async def _run(self) -> None:
        assert self._deliver is not None
        while True:
            item = await self._queue.get()
            try:
                event = await self._decode(item) if isinstance(item, tuple) else item
                if event is not None:
                    await self._deliver(event)
            except Exception:  # one broken event must not stop the delivery of the next ones
                log.exception("realtime delivery failed")
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every event received or sent so far has been delivered here (tests, shutdown)."""
        if self._worker is not None and not self._worker.done():
            await self._queue.join()

    async def close(self) -> None:
        self._open = False
        if self._announcer is not None:
            self._announcer.cancel()
            self._announcer = None
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        for task in list(self._tasks):
            task.cancel()
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        await self.broker.close()

    # ------------------------------------------------------------------ requests
    def on_request(self, op: str, handler: Handler) -> None:
        self._handlers[op] = handler

    async def request(self, node: str, op: str, args: Any) -> Any:
        """Run handler `op` on `node` and return its result; None when no answer came in time."""
        if not self._open:
            return None
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        header = {"k": "q", "i": request_id, "f": self.node, "op": op}
        try:
            if not await self.broker.send(node, _frame(header, orjson.dumps(args))):
                return None  # no such node: nobody will answer
            return await asyncio.wait_for(future, self.request_timeout)
        except (TimeoutError, BrokerError):
            return None
        finally:
            self._pending.pop(request_id, None)

    async def _answer(self, origin: str, request_id: int, op: str, body: bytes) -> None:
        handler = self._handlers.get(op)
        try:
            result = None if handler is None else await handler(orjson.loads(body))
        except Exception:
            log.exception("realtime request %s from %s failed", op, origin)
            result = None
        try:
            await self.broker.send(origin, _frame({"k": "p", "i": request_id}, orjson.dumps(result)))
        except BrokerError as exc:
            log.warning("realtime reply to %s lost: %s", origin, exc)

    # ------------------------------------------------------------------ inbound
    def _receive(self, frame: bytes) -> None:
        head, _, body = frame.partition(b"\n")
        try:
            header = orjson.loads(head)
            kind = header["k"]
            if kind in ("r", "m"):
                if probes.active and "ts" in header:
                    _observe_lag(kind, header)
                if self.app.realtime.clients:  # no local client: nothing to deliver, no auth to refresh
                    self._enqueue((kind, header, body))
            elif kind == "s":
                self.app.schema.heard(str(header["v"]))
            elif kind == "i":
                self._idle_peers.add(str(header["n"]))
            elif kind == "q":
                task = asyncio.get_running_loop().create_task(
                    self._answer(str(header["f"]), int(header["i"]), str(header["op"]), body)
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif kind == "p":
                future = self._pending.get(int(header["i"]))
                if future is not None and not future.done():
                    future.set_result(orjson.loads(body))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("malformed realtime frame dropped")

    async def _decode(self, item: Inbound) -> RealtimeEvent | None:
        kind, header, body = item
        if kind == "m":
            return CustomMessage(str(header["t"]), body)
        if self.app.stale():  # a sibling changed collections or rules: decide with the new ones
            await self.app.sync()
        collection = self.app.collections.get(str(header["c"]))
        if collection is None:  # created elsewhere and its announcement lost: ask the database
            await self.app.schema.refresh()
            collection = self.app.collections.get(str(header["c"]))
        if collection is None:
            return None
        data = orjson.loads(body)
        return RecordChange(str(header["a"]), Record(collection, data, dict(data)))


def encode_event(event: RealtimeEvent, node: str = "") -> bytes:
    if isinstance(event, CustomMessage):
        return _frame({"k": "m", "t": event.topic, "n": node, "ts": time.time_ns()}, event.data)
    record = event.record
    body = orjson.dumps(record.data, option=orjson.OPT_NON_STR_KEYS)
    return _frame({"k": "r", "a": event.action, "c": record.collection_id, "n": node, "ts": time.time_ns()}, body)


def _observe_lag(kind: str, header: dict[str, Any]) -> None:
    """Report the time since the sender broadcast this frame, on this process's probe clock."""
    now = time.perf_counter_ns()
    lag = max(0, time.time_ns() - int(header["ts"]))
    attrs = {"realtime.kind": "record" if kind == "r" else "custom", "realtime.source": str(header.get("n", ""))}
    probes.emit("realtime.relay", now - lag, now, attrs)


def _frame(header: dict[str, Any], body: bytes) -> bytes:
    return orjson.dumps(header) + b"\n" + body
