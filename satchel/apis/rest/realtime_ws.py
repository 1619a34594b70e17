"""WebSocket realtime at `/api/realtime`: PocketBase's topics, options and rules over one socket.

A socket is one client of the realtime broker, exactly like an SSE stream: the broker decides
what it may see (list/view rules, the topic's filter, expand, fields, hidden fields) and queues
the same shared messages. Only the wire differs: JSON text messages both ways (see
docs/realtime.md for the protocol), subscriptions changed a few topics at a time, auth sent as a
token message and changeable on the open socket.

Every message for the client, replies included, goes through the client's outbox and is written
by one task, so replies and events keep their order and a socket never has two writes in flight.
A separate task reads the client's messages one at a time. Whatever ends the socket (the client
hanging up, the idle or lifetime limit, the broker dropping the client) ends it the same way: the
client is discarded, the writer sees the end marker, closes the socket when it is still open,
and the handler returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from satchel.apis.client_ip import client_ip
from satchel.apis.errors import INTERNAL_MESSAGE, STATUS_BY_KIND
from satchel.apis.middleware.front import authenticate
from satchel.apis.rest.realtime import MAX_TOPIC_LENGTH, MAX_TOPICS
from satchel.core.app import App
from satchel.core.errors import (
    BadRequestError,
    FieldError,
    SatchelError,
    TooLargeError,
    UnauthorizedError,
    ValidationError,
    invalid,
)
from satchel.core.realtime.broker import RealtimeBroker
from satchel.core.realtime.subscriptions import Client, Message
from satchel.core.records.model import Record

log = logging.getLogger("satchel.realtime")

WS = "ws"
"""The key of a message's WebSocket encoding in `Message.frames` (built once, shared by every socket)."""
PING_INTERVAL = 30.0
"""A socket nothing was written to for this long gets a `ping` message, so that proxies keep it open."""
MAX_MESSAGE_LENGTH = MAX_TOPICS * (MAX_TOPIC_LENGTH + 3) + 4096
"""Longest client message in characters: a subscribe message at the SSE POST's limits still fits."""

CLOSE_IDLE = (1000, "idle")
CLOSE_LIFETIME = (1000, "lifetime")
CLOSE_DROPPED = (1013, "dropped")
"""The broker dropped the client: too far behind, or the server is shutting down."""

BINARY = "Binary messages are not supported: send JSON text."
NOT_JSON = "The message is not valid JSON."
NOT_OBJECT = 'The message must be a JSON object with a "type".'
BAD_ID = 'The message "id" must be a string or a number.'
UNKNOWN_TYPE = "Unknown message type."
BAD_TOPICS = '"topics" must be a list of strings.'
BAD_TOKEN = '"token" must be a string (an empty one signs out).'  # noqa: S105 - a message, not a secret
INVALID_TOKEN = "The token is invalid or expired."  # noqa: S105 - a message, not a secret

_GONE = (OSError, RuntimeError, WebSocketDisconnect)
"""What a send raises when the peer is gone or the server will not write any more."""

_PING = Message("", b"", {WS: b'{"type":"ping"}'})
"""Queued by the watchdog; the writer knows it by identity (a ping is not activity)."""


def text_frame(shared: Message) -> bytes:
    """A message as sent on the socket; for an event `{"type":"event","topic":...,"data":...}` with the
    payload embedded as is, encoded once and reused by every socket it goes to."""
    frame = shared.frames.get(WS)
    if frame is None:
        frame = shared.frames[WS] = (
            b'{"type":"event","topic":' + orjson.dumps(shared.topic) + b',"data":' + shared.data + b"}"
        )
    return frame


def error_body(status: int, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """PocketBase's error shape, as `satchel.apis.errors` renders it for HTTP."""
    return {"data": data or {}, "message": message, "status": status}


def _too_long(limit: int) -> FieldError:
    return FieldError(
        "validation_length_too_long", f"The length must be no more than {limit}.", {"max": limit, "min": 0}
    )


def read_topics(body: dict[str, Any]) -> list[str]:
    """The message's `topics` (missing or null: none), checked against the SSE POST's limits."""
    topics = body.get("topics")
    if topics is None:
        return []
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise BadRequestError(BAD_TOPICS)
    if len(topics) > MAX_TOPICS:
        raise ValidationError(None, {"topics": _too_long(MAX_TOPICS)})
    too_long: dict[str, Any] = {
        str(i): _too_long(MAX_TOPIC_LENGTH) for i, t in enumerate(topics) if len(t) > MAX_TOPIC_LENGTH
    }
    if too_long:
        raise ValidationError(None, {"topics": too_long})
    return topics


def _auth_json(auth: Record | None) -> dict[str, str] | None:
    if auth is None:
        return None
    return {"id": auth.id, "collectionId": auth.collection_id, "collectionName": auth.collection.name}


class RealtimeSocket:
    """One open socket: its broker client, the reader and writer tasks, and the watchdog."""

    def __init__(self, app: App, websocket: WebSocket, client: Client) -> None:
        self.app = app
        self.broker: RealtimeBroker = app.realtime
        self.websocket = websocket
        self.client = client
        self.close_reason = CLOSE_DROPPED
        self.hung_up = False
        self._last_write = 0.0
        self._last_activity = 0.0
        self._end_of_life = 0.0
        self._watchdog: asyncio.TimerHandle | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._last_write = self._last_activity = loop.time()
        self._end_of_life = self._last_activity + self.broker.max_lifetime
        self.reply({"type": "connect", "clientId": self.client.id})
        reader = asyncio.ensure_future(self._read())
        reader.add_done_callback(self._reader_done)
        self._watchdog = loop.call_at(self._deadline(), self._watch)
        try:
            # tasks of their own: waking either resumes one frame, not the whole middleware chain
            await asyncio.ensure_future(self._write())
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
            reader.cancel()
            self.broker.disconnect(self.client.id)

    # ------------------------------------------------------------------ writing
    def reply(self, body: dict[str, Any]) -> None:
        """Queue a reply behind whatever the client already has pending."""
        self._queue(Message("", b"", {WS: orjson.dumps(body)}))

    def _queue(self, item: Message) -> None:
        if not self.client.push(item):
            log.info("realtime client %s disconnected: too many pending messages", self.client.id)
            self.broker.disconnect(self.client.id)

    async def _write(self) -> None:
        outbox = self.client.queue
        send = self.websocket.send
        loop = asyncio.get_running_loop()
        while True:
            await outbox.wait()
            for item in outbox.take_all():
                if item is None:  # discarded: hung up, idle, too old, too far behind or server shutdown
                    await self._close()
                    return
                try:
                    await send({"type": "websocket.send", "text": text_frame(item).decode()})
                except _GONE:
                    self.broker.disconnect(self.client.id)
                    return
                self._last_write = loop.time()
                if item is not _PING:
                    self._last_activity = self._last_write

    async def _close(self) -> None:
        if self.hung_up:
            return
        code, reason = self.close_reason
        with contextlib.suppress(*_GONE):
            await self.websocket.send({"type": "websocket.close", "code": code, "reason": reason})

    # ------------------------------------------------------------------ lifetime
    def _deadline(self) -> float:
        idle_end = self._last_activity + self.broker.idle_timeout
        return min(self._end_of_life, idle_end, self._last_write + PING_INTERVAL)

    def _watch(self) -> None:
        """Close a socket that is too old or idle, ping a quiet one; then look again at the next deadline."""
        self._watchdog = None
        if self.client.discarded:
            return
        now = asyncio.get_running_loop().time()
        if now >= self._end_of_life or now >= self._last_activity + self.broker.idle_timeout:
            self.close_reason = CLOSE_LIFETIME if now >= self._end_of_life else CLOSE_IDLE
            self.broker.disconnect(self.client.id)
            return
        if now >= self._last_write + PING_INTERVAL:
            self._last_write = now  # the writer sets it again once the ping is out
            self._queue(_PING)
        self._watchdog = asyncio.get_running_loop().call_at(self._deadline(), self._watch)

    # ------------------------------------------------------------------ reading
    def _reader_done(self, reader: asyncio.Future[None]) -> None:
        """The client hung up (or its receive channel failed): end the socket like any other way."""
        if not reader.cancelled() and (exc := reader.exception()) is not None:
            log.error("realtime socket receive failed", exc_info=exc)
        self.broker.disconnect(self.client.id)

    async def _read(self) -> None:
        receive = self.websocket.receive
        loop = asyncio.get_running_loop()
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                self.hung_up = True
                return
            self._last_activity = loop.time()
            await self._handle(message)

    async def _handle(self, message: Mapping[str, Any]) -> None:
        """Answer one client message; bad input gets an error message, never an exception."""
        ref: Any = None
        try:
            body = self._parse(message)
            ref = body.get("id")
            if ref is not None and (isinstance(ref, bool) or not isinstance(ref, str | int | float)):
                ref = None
                raise BadRequestError(BAD_ID)
            answer = await self._dispatch(body)
        except SatchelError as exc:
            self._error(ref, error_body(STATUS_BY_KIND.get(exc.kind, 400), exc.message, exc.data))
        except Exception:
            log.exception("realtime socket message failed")
            self._error(ref, error_body(500, INTERNAL_MESSAGE))
        else:
            if answer is not None:
                self.reply(answer if ref is None else {"type": answer.pop("type"), "id": ref, **answer})

    def _error(self, ref: Any, error: dict[str, Any]) -> None:
        self.reply({"type": "error", "error": error} if ref is None else {"type": "error", "id": ref, "error": error})

    @staticmethod
    def _parse(message: Mapping[str, Any]) -> dict[str, Any]:
        text = message.get("text")
        if text is None:
            raise BadRequestError(BINARY)
        if len(text) > MAX_MESSAGE_LENGTH:
            raise TooLargeError()
        try:
            body = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise BadRequestError(NOT_JSON) from exc
        if not isinstance(body, dict):
            raise BadRequestError(NOT_OBJECT)
        return body

    async def _dispatch(self, body: dict[str, Any]) -> dict[str, Any] | None:
        kind = body.get("type")
        if kind == "subscribe":
            return self._subscribe(read_topics(body))
        if kind == "unsubscribe":
            return self._unsubscribe(read_topics(body))
        if kind == "auth":
            return await self._auth(body.get("token"))
        if kind == "ping":
            return {"type": "pong"}
        if kind == "pong":
            return None  # the answer to our ping: being here already counted as activity
        raise ValidationError(UNKNOWN_TYPE, {"type": invalid()})

    # ------------------------------------------------------------------ the requests
    def _subscriptions(self) -> dict[str, Any]:
        return {"type": "subscriptions", "topics": list(self.client.subscriptions)}

    def _subscribe(self, topics: list[str]) -> dict[str, Any]:
        client = self.client
        wanted = list(dict.fromkeys([*client.subscriptions, *(t for t in topics if t)]))
        if len(wanted) > MAX_TOPICS:
            raise ValidationError(None, {"topics": _too_long(MAX_TOPICS)})
        if len(wanted) != len(client.subscriptions):
            self.broker.subscribe(client, wanted, client.auth)
        return self._subscriptions()

    def _unsubscribe(self, topics: list[str]) -> dict[str, Any]:
        client = self.client
        drop = set(topics)
        kept = [t for t in client.subscriptions if drop and t not in drop]
        if len(kept) != len(client.subscriptions):
            self.broker.subscribe(client, kept, client.auth)
        return self._subscriptions()

    async def _auth(self, token: Any) -> dict[str, Any]:
        if not isinstance(token, str):
            raise BadRequestError(BAD_TOKEN)
        if token and self.app.stale():  # a sibling worker changed collections or settings: see it first
            await self.app.sync()
        # an empty token signs out of the scope too: the session's request log entry shows its last auth
        await authenticate(self.app, self.websocket.scope, token or None)
        auth: Record | None = self.websocket.scope["state"]["auth"]
        # the subscriptions stay; the broker checks them against the new auth from now on
        self.broker.subscribe(self.client, list(self.client.subscriptions), auth)
        if token and auth is None:
            raise UnauthorizedError(INVALID_TOKEN)
        return {"type": "auth", "auth": _auth_json(auth)}


async def realtime_socket(websocket: WebSocket) -> None:
    app: App = websocket.app.state.satchel
    try:
        await websocket.accept()
    except _GONE:  # gone before the handshake completed
        return
    client = await app.realtime.join(client_ip(websocket.scope, app.settings.current["trustedProxy"]))
    await RealtimeSocket(app, websocket, client).run()


routes = [WebSocketRoute("/api/realtime", realtime_socket)]
