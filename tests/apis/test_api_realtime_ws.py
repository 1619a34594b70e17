"""WebSocket realtime at `/api/realtime`: the protocol of docs/realtime.md.

The protocol, rules and auth run against a real granian server in a subprocess (the one the SSE
tests use), read with a small RFC 6455 client. What needs a hand on the broker (custom messages
from server code, a client too slow to keep up, pings, idle and lifetime limits, shutdown) drives
the same ASGI app in-process.

Tests that a socket did *not* receive an event rely on delivery order: events reach every socket
in the order they were published, so when a later event on a public collection (`marks`) is the
next message, the earlier one was not sent.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import httpx2
import pytest

from satchel.apis.rest import realtime_ws
from satchel.apis.rest.realtime import MAX_TOPIC_LENGTH, MAX_TOPICS
from satchel.apis.server import create_app
from satchel.core.app import App
from satchel.core.logs.model import ERROR
from satchel.core.realtime.broker import LocalTransport
from satchel.testing import client_for, superuser_token
from tests.apis.helpers import create_user, login
from tests.apis.test_api_realtime import Server, open_stream, shared_server, su_headers
from tests.apis.ws_client import BINARY, Closed, WebSocket, connect

SOMETHING_WRONG = "Something went wrong while processing your request."
USERS = "_pb_users_auth_"


# ---------------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with shared_server(tmp_path_factory.mktemp("rtws")) as s:
        yield s


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=server.url, timeout=10) as c:
        yield c


@pytest.fixture
async def su(http: httpx2.AsyncClient) -> dict[str, str]:
    return await su_headers(http)


class Socket:
    """A connected socket past its `connect` message."""

    def __init__(self, ws: WebSocket, client_id: str) -> None:
        self.ws = ws
        self.client_id = client_id
        self._ids = 0

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send `body` with a fresh id; the reply, which must carry that id."""
        self._ids += 1
        await self.ws.send_json({**body, "id": self._ids})
        reply: dict[str, Any] = await self.ws.receive_json()
        assert reply.get("id") == self._ids, reply
        return reply

    async def subscribe(self, *topics: str) -> list[str]:
        reply = await self.request({"type": "subscribe", "topics": list(topics)})
        assert reply["type"] == "subscriptions", reply
        return list(reply["topics"])

    async def auth(self, token: str) -> dict[str, Any]:
        return await self.request({"type": "auth", "token": token})

    async def next(self) -> dict[str, Any]:
        message: dict[str, Any] = await self.ws.receive_json()
        return message

    async def usable(self) -> None:
        """The socket still answers (and nothing else was pending before the answer)."""
        await self.ws.send_json({"type": "ping", "id": "still-there"})
        assert await self.ws.receive_json() == {"type": "pong", "id": "still-there"}


async def open_socket(server: Server) -> Socket:
    ws = await connect(server.url.replace("http://", "ws://") + "/api/realtime")
    hello = await ws.receive_json()
    assert hello["type"] == "connect" and set(hello) == {"type", "clientId"}, hello
    return Socket(ws, hello["clientId"])


@pytest.fixture
async def sockets(server: Server) -> AsyncIterator[Any]:
    """A factory of sockets, all closed at the end of the test."""
    opened: list[Socket] = []

    async def factory() -> Socket:
        opened.append(await open_socket(server))
        return opened[-1]

    yield factory
    for s in opened:
        await s.ws.close()


async def create(http: httpx2.AsyncClient, headers: dict[str, str], collection: str, **data: Any) -> dict[str, Any]:
    r = await http.post(f"/api/collections/{collection}/records", headers=headers, json=data)
    assert r.status_code == 200, r.text
    record: dict[str, Any] = r.json()
    return record


async def ensure_collection(http: httpx2.AsyncClient, su: dict[str, str], body: dict[str, Any]) -> None:
    """Create a collection once per server (the module's tests share it)."""
    r = await http.get(f"/api/collections/{body['name']}", headers=su)
    if r.status_code == 404:
        r = await http.post("/api/collections", headers=su, json=body)
    assert r.status_code == 200, r.text


async def user(http: httpx2.AsyncClient, email: str) -> tuple[dict[str, Any], str]:
    """A user of the `users` collection (created on first use) and a fresh token of theirs."""
    password = "password-123"
    body = {"email": email, "password": password, "passwordConfirm": password}
    await http.post("/api/collections/users/records", json=body)
    r = await http.post("/api/collections/users/auth-with-password", json={"identity": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["record"], r.json()["token"]


NOTES = {"name": "notes", "listRule": "", "viewRule": "", "fields": [{"name": "text", "type": "text"}]}
MARKS = {"name": "marks", "listRule": "", "viewRule": "", "fields": [{"name": "n", "type": "number"}]}
POSTS = {
    "name": "posts",
    "listRule": "author = @request.auth.id",
    "viewRule": "author = @request.auth.id",
    "fields": [
        {"name": "title", "type": "text"},
        {"name": "secret", "type": "text", "hidden": True},
        {"name": "author", "type": "relation", "collectionId": USERS, "maxSelect": 1},
    ],
}


async def test_connect_message_and_sse_on_the_same_path(
    http: httpx2.AsyncClient, su: dict[str, str], sockets: Any
) -> None:
    await ensure_collection(http, su, NOTES)
    socket = await sockets()
    assert re.fullmatch(r"[A-Za-z0-9]{40}", socket.client_id)
    stream, task = await open_stream(http)  # SSE still answers GET and POST on the path
    assert stream.client_id != socket.client_id
    r = await http.post("/api/realtime", json={"clientId": stream.client_id, "subscriptions": ["notes/*"]})
    assert r.status_code == 204
    assert await socket.subscribe("notes/*") == ["notes/*"]

    note = await create(http, su, "notes", text="hello")
    event = await socket.next()
    frame = await stream.next()
    assert event == {"type": "event", "topic": "notes/*", "data": {"action": "create", "record": note}}
    assert frame["event"] == "notes/*" and frame["data"] == event["data"]  # the very same payload
    task.cancel()


async def test_record_topics_deliver_create_update_delete(
    http: httpx2.AsyncClient, su: dict[str, str], sockets: Any
) -> None:
    await ensure_collection(http, su, NOTES)
    socket = await sockets()
    assert await socket.subscribe("notes/*") == ["notes/*"]
    note = await create(http, su, "notes", text="one")
    assert await socket.next() == {"type": "event", "topic": "notes/*", "data": {"action": "create", "record": note}}

    # subscribing adds to the topics, repeated topics are kept once
    assert await socket.subscribe(f"notes/{note['id']}", "notes/*") == ["notes/*", f"notes/{note['id']}"]
    r = await http.patch(f"/api/collections/notes/records/{note['id']}", headers=su, json={"text": "two"})
    assert r.status_code == 200
    updated = r.json()
    events = [await socket.next(), await socket.next()]
    assert sorted(e["topic"] for e in events) == sorted(["notes/*", f"notes/{note['id']}"])
    assert all(e["data"] == {"action": "update", "record": updated} for e in events)

    # unsubscribing from one topic keeps the other
    reply = await socket.request({"type": "unsubscribe", "topics": ["notes/*", "never-subscribed"]})
    assert reply == {"type": "subscriptions", "id": reply["id"], "topics": [f"notes/{note['id']}"]}
    await create(http, su, "notes", text="not for this socket")
    r = await http.delete(f"/api/collections/notes/records/{note['id']}", headers=su)
    assert r.status_code == 204
    deleted = {"type": "event", "topic": f"notes/{note['id']}", "data": {"action": "delete", "record": updated}}
    assert await socket.next() == deleted  # the next message: the create went to no topic of the socket

    # an unsubscribe without topics drops them all
    assert await socket.subscribe("notes/*") == [f"notes/{note['id']}", "notes/*"]
    reply = await socket.request({"type": "unsubscribe"})
    assert reply["topics"] == []
    await create(http, su, "notes", text="unseen")
    await socket.usable()  # the pong is the next message: the create was not sent


async def test_topic_options_filter_expand_and_fields(
    http: httpx2.AsyncClient, su: dict[str, str], sockets: Any
) -> None:
    people = {"name": "people", "listRule": "", "viewRule": "", "fields": [{"name": "name", "type": "text"}]}
    await ensure_collection(http, su, people)
    r = await http.get("/api/collections/people", headers=su)
    articles = {
        "name": "articles",
        "listRule": "",
        "viewRule": "",
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "secret", "type": "text", "hidden": True},
            {"name": "author", "type": "relation", "collectionId": r.json()["id"], "maxSelect": 1},
        ],
    }
    await ensure_collection(http, su, articles)
    options = {"query": {"filter": "title ~ 'keep'", "expand": "author", "fields": "title,expand.author.name"}}
    narrow = "articles/*?options=" + quote(json.dumps(options))
    socket = await sockets()
    assert await socket.subscribe("articles/*", narrow) == ["articles/*", narrow]

    ann = await create(http, su, "people", name="Ann")
    dropped = await create(http, su, "articles", title="drop me", secret="s1", author=ann["id"])
    kept = await create(http, su, "articles", title="keep me", secret="s2", author=ann["id"])
    assert dropped.pop("secret") == "s1" and kept.pop("secret") == "s2"  # the superuser sees it, a guest does not
    assert await socket.next() == {
        "type": "event",
        "topic": "articles/*",
        "data": {"action": "create", "record": dropped},
    }
    assert await socket.next() == {"type": "event", "topic": "articles/*", "data": {"action": "create", "record": kept}}
    assert await socket.next() == {
        "type": "event",
        "topic": narrow,
        "data": {"action": "create", "record": {"title": "keep me", "expand": {"author": {"name": "Ann"}}}},
    }
    await socket.usable()


async def test_list_rule_decides_per_socket(http: httpx2.AsyncClient, su: dict[str, str], sockets: Any) -> None:
    await ensure_collection(http, su, POSTS)
    await ensure_collection(http, su, MARKS)
    alice, alice_token = await user(http, "alice-visibility@example.com")
    _, bob_token = await user(http, "bob-visibility@example.com")
    guest, owner, other, superuser = [await sockets() for _ in range(4)]
    for socket, token in ((owner, alice_token), (other, bob_token), (superuser, su["Authorization"])):
        assert (await socket.auth(token))["type"] == "auth"
    for socket in (guest, owner, other, superuser):
        assert await socket.subscribe("posts/*", "marks/*") == ["posts/*", "marks/*"]

    post = await create(http, su, "posts", title="for alice", secret="psst", author=alice["id"])
    mark = await create(http, su, "marks", n=1)
    seen_by_owner = await owner.next()
    assert seen_by_owner["topic"] == "posts/*" and seen_by_owner["data"]["record"]["id"] == post["id"]
    assert "secret" not in seen_by_owner["data"]["record"]
    seen_by_superuser = await superuser.next()
    assert seen_by_superuser["data"]["record"]["id"] == post["id"]
    assert seen_by_superuser["data"]["record"]["secret"] == "psst"  # superusers see hidden fields
    marked = {"type": "event", "topic": "marks/*", "data": {"action": "create", "record": mark}}
    for socket in (guest, owner, other, superuser):
        assert await socket.next() == marked  # guest and bob: the post was not sent before it


async def test_auth_message_binds_rebinds_and_signs_out(
    http: httpx2.AsyncClient, su: dict[str, str], sockets: Any
) -> None:
    await ensure_collection(http, su, POSTS)
    await ensure_collection(http, su, MARKS)
    alice, alice_token = await user(http, "alice-auth@example.com")
    bob, bob_token = await user(http, "bob-auth@example.com")
    socket = await sockets()
    assert await socket.subscribe("posts/*", "marks/*") == ["posts/*", "marks/*"]

    async def sees_post_by(author: dict[str, Any]) -> bool:
        post = await create(http, su, "posts", title="t", author=author["id"])
        await create(http, su, "marks", n=2)
        first = await socket.next()
        if first["topic"] == "marks/*":
            return False
        assert first["data"]["record"]["id"] == post["id"]
        assert (await socket.next())["topic"] == "marks/*"
        return True

    assert not await sees_post_by(alice)  # a guest
    reply = await socket.auth(alice_token)
    assert reply == {
        "type": "auth",
        "id": reply["id"],
        "auth": {"id": alice["id"], "collectionId": USERS, "collectionName": "users"},
    }
    assert await sees_post_by(alice)

    # a new token on the same socket: the subscriptions stay, the rules now see bob
    assert (await socket.auth(f"Bearer {bob_token}"))["auth"]["id"] == bob["id"]
    assert await socket.subscribe() == ["posts/*", "marks/*"]
    assert not await sees_post_by(alice)
    assert await sees_post_by(bob)

    # a rejected token leaves the socket a guest
    reply = await socket.auth(bob_token[:-2] + "xx")
    assert reply == {
        "type": "error",
        "id": reply["id"],
        "error": {"data": {}, "message": realtime_ws.INVALID_TOKEN, "status": 401},
    }
    assert not await sees_post_by(bob)

    # an empty token signs out
    assert (await socket.auth(alice_token))["auth"]["id"] == alice["id"]
    assert (await socket.auth(""))["auth"] is None
    assert not await sees_post_by(alice)

    # API keys stay closed to realtime, as over HTTP
    r = await http.post("/api/keys", headers=su, json={"name": "rt", "scopes": [{"collection": "*", "actions": ["*"]}]})
    assert r.status_code == 200, r.text
    reply = await socket.auth(r.json()["key"])
    assert reply["type"] == "error" and reply["error"]["status"] == 401
    assert not await sees_post_by(alice)


async def test_ping_pong(sockets: Any) -> None:
    socket = await sockets()
    await socket.ws.send_json({"type": "ping", "id": "p1"})
    assert await socket.next() == {"type": "pong", "id": "p1"}
    await socket.ws.send_json({"type": "ping"})
    assert await socket.next() == {"type": "pong"}
    await socket.ws.send_json({"type": "pong"})  # answering a server ping: no reply
    await socket.ws.send_json({"type": "ping", "id": 2.5})
    assert await socket.next() == {"type": "pong", "id": 2.5}


def too_long(limit: int) -> dict[str, Any]:
    return {
        "code": "validation_length_too_long",
        "message": f"The length must be no more than {limit}.",
        "params": {"max": limit, "min": 0},
    }


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("nojson", {"type": "error", "error": {"data": {}, "message": realtime_ws.NOT_JSON, "status": 400}}),
        ("[1]", {"type": "error", "error": {"data": {}, "message": realtime_ws.NOT_OBJECT, "status": 400}}),
        (
            '{"id": 1}',
            {
                "type": "error",
                "id": 1,
                "error": {
                    "data": {"type": {"code": "validation_invalid_value", "message": "Invalid value."}},
                    "message": realtime_ws.UNKNOWN_TYPE,
                    "status": 400,
                },
            },
        ),
        (
            '{"type": "publish", "id": "x"}',
            {
                "type": "error",
                "id": "x",
                "error": {
                    "data": {"type": {"code": "validation_invalid_value", "message": "Invalid value."}},
                    "message": realtime_ws.UNKNOWN_TYPE,
                    "status": 400,
                },
            },
        ),
        (
            '{"type": "ping", "id": {"a": 1}}',
            {
                "type": "error",
                "error": {
                    "data": {},
                    "message": realtime_ws.BAD_ID,
                    "status": 400,
                },
            },
        ),
        (
            '{"type": "subscribe", "topics": "a", "id": 3}',
            {
                "type": "error",
                "id": 3,
                "error": {
                    "data": {},
                    "message": realtime_ws.BAD_TOPICS,
                    "status": 400,
                },
            },
        ),
        (
            '{"type": "unsubscribe", "topics": [1]}',
            {
                "type": "error",
                "error": {
                    "data": {},
                    "message": realtime_ws.BAD_TOPICS,
                    "status": 400,
                },
            },
        ),
        (
            '{"type": "auth"}',
            {
                "type": "error",
                "error": {
                    "data": {},
                    "message": realtime_ws.BAD_TOKEN,
                    "status": 400,
                },
            },
        ),
        (
            json.dumps({"type": "subscribe", "topics": [str(i) for i in range(MAX_TOPICS + 1)]}),
            {
                "type": "error",
                "error": {
                    "data": {"topics": too_long(MAX_TOPICS)},
                    "message": SOMETHING_WRONG,
                    "status": 400,
                },
            },
        ),
        (
            json.dumps({"type": "subscribe", "topics": ["a", "a" * (MAX_TOPIC_LENGTH + 1)]}),
            {
                "type": "error",
                "error": {
                    "data": {"topics": {"1": too_long(MAX_TOPIC_LENGTH)}},
                    "message": SOMETHING_WRONG,
                    "status": 400,
                },
            },
        ),
        (b'{"type": "ping"}', {"type": "error", "error": {"data": {}, "message": realtime_ws.BINARY, "status": 400}}),
        (
            " " * realtime_ws.MAX_MESSAGE_LENGTH + "{}",
            {
                "type": "error",
                "error": {
                    "data": {},
                    "message": "Request entity too large.",
                    "status": 413,
                },
            },
        ),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "no-type",
        "unknown-type",
        "bad-id",
        "topics-not-a-list",
        "topic-not-a-string",
        "token-missing",
        "too-many-topics",
        "topic-too-long",
        "binary",
        "too-large",
    ],
)
async def test_bad_messages_get_an_error_and_the_socket_stays_usable(
    sockets: Any, sent: str | bytes, expected: dict[str, Any]
) -> None:
    socket = await sockets()
    assert await socket.subscribe("chat") == ["chat"]
    if isinstance(sent, bytes):
        await socket.ws.send_frame(BINARY, sent)
    else:
        await socket.ws.send_text(sent)
    assert await socket.next() == expected
    assert await socket.subscribe() == ["chat"]  # nothing changed
    await socket.usable()


async def test_the_topic_limit_counts_every_subscription_of_the_socket(sockets: Any) -> None:
    socket = await sockets()
    topics = [f"t{i}" for i in range(MAX_TOPICS)]
    assert await socket.subscribe(*topics) == topics
    assert await socket.subscribe("t0") == topics  # already there: still within the limit
    reply = await socket.request({"type": "subscribe", "topics": ["one-more"]})
    assert reply["type"] == "error" and reply["error"]["data"] == {"topics": too_long(MAX_TOPICS)}
    assert await socket.subscribe() == topics


# ---------------------------------------------------------------------- in-process, with a hand on the broker


class AsgiSocket:
    """The ASGI app driven directly over a websocket scope: no network, and a peer that can stall."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reading = asyncio.Event()
        """Cleared: the app's writes block, as with a peer that stopped reading."""
        self.reading.set()
        self.task: asyncio.Task[None] | None = None
        self.client_id = ""

    async def _send(self, message: dict[str, Any]) -> None:
        await self.reading.wait()
        self.from_app.put_nowait(message)

    async def open(self) -> AsgiSocket:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": "/api/realtime",
            "raw_path": b"/api/realtime",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"satchel.test")],
            "client": ("127.0.0.1", 50000),
            "server": ("satchel.test", 80),
            "subprotocols": [],
            "state": {},
        }
        self.task = asyncio.create_task(create_app(self.app)(scope, self.to_app.get, self._send))
        self.to_app.put_nowait({"type": "websocket.connect"})
        assert (await asyncio.wait_for(self.from_app.get(), 10))["type"] == "websocket.accept"
        hello = await self.next()
        assert hello["type"] == "connect"
        self.client_id = hello["clientId"]
        return self

    def send(self, body: Any) -> None:
        self.to_app.put_nowait({"type": "websocket.receive", "text": json.dumps(body)})

    async def next(self) -> Any:
        message = await asyncio.wait_for(self.from_app.get(), 10)
        if message["type"] == "websocket.close":
            raise Closed(message.get("code"), message.get("reason", ""))
        return json.loads(message["text"])

    async def closed(self) -> Closed:
        """Read until the app closes the socket; then the handler must have returned."""
        while True:
            try:
                await self.next()
            except Closed as closed:
                assert self.task is not None
                await asyncio.wait_for(self.task, 10)
                return closed

    async def subscribe(self, *topics: str) -> None:
        self.send({"type": "subscribe", "topics": list(topics)})
        assert (await self.next())["topics"] == list(topics)

    async def hang_up(self) -> None:
        self.to_app.put_nowait({"type": "websocket.disconnect", "code": 1001})
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)


async def settle(app: App) -> None:
    """Until every event published so far has been queued for its clients."""
    transport = app.realtime.transport
    assert isinstance(transport, LocalTransport)
    await transport.drain()


async def test_custom_messages_from_server_code(app: App) -> None:
    chat = await AsgiSocket(app).open()
    both = await AsgiSocket(app).open()
    await chat.subscribe("chat")
    await both.subscribe("chat", "news")
    await app.realtime.send_custom("news", {"headline": 1})
    await app.realtime.send_custom("chat", {"text": "hi", "n": [1, 2]})
    assert await both.next() == {"type": "event", "topic": "news", "data": {"headline": 1}}
    assert await both.next() == {"type": "event", "topic": "chat", "data": {"text": "hi", "n": [1, 2]}}
    assert await chat.next() == {"type": "event", "topic": "chat", "data": {"text": "hi", "n": [1, 2]}}
    await chat.hang_up()
    await both.hang_up()


async def test_hanging_up_frees_the_client(app: App) -> None:
    socket = await AsgiSocket(app).open()
    await socket.subscribe("chat")
    assert app.realtime.client(socket.client_id) is not None
    await socket.hang_up()
    assert app.realtime.client(socket.client_id) is None


async def test_a_client_too_slow_to_keep_up_is_dropped_and_closed(app: App) -> None:
    socket = await AsgiSocket(app).open()
    await socket.subscribe("chat")
    client = app.realtime.client(socket.client_id)
    assert client is not None
    client.queue.maxsize = 3
    socket.reading.clear()  # the peer stops reading: the writer blocks on its first write
    sent = 10
    for n in range(sent):
        await app.realtime.send_custom("chat", n)
    await settle(app)
    assert app.realtime.client(socket.client_id) is None  # dropped while it was stalled
    socket.reading.set()
    received = []
    with pytest.raises(Closed) as closed:
        while True:
            received.append((await socket.next())["data"])
    assert (closed.value.code, closed.value.reason) == realtime_ws.CLOSE_DROPPED
    assert received == list(range(len(received))) and len(received) < sent
    assert socket.task is not None
    await asyncio.wait_for(socket.task, 10)


async def test_server_shutdown_closes_sockets(app: App) -> None:
    socket = await AsgiSocket(app).open()
    app.realtime.disconnect_all()
    closed = await socket.closed()
    assert (closed.code, closed.reason) == realtime_ws.CLOSE_DROPPED


async def test_quiet_sockets_get_pings_and_are_closed_when_idle(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realtime_ws, "PING_INTERVAL", 0.05)
    app.realtime.idle_timeout = 0.5
    socket = await AsgiSocket(app).open()
    assert await socket.next() == {"type": "ping"}
    socket.send({"type": "pong"})  # an answer is activity: the idle deadline moves
    assert await socket.next() == {"type": "ping"}
    pings = 0
    with pytest.raises(Closed) as closed:
        # server pings are not activity; a ping can come late but never early, so no more than
        # idle_timeout / PING_INTERVAL of them fit before the idle close
        while pings <= 10:
            assert await socket.next() == {"type": "ping"}
            pings += 1
    assert (closed.value.code, closed.value.reason) == realtime_ws.CLOSE_IDLE
    assert pings > 0
    assert app.realtime.client(socket.client_id) is None
    assert socket.task is not None
    await asyncio.wait_for(socket.task, 10)


async def test_sockets_are_recycled_after_their_lifetime(app: App) -> None:
    app.realtime.max_lifetime = 0.2
    socket = await AsgiSocket(app).open()
    await socket.subscribe("chat")
    closed = await socket.closed()
    assert (closed.code, closed.reason) == realtime_ws.CLOSE_LIFETIME
    assert app.realtime.client(socket.client_id) is None


async def test_oauth2_redirect_reaches_the_socket(app: App) -> None:
    socket = await AsgiSocket(app).open()
    await socket.subscribe("@oauth2", "chat")
    async with client_for(app) as http:
        r = await http.get("/api/oauth2-redirect", params={"state": socket.client_id, "code": "the-code"})
    assert r.status_code in (200, 307), r.text
    assert await socket.next() == {
        "type": "event",
        "topic": "@oauth2",
        "data": {"state": socket.client_id, "code": "the-code"},
    }
    socket.send({"type": "subscribe", "topics": []})
    assert (await socket.next())["topics"] == ["chat"]  # one code per sign-in: `@oauth2` is dropped
    await socket.hang_up()


async def test_a_socket_leaves_one_request_entry_when_it_ends(app: App) -> None:
    """The request log's WebSocket sessions (docs/logs.md): the realtime socket's auth comes from
    its `auth` message, and a websocket path no route serves is a refused handshake."""
    async with client_for(app) as http:
        su = {"Authorization": await superuser_token(app, http)}
        await create_user(http, "alice@example.com")
        alice = await login(http, "alice@example.com")
        socket = await AsgiSocket(app).open()
        socket.send({"type": "auth", "token": alice["Authorization"]})
        assert (await socket.next())["auth"]["collectionName"] == "users"
        await socket.hang_up()
        signed_out = await AsgiSocket(app).open()
        for token in (alice["Authorization"], ""):
            signed_out.send({"type": "auth", "token": token})
            await signed_out.next()
        await signed_out.hang_up()
        nowhere = {**socket_scope("/api/nowhere"), "query_string": b"token=s3cret"}
        sent: list[dict[str, Any]] = []
        connect_then_hang_up = iter([{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}])

        async def receive() -> dict[str, Any]:
            return next(connect_then_hang_up)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await create_app(app)(nowhere, receive, send)
        assert [m["type"] for m in sent] == ["websocket.close"]  # refused before any accept
        r = await http.get("/api/logs", params={"filter": "data.method = 'GET' && data.status != 200"}, headers=su)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
    realtime = [e["data"] for e in items if e["data"]["url"] == "/api/realtime"]
    sessions = sorted((data["auth"], data["status"], data["closeCode"]) for data in realtime)
    assert sessions == [("", 101, 1001), ("users", 101, 1001)]  # the one that signed out ended a guest
    [refused] = [e for e in items if e["data"]["url"].startswith("/api/nowhere")]
    assert (refused["data"]["status"], refused["data"]["closeCode"], refused["level"]) == (403, 1000, ERROR)
    assert refused["message"] == "GET /api/nowhere?token=***"  # credentials in the query are masked


def socket_scope(path: str) -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"satchel.test")],
        "client": ("127.0.0.1", 50000),
        "server": ("satchel.test", 80),
        "subprotocols": [],
        "state": {},
    }
