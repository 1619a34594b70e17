"""`<collection>Changed` subscriptions, fed by the realtime broker like an SSE client.

Each subscription is one broker client subscribed to the topic SSE would use (`posts/*`, or
`posts/<id>` with `id`; `filter` goes in the topic's options), with the caller's auth. The broker
therefore decides exactly as for SSE: the list or view rule, the filter, hidden fields, email
visibility, and auth kept current (a deleted user stops seeing what needed her). Its message,
`{action, record}`, becomes the subscription's event.

The client is subscribed in the subscribe resolver, before the operation's stream exists, so a
change committed once the stream is there (in process: once `subscribe` returned) is delivered.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote

import orjson

from satchel.core.collections.model import Collection
from satchel.core.errors import BadRequestError
from satchel.core.realtime.subscriptions import Client
from satchel.core.rules.request_info import CONTEXT_REALTIME
from satchel.plugins.graphql.batching import Group
from satchel.plugins.graphql.context import Context
from satchel.tools.filter.errors import FilterSyntaxError
from satchel.tools.filter.parser import parse


class SubscriptionDropped(Exception):
    """The broker dropped the client: it fell too far behind, or the server is stopping."""


def topic(collection: Collection, record_id: str, filter_text: str) -> str:
    base = f"{collection.name}/{record_id or '*'}"
    if not filter_text:
        return base
    return base + "?options=" + quote(orjson.dumps({"query": {"filter": filter_text}}).decode(), safe="")


class RecordChanges:
    """The source stream of one subscription: the broker client's messages as events."""

    def __init__(self, ctx: Context, collection: Collection, client: Client) -> None:
        # the event's relations are read as realtime's `expand` reads them (`@request.context` is "realtime")
        self.ctx = replace(ctx, request=replace(ctx.request, context=CONTEXT_REALTIME))
        self.collection = collection
        self.client: Client | None = client

    @staticmethod
    async def open(ctx: Context, collection: Collection, record_id: str, filter_text: str) -> RecordChanges:
        """Subscribed before the operation counts as started: `join` returns once the other nodes
        send this one events, so no change committed after that is missed."""
        if filter_text:
            try:
                parse(filter_text)  # a filter that cannot parse would silently match nothing: say so
            except FilterSyntaxError as exc:
                raise BadRequestError("Invalid filter.") from exc
        broker = ctx.app.realtime
        client = await broker.join(ctx.request.ip)
        broker.subscribe(client, [topic(collection, record_id, filter_text)], ctx.request.auth)
        return RecordChanges(ctx, collection, client)

    def __aiter__(self) -> RecordChanges:
        return self

    async def __anext__(self) -> dict[str, Any]:
        client = self.client
        if client is None:
            raise StopAsyncIteration
        message = await client.queue.get()
        if message is None:
            await self.aclose()
            raise SubscriptionDropped()
        event = orjson.loads(message.data)
        record = Group(self.collection, self.ctx).adopt([event["record"]])[0]
        return {"action": event["action"], "record": record}

    async def aclose(self) -> None:
        if self.client is not None:
            self.ctx.app.realtime.disconnect(self.client.id)
            self.client = None
