"""`GET/POST /api/realtime`: PocketBase's Server-Sent Events protocol."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from satchel.apis.request import read_body
from satchel.apis.responses import no_content
from satchel.core.app import App
from satchel.core.errors import FieldError, ForbiddenError, NotFoundError, ValidationError, required
from satchel.core.realtime.broker import MAX_TOPIC_LENGTH, MAX_TOPICS, Client

IDLE_TIMEOUT = 5 * 60.0
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


def _frame(client_id: str, event: str, data: bytes) -> bytes:
    return b"id:" + client_id.encode() + b"\nevent:" + event.encode() + b"\ndata:" + data + b"\n\n"


async def _stream(app: App, client: Client) -> AsyncIterator[bytes]:
    try:
        yield _frame(client.id, "PB_CONNECT", orjson.dumps({"clientId": client.id}))
        while True:
            try:
                item = await asyncio.wait_for(client.queue.get(), IDLE_TIMEOUT)
            except TimeoutError:
                return  # idle clients are closed, as PocketBase does; the SDK reconnects
            if item is None:
                return
            event, data = item
            yield _frame(client.id, event, data)
    finally:
        app.realtime.disconnect(client.id)


async def connect(request: Request) -> Response:
    app: App = request.app.state.satchel
    client = app.realtime.connect()
    return StreamingResponse(_stream(app, client), media_type="text/event-stream", headers=SSE_HEADERS)


def _validate(body: dict[str, Any]) -> tuple[str, list[str]]:
    client_id = body.get("clientId")
    subs = body.get("subscriptions", [])
    errors: dict[str, Any] = {}
    if not isinstance(client_id, str) or not client_id:
        errors["clientId"] = required()
    elif len(client_id) > 255:
        errors["clientId"] = FieldError("validation_length_out_of_range", "The length must be between 1 and 255.")
    if not isinstance(subs, list) or not all(isinstance(s, str) for s in subs):
        errors["subscriptions"] = FieldError("validation_invalid_value", "Invalid value.")
    elif len(subs) > MAX_TOPICS:
        errors["subscriptions"] = FieldError(
            "validation_length_too_long", f"The length must be no more than {MAX_TOPICS}."
        )
    elif any(len(s) > MAX_TOPIC_LENGTH for s in subs):
        errors["subscriptions"] = FieldError("validation_length_too_long", "A topic is too long.")
    if errors:
        raise ValidationError("An error occurred while validating the submitted data.", errors)
    return str(client_id), list(subs)


async def set_subscriptions(request: Request) -> Response:
    app: App = request.app.state.satchel
    body = await read_body(request)
    client_id, topics = _validate(body)
    client = app.realtime.clients.get(client_id)
    if client is None:
        raise NotFoundError("Missing or invalid client id.")
    auth = request.state.auth
    if client.auth is not None and (
        auth is None or (auth.collection_id, auth.id) != (client.auth.collection_id, client.auth.id)
    ):
        raise ForbiddenError("The current and the previous request authorization don't match.")
    app.realtime.subscribe(client, topics, auth)
    return no_content()


routes = [
    Route("/api/realtime", connect, methods=["GET"]),
    Route("/api/realtime", set_subscriptions, methods=["POST"]),
]
