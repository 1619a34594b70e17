"""GraphQL sockets have the realtime WebSocket's limits: server pings, an idle timeout and a lifetime
(docs/graphql.md), shortened here through the same knobs the realtime tests use (`PING_INTERVAL`,
the broker's `idle_timeout` and `max_lifetime`).

Pings never come early (one is sent once nothing was written for `PING_INTERVAL`), so counts of
pings bound elapsed time from below without measuring it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from satchel.core.app import App
from satchel.plugins.graphql import ws
from satchel.plugins.graphql.plugin import GraphQL
from tests.plugins.graphql.test_graphql_ws import TIMEOUT, Socket, subscribed

PING = {"type": "ping"}


async def _until_closed(socket: Socket) -> tuple[list[Any], tuple[int, str]]:
    """Every message until the server closes the socket, and its close code and reason."""
    messages = []
    while True:
        message = await asyncio.wait_for(socket.from_app.get(), TIMEOUT)
        if message["type"] == "websocket.close":
            await asyncio.wait_for(socket.task, TIMEOUT)
            return messages, (message["code"], message.get("reason", ""))
        assert message["type"] == "websocket.send", message
        messages.append(ws.orjson.loads(message["text"]))


async def test_quiet_sockets_get_pings_and_idle_ones_are_closed(
    app: App, plugin: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws, "PING_INTERVAL", 0.05)
    app.realtime.idle_timeout = 0.5
    socket = Socket(app)
    await socket.init()
    await subscribed(app, socket, "s", "subscription { usersChanged { action } }")
    assert await socket.next() == PING
    socket.send({"type": "pong"})  # an answer is activity: the idle deadline moves
    pings, (code, reason) = await _until_closed(socket)
    # server pings are not activity: no more than idle_timeout / PING_INTERVAL fit before the close
    assert pings and all(p == PING for p in pings) and len(pings) <= 10
    assert (code, reason) == ws.CLOSE_IDLE == (4408, "Idle timeout")
    assert app.realtime.clients == {}  # the subscription left the broker with the socket


async def test_a_client_that_answers_pings_is_not_idle(
    app: App, plugin: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws, "PING_INTERVAL", 0.05)
    app.realtime.idle_timeout = 0.3
    socket = Socket(app)
    await socket.init()
    for _ in range(20):  # 20 pings take at least 19 x PING_INTERVAL, over 3 idle timeouts
        assert await socket.next() == PING
        socket.send({"type": "pong"})
    pings, closed = await _until_closed(socket)  # once it stops answering, it is idle
    assert all(p == PING for p in pings) and closed == ws.CLOSE_IDLE


async def test_a_peer_that_stopped_reading_is_closed_when_idle(
    app: App, plugin: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws, "PING_INTERVAL", 0.05)
    app.realtime.idle_timeout = 0.3
    socket = Socket(app)
    await socket.init()
    await subscribed(app, socket, "s", "subscription { usersChanged { action } }")
    socket.reading.clear()  # the app's next write (a ping) blocks, as on a full TCP buffer
    for _ in range(500):  # a stuck ping holds neither the watchdog nor the close: the subscription is released
        if not app.realtime.clients:
            break
        await asyncio.sleep(0.01)
    assert app.realtime.clients == {}
    socket.reading.set()
    pings, closed = await _until_closed(socket)
    assert all(p == PING for p in pings) and closed == ws.CLOSE_IDLE


async def test_sockets_are_closed_after_their_lifetime(app: App, plugin: GraphQL) -> None:
    app.realtime.max_lifetime = 0.2
    socket = Socket(app)
    await socket.init()
    # nothing else is sent: the default PING_INTERVAL is far longer than this lifetime
    assert await _until_closed(socket) == ([], ws.CLOSE_LIFETIME)
    assert ws.CLOSE_LIFETIME == (1000, "lifetime")


def test_the_limits_are_the_realtime_websockets() -> None:
    from satchel.apis.rest import realtime_ws
    from satchel.core.realtime import broker

    assert ws.PING_INTERVAL == realtime_ws.PING_INTERVAL == 30
    assert (broker.IDLE_TIMEOUT, broker.MAX_LIFETIME) == (5 * 60, 30 * 60)
