"""`GET/POST /api/realtime`: PocketBase's Server-Sent Events protocol.

GET opens the stream: a `PB_CONNECT` frame carrying the client id, then one frame per message,
each `id:<clientId>\\nevent:<topic>\\ndata:<json>\\n\\n` (no spaces, no retry line, no keep-alive
comments, exactly as PocketBase writes them). POST replaces a client's subscriptions and binds
the auth of that request to the client.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from satchel.apis.client_ip import client_ip
from satchel.apis.request import read_body
from satchel.apis.responses import no_content
from satchel.core.app import App
from satchel.core.errors import BadRequestError, FieldError, ForbiddenError, NotFoundError, ValidationError, required
from satchel.core.realtime.broker import OTHER_AUTH, OTHER_IP, UNKNOWN_CLIENT, RealtimeBroker
from satchel.core.realtime.subscriptions import Client, Message
from satchel.core.records.model import Record

MAX_CLIENT_ID = 255
MAX_TOPICS = 1000
MAX_TOPIC_LENGTH = 2500
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


SSE = "sse"


def frame(client_id: str, event: str, data: bytes) -> bytes:
    return b"id:" + client_id.encode() + b"\nevent:" + event.encode() + b"\ndata:" + data + b"\n\n"


def frame_tail(shared: Message) -> bytes:
    """A message's frame after the `id:` line; encoded once and reused by every stream it goes to."""
    tail = shared.frames.get(SSE)
    if tail is None:
        tail = shared.frames[SSE] = b"\nevent:" + shared.topic.encode() + b"\ndata:" + shared.data + b"\n\n"
    return tail


class EventStream(Response):
    """The SSE response: writes the client's messages until it is discarded, idle or too old.

    A raw ASGI response rather than a streaming one so that a client hanging up is noticed at
    once (a task watches the receive channel) and the client is freed. Hanging up, the idle and
    lifetime limits and a broker-side disconnect all end the stream the same way: the client is
    discarded, which queues the end marker the stream is waiting for. Everything pending when the
    stream wakes up is written as one body chunk.
    """

    def __init__(self, broker: RealtimeBroker, client: Client) -> None:
        # Response.__init__ would add a charset and a zero content-length: headers are set by hand
        self.status_code = 200
        self.background = None
        self.raw_headers = [
            (b"content-type", b"text/event-stream"),
            (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no"),
        ]
        self.broker = broker
        self.client = client
        self._last_write = 0.0
        self._watchdog: asyncio.TimerHandle | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        self._last_write = loop.time()
        end_of_life = self._last_write + self.broker.max_lifetime
        hangup = asyncio.ensure_future(_wait_disconnect(receive))
        hangup.add_done_callback(self._hung_up)
        self._watchdog = loop.call_at(self._deadline(end_of_life), self._watch, end_of_life)
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            # a task of its own: waking it resumes two frames, not the whole middleware chain
            await asyncio.ensure_future(self._pump(send))
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the peer went away mid-write
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
            hangup.cancel()
            self.broker.disconnect(self.client.id)

    def _deadline(self, end_of_life: float) -> float:
        return min(end_of_life, self._last_write + self.broker.idle_timeout)

    def _watch(self, end_of_life: float) -> None:
        """Ends a stream that is idle or too old; otherwise looks again at the next deadline."""
        loop = asyncio.get_running_loop()
        deadline = self._deadline(end_of_life)
        if loop.time() >= deadline:
            self._watchdog = None
            self.broker.disconnect(self.client.id)
        else:
            self._watchdog = loop.call_at(deadline, self._watch, end_of_life)

    def _hung_up(self, hangup: asyncio.Future[None]) -> None:
        if not hangup.cancelled():
            hangup.exception()  # retrieved: a failing receive channel ends the stream like a hang-up
        self.broker.disconnect(self.client.id)

    async def _pump(self, send: Send) -> None:
        client = self.client
        outbox = client.queue
        prefix = b"id:" + client.id.encode()
        data = orjson.dumps({"clientId": client.id})
        await send({"type": "http.response.body", "body": frame(client.id, "PB_CONNECT", data), "more_body": True})
        loop = asyncio.get_running_loop()
        while True:
            await outbox.wait()
            pending = outbox.take_all()
            body = b"".join([prefix + frame_tail(m) for m in pending if m is not None])
            if body:
                await send({"type": "http.response.body", "body": body, "more_body": True})
                self._last_write = loop.time()
            if pending and pending[-1] is None:
                return  # discarded: hung up, idle, too old, too far behind or server shutdown


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def real_ip(request: Request, app: App) -> str:
    """The caller's address, through the trusted proxy headers when settings name any."""
    return client_ip(request.scope, app.settings.current["trustedProxy"])


async def connect(request: Request) -> Response:
    app: App = request.app.state.satchel
    client = await app.realtime.join(real_ip(request, app))
    return EventStream(app.realtime, client)


def _bind(body: dict[str, Any], form: bool) -> tuple[str, list[str]]:
    """Read the form the way Go binds JSON into a struct: keys case-insensitive, wrong types refused."""
    client_id: Any = ""
    topics: Any = []
    for key, value in body.items():
        name = key.lower()
        if name == "clientid":
            client_id = "" if value is None else value
        elif name == "subscriptions":
            topics = [] if value is None else [value] if form and isinstance(value, str) else value
    if not isinstance(client_id, str) or not isinstance(topics, list):
        raise BadRequestError()
    if not all(t is None or isinstance(t, str) for t in topics):
        raise BadRequestError()
    return client_id, ["" if t is None else t for t in topics]


def _validate(client_id: str, topics: list[str]) -> None:
    errors: dict[str, Any] = {}
    if not client_id:
        errors["clientId"] = required()
    elif len(client_id) > MAX_CLIENT_ID:
        errors["clientId"] = FieldError(
            "validation_length_out_of_range",
            f"The length must be between 1 and {MAX_CLIENT_ID}.",
            {"max": MAX_CLIENT_ID, "min": 1},
        )
    if len(topics) > MAX_TOPICS:
        errors["subscriptions"] = FieldError(
            "validation_length_too_long",
            f"The length must be no more than {MAX_TOPICS}.",
            {"max": MAX_TOPICS, "min": 0},
        )
    else:
        too_long = {
            str(i): FieldError(
                "validation_length_too_long",
                f"The length must be no more than {MAX_TOPIC_LENGTH}.",
                {"max": MAX_TOPIC_LENGTH, "min": 0},
            )
            for i, t in enumerate(topics)
            if len(t) > MAX_TOPIC_LENGTH
        }
        if too_long:
            errors["subscriptions"] = too_long
    if errors:
        raise ValidationError(None, errors)


async def set_subscriptions(request: Request) -> Response:
    app: App = request.app.state.satchel
    try:
        body = await read_body(request)
    except BadRequestError as exc:
        raise BadRequestError() from exc
    form = request.headers.get("content-type", "").split(";")[0].strip().lower() in FORM_TYPES
    client_id, topics = _bind(body, form)
    _validate(client_id, topics)
    auth: Record | None = request.state.auth
    outcome = await app.realtime.subscribe_by_id(client_id, topics, auth, real_ip(request, app))
    if outcome == UNKNOWN_CLIENT:
        raise NotFoundError("Missing or invalid client id.")
    if outcome == OTHER_IP:
        raise BadRequestError("Invalid realtime client.")
    if outcome == OTHER_AUTH:
        raise ForbiddenError("The current and the previous request authorization don't match.")
    return no_content()


routes = [
    Route("/api/realtime", connect, methods=["GET"]),
    Route("/api/realtime", set_subscriptions, methods=["POST"]),
]
