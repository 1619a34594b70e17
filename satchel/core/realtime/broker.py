"""The realtime broker: connected clients, and the fan-out of record events and custom messages.

Publishing never waits for subscribers. `publish()` (called after a commit) hands the event to a
`Transport`, which delivers events to `RealtimeBroker.deliver` one at a time in publish order, so
every client receives one record's changes in the order they were committed. Delivery only
queues messages on each client's bounded outbox; a client whose outbox is full is disconnected
(its SDK reconnects and resubscribes) rather than slowing everyone else down.

The transport is the seam for running several server processes: the in-process one below
delivers locally; `relay.BrokerTransport` also carries every event to the other processes and
nodes, and carries a subscription call that reached the wrong process to the one holding the
client (client ids start with the id of their node).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from satchel.core.hooks import CollectionEvent
from satchel.core.realtime.subscriptions import Client, Message, message, record_targets, topic_target
from satchel.core.realtime.visibility import EventView, subscriber_request
from satchel.core.records.model import Record
from satchel.tools import probes
from satchel.tools.ids import random_string

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from satchel.core.app import App
    from satchel.core.rules.request_info import RequestInfo

log = logging.getLogger("satchel.realtime")

CLIENT_ID_LENGTH = 40
NODE_ID_LENGTH = 10
"""The first characters of a client id name the process that holds it (PocketBase's ids are 40
random characters; ours still have 30 random ones after the node id)."""
IDLE_TIMEOUT = 5 * 60.0
"""A stream that delivered nothing for this long is closed (the SDK reconnects)."""
MAX_LIFETIME = 30 * 60.0
"""Streams are recycled after this long whatever their activity, as PocketBase does."""


@dataclass(frozen=True, slots=True)
class RecordChange:
    action: str
    """One of create, update, delete."""
    record: Record


@dataclass(frozen=True, slots=True)
class CustomMessage:
    topic: str
    data: bytes


RealtimeEvent = RecordChange | CustomMessage

SUBSCRIBE = "subscribe"
SUBSCRIBED = "ok"
UNKNOWN_CLIENT = "unknown"
OTHER_IP = "ip"
OTHER_AUTH = "auth"
OUTCOMES = (SUBSCRIBED, UNKNOWN_CLIENT, OTHER_IP, OTHER_AUTH)


def _same_auth(a: Record | None, b: Record | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.id == b.id and a.collection_id == b.collection_id


class Transport(Protocol):
    """Carries published events to the brokers that hold clients, in publish order."""

    node: str
    """This process's id among the nodes the transport reaches."""

    @property
    def shared(self) -> bool:
        """Whether other processes may hold clients (events must be sent even with none here)."""
        ...

    def start(self, deliver: Callable[[RealtimeEvent], Awaitable[None]]) -> None: ...

    async def open(self) -> None: ...

    async def send(self, event: RealtimeEvent) -> None: ...

    def on_request(self, op: str, handler: Callable[[Any], Awaitable[Any]]) -> None: ...

    async def request(self, node: str, op: str, args: Any) -> Any:
        """Run handler `op` on `node`; None when it did not answer."""
        ...

    async def wake(self) -> None:
        """This process got its first client: returns once every other node will send it events."""
        ...

    async def close(self) -> None: ...


class LocalTransport:
    """One process: an unbounded FIFO drained by a single background task."""

    shared = False

    def __init__(self) -> None:
        self.node = random_string(NODE_ID_LENGTH)
        self._deliver: Callable[[RealtimeEvent], Awaitable[None]] | None = None
        self._events: asyncio.Queue[RealtimeEvent] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def start(self, deliver: Callable[[RealtimeEvent], Awaitable[None]]) -> None:
        self._deliver = deliver

    async def open(self) -> None:
        pass

    def on_request(self, op: str, handler: Callable[[Any], Awaitable[Any]]) -> None:
        pass

    async def request(self, node: str, op: str, args: Any) -> Any:
        return None

    async def wake(self) -> None:
        pass

    async def send(self, event: RealtimeEvent) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run(), name="satchel-realtime")
        self._events.put_nowait(event)

    async def _run(self) -> None:
        assert self._deliver is not None
        while True:
            event = await self._events.get()
            try:
                await self._deliver(event)
            except Exception:  # one broken event must not stop the delivery of the next ones
                log.exception("realtime delivery failed")
            finally:
                self._events.task_done()

    async def drain(self) -> None:
        """Wait until every event sent so far has been delivered (tests, graceful shutdown)."""
        if self._worker is not None and not self._worker.done():
            await self._events.join()

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None


class RealtimeBroker:
    def __init__(self, app: App, transport: Transport | None = None) -> None:
        self.app = app
        self.clients: dict[str, Client] = {}
        self._by_target: dict[str, dict[str, Client]] = {}
        self.idle_timeout = IDLE_TIMEOUT
        self.max_lifetime = MAX_LIFETIME
        self.transport: Transport = transport or LocalTransport()
        self._waking: asyncio.Future[None] | None = None
        self.transport.start(self.deliver)
        self.transport.on_request(SUBSCRIBE, self._subscribe_request)
        hooks = getattr(app, "hooks", None)
        if hooks is not None:
            hooks.on_collection_delete.bind(self._on_collection_delete, id="satchel:realtime")

    # ------------------------------------------------------------------ clients
    def connect(self, ip: str = "") -> Client:
        node = self.transport.node
        client = Client(id=node + random_string(CLIENT_ID_LENGTH - len(node)), ip=ip)
        if not self.clients and self.transport.shared:
            self._waking = asyncio.ensure_future(self.transport.wake())
        self.clients[client.id] = client
        if probes.active:
            probes.instant("realtime.clients", {"realtime.clients": len(self.clients), "realtime.change": "connect"})
        return client

    async def join(self, ip: str = "") -> Client:
        """`connect`, returning once the other nodes send this one events again (the first client
        wakes an idle node, see `relay`): a change committed after a client was told it is
        connected must reach it."""
        client = self.connect(ip)
        waking = self._waking
        if waking is not None:
            try:
                await asyncio.shield(waking)
            except BaseException:
                self.disconnect(client.id)
                raise
            if self._waking is waking:
                self._waking = None
        return client

    def client(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    def disconnect(self, client_id: str) -> None:
        client = self.clients.pop(client_id, None)
        if client is None:
            return
        self._unindex(client)
        client.discard()
        if probes.active:
            probes.instant("realtime.clients", {"realtime.clients": len(self.clients), "realtime.change": "disconnect"})

    def subscribe(self, client: Client, topics: list[str], auth: Record | None) -> None:
        """Bind `auth` to the client and replace its subscriptions (PocketBase's POST semantics)."""
        self._unindex(client)
        client.auth = auth
        client.unsubscribe()
        client.subscribe(topics)
        if client.id in self.clients:
            for target in client.targets():
                self._by_target.setdefault(target, {})[client.id] = client

    def _unindex(self, client: Client) -> None:
        for target in client.targets():
            subscribers = self._by_target.get(target)
            if subscribers is not None:
                subscribers.pop(client.id, None)
                if not subscribers:
                    del self._by_target[target]

    async def subscribe_by_id(self, client_id: str, topics: list[str], auth: Record | None, ip: str) -> str:
        """PocketBase's subscription call for a client held here or by another process.

        Returns `SUBSCRIBED`, or why not: `UNKNOWN_CLIENT`, `OTHER_IP` (the call came from
        another address than the stream) or `OTHER_AUTH` (the client was bound to other auth).
        """
        client = self.clients.get(client_id)
        if client is not None:
            return self._subscribe_checked(client, topics, auth, ip)
        node = client_id[:NODE_ID_LENGTH]
        if node == self.transport.node or not self.transport.shared or not node.isalnum():
            return UNKNOWN_CLIENT
        ref = None if auth is None else [auth.collection_id, auth.id]
        args = {"client": client_id, "topics": topics, "auth": ref, "ip": ip}
        outcome = await self.transport.request(node, SUBSCRIBE, args)
        return outcome if outcome in OUTCOMES else UNKNOWN_CLIENT

    def _subscribe_checked(self, client: Client, topics: list[str], auth: Record | None, ip: str) -> str:
        if client.ip and client.ip != ip:
            return OTHER_IP
        if client.auth is not None and not _same_auth(client.auth, auth):
            return OTHER_AUTH
        self.subscribe(client, topics, auth)
        return SUBSCRIBED

    async def _subscribe_request(self, args: Any) -> str:
        """Another process received the subscription call of a client held here."""
        client = self.clients.get(str(args["client"]))
        if client is None:
            return UNKNOWN_CLIENT
        auth: Record | None = None
        if args["auth"] is not None:
            collection_id, record_id = (str(part) for part in args["auth"])
            collection = self.app.collections.get(collection_id)
            auth = None if collection is None else await self.app.records.get_by_id(collection, record_id)
            if auth is None:
                return UNKNOWN_CLIENT  # deleted between the call and now: as if the token were invalid
        topics = [str(t) for t in args["topics"]]
        return self._subscribe_checked(client, topics, auth, str(args["ip"]))

    async def ask_holder(self, client_id: str, op: str, args: Any) -> Any:
        """Run request `op` on the process holding `client_id` when that is another one; else None."""
        node = client_id[:NODE_ID_LENGTH]
        if node == self.transport.node or not self.transport.shared or not node.isalnum():
            return None
        return await self.transport.request(node, op, args)

    def subscribers(self, target: str) -> list[Client]:
        return list(self._by_target.get(target, {}).values())

    # ------------------------------------------------------------------ publishing
    async def publish(self, action: str, record: Record) -> None:
        """Queue a committed change for delivery; returns at once."""
        if not self.clients and not self.transport.shared:
            return
        snapshot = Record(record.collection, dict(record.data), dict(record.data))
        await self.transport.send(RecordChange(action, snapshot))

    async def send_custom(self, topic: str, data: Any) -> None:
        """Send `data` (JSON-encoded) to the clients subscribed to exactly `topic`."""
        await self.transport.send(CustomMessage(topic, orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)))

    async def deliver(self, event: RealtimeEvent) -> None:
        """Fan one event out to this process's clients (the transport calls it in publish order).

        Subscriptions are grouped by topic and bound auth: each group is decided (rules, filter,
        payload) once, by `EventView`, and its clients all queue the same message object.
        """
        if isinstance(event, CustomMessage):
            shared = message(event.topic, event.data)
            for client in self.subscribers(topic_target(event.topic)):
                if event.topic in client.subscriptions:
                    self._send(client, shared)
            return
        record = event.record
        # a deleted user is told of her own deletion with the auth she had (PocketBase checks
        # deletes before the row goes); a changed one is judged with her new state
        unbind_after = record.collection.is_auth and event.action == "delete"
        if record.collection.is_auth and not unbind_after:
            self._sync_auth(event.action, record)
        try:
            await self._fan_out(event, record)
        finally:
            if unbind_after:
                self._sync_auth(event.action, record)

    async def _fan_out(self, event: RecordChange, record: Record) -> None:
        view = EventView(self.app, event.action, record)
        collection = record.collection
        for target, is_list in record_targets(collection, record.id).items():
            if target not in self._by_target:
                continue
            rule = collection.listRule if is_list else collection.viewRule
            # one decision per (topic, auth), all taken together: rule checks of many subscribers
            # run as one statement per rule shape (EventView.decide)
            groups: dict[tuple[str, tuple[str, str] | None], int] = {}
            pairs: list[tuple[str, RequestInfo]] = []
            sends: list[tuple[Client, int]] = []
            for client in self.subscribers(target):
                for topic, options in client.topics_for(target):
                    index = groups.setdefault((topic, client.auth_key), len(pairs))
                    if index == len(pairs):
                        pairs.append((topic, subscriber_request(client.auth, options)))
                    sends.append((client, index))
            outcomes = await view.decide(pairs, rule)
            for client, index in sends:
                outcome = outcomes[index]
                if outcome is not None and not client.discarded:
                    self._send(client, outcome)

    def _send(self, client: Client, shared: Message) -> None:
        if not client.push(shared):
            log.info("realtime client %s disconnected: too many pending messages", client.id)
            self.disconnect(client.id)

    # ------------------------------------------------------------------ auth state
    def _sync_auth(self, action: str, record: Record) -> None:
        """Keep clients' bound auth current: refreshed on update, dropped on delete or new tokenKey."""
        if action == "create":
            return
        for client in self.clients.values():
            if not client.is_auth(record.collection_id, record.id):
                continue
            assert client.auth is not None
            if action == "delete" or client.auth.get("tokenKey") != record.get("tokenKey"):
                client.auth = None
            else:
                client.auth = record

    async def _on_collection_delete(self, e: CollectionEvent) -> None:
        await e.next()
        if e.collection.is_auth:
            for client in self.clients.values():
                if client.auth is not None and client.auth.collection_id == e.collection.id:
                    client.auth = None

    # ------------------------------------------------------------------ shutdown
    def disconnect_all(self) -> None:
        for client_id in list(self.clients):
            self.disconnect(client_id)

    async def open(self) -> None:
        """Join the other processes (server start-up; raises BrokerError when unreachable)."""
        await self.transport.open()

    async def close(self) -> None:
        """End every stream and stop delivering (server shutdown)."""
        self.disconnect_all()
        await self.transport.close()
