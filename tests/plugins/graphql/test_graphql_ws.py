"""The graphql-transport-ws protocol in process (ASGI websocket scope): subscriptions fed by the realtime
broker with SSE's rules, and the protocol's refusals. The npm client runs against a real server in
test_graphql_ws_node.py."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest

from satchel.apis.server import create_app
from satchel.core.app import App
from satchel.core.realtime.broker import LocalTransport
from satchel.core.realtime.subscriptions import CLIENT_QUEUE
from satchel.plugins.graphql import ws
from satchel.plugins.graphql.plugin import GraphQL
from satchel.testing import SUPERUSER_EMAIL
from tests.apis.helpers import POSTS, create_collection, create_user, login
from tests.plugins.graphql.conftest import gql

TIMEOUT = 10.0


class Socket:
    def __init__(
        self, app: App, subprotocols: list[str] | None = None, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": "/api/graphql",
            "raw_path": b"/api/graphql",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"satchel.test"), *(headers or [])],
            "client": ("127.0.0.1", 50000),
            "server": ("satchel.test", 80),
            "subprotocols": ["graphql-transport-ws"] if subprotocols is None else subprotocols,
            "state": {},
        }
        self.reading = asyncio.Event()
        """Cleared: the app's writes block, as with a peer that stopped reading."""
        self.reading.set()
        self.task = asyncio.create_task(create_app(app)(scope, self.to_app.get, self._send))
        self.to_app.put_nowait({"type": "websocket.connect"})

    async def _send(self, message: dict[str, Any]) -> None:
        await self.reading.wait()
        self.from_app.put_nowait(message)

    async def accepted(self) -> dict[str, Any]:
        message = await asyncio.wait_for(self.from_app.get(), TIMEOUT)
        assert message["type"] == "websocket.accept", message
        return message

    def send(self, body: Any) -> None:
        self.to_app.put_nowait({"type": "websocket.receive", "text": json.dumps(body)})

    async def next(self) -> Any:
        message = await asyncio.wait_for(self.from_app.get(), TIMEOUT)
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])

    async def closed(self) -> tuple[int, str]:
        message = await asyncio.wait_for(self.from_app.get(), TIMEOUT)
        assert message["type"] == "websocket.close", message
        await asyncio.wait_for(self.task, TIMEOUT)
        return message["code"], message.get("reason", "")

    async def init(self, payload: dict[str, Any] | None = None) -> None:
        await self.accepted()
        self.send({"type": "connection_init", **({"payload": payload} if payload is not None else {})})
        assert await self.next() == {"type": "connection_ack"}

    async def hang_up(self) -> None:
        self.to_app.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.task, TIMEOUT)


async def settle(app: App) -> None:
    transport = app.realtime.transport
    assert isinstance(transport, LocalTransport)
    await transport.drain()


SUB = "subscription($f: String) { postsChanged(filter: $f) { action record { title author { email } } } }"


async def subscribed(app: App, socket: Socket, op_id: str, query: str = SUB, **variables: Any) -> None:
    before = sum(bool(c.subscriptions) for c in app.realtime.clients.values())
    socket.send({"type": "subscribe", "id": op_id, "payload": {"query": query, "variables": variables}})
    # the operation starts on the socket's reader: wait until its broker client holds the topic (a client
    # is listed before it joined: the first one waits for idle peers to broadcast to this node again)
    for _ in range(500):
        if sum(bool(c.subscriptions) for c in app.realtime.clients.values()) > before:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscription never reached the broker")


@pytest.fixture
async def world(client: httpx2.AsyncClient, su: dict[str, str]) -> dict[str, Any]:
    await create_collection(client, su, POSTS)
    alice = await create_user(client, "alice@example.com", emailVisibility=True)
    return {"alice": alice, "ha": await login(client, "alice@example.com")}


async def test_events_follow_the_list_rule_per_socket(
    app: App, client: httpx2.AsyncClient, world: dict[str, Any]
) -> None:
    guest, owner = Socket(app), Socket(app)
    await guest.init()
    await owner.init({"Authorization": world["ha"]["Authorization"]})
    await subscribed(app, guest, "g")
    await subscribed(app, owner, "o")
    ha, alice = world["ha"], world["alice"]
    draft = (
        await client.post("/api/collections/posts/records", json={"title": "draft", "author": alice["id"]}, headers=ha)
    ).json()
    await client.post(
        "/api/collections/posts/records", json={"title": "public", "author": alice["id"], "published": True}, headers=ha
    )
    await settle(app)
    seen = await owner.next()
    assert seen == {
        "type": "next",
        "id": "o",
        "payload": {
            "data": {
                "postsChanged": {
                    "action": "create",
                    "record": {"title": "draft", "author": {"email": "alice@example.com"}},
                }
            }
        },
    }
    assert (await owner.next())["payload"]["data"]["postsChanged"]["record"]["title"] == "public"
    # the guest never saw the draft; its relation is resolved with the guest's own rights
    assert await guest.next() == {
        "type": "next",
        "id": "g",
        "payload": {"data": {"postsChanged": {"action": "create", "record": {"title": "public", "author": None}}}},
    }
    await client.delete(f"/api/collections/posts/records/{draft['id']}", headers=ha)
    await settle(app)
    deleted = await owner.next()
    assert deleted["payload"]["data"]["postsChanged"]["action"] == "delete"
    owner.send({"type": "complete", "id": "o"})
    for _ in range(200):
        if len(app.realtime.clients) == 1:
            break
        await asyncio.sleep(0.01)
    assert len(app.realtime.clients) == 1  # the completed subscription left the broker
    await guest.hang_up()
    await owner.hang_up()
    assert app.realtime.clients == {}


async def test_filter_and_single_record_topics(
    app: App, client: httpx2.AsyncClient, world: dict[str, Any], su: dict[str, str]
) -> None:
    socket = Socket(app)
    await socket.init({"Authorization": su["Authorization"]})
    await subscribed(app, socket, "f", f='title ~ "keep"')
    ha = world["ha"]
    first = (
        await client.post("/api/collections/posts/records", json={"title": "drop me", "published": True}, headers=ha)
    ).json()
    await client.post("/api/collections/posts/records", json={"title": "keep me", "published": True}, headers=ha)
    await settle(app)
    assert (await socket.next())["payload"]["data"]["postsChanged"]["record"]["title"] == "keep me"
    one = "subscription($id: ID) { postsChanged(id: $id) { action record { title } } }"
    await subscribed(app, socket, "one", one, id=first["id"])
    await client.patch(f"/api/collections/posts/records/{first['id']}", json={"title": "renamed"}, headers=su)
    await settle(app)
    assert await socket.next() == {
        "type": "next",
        "id": "one",
        "payload": {"data": {"postsChanged": {"action": "update", "record": {"title": "renamed"}}}},
    }
    socket.send({"type": "subscribe", "id": "bad", "payload": {"query": SUB, "variables": {"f": "title ~~ ("}}})
    refused = await socket.next()
    assert refused["type"] == "error" and refused["id"] == "bad"
    assert refused["payload"][0]["message"] == "Invalid filter."
    assert refused["payload"][0]["extensions"]["code"] == 400
    await socket.hang_up()


async def test_queries_and_mutations_over_the_socket(app: App, world: dict[str, Any]) -> None:
    socket = Socket(app)
    await socket.init({"Authorization": world["ha"]["Authorization"]})
    socket.send(
        {
            "type": "subscribe",
            "id": "m",
            "payload": {"query": 'mutation { createPosts(data: {title: "ws"}) { title } }'},
        }
    )
    assert await socket.next() == {"type": "next", "id": "m", "payload": {"data": {"createPosts": {"title": "ws"}}}}
    assert await socket.next() == {"type": "complete", "id": "m"}
    socket.send({"type": "subscribe", "id": "v", "payload": {"query": "{ nope }"}})
    invalid = await socket.next()
    assert (
        invalid["type"] == "error" and invalid["payload"][0]["message"] == "Cannot query field 'nope' on type 'Query'."
    )
    socket.send({"type": "ping"})
    assert await socket.next() == {"type": "pong"}
    await socket.hang_up()


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ([{"type": "subscribe", "id": "1", "payload": {"query": "{ __typename }"}}], (4401, "Unauthorized")),
        ([{"type": "connection_init"}, {"type": "connection_init"}], (4429, "Too many initialisation requests")),
        (["not json"], (4400, "Invalid message received")),
        ([{"type": "connection_init", "payload": {"Authorization": "bad.token.here"}}], (4403, "Forbidden")),
        ([{"type": "what"}], (4400, "Invalid message type 'what'")),
    ],
)
async def test_protocol_violations_close_with_the_protocol_codes(
    app: App, world: dict[str, Any], script: list[Any], expected: tuple[int, str]
) -> None:
    socket = Socket(app)
    await socket.accepted()
    for message in script:
        if isinstance(message, str):
            socket.to_app.put_nowait({"type": "websocket.receive", "text": message})
        else:
            socket.send(message)
    while True:
        message = await asyncio.wait_for(socket.from_app.get(), TIMEOUT)
        if message["type"] == "websocket.close":
            break
        assert json.loads(message["text"]) == {"type": "connection_ack"}
    assert (message["code"], message.get("reason", "")) == expected
    await asyncio.wait_for(socket.task, TIMEOUT)


async def test_duplicate_operation_id_and_wrong_subprotocol(app: App, world: dict[str, Any]) -> None:
    socket = Socket(app)
    await socket.init()
    await subscribed(app, socket, "same")
    socket.send({"type": "subscribe", "id": "same", "payload": {"query": SUB}})
    assert await socket.closed() == (4409, "Subscriber for same already exists")
    assert app.realtime.clients == {}
    other = Socket(app, subprotocols=["graphql-ws"])
    assert await other.closed() == (4406, "Subprotocol not acceptable")


async def test_auth_from_the_upgrade_header(app: App, client: httpx2.AsyncClient, world: dict[str, Any]) -> None:
    socket = Socket(app, headers=[(b"authorization", world["ha"]["Authorization"].encode())])
    await socket.init()
    socket.send({"type": "subscribe", "id": "me", "payload": {"query": "{ usersList { items { email } } }"}})
    assert (await socket.next())["payload"] == {"data": {"usersList": {"items": [{"email": "alice@example.com"}]}}}
    await socket.hang_up()
    assert (await gql(client, "{ usersList { items { email } } }"))["data"]["usersList"]["items"] == []


async def test_a_subscription_too_far_behind_is_ended_with_an_error(
    app: App, client: httpx2.AsyncClient, world: dict[str, Any], su: dict[str, str]
) -> None:
    socket = Socket(app)
    await socket.init({"Authorization": su["Authorization"]})
    await subscribed(app, socket, "slow", "subscription { postsChanged { action } }")
    created = (await client.post("/api/collections/posts/records", json={"title": "x"}, headers=su)).json()
    await settle(app)
    assert (await socket.next())["payload"] == {"data": {"postsChanged": {"action": "create"}}}
    posts = app.collections.get("posts")
    assert posts is not None
    record = await app.records.get_by_id(posts, created["id"])
    assert record is not None
    socket.reading.clear()  # the peer stops reading: the operation blocks on its next write
    for _ in range(CLIENT_QUEUE + 2):
        await app.realtime.publish("update", record)
    await settle(app)
    assert app.realtime.clients == {}  # the broker dropped the subscription's client
    socket.reading.set()
    # what was pending when the client was dropped is gone: at most the write that was blocked, then the error
    messages = [await socket.next()]
    while messages[-1]["type"] == "next":
        messages.append(await socket.next())
    update = {"type": "next", "id": "slow", "payload": {"data": {"postsChanged": {"action": "update"}}}}
    assert messages[:-1] in ([], [update])
    assert messages[-1]["type"] == "error" and messages[-1]["id"] == "slow"
    assert messages[-1]["payload"][0]["extensions"]["code"] == 503
    socket.send({"type": "ping"})
    assert await socket.next() == {"type": "pong"}  # the socket itself goes on
    await socket.hang_up()


async def test_superuser_ips_apply_to_sockets(app: App, client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    r = await client.patch("/api/settings", json={"superuserIPs": ["10.0.0.0/8", "127.0.0.1"]}, headers=su)
    assert r.status_code == 200, r.text
    allowed = Socket(app)  # the scope's peer is 127.0.0.1
    await allowed.init({"Authorization": su["Authorization"]})
    await allowed.hang_up()
    await app.settings.patch({"superuserIPs": ["10.0.0.0/8"]})
    refused = Socket(app)
    await refused.accepted()
    refused.send({"type": "connection_init", "payload": {"Authorization": su["Authorization"]}})
    assert await refused.closed() == (4403, "Forbidden")


async def test_api_keys_never_open_a_socket(app: App, client: httpx2.AsyncClient, world: dict[str, Any]) -> None:
    r = await client.post(
        "/api/keys", json={"name": "k", "scopes": [{"collection": "*", "actions": ["*"]}]}, headers=world["ha"]
    )
    assert r.status_code == 200, r.text
    for payload, headers in (
        ({"Authorization": r.json()["key"]}, []),
        (None, [(b"authorization", f"Bearer {r.json()['key']}".encode())]),
    ):
        socket = Socket(app, headers=headers)
        await socket.accepted()
        socket.send({"type": "connection_init", **({"payload": payload} if payload else {})})
        assert await socket.closed() == (4403, "Forbidden")


async def test_no_connection_init_in_time_closes_4408(
    app: App, plugin: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws, "INIT_TIMEOUT", 0.05)
    socket = Socket(app)
    await socket.accepted()
    assert await socket.closed() == (4408, "Connection initialisation timeout")


async def test_event_relations_are_read_in_the_realtime_context(
    app: App, client: httpx2.AsyncClient, world: dict[str, Any], su: dict[str, str]
) -> None:
    r = await client.patch("/api/collections/users", json={"viewRule": '@request.context = "realtime"'}, headers=su)
    assert r.status_code == 200, r.text
    socket = Socket(app)
    await socket.init()
    await subscribed(app, socket, "rt")
    ha, alice = world["ha"], world["alice"]
    await client.post(
        "/api/collections/posts/records", json={"title": "p", "author": alice["id"], "published": True}, headers=ha
    )
    await settle(app)
    event = await socket.next()
    assert event["payload"]["data"]["postsChanged"]["record"]["author"] == {"email": "alice@example.com"}
    query = "{ postsList { items { author { email } } } }"
    assert (await gql(client, query))["data"]["postsList"]["items"] == [{"author": None}]  # not in a query
    await socket.hang_up()


async def test_a_superusers_mutations_are_audited_over_the_socket_and_http(
    app: App, client: httpx2.AsyncClient, su: dict[str, str], world: dict[str, Any]
) -> None:
    """docs/security.md: every superuser action leaves an audit entry; a mutation sent over the socket
    is no HTTP request for the request log to see, and over HTTP the request's own entry cannot say
    which records the operation touched."""
    socket = Socket(app)
    await socket.init({"Authorization": su["Authorization"]})
    author = world["alice"]["id"]
    create = f'mutation {{ createPosts(data: {{title: "by ws", author: "{author}"}}) {{ id }} }}'
    socket.send({"type": "subscribe", "id": "c", "payload": {"query": create}})
    created = await socket.next()
    record_id = created["payload"]["data"]["createPosts"]["id"]
    assert await socket.next() == {"type": "complete", "id": "c"}
    await socket.hang_up()
    body = await gql(client, f'mutation {{ updatePosts(id: "{record_id}", data: {{title: "t2"}}) {{ id }} }}', su)
    assert body["data"]["updatePosts"] == {"id": record_id}
    body = await gql(client, 'mutation { deletePosts(id: "nosuchrecord12") }', su)
    assert body["errors"][0]["extensions"]["code"] == 404  # attempts are audited too
    await gql(client, 'mutation { createPosts(data: {title: "x"}) { id } }', world["ha"])  # not a superuser

    r = await client.get(
        "/api/logs",
        params={"filter": 'data.audit = true && data.action.route = "/api/graphql"', "perPage": 100, "sort": "created"},
        headers=su,
    )
    entries = [e["data"]["action"] for e in r.json()["items"] if e["data"]["action"]["collection"]]
    assert [(a["method"], a["url"], a["status"], a["recordId"], a["fields"]) for a in entries] == [
        ("POST", "/api/collections/posts/records", 200, record_id, ["author", "title"]),
        ("PATCH", f"/api/collections/posts/records/{record_id}", 200, record_id, ["title"]),
        ("DELETE", "/api/collections/posts/records/nosuchrecord12", 404, "nosuchrecord12", []),
    ]
    assert {e["data"]["actor"]["email"] for e in r.json()["items"]} == {SUPERUSER_EMAIL}
