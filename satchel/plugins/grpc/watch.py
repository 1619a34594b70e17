"""`Records.Watch`: a realtime subscription whose messages are written to a gRPC stream.

The call joins the realtime broker as an SSE client does and subscribes to the topic that client
would send (`posts/*` or `posts/RECORD_ID`, with `filter`, `expand`, `fields` and the call's
metadata as the topic's options), so the broker decides what it sees exactly as it decides for
SSE: the list or view rule under the caller's auth, then the filter, then the payload. Events
committed through any worker or node reach it through the broker's transport. The stream ends
when the client goes away, the broker drops it (too far behind), or the server stops.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import grpc
import orjson

from satchel.core.app import App
from satchel.core.errors import BadRequestError, ValidationError, invalid
from satchel.core.realtime.subscriptions import OPTIONS_PARAM
from satchel.plugins.grpc.call_log import CallLog
from satchel.plugins.grpc.calls import AUTHORIZATION, WATCH, Calls
from satchel.plugins.grpc.convert import to_struct
from satchel.plugins.grpc.errors import status_of
from satchel.plugins.grpc.gen import records_pb2 as pb
from satchel.tools.filter.errors import FilterSyntaxError
from satchel.tools.filter.parser import parse
from satchel.tools.ids import is_valid_record_id

WATCH_ID = "satchel-watch-id"
"""Initial metadata sent once the subscription is in place: the realtime client id."""


def topic(collection: str, record_id: str, query: dict[str, str], headers: dict[str, str]) -> str:
    """The realtime topic an SSE client would subscribe to for the same events."""
    options = json.dumps({"query": query, "headers": headers}, separators=(",", ":"))
    return f"{collection}/{record_id or '*'}?{OPTIONS_PARAM}={quote(options, safe='')}"


def _topic_safe(record_id: str) -> bool:
    """A record id that can be a topic's target: a valid id without URL syntax (`?`, `#`, `%`, `/`)."""
    return is_valid_record_id(record_id) and not any(c in record_id for c in "?#%/")


def watch_query(request: pb.WatchRequest) -> dict[str, str]:
    query = {"filter": request.filter, "expand": request.expand, "fields": request.fields}
    return {k: v for k, v in query.items() if v}


async def watch(
    app: App, calls: Calls, request: pb.WatchRequest, context: grpc.aio.ServicerContext[Any, Any], log: CallLog
) -> AsyncIterator[pb.ChangeEvent]:
    """The stream's events; its log entry is written when it ends, as an SSE stream's is."""
    query = watch_query(request)
    try:
        info, _ = await calls.request_info(context, WATCH, request.collection, query=query, log=log)
        collection = await app.records.fresh_collection(request.collection)
        if request.record_id and not _topic_safe(request.record_id):
            raise ValidationError(None, {"record_id": invalid("Invalid record id.")})
        if request.filter.strip():
            try:
                parse(request.filter)
            except FilterSyntaxError as exc:
                raise BadRequestError(f"Invalid filter: {exc}") from exc
    except Exception as exc:
        log.done(exc)
        code, text, trailing = status_of(exc)
        await context.abort(code, text, trailing_metadata=trailing)
        return
    client = await app.realtime.join(info.ip)
    try:
        headers = {k: v for k, v in info.headers.items() if k != AUTHORIZATION}  # no token kept in a topic
        app.realtime.subscribe(client, [topic(collection.name, request.record_id, query, headers)], info.auth)
        await context.send_initial_metadata(((WATCH_ID, client.id),))
        while (pending := await client.queue.get()) is not None:
            event = orjson.loads(pending.data)
            yield pb.ChangeEvent(action=event["action"], record=to_struct(event["record"]))
    finally:
        app.realtime.disconnect(client.id)
        log.done()
