"""The SSE response in-process: PocketBase's frames, written in one chunk when several are pending."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from satchel.apis.rest.realtime import EventStream
from satchel.core.app import App


async def test_pending_messages_are_written_as_one_chunk_of_frames(app: App) -> None:
    broker = app.realtime
    client = broker.connect("127.0.0.1")
    broker.subscribe(client, ["chat", "news"], None)
    sent: list[dict[str, Any]] = []
    connected = asyncio.Event()
    hangup = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if b"PB_CONNECT" in message.get("body", b""):
            connected.set()

    async def receive() -> dict[str, Any]:
        await hangup.wait()
        return {"type": "http.disconnect"}

    stream = asyncio.ensure_future(EventStream(broker, client)({}, receive, send))
    await connected.wait()
    assert client.send("chat", b'{"a":1}')
    assert client.send("news", b'{"b":2}')
    assert client.send("chat", b"3")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    hangup.set()
    await asyncio.wait_for(stream, 5)

    cid = client.id.encode()
    assert sent[0]["type"] == "http.response.start"
    assert [m["body"] for m in sent[1:]] == [
        b"id:" + cid + b"\nevent:PB_CONNECT\ndata:" + orjson.dumps({"clientId": client.id}) + b"\n\n",
        b"id:" + cid + b'\nevent:chat\ndata:{"a":1}\n\n'
        b"id:" + cid + b'\nevent:news\ndata:{"b":2}\n\n'
        b"id:" + cid + b"\nevent:chat\ndata:3\n\n",
        b"",
    ]
    assert [m.get("more_body") for m in sent[1:]] == [True, True, False]
    assert broker.client(client.id) is None  # hanging up frees the client


async def test_a_stream_ends_when_the_broker_drops_its_client(app: App) -> None:
    broker = app.realtime
    client = broker.connect()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    stream = asyncio.ensure_future(EventStream(broker, client)({}, receive, send))
    while len(sent) < 2:
        await asyncio.sleep(0)
    client.send("chat", b"1")
    broker.disconnect(client.id)  # e.g. too far behind: pending messages are dropped
    await asyncio.wait_for(stream, 5)
    assert [m.get("body") for m in sent[2:]] == [b""]
