"""The same rules, the same answers: one scenario through REST, GraphQL and gRPC against one real
`satchel serve --workers 2 --grpc` subprocess.

It lives beside the plugin folders rather than in one of them because it belongs to no single
plugin: it holds REST (the core API) and the two plugins to each other.

The scenario (create, get, list with a filter and `owner` expanded, update, delete) runs once per
transport, for a guest, the posts' owner alice, another user bob and a superuser, while each of the
four holds a subscription of that transport (SSE realtime, a GraphQL subscription over
graphql-transport-ws, a gRPC `Watch`). A superusers-only `drafts` collection adds the 403s to the
posts' 400 (a guest's create) and 404s (what a rule hides). The posts' hidden `note` is shown to
the superuser only (answers and events), set by the superuser only, and only the superuser may
filter or sort by it (400 for anyone else). Each transport is an adapter class that turns its answers
into one shape (records with ids replaced by names, denials as the REST status each doc maps them
to), so a new transport is one more adapter in `TRANSPORTS`.

REST's transcript is checked against a small model of the collection's rules (who may do what,
who sees which record and relation, which events each subscriber gets); the other transports'
transcripts must then equal REST's, step by step and actor by actor.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import grpc
import httpx2
import pytest
from google.protobuf import json_format, struct_pb2

from satchel.plugins.grpc.gen import records_pb2 as pb
from satchel.plugins.grpc.gen import records_pb2_grpc
from satchel.plugins.grpc.watch import WATCH_ID
from tests.apis import ws_client
from tests.apis.test_api_realtime import EMAIL, PASSWORD
from tests.plugins.grpc.servers import USER_PASSWORD, GrpcServe, error_body, start

RULE = "published = true || owner = @request.auth.id"
POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": RULE,
    "viewRule": RULE,
    "createRule": '@request.auth.id != ""',
    "updateRule": "owner = @request.auth.id",
    "deleteRule": "owner = @request.auth.id",
    "fields": [
        {"name": "title", "type": "text", "required": True, "max": 60},
        {"name": "published", "type": "bool"},
        {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
        {"name": "note", "type": "text", "hidden": True},
    ],
}
DRAFTS = {
    **POSTS,
    "name": "drafts",
    **dict.fromkeys(("listRule", "viewRule", "createRule", "updateRule", "deleteRule")),
}
"""The same fields, every rule null: superusers only (REST's 403 for anyone else)."""
ACTORS = ("guest", "alice", "bob", "superuser")
READ_GUARD = 20.0
"""Seconds a read may block before the test is declared hung (a guard, not a measurement)."""
GRPC_CODE = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
}
"""docs/grpc.md's table: the gRPC code each REST status becomes."""
SSE_TOPIC = "posts/*?options=" + quote(json.dumps({"query": {"expand": "owner"}}), safe="")
"""Every post, with its owner expanded as the realtime request context allows."""
FENCE = "zz-fence"
"""Title prefix of the marker posts that open and close a subscription's window (never in a scenario list)."""


# ---------------------------------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class Denied:
    status: int
    """REST's HTTP status, or what the transport's doc says it stands for."""
    message: str | None = field(default=None, compare=False)
    """The error's message, where the transport has one (a GraphQL `null` record has none)."""


Outcome = Any
"""A normalised record, a list of them, `True` (deleted), or `Denied`."""


@dataclass
class Names:
    """Record ids -> stable names, so transcripts of different runs compare."""

    by_id: dict[str, str] = field(default_factory=dict)
    prefix: str = ""

    def title(self, title: str) -> str:
        assert title.startswith(self.prefix), title
        return title[len(self.prefix) :]

    def record(self, raw: dict[str, Any]) -> dict[str, Any]:
        """`{id, title, published, owner, note, expand?}` as REST shapes it -> names only."""
        out: dict[str, Any] = {
            "id": self.by_id[raw["id"]],
            "title": self.title(raw["title"]),
            "published": raw["published"],
            "owner": self.by_id.get(raw["owner"], raw["owner"]),
            "note": raw["note"],
        }
        if "expand" in raw:
            owner = raw["expand"].get("owner")
            out["expand"] = None if owner is None else {"id": self.by_id[owner["id"]], "name": owner["name"]}
        return out


# ---------------------------------------------------------------------------------------- adapters
class Subscription(Protocol):
    async def next(self) -> tuple[str, dict[str, Any]]:
        """The next event as (action, record shaped as REST: id, title, published, owner)."""
        ...

    async def close(self) -> None: ...


class Transport(Protocol):
    name: str

    async def create(self, who: str, data: dict[str, Any], collection: str = "posts") -> Outcome: ...
    async def get(self, who: str, record_id: str) -> Outcome: ...
    async def list(self, who: str, filter_text: str, collection: str = "posts", sort: str = "title") -> Outcome: ...
    async def update(self, who: str, record_id: str, data: dict[str, Any]) -> Outcome: ...
    async def delete(self, who: str, record_id: str) -> Outcome: ...
    async def subscribe(self, who: str) -> Subscription: ...
    async def close(self) -> None: ...


def rest_record(body: dict[str, Any], expand: bool = False) -> dict[str, Any]:
    keep = {k: body[k] for k in ("id", "title", "published", "owner")}
    keep["note"] = body.get("note")  # hidden: None where REST leaves the key out
    if expand:
        keep["expand"] = body.get("expand", {})
    return keep


class Rest:
    name = "rest"

    def __init__(self, server: GrpcServe) -> None:
        self.server = server
        self.http = httpx2.AsyncClient(base_url=server.url, timeout=10)
        self.streams = httpx2.AsyncClient(base_url=server.url, timeout=10)

    @staticmethod
    def outcome(r: httpx2.Response, value: Any) -> Outcome:
        if r.status_code >= 400:
            return Denied(r.status_code, r.json()["message"])
        assert r.status_code in (200, 204), r.text
        return value() if callable(value) else value

    async def create(self, who: str, data: dict[str, Any], collection: str = "posts") -> Outcome:
        r = await self.http.post(
            f"/api/collections/{collection}/records?expand=owner", headers=self.server.headers(who), json=data
        )
        return self.outcome(r, lambda: rest_record(r.json(), expand=True))

    async def get(self, who: str, record_id: str) -> Outcome:
        r = await self.http.get(f"/api/collections/posts/records/{record_id}", headers=self.server.headers(who))
        return self.outcome(r, lambda: rest_record(r.json()))

    async def list(self, who: str, filter_text: str, collection: str = "posts", sort: str = "title") -> Outcome:
        params = {"filter": filter_text, "sort": sort, "expand": "owner", "perPage": 100}
        path = f"/api/collections/{collection}/records"
        r = await self.http.get(path, headers=self.server.headers(who), params=params)
        return self.outcome(r, lambda: [rest_record(item, expand=True) for item in r.json()["items"]])

    async def update(self, who: str, record_id: str, data: dict[str, Any]) -> Outcome:
        r = await self.http.patch(
            f"/api/collections/posts/records/{record_id}?expand=owner", headers=self.server.headers(who), json=data
        )
        return self.outcome(r, lambda: rest_record(r.json(), expand=True))

    async def delete(self, who: str, record_id: str) -> Outcome:
        r = await self.http.delete(f"/api/collections/posts/records/{record_id}", headers=self.server.headers(who))
        return self.outcome(r, True)

    async def subscribe(self, who: str) -> Subscription:
        sub = SseSubscription(self.streams)
        await sub.open(self.server, who)
        return sub

    async def close(self) -> None:
        await self.http.aclose()
        await self.streams.aclose()


class SseSubscription:
    """`GET /api/realtime`, then `POST /api/realtime` with the actor's token: `posts/*`, `owner` expanded."""

    def __init__(self, http: httpx2.AsyncClient) -> None:
        self.http = http
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def open(self, server: GrpcServe, who: str) -> None:
        self.task = asyncio.create_task(self._run())
        connect = await asyncio.wait_for(self.frames.get(), READ_GUARD)
        async with httpx2.AsyncClient(base_url=server.url, timeout=10) as calls:
            r = await calls.post(
                "/api/realtime",
                headers=server.headers(who),
                json={"clientId": connect["clientId"], "subscriptions": [SSE_TOPIC]},
            )
            assert r.status_code == 204, r.text

    async def _run(self) -> None:
        async with self.http.stream("GET", "/api/realtime", timeout=None) as r:
            buf = b""
            async for chunk in r.aiter_raw():
                buf += chunk
                while b"\n\n" in buf:
                    block, buf = buf.split(b"\n\n", 1)
                    lines = dict(line.split(":", 1) for line in block.decode().split("\n"))
                    self.frames.put_nowait(json.loads(lines["data"]))

    async def next(self) -> tuple[str, dict[str, Any]]:
        frame = await self.frames.get()
        return frame["action"], rest_record(frame["record"], expand=True)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


RECORD = "id title published note owner_id owner { id name }"


def graphql_record(node: dict[str, Any], expand: bool = True) -> dict[str, Any]:
    """GraphQL's record in REST's shape: `owner_id` is REST's `owner`, `owner {...}` its expand,
    a `null` note is REST's missing key (docs/graphql.md: hidden fields are null but for superusers)."""
    out = {
        "id": node["id"],
        "title": node["title"],
        "published": node["published"],
        "owner": node["owner_id"],
        "note": node["note"],
    }
    if expand:
        out["expand"] = {} if node["owner"] is None else {"owner": node["owner"]}
    return out


class GraphQL:
    name = "graphql"

    def __init__(self, server: GrpcServe) -> None:
        self.server = server
        self.http = httpx2.AsyncClient(base_url=server.url, timeout=10)

    async def run(self, who: str, query: str, **variables: Any) -> tuple[Any, Denied | None]:
        r = await self.http.post(
            "/api/graphql", headers=self.server.headers(who), json={"query": query, "variables": variables}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        (value,) = (body.get("data") or {None: None}).values()
        if body.get("errors"):
            (error,) = body["errors"]
            return None, Denied(error["extensions"]["code"], error["message"])
        return value, None

    async def create(self, who: str, data: dict[str, Any], collection: str = "posts") -> Outcome:
        kind = collection.capitalize()  # docs/graphql.md, Names: `posts` -> `Posts`, `createPosts`
        q = f"mutation($d: {kind}CreateInput!) {{ create{kind}(data: $d) {{ {RECORD} }} }}"
        value, denied = await self.run(who, q, d=data)
        return denied or graphql_record(value)

    async def get(self, who: str, record_id: str) -> Outcome:
        value, denied = await self.run(
            who, "query($id: ID!) { posts(id: $id) { id title published note owner_id } }", id=record_id
        )
        if denied:
            return denied
        # docs/graphql.md: `null` when missing or not viewable, REST's 404
        return Denied(404) if value is None else graphql_record(value, expand=False)

    async def list(self, who: str, filter_text: str, collection: str = "posts", sort: str = "title") -> Outcome:
        select = f"{collection}List(filter: $f, sort: $s, perPage: 100) {{ items {{ {RECORD} }} }}"
        q = f"query($f: String, $s: String) {{ {select} }}"
        value, denied = await self.run(who, q, f=filter_text, s=sort)
        return denied or [graphql_record(item) for item in value["items"]]

    async def update(self, who: str, record_id: str, data: dict[str, Any]) -> Outcome:
        q = f"mutation($id: ID!, $d: PostsUpdateInput!) {{ updatePosts(id: $id, data: $d) {{ {RECORD} }} }}"
        value, denied = await self.run(who, q, id=record_id, d=data)
        return denied or graphql_record(value)

    async def delete(self, who: str, record_id: str) -> Outcome:
        value, denied = await self.run(who, "mutation($id: ID!) { deletePosts(id: $id) }", id=record_id)
        return denied or value

    async def subscribe(self, who: str) -> Subscription:
        sub = GraphQLSubscription()
        await sub.open(self.server, who)
        return sub

    async def close(self) -> None:
        await self.http.aclose()


class GraphQLSubscription:
    """graphql-transport-ws over the tests' RFC 6455 client: the token in `connection_init`."""

    QUERY = f"subscription {{ postsChanged {{ action record {{ {RECORD} }} }} }}"

    async def open(self, server: GrpcServe, who: str) -> None:
        url = server.url.replace("http://", "ws://") + "/api/graphql"
        self.socket = await ws_client.connect(url, {"Sec-WebSocket-Protocol": "graphql-transport-ws"})
        payload = {} if who == "guest" else {"Authorization": server.tokens[who]}
        await self.socket.send_json({"type": "connection_init", "payload": payload})
        assert await self.socket.receive_json(READ_GUARD) == {"type": "connection_ack"}
        await self.socket.send_json({"type": "subscribe", "id": "1", "payload": {"query": self.QUERY}})

    async def next(self) -> tuple[str, dict[str, Any]]:
        message = await self.socket.receive_json(timeout=None)  # type: ignore[arg-type]
        assert message["type"] == "next" and message["id"] == "1", message
        assert "errors" not in message["payload"], message
        change = message["payload"]["data"]["postsChanged"]
        return change["action"], graphql_record(change["record"])

    async def close(self) -> None:
        await self.socket.close()


class Grpc:
    name = "grpc"

    def __init__(self, server: GrpcServe) -> None:
        self.server = server
        self.channel = grpc.aio.insecure_channel(server.target)
        self.stub = records_pb2_grpc.RecordsStub(self.channel)

    @staticmethod
    def struct(data: dict[str, Any]) -> struct_pb2.Struct:
        s = struct_pb2.Struct()
        s.update(data)
        return s

    async def call(self, method: Any, request: Any, who: str) -> tuple[Any, Denied | None]:
        try:
            return await method(request, metadata=self.server.auth(who)), None
        except grpc.aio.AioRpcError as error:
            body = error_body(error)
            assert error.code() == GRPC_CODE[body["status"]], (error.code(), body)
            assert error.details() == body["message"]  # the status message is REST's message
            return None, Denied(body["status"], body["message"])

    @staticmethod
    def record(message: struct_pb2.Struct, expand: bool = False) -> dict[str, Any]:
        return rest_record(json_format.MessageToDict(message), expand)

    async def create(self, who: str, data: dict[str, Any], collection: str = "posts") -> Outcome:
        request = pb.CreateRequest(collection=collection, data=self.struct(data), expand="owner")
        answer, denied = await self.call(self.stub.Create, request, who)
        return denied or self.record(answer.record, expand=True)

    async def get(self, who: str, record_id: str) -> Outcome:
        answer, denied = await self.call(self.stub.Get, pb.GetRequest(collection="posts", id=record_id), who)
        return denied or self.record(answer.record)

    async def list(self, who: str, filter_text: str, collection: str = "posts", sort: str = "title") -> Outcome:
        request = pb.ListRequest(collection=collection, filter=filter_text, sort=sort, expand="owner", per_page=100)
        answer, denied = await self.call(self.stub.List, request, who)
        return denied or [self.record(item, expand=True) for item in answer.items]

    async def update(self, who: str, record_id: str, data: dict[str, Any]) -> Outcome:
        request = pb.UpdateRequest(collection="posts", id=record_id, data=self.struct(data), expand="owner")
        answer, denied = await self.call(self.stub.Update, request, who)
        return denied or self.record(answer.record, expand=True)

    async def delete(self, who: str, record_id: str) -> Outcome:
        _, denied = await self.call(self.stub.Delete, pb.DeleteRequest(collection="posts", id=record_id), who)
        return denied or True

    async def subscribe(self, who: str) -> Subscription:
        call = self.stub.Watch(pb.WatchRequest(collection="posts", expand="owner"), metadata=self.server.auth(who))
        metadata = await asyncio.wait_for(call.initial_metadata(), READ_GUARD)
        assert dict(metadata)[WATCH_ID]  # in place: what commits from now on is delivered
        return GrpcWatch(call)

    async def close(self) -> None:
        await self.channel.close()


class GrpcWatch:
    def __init__(self, call: Any) -> None:
        self.call = call

    async def next(self) -> tuple[str, dict[str, Any]]:
        event = await self.call.read()
        assert event is not grpc.aio.EOF
        return event.action, Grpc.record(event.record, expand=True)

    async def close(self) -> None:
        self.call.cancel()


TRANSPORTS: dict[str, type[Rest] | type[GraphQL] | type[Grpc]] = {"rest": Rest, "graphql": GraphQL, "grpc": Grpc}


# ---------------------------------------------------------------------------------------- the server
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GrpcServe]:
    s = start(tmp_path_factory.mktemp("parity") / "data", "--workers", "2")
    try:
        with s.rest() as http:
            r = http.post(
                "/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD}
            )
            s.tokens["superuser"] = r.json()["token"]
            for collection in (POSTS, DRAFTS):
                r = http.post("/api/collections", headers=s.headers("superuser"), json=collection)
                assert r.status_code == 200, r.text
            for name in ("alice", "bob"):
                email = f"{name}@example.com"
                body = {"email": email, "password": USER_PASSWORD, "passwordConfirm": USER_PASSWORD, "name": name}
                r = http.post("/api/collections/users/records", json=body)
                assert r.status_code == 200, r.text
                s.ids[name] = r.json()["id"]
                r = http.post(
                    "/api/collections/users/auth-with-password", json={"identity": email, "password": USER_PASSWORD}
                )
                s.tokens[name] = r.json()["token"]
        yield s
    finally:
        s.serve.stop()


async def fence(server: GrpcServe, n: int) -> str:
    """A public post every subscriber may see: it marks where a subscriber's window opens or closes."""
    title = f"{FENCE}-{n}-{time.monotonic_ns()}"
    async with httpx2.AsyncClient(base_url=server.url, timeout=10) as http:
        body = {"title": title, "published": True, "owner": server.ids["alice"]}
        r = await http.post("/api/collections/posts/records", headers=server.headers("superuser"), json=body)
        assert r.status_code == 200, r.text
    return title


class Feed:
    """A subscription read in the background, so a reader may give up waiting without losing a frame."""

    def __init__(self, sub: Subscription) -> None:
        self.sub = sub
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        while True:
            self.queue.put_nowait(await self.sub.next())

    async def get(self, timeout: float = READ_GUARD) -> tuple[str, dict[str, Any]]:
        if self.task.done():  # a failed read (closed stream, malformed message) fails the test here
            self.task.result()
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def read_until(self, title: str, into: list[tuple[str, dict[str, Any]]], timeout: float = READ_GUARD) -> bool:
        """Collect non-fence events until the fence `title` arrives; False if nothing came for `timeout`."""
        while True:
            try:
                action, record = await self.get(timeout)
            except TimeoutError:
                return False
            if record["title"] == title:
                return True
            if not record["title"].startswith(FENCE):
                into.append((action, record))

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.sub.close()


async def ready(server: GrpcServe, feeds: dict[str, Feed]) -> None:
    """Until every subscriber saw a fence: graphql-transport-ws says nothing when a subscription is live,
    so fences are published until each got one (gRPC and SSE are in place before the first)."""
    waiting = dict(feeds)
    for n in range(30):
        title = await fence(server, n)
        for who, feed in list(waiting.items()):
            if await feed.read_until(title, [], timeout=1.0):
                del waiting[who]
        if not waiting:
            return
    raise AssertionError(f"subscriptions never live: {sorted(waiting)}")


async def get_as_superuser(server: GrpcServe, record_id: str) -> dict[str, Any]:
    async with httpx2.AsyncClient(base_url=server.url, timeout=10) as http:
        r = await http.get(f"/api/collections/posts/records/{record_id}", headers=server.headers("superuser"))
        assert r.status_code == 200, r.text
        return rest_record(r.json())


# ---------------------------------------------------------------------------------------- the scenario
@dataclass
class Transcript:
    steps: list[tuple[str, str, Outcome]] = field(default_factory=list)
    """(step, actor, normalised outcome), in order."""
    writes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Successful writes as (action, record without expand), in order: what subscribers may see."""
    events: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    """Subscriber -> normalised events between the fences."""


def plain(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "expand"}


async def run_scenario(transport: Transport, server: GrpcServe, run: int) -> Transcript:
    names = Names(prefix=f"{transport.name}{run}|")
    names.by_id.update({server.ids["alice"]: "alice", server.ids["bob"]: "bob"})
    t = Transcript()
    feeds = {who: Feed(await transport.subscribe(who)) for who in ACTORS}
    try:
        await ready(server, feeds)

        def record(step: str, who: str, outcome: Outcome, action: str | None = None) -> Outcome:
            if isinstance(outcome, dict):
                outcome = names.record(outcome)
            elif isinstance(outcome, list):
                outcome = [names.record(item) for item in outcome]
            t.steps.append((step, who, outcome))
            return outcome

        async def create(who: str, label: str, published: bool, owner: str) -> None:
            data = {
                "title": names.prefix + label,
                "published": published,
                "owner": server.ids[owner],
                "note": f"n-{label}",
            }
            raw = await transport.create(who, data)
            if not isinstance(raw, Denied):
                names.by_id[raw["id"]] = label
                t.writes.append(("create", names.record(await get_as_superuser(server, raw["id"]))))
            record("create " + label, who, raw)

        await create("guest", "g-pub", True, "alice")
        await create("alice", "a-pub", True, "alice")
        await create("alice", "a-priv", False, "alice")
        await create("bob", "b-pub", True, "bob")
        await create("bob", "b-priv", False, "bob")
        await create("superuser", "s-priv", False, "bob")

        for who in ACTORS:  # a superusers-only collection: 403 for everyone else, whatever the transport
            data = {"title": f"{names.prefix}d-{who}", "published": True, "owner": server.ids["alice"]}
            raw = await transport.create(who, data, "drafts")
            if not isinstance(raw, Denied):
                names.by_id[raw["id"]] = f"d-{who}"
            record("create draft", who, raw)
            record("list drafts", who, await transport.list(who, f'title ~ "{names.prefix}"', "drafts"))
        ids = {label: rid for rid, label in names.by_id.items()}

        for label in ("a-pub", "a-priv", "b-priv", "s-priv"):
            for who in ACTORS:
                record("get " + label, who, await transport.get(who, ids[label]))

        everything = f'title ~ "{names.prefix}"'
        unpublished = f'title ~ "{names.prefix}" && published = false'
        by_note = f'title ~ "{names.prefix}" && note != ""'
        for who in ACTORS:
            record("list all", who, await transport.list(who, everything))
            record("list unpublished", who, await transport.list(who, unpublished))
            record("list by note", who, await transport.list(who, by_note))
            record("list sorted by note", who, await transport.list(who, everything, sort="-note,title"))

        async def update(who: str, label: str, data: dict[str, Any]) -> None:
            if "title" in data:
                data = {**data, "title": names.prefix + data["title"]}
            raw = await transport.update(who, ids[label], data)
            if not isinstance(raw, Denied):
                t.writes.append(("update", names.record(await get_as_superuser(server, ids[label]))))
            record(f"update {label}", who, raw)

        for who in ACTORS:  # the note only a superuser may set
            await update(who, "a-pub", {"title": f"a-pub by {who}", "note": f"n-by-{who}"})
        await update("alice", "a-priv", {"published": True})  # now every subscriber may see it
        await update("bob", "b-pub", {"published": False})  # now only bob and superusers

        async def delete(who: str, label: str) -> None:
            before = await get_as_superuser(server, ids[label])
            raw = await transport.delete(who, ids[label])
            if raw is True:
                t.writes.append(("delete", plain(names.record(before))))
            record(f"delete {label}", who, raw)

        await delete("guest", "a-pub")
        await delete("bob", "a-pub")
        await delete("alice", "b-priv")
        await delete("alice", "a-pub")
        await delete("bob", "b-pub")
        await delete("superuser", "s-priv")

        end = await fence(server, 999)
        for who, feed in feeds.items():
            events: list[tuple[str, dict[str, Any]]] = []
            assert await feed.read_until(end, events), f"{who} never saw the closing fence"
            t.events[who] = [(action, names.record(r)) for action, r in events]
    finally:
        for feed in feeds.values():
            await feed.close()
        await transport.close()
    return t


# ---------------------------------------------------------------------------------------- the model
def may_see(who: str, record: dict[str, Any]) -> bool:
    """The list/view rule `published = true || owner = @request.auth.id`, superusers past it."""
    return who == "superuser" or record["published"] or record["owner"] == who


def owner_shown(who: str, record: dict[str, Any]) -> dict[str, str] | None:
    """The expanded owner: users' view rule is `id = @request.auth.id`, so a user shows only to itself."""
    owner = record["owner"]
    return {"id": owner, "name": owner} if who in (owner, "superuser") else None


def may_write(who: str, owner: str) -> bool:
    return who == "superuser" or owner == who


def shown(who: str, record: dict[str, Any]) -> dict[str, Any]:
    """The record as `who` receives it: the hidden note for the superuser only (REST leaves it out)."""
    return {**record, "note": record["note"] if who == "superuser" else None}


def records_of(outcome: Outcome) -> list[dict[str, Any]]:
    return [outcome] if isinstance(outcome, dict) else outcome if isinstance(outcome, list) else []


TRANSCRIPTS: dict[str, Transcript] = {}
RUNS = iter(range(1000))


async def transcript(server: GrpcServe, name: str) -> Transcript:
    if name not in TRANSCRIPTS:
        TRANSCRIPTS[name] = await run_scenario(TRANSPORTS[name](server), server, next(RUNS))
    return TRANSCRIPTS[name]


async def test_rest_answers_as_the_rules_say(server: GrpcServe) -> None:
    """The reference: REST's transcript against the model, so the parity below cannot pass vacuously."""
    t = await transcript(server, "rest")
    steps = {(step, who): outcome for step, who, outcome in t.steps}
    owners = {"a-pub": "alice", "a-priv": "alice", "b-pub": "bob", "b-priv": "bob", "s-priv": "bob"}

    assert isinstance(steps["create g-pub", "guest"], Denied)
    for label, who in (("a-pub", "alice"), ("a-priv", "alice"), ("b-pub", "bob"), ("b-priv", "bob")):
        assert steps["create " + label, who]["title"] == label
    assert steps["create s-priv", "superuser"]["expand"] == {"id": "bob", "name": "bob"}
    assert steps["create a-pub", "alice"]["expand"] == {"id": "alice", "name": "alice"}
    for label in ("a-pub", "a-priv", "b-priv", "s-priv"):
        for who in ACTORS:
            visible = who == "superuser" or label.endswith("pub") or owners[label] == who
            assert (steps["get " + label, who] == Denied(404)) is not visible, (label, who)

    for who in ACTORS:
        listed = steps["list all", who]
        assert [r["id"] for r in listed] == sorted(
            label for label in owners if may_see(who, {"published": label.endswith("pub"), "owner": owners[label]})
        )
        for r in listed:
            assert r["expand"] == owner_shown(who, r), (who, r)
        assert all(not r["published"] for r in steps["list unpublished", who])

    for who in ("guest", "alice", "bob"):
        assert steps["create draft", who] == steps["list drafts", who] == Denied(403), who
    assert steps["create draft", "superuser"]["id"] == "d-superuser"
    assert [r["id"] for r in steps["list drafts", "superuser"]] == ["d-superuser"]

    for who in ACTORS:
        answer = steps["update a-pub", who]
        assert isinstance(answer, Denied) is not may_write(who, "alice"), (who, answer)
    assert not isinstance(steps["delete a-pub", "alice"], Denied)
    for who, label in (("guest", "a-pub"), ("bob", "a-pub"), ("alice", "b-priv")):
        assert isinstance(steps["delete " + label, who], Denied), (who, label)

    for step, who, outcome in t.steps:  # the hidden note: a string for the superuser, absent for anyone else
        for r in records_of(outcome):
            assert (r["note"] is not None) is (who == "superuser"), (step, who, r)
    assert steps["create s-priv", "superuser"]["note"] == steps["get s-priv", "superuser"]["note"] == "n-s-priv"
    assert steps["get a-pub", "superuser"]["note"] == ""  # alice's note was ignored, as PocketBase does
    assert steps["update a-pub", "superuser"]["note"] == "n-by-superuser"
    assert [r["note"] for action, r in t.writes if action == "update" and r["id"] == "a-pub"] == ["", "n-by-superuser"]
    for who in ("guest", "alice", "bob"):  # filtering or sorting by a hidden field: superusers only
        assert steps["list by note", who] == steps["list sorted by note", who] == Denied(400), who
    assert [r["id"] for r in steps["list by note", "superuser"]] == ["s-priv"]
    assert [r["id"] for r in steps["list sorted by note", "superuser"]] == ["s-priv", *sorted(set(owners) - {"s-priv"})]

    for who in ACTORS:
        expected = [
            (action, {**shown(who, r), "expand": owner_shown(who, r)}) for action, r in t.writes if may_see(who, r)
        ]
        assert sorted(t.events[who], key=repr) == sorted(expected, key=repr), who
    assert len(t.events["superuser"]) > len(t.events["alice"]) > len(t.events["guest"]) > 0


@pytest.mark.parametrize("name", [n for n in TRANSPORTS if n != "rest"])
async def test_transport_gives_rest_s_answers_and_events(server: GrpcServe, name: str) -> None:
    rest = await transcript(server, "rest")
    other = await transcript(server, name)
    assert [(step, who) for step, who, _ in other.steps] == [(step, who) for step, who, _ in rest.steps]
    for (step, who, want), (_, _, got) in zip(rest.steps, other.steps, strict=True):
        if step.startswith("delete ") and want is True:
            assert got is True, (step, who, got)
            continue
        assert got == want, (name, step, who)
        if isinstance(want, Denied) and got.message is not None:
            assert got.message == want.message, (name, step, who)
    assert other.writes == rest.writes
    for who in ACTORS:
        assert sorted(other.events[who], key=repr) == sorted(rest.events[who], key=repr), (name, who)
