"""In-process realtime: clients, their topic subscriptions, and rule-checked fan-out of record events.

A single worker task fans events out in commit order, so each client sees one record's changes in
order; each client has a bounded queue and a client that falls behind is dropped, never waited for.
Visibility is decided by the same access policy as the REST API, once per distinct
(rule, auth, filter) per event, so many subscribers with the same auth cost one query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson

from satchel.core.errors import SatchelError
from satchel.core.records.fields_param import apply_fields, parse_fields
from satchel.core.records.model import Record
from satchel.core.rules.policy import rule_probe
from satchel.core.rules.request_info import CONTEXT_REALTIME, RequestInfo
from satchel.tools.ids import random_string
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.realtime")

CLIENT_QUEUE = 1000
MAX_TOPICS = 1000
MAX_TOPIC_LENGTH = 2500


@dataclass(slots=True)
class Subscription:
    topic: str
    target: str
    """`collection/*`, `collection/recordId`, or a custom topic name."""
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def parse_topic(raw: str) -> Subscription:
    """`posts/*?options={"query":{"filter":"..."}}` -> target + options (bad options are ignored)."""
    target, _, qs = raw.partition("?")
    sub = Subscription(topic=raw, target=target)
    options_raw = parse_qs(qs).get("options", [""])[0] if qs else ""
    if options_raw:
        try:
            options = orjson.loads(options_raw)
        except orjson.JSONDecodeError:
            options = {}
        if isinstance(options, dict):
            q, h = options.get("query"), options.get("headers")
            sub.query = {str(k): str(v) for k, v in q.items()} if isinstance(q, dict) else {}
            sub.headers = (
                {str(k).lower().replace("-", "_"): str(v) for k, v in h.items()} if isinstance(h, dict) else {}
            )
    return sub


@dataclass(eq=False)
class Client:
    id: str
    queue: asyncio.Queue[tuple[str, bytes] | None]
    auth: Record | None = None
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    closed: bool = False

    def push(self, event: str, data: bytes) -> bool:
        """Queue a message; False when the client is too far behind (it is then disconnected)."""
        if self.closed:
            return True
        try:
            self.queue.put_nowait((event, data))
        except asyncio.QueueFull:
            return False
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(asyncio.QueueFull):  # a full queue is drained and dropped anyway
                self.queue.put_nowait(None)


class RealtimeBroker:
    def __init__(self, app: App) -> None:
        self.app = app
        self.clients: dict[str, Client] = {}
        self._events: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    # --------------------------------------------------------------- clients
    def connect(self) -> Client:
        client = Client(id=random_string(40), queue=asyncio.Queue(CLIENT_QUEUE))
        self.clients[client.id] = client
        return client

    def disconnect(self, client_id: str) -> None:
        client = self.clients.pop(client_id, None)
        if client is not None:
            client.close()

    def subscribe(self, client: Client, topics: list[str], auth: Record | None) -> None:
        client.auth = auth
        client.subscriptions = {t: parse_topic(t) for t in dict.fromkeys(topics) if t}

    # --------------------------------------------------------------- publish
    async def publish(self, action: str, record: Record) -> None:
        if not self.clients:
            return
        snapshot = Record(record.collection, dict(record.data))
        await self._enqueue(lambda: self._fan_out(action, snapshot))

    async def send_custom(self, topic: str, data: Any) -> None:
        payload = orjson.dumps(data)

        async def send() -> None:
            for client in list(self.clients.values()):
                if topic in client.subscriptions and not client.push(topic, payload):
                    self.disconnect(client.id)

        await self._enqueue(send)

    async def _enqueue(self, job: Callable[[], Awaitable[None]]) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())
        self._events.put_nowait(job)

    async def _run(self) -> None:
        while True:
            job = await self._events.get()
            try:
                await job()
            except Exception:  # a broken event must not stop delivery of the next ones
                log.exception("realtime fan-out failed")

    async def _fan_out(self, action: str, record: Record) -> None:
        collection = record.collection
        memo: dict[tuple[Any, ...], bool] = {}
        for client in list(self.clients.values()):
            for sub in client.subscriptions.values():
                name, _, rid = sub.target.partition("/")
                if rid not in ("*", record.id) or name not in (collection.name, collection.id):
                    continue
                if not await self._visible(client, sub, record, rid == "*", memo):
                    continue
                payload = await self._payload(client, sub, action, record)
                if not client.push(sub.topic, payload):
                    log.info("realtime client %s dropped: queue full", client.id)
                    self.disconnect(client.id)
                    break

    def _request(self, client: Client, sub: Subscription) -> RequestInfo:
        return RequestInfo(
            auth=client.auth, method="GET", context=CONTEXT_REALTIME, query=sub.query, headers=sub.headers
        )

    async def _visible(
        self, client: Client, sub: Subscription, record: Record, is_list: bool, memo: dict[tuple[Any, ...], bool]
    ) -> bool:
        collection = record.collection
        request = self._request(client, sub)
        rule = collection.listRule if is_list else collection.viewRule
        auth_key = (client.auth.collection_id, client.auth.id) if client.auth else None
        key = (is_list, auth_key, sub.query.get("filter", ""), tuple(sorted(sub.headers.items())))
        if key in memo:
            return memo[key]
        ok = await self._check(record, rule, request)
        if ok and sub.query.get("filter", "").strip():
            ok = await self._check(record, sub.query["filter"], request, superuser_bypass=False)
        memo[key] = ok
        return ok

    async def _check(
        self, record: Record, rule: str | None, request: RequestInfo, superuser_bypass: bool = True
    ) -> bool:
        if request.is_superuser and superuser_bypass:
            return True
        if rule is None:
            return False
        if not rule.strip():
            return True
        collection = record.collection
        columns: list[ir.SelectItem] = [
            ir.Alias(ir.Param(f.to_db(record.data.get(f.name, f.zero()))), f.name) for f in collection.fields
        ]
        dummy = ir.SubquerySource(ir.Select(tuple(columns)), collection.name)
        try:
            probe = rule_probe(collection, rule, request, self.app.collections.get, dummy)
            return await self.app.db.executor().fetch_one(probe) is not None
        except SatchelError:
            return False

    async def _payload(self, client: Client, sub: Subscription, action: str, record: Record) -> bytes:
        request = self._request(client, sub)
        exported = (await self.app.records.export([record], request, sub.query.get("expand", "")))[0]
        exported = apply_fields(exported, parse_fields(sub.query.get("fields", "")))
        return orjson.dumps({"action": action, "record": exported})

    async def close(self) -> None:
        for client_id in list(self.clients):
            self.disconnect(client_id)
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
