"""`/api/graphql` over WebSocket: the `graphql-transport-ws` protocol (the npm `graphql-ws` library's).

    client                                   server
    connection_init {payload?}          ->
                                        <-   connection_ack
    subscribe {id, payload: {query...}} ->
                                        <-   next {id, payload: {data, errors?}}   (per event)
                                        <-   error {id, payload: [errors]}         (refused: invalid)
    complete {id}                       <->  complete {id}                         (either side ends it)
    ping / pong                         <->  pong / ping

Auth: `connection_init`'s payload `{"Authorization": "<token>"}` (what browsers can send; also
`authorization` or `token`), else the upgrade request's Authorization header; a token that does
not check out closes the socket with 4403. Queries and mutations may be sent as well: one `next`,
then `complete`. Protocol violations close with the protocol's codes (4400 bad message, 4401 not
acknowledged, 4406 subprotocol, 4408 no init in time, 4409 duplicate id, 4429 repeated init).
A superuser's mutation leaves an audit entry as it runs (`satchel.plugins.graphql.audit`), with
the session's request id: the session's own request entry is written only when it ends.

Limits are the realtime WebSocket's (`satchel.apis.rest.realtime_ws`), with the broker's settings:
a socket nothing was written to for `PING_INTERVAL` gets a `ping` message (proxies keep it open, and
a live client answers `pong`); one that neither sent anything nor got an event for the broker's
`idle_timeout` is closed with 4408 (the protocol's timeout code; a dead peer holds its broker
clients otherwise), and every socket is closed after the broker's `max_lifetime` with 1000, on
which the npm `graphql-ws` client reconnects and subscribes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from graphql import OperationType
from starlette.websockets import WebSocket, WebSocketDisconnect

from satchel.apis.client_ip import client_ip
from satchel.apis.middleware.api_key_auth import KEY_PREFIX
from satchel.apis.middleware.front import authenticate
from satchel.apis.rest import realtime_ws
from satchel.core.app import App
from satchel.core.auth.superusers import superuser_ip_allowed
from satchel.core.rules.request_info import RequestInfo
from satchel.plugins.graphql.context import Context
from satchel.plugins.graphql.errors import request_error
from satchel.plugins.graphql.execution import GraphQLService, Prepared, response
from satchel.plugins.graphql.subscriptions import SubscriptionDropped
from satchel.tools.tokens import strip_bearer

log = logging.getLogger("satchel.graphql")

PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT = 10.0
MAX_MESSAGE = 256 << 10
MAX_OPERATIONS = 100
"""Operations one socket may run at once (each subscription is a realtime client)."""
DROPPED = "The subscription fell too far behind (or the server is stopping) and was ended."
PING_INTERVAL = realtime_ws.PING_INTERVAL
"""A socket nothing was written to for this long gets a `ping` message."""
CLOSE_IDLE = (4408, "Idle timeout")
CLOSE_LIFETIME = (1000, "lifetime")
PING = {"type": "ping"}

_GONE = (OSError, RuntimeError, WebSocketDisconnect)


class Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class GraphQLSocket:
    def __init__(self, service: GraphQLService, websocket: WebSocket) -> None:
        self.service = service
        self.websocket = websocket
        self.app: App = websocket.app.state.satchel
        self.ctx: Context | None = None
        self.init_seen = False
        self.operations: dict[str, asyncio.Task[None]] = {}
        self._write = asyncio.Lock()
        self._last_write = self._last_activity = asyncio.get_running_loop().time()
        self._end_of_life = self._last_activity + self.app.realtime.max_lifetime
        self._ping: asyncio.Future[None] | None = None

    async def run(self) -> None:
        reader = asyncio.ensure_future(self._loop())
        watchdog = asyncio.ensure_future(self._watch())
        close: Close | None = None
        try:
            done, _ = await asyncio.wait([reader, watchdog], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        except Close as exc:
            close = exc
        except _GONE:
            pass
        finally:
            # every writer goes first, even one stuck on a peer that stopped reading: the close
            # frame then never waits behind it, nor lands in the middle of a message
            tasks: list[asyncio.Future[None]] = [reader, watchdog, *self.operations.values()]
            if self._ping is not None:
                tasks.append(self._ping)
            for pending in tasks:
                pending.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if close is not None:
            with contextlib.suppress(*_GONE):
                await self.websocket.close(close.code, close.reason)

    async def _watch(self) -> None:
        """Ping a quiet socket; end an idle or too old one (by raising `Close`, which `run` sends)."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if now >= self._end_of_life:
                raise Close(*CLOSE_LIFETIME)
            if now >= self._last_activity + self.app.realtime.idle_timeout:
                raise Close(*CLOSE_IDLE)
            if now >= self._last_write + PING_INTERVAL:
                self._last_write = now  # set again once the ping is out
                if self._ping is None or self._ping.done():  # else it is stuck: the peer stopped reading
                    self._ping = asyncio.ensure_future(self.send(PING))
            deadline = min(
                self._end_of_life,
                self._last_activity + self.app.realtime.idle_timeout,
                self._last_write + PING_INTERVAL,
            )
            await asyncio.sleep(max(0.0, deadline - loop.time()))

    async def _loop(self) -> None:
        try:
            message = await asyncio.wait_for(self._receive(), INIT_TIMEOUT)
        except TimeoutError as exc:
            raise Close(4408, "Connection initialisation timeout") from exc
        while message is not None:
            await self._handle(message)
            message = await self._receive()

    async def _receive(self) -> dict[str, Any] | None:
        raw = await self.websocket.receive()
        if raw["type"] == "websocket.disconnect":
            return None
        self._last_activity = asyncio.get_running_loop().time()  # a `pong` counts: the peer is alive
        text = raw.get("text")
        if text is None or len(text) > MAX_MESSAGE:
            raise Close(4400, "Invalid message received")
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise Close(4400, "Invalid message received") from exc
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise Close(4400, "Invalid message received")
        return message

    async def send(self, message: dict[str, Any]) -> None:
        async with self._write:
            with contextlib.suppress(*_GONE):
                await self.websocket.send_text(orjson.dumps(message).decode())
            self._last_write = asyncio.get_running_loop().time()
            if message is not PING:  # our own pings are not activity: an answer to one is
                self._last_activity = self._last_write

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "connection_init":
            if self.init_seen:
                raise Close(4429, "Too many initialisation requests")
            self.init_seen = True
            self.ctx = await self._connect(message.get("payload"))
            await self.send({"type": "connection_ack"})
        elif kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "complete":
            task = self.operations.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        else:
            raise Close(4400, f"Invalid message type {kind[:40]!r}")

    async def _connect(self, payload: Any) -> Context:
        if payload is not None and not isinstance(payload, dict):
            raise Close(4400, "Invalid connection_init payload")
        scope = self.websocket.scope
        token: Any = None
        for name in ("Authorization", "authorization", "token"):
            if payload and name in payload:
                token = payload[name]
                break
        if token is None:
            token = self.websocket.headers.get("authorization")
        if token is not None and not isinstance(token, str):
            raise Close(4400, "Invalid connection_init payload")
        if token and strip_bearer(token).startswith(KEY_PREFIX):
            raise Close(4403, "Forbidden")  # API keys never read realtime events (docs/api-keys.md)
        if self.app.stale():  # a sibling worker changed collections or settings: see it first
            await self.app.sync()
        key = await authenticate(self.app, scope, token or None)
        state = scope["state"]
        if token and state["auth"] is None and key is None:
            raise Close(4403, "Forbidden")
        settings = self.app.settings.current
        ip = client_ip(scope, settings["trustedProxy"])
        if state["auth"] is not None and state["auth"].is_superuser and not superuser_ip_allowed(settings, ip):
            raise Close(4403, "Forbidden")  # PocketBase's superuserIPs, as every HTTP request checks it
        headers = {k.decode("latin-1").replace("-", "_"): v.decode("latin-1") for k, v in scope["headers"]}
        request = RequestInfo(
            auth=state["auth"],
            method="GET",
            headers=headers,
            scopes=key.scopes if key is not None else None,
            ip=ip,
        )
        base = str(self.websocket.base_url).rstrip("/")
        base = "http" + base[2:] if base.startswith("ws") else base
        peer = scope.get("client")
        return Context(
            self.app,
            request,
            base,
            request_id=str(state.get("request_id", "")),  # the session's, from the request log
            api_key_id="" if key is None else key.id,
            remote_ip=str(peer[0]) if peer else "",
            transport="websocket",
        )

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if self.ctx is None:
            raise Close(4401, "Unauthorized")
        op_id = message.get("id")
        payload = message.get("payload")
        if not isinstance(op_id, str) or not op_id or not isinstance(payload, dict):
            raise Close(4400, "Invalid subscribe message")
        if op_id in self.operations:
            raise Close(4409, f"Subscriber for {op_id[:40]} already exists")
        query, variables, name = payload.get("query"), payload.get("variables") or {}, payload.get("operationName")
        if not isinstance(query, str) or not isinstance(variables, dict) or not isinstance(name, str | None):
            raise Close(4400, "Invalid subscribe message")
        if self.app.stale():  # a sibling worker changed collections or settings: see it first
            await self.app.sync()
        if len(self.operations) >= MAX_OPERATIONS:
            await self.send({"type": "error", "id": op_id, "payload": [request_error("Too many operations.", 429)]})
            return
        prepared = self.service.prepare(query, variables, name)
        if prepared.document is None:
            await self.send({"type": "error", "id": op_id, "payload": prepared.errors})
            return
        self.operations[op_id] = asyncio.ensure_future(self._operate(op_id, prepared, variables, name))

    async def _operate(self, op_id: str, prepared: Prepared, variables: dict[str, Any], name: str | None) -> None:
        ctx = self.ctx
        assert ctx is not None
        try:
            if prepared.operation is not OperationType.SUBSCRIPTION:
                result = await self.service.execute(ctx, prepared, variables, name)
                await self.send({"type": "next", "id": op_id, "payload": result})
            else:
                await self._stream(op_id, ctx, prepared, variables, name)
        except asyncio.CancelledError:
            return  # the client completed it, or the socket is gone: nothing more to say
        except Exception:
            log.exception("GraphQL operation failed")
            await self.send({"type": "error", "id": op_id, "payload": [request_error("Something went wrong.", 500)]})
            self.operations.pop(op_id, None)
            return
        if self.operations.pop(op_id, None) is not None:
            await self.send({"type": "complete", "id": op_id})

    async def _stream(
        self, op_id: str, ctx: Context, prepared: Prepared, variables: dict[str, Any], name: str | None
    ) -> None:
        stream = await self.service.subscribe(ctx, prepared, variables, name)
        if isinstance(stream, dict):  # refused before any event (a bad filter, say)
            await self.send({"type": "error", "id": op_id, "payload": stream.get("errors", [])})
            self.operations.pop(op_id, None)
            return
        try:
            async for result in stream:
                await self.send({"type": "next", "id": op_id, "payload": response(result)})
        except SubscriptionDropped:
            await self.send({"type": "error", "id": op_id, "payload": [request_error(DROPPED, 503)]})
            self.operations.pop(op_id, None)
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()


def socket_endpoint(service: GraphQLService) -> Any:
    async def graphql_socket(websocket: WebSocket) -> None:
        if PROTOCOL not in websocket.scope.get("subprotocols", []):
            with contextlib.suppress(*_GONE):
                await websocket.close(4406, "Subprotocol not acceptable")
            return
        try:
            await websocket.accept(subprotocol=PROTOCOL)
        except _GONE:
            return
        await GraphQLSocket(service, websocket).run()

    return graphql_socket
