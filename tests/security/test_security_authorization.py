"""The authorization matrix: rule types x actors x actions, expected outcomes as data, asserted over
REST, gRPC, GraphQL and realtime (SSE, WebSocket, GraphQL subscriptions) against a real `satchel serve`.

Each transport is one function `(world, rule, actor, action) -> outcome` in `TRANSPORTS`: REST, gRPC
(`satchel.v1.Records`) and GraphQL (`/api/graphql`) share the table. Each realtime transport is one
function in `SUBSCRIBERS` that connects as an actor and collects what it receives, checked against
the same table ("subscribe" is the list rule). Outcomes: ALLOW (done, and the effect is visible), or
the denial PocketBase gives: FORBID (403: only superusers, or outside an API key's scopes), HIDE
(404 for view/update/delete, left out of a list, no realtime event), REJECT (400 on a create the
rule refuses).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest

from tests.apis.ws_client import Closed, connect
from tests.security.served import EMAIL, PASSWORD, Server, free_port, served, upsert_superuser

ALLOW, FORBID, HIDE, REJECT = "allow", "forbid", "hide", "reject"
ACTIONS = ("list", "view", "create", "update", "delete")
ACTORS = ("guest", "other", "owner", "manager", "superuser", "apikey", "apikey_readonly")
RULES: dict[str, str | None] = {
    "locked": None,  # superusers only
    "public": "",
    "signed_in": '@request.auth.id != ""',
    "owner": "owner = @request.auth.id",
    "manager": '@request.auth.role = "manager"',
}
# who passes each rule (the API keys act as their owner, the "owner" user)
PASSES: dict[str, set[str]] = {
    "locked": {"superuser"},
    "public": set(ACTORS),
    "signed_in": set(ACTORS) - {"guest"},
    "owner": {"owner", "superuser", "apikey", "apikey_readonly"},
    "manager": {"manager", "superuser"},
}
DENIAL = {"list": HIDE, "view": HIDE, "create": REJECT, "update": HIDE, "delete": HIDE}
READONLY_SCOPE = {"list", "view"}


def expected(rule: str, actor: str, action: str) -> str:
    """The table, as data: who passes which rule, then how PocketBase denies each action."""
    if actor == "apikey_readonly" and action not in READONLY_SCOPE:
        return FORBID  # the key's scopes are checked before any rule
    if actor in PASSES[rule]:
        return ALLOW
    if RULES[rule] is None:
        return FORBID
    return DENIAL[action]


def expected_realtime(rule: str, actor: str) -> str:
    """Realtime is closed to API keys: a key's stream is a guest's (docs/api-keys.md)."""
    return expected(rule, "guest" if actor.startswith("apikey") else actor, "list")


@dataclass
class World:
    server: Server
    http: httpx2.Client
    grpc_target: str = ""
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def new_target(self, rule: str) -> str:
        """A fresh record owned by "owner" (made by the superuser), so writes never interfere."""
        r = self.http.post(
            f"/api/collections/{rule}/records",
            json={"title": "target", "owner": self.ids["owner"]},
            headers=self.headers["superuser"],
        )
        assert r.status_code == 200, r.text
        return str(r.json()["id"])


def _collection(name: str, rule: str | None) -> dict[str, Any]:
    return {
        "name": name,
        "type": "base",
        **{f"{a}Rule": rule for a in ACTIONS},
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
        ],
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = tmp_path_factory.mktemp("authz") / "pb"
    upsert_superuser(data)
    grpc_target = f"127.0.0.1:{free_port()}"
    with served(data, "--grpc", grpc_target) as server, httpx2.Client(base_url=server.base, timeout=30) as http:
        w = World(server, http, grpc_target)
        r = http.post("/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD})
        su = {"Authorization": r.json()["token"]}
        w.headers |= {"superuser": su, "guest": {}}
        users = http.get("/api/collections/users", headers=su).json()
        users["fields"].append({"name": "role", "type": "text"})
        users["manageRule"] = '@request.auth.role = "manager"'
        users["updateRule"] = (
            '(id = @request.auth.id && @request.body.role:isset = false) || @request.auth.role = "manager"'
        )
        r = http.patch("/api/collections/users", json=users, headers=su)
        assert r.status_code == 200, r.text
        for name in ("other", "owner", "manager"):
            email, pw = f"{name}@example.com", "password-123"
            r = http.post(
                "/api/collections/users/records",
                json={
                    "email": email,
                    "password": pw,
                    "passwordConfirm": pw,
                    "role": "manager" if name == "manager" else "",
                },
                headers=su,
            )
            assert r.status_code == 200, r.text
            w.ids[name] = r.json()["id"]
            r = http.post("/api/collections/users/auth-with-password", json={"identity": email, "password": pw})
            w.headers[name] = {"Authorization": r.json()["token"]}
        for rule, text in RULES.items():
            r = http.post("/api/collections", json=_collection(rule, text), headers=su)
            assert r.status_code == 200, r.text
        r = http.post("/api/collections", json=_collection("sentinel", ""), headers=su)
        assert r.status_code == 200
        for actor, actions in (("apikey", ["*"]), ("apikey_readonly", sorted(READONLY_SCOPE))):
            r = http.post(
                "/api/keys",
                json={"name": actor, "scopes": [{"collection": "*", "actions": actions}]},
                headers=w.headers["owner"],
            )
            assert r.status_code == 200, r.text
            w.headers[actor] = {"Authorization": r.json()["key"]}
        yield w


# ---------------------------------------------------------------- REST


def rest(world: World, rule: str, actor: str, action: str) -> str:
    """Perform `action` as `actor` over REST; return the outcome it had (and check its effect)."""
    http, headers = world.http, world.headers[actor]
    su = world.headers["superuser"]
    base = f"/api/collections/{rule}/records"
    target = world.new_target(rule)
    if action == "list":
        r = http.get(base, params={"filter": f'id = "{target}"'}, headers=headers)
        if r.status_code == 200:
            return ALLOW if [i["id"] for i in r.json()["items"]] == [target] else HIDE
    elif action == "view":
        r = http.get(f"{base}/{target}", headers=headers)
        if r.status_code == 200:
            assert r.json()["id"] == target
            return ALLOW
    elif action == "create":
        r = http.post(base, json={"title": "made", "owner": world.ids["owner"]}, headers=headers)
        if r.status_code == 200:
            assert http.get(f"{base}/{r.json()['id']}", headers=su).status_code == 200
            return ALLOW
    elif action == "update":
        r = http.patch(f"{base}/{target}", json={"title": f"by {actor}"}, headers=headers)
        stored = http.get(f"{base}/{target}", headers=su).json()["title"]
        if r.status_code == 200:
            assert stored == f"by {actor}"
            return ALLOW
        assert stored == "target"  # a denied update changed nothing
    elif action == "delete":
        r = http.delete(f"{base}/{target}", headers=headers)
        still = http.get(f"{base}/{target}", headers=su).status_code
        if r.status_code == 204:
            assert still == 404
            return ALLOW
        assert still == 200
    body = r.json()
    assert body["status"] == r.status_code, body  # PocketBase's error shape
    return {403: FORBID, 404: HIDE, 400: REJECT}.get(r.status_code, f"status {r.status_code}")


def grpc_call(world: World, rule: str, actor: str, action: str) -> str:
    """Perform `action` as `actor` through the gRPC Records service; same outcomes as `rest`."""
    import grpc
    from google.protobuf.struct_pb2 import Struct

    from satchel.plugins.grpc.gen import records_pb2 as pb
    from satchel.plugins.grpc.gen import records_pb2_grpc as pb_grpc

    su = world.headers["superuser"]
    base = f"/api/collections/{rule}/records"
    target = world.new_target(rule)
    token = world.headers[actor].get("Authorization")
    metadata = (("authorization", token),) if token else ()

    def data(values: dict[str, Any]) -> Struct:
        out = Struct()
        out.update(values)
        return out

    with grpc.insecure_channel(world.grpc_target) as channel:
        stub = pb_grpc.RecordsStub(channel)
        try:
            if action == "list":
                page = stub.List(pb.ListRequest(collection=rule, filter=f'id = "{target}"'), metadata=metadata)
                return ALLOW if [item["id"] for item in page.items] == [target] else HIDE
            if action == "view":
                assert stub.Get(pb.GetRequest(collection=rule, id=target), metadata=metadata).record["id"] == target
                return ALLOW
            if action == "create":
                made = stub.Create(
                    pb.CreateRequest(collection=rule, data=data({"title": "made", "owner": world.ids["owner"]})),
                    metadata=metadata,
                )
                assert world.http.get(f"{base}/{made.record['id']}", headers=su).status_code == 200
                return ALLOW
            if action == "update":
                req = pb.UpdateRequest(collection=rule, id=target, data=data({"title": f"by {actor}"}))
                stub.Update(req, metadata=metadata)
                assert world.http.get(f"{base}/{target}", headers=su).json()["title"] == f"by {actor}"
                return ALLOW
            stub.Delete(pb.DeleteRequest(collection=rule, id=target), metadata=metadata)
            assert world.http.get(f"{base}/{target}", headers=su).status_code == 404
            return ALLOW
        except grpc.RpcError as exc:
            if action in ("update", "delete"):  # a denied write changed nothing
                stored = world.http.get(f"{base}/{target}", headers=su)
                assert stored.status_code == 200 and stored.json()["title"] == "target"
            codes = {
                grpc.StatusCode.PERMISSION_DENIED: FORBID,
                grpc.StatusCode.NOT_FOUND: HIDE,
                grpc.StatusCode.INVALID_ARGUMENT: REJECT,
            }
            return codes.get(exc.code(), f"status {exc.code()}")


def _gql_type(collection: str) -> str:
    """The collection's GraphQL type name (docs/graphql.md: the first letter capitalised)."""
    return collection[:1].upper() + collection[1:]


def graphql(world: World, rule: str, actor: str, action: str) -> str:
    """Perform `action` as `actor` through `POST /api/graphql`; same outcomes as `rest`, read from
    GraphQL's denial shapes (docs/graphql.md): `null` for a record that is not viewable, an error
    whose `extensions.code` is REST's status for a refused operation."""
    http, su = world.http, world.headers["superuser"]
    base = f"/api/collections/{rule}/records"
    target = world.new_target(rule)
    kind = _gql_type(rule)
    field_name, query, variables = {
        "list": (f"{rule}List", f"query($f: String) {{ {rule}List(filter: $f) {{ items {{ id }} }} }}", {}),
        "view": (rule, f"query($id: ID!) {{ {rule}(id: $id) {{ id }} }}", {"id": target}),
        "create": (
            f"create{kind}",
            f"mutation($d: {kind}CreateInput!) {{ create{kind}(data: $d) {{ id }} }}",
            {"d": {"title": "made", "owner": world.ids["owner"]}},
        ),
        "update": (
            f"update{kind}",
            f"mutation($id: ID!, $d: {kind}UpdateInput!) {{ update{kind}(id: $id, data: $d) {{ id }} }}",
            {"id": target, "d": {"title": f"by {actor}"}},
        ),
        "delete": (f"delete{kind}", f"mutation($id: ID!) {{ delete{kind}(id: $id) }}", {"id": target}),
    }[action]
    if action == "list":
        variables = {"f": f'id = "{target}"'}
    r = http.post("/api/graphql", json={"query": query, "variables": variables}, headers=world.headers[actor])
    assert r.status_code == 200, r.text  # GraphQL answers its denials in the body
    body = r.json()
    value = (body.get("data") or {}).get(field_name)
    if action in ("update", "delete"):
        stored = http.get(f"{base}/{target}", headers=su)
        if "errors" in body:  # a denied write changed nothing
            assert stored.status_code == 200 and stored.json()["title"] == "target", body
        elif action == "update":
            assert stored.json()["title"] == f"by {actor}"
        else:
            assert value is True and stored.status_code == 404
    if "errors" in body:
        [error] = body["errors"]
        assert error["path"] == [field_name] and value is None, body
        code = error["extensions"]["code"]
        return {403: FORBID, 404: HIDE, 400: REJECT}.get(code, f"code {code}")
    if action == "list":
        return ALLOW if [i["id"] for i in value["items"]] == [target] else HIDE
    if action == "view":
        return HIDE if value is None else ALLOW if value["id"] == target else f"wrong record {value}"
    if action == "create":
        assert http.get(f"{base}/{value['id']}", headers=su).status_code == 200
    return ALLOW


TRANSPORTS: dict[str, Callable[[World, str, str, str], str]] = {"rest": rest, "grpc": grpc_call, "graphql": graphql}
CASES = [(t, rule, actor, action) for t in TRANSPORTS for rule in RULES for actor in ACTORS for action in ACTIONS]


@pytest.mark.parametrize(("transport", "rule", "actor", "action"), CASES, ids=["-".join(c) for c in CASES])
def test_matrix(world: World, transport: str, rule: str, actor: str, action: str) -> None:
    assert TRANSPORTS[transport](world, rule, actor, action) == expected(rule, actor, action)


# ---------------------------------------------------------------- realtime: the "subscribe" action

END, PROBE = "end", "probe"
"""Titles of `sentinel` records. The test creates the "end" one after the target: once a stream has
it, every earlier event is in (each subscriber gets events in the order they were published).
"probe" ones only tell a subscription that cannot say when it is in place (GraphQL's) that it is."""
KEYS_REFUSED = {"graphql"}
"""Realtime transports that refuse an API key outright (4403): SSE and the realtime WebSocket serve
a key's stream as a guest's instead. Keys never read realtime events either way (docs/api-keys.md)."""


def expected_subscribe(transport: str, rule: str, actor: str) -> str:
    """Subscribing is listing: the list rule decides, and a denial of any kind means no event (HIDE)."""
    if actor.startswith("apikey"):
        if transport in KEYS_REFUSED:
            return FORBID
        actor = "guest"
    return ALLOW if expected(rule, actor, "list") == ALLOW else HIDE


@dataclass
class Stream:
    """What one actor's subscription to `rule/*` received, until the "end" sentinel."""

    ready: asyncio.Event = field(default_factory=asyncio.Event)
    ids: list[str] = field(default_factory=list)
    refused: bool = False


async def sse(world: World, actor: str, rule: str, stream: Stream) -> None:
    """`GET /api/realtime`, then the subscription POSTed with the actor's Authorization."""
    async with (
        httpx2.AsyncClient(base_url=world.server.base, timeout=30) as http,
        http.stream("GET", "/api/realtime", timeout=None) as r,
    ):
        buf = b""
        async for chunk in r.aiter_raw():
            buf += chunk
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                lines = dict(line.split(":", 1) for line in block.decode().split("\n") if ":" in line)
                data = json.loads(lines.get("data", "null"))
                if lines.get("event") == "PB_CONNECT":
                    s = await http.post(
                        "/api/realtime",
                        json={"clientId": data["clientId"], "subscriptions": [f"{rule}/*", "sentinel/*"]},
                        headers=world.headers[actor],
                    )
                    assert s.status_code == 204, s.text
                    stream.ready.set()
                elif lines.get("event") == f"{rule}/*":
                    stream.ids.append(data["record"]["id"])
                elif lines.get("event") == "sentinel/*" and data["record"]["title"] == END:
                    return


def _ws_url(world: World, path: str) -> str:
    return "ws://" + world.server.base.removeprefix("http://") + path


async def realtime_ws(world: World, actor: str, rule: str, stream: Stream) -> None:
    """The `/api/realtime` WebSocket: an `auth` message with the actor's token, then `subscribe`."""
    ws = await connect(_ws_url(world, "/api/realtime"))
    try:
        assert (await ws.receive_json())["type"] == "connect"
        token = world.headers[actor].get("Authorization")
        if token:
            await ws.send_json({"type": "auth", "id": "a", "token": token})
            reply = await ws.receive_json()
            # an API key is no token here: refused (401), the socket stays a guest's
            assert (reply["id"], reply["type"]) == ("a", "error" if actor.startswith("apikey") else "auth"), reply
        await ws.send_json({"type": "subscribe", "id": "s", "topics": [f"{rule}/*", "sentinel/*"]})
        reply = await ws.receive_json()
        assert (reply["id"], reply["type"]) == ("s", "subscriptions"), reply
        stream.ready.set()
        while True:
            message = await ws.receive_json(30)
            if message["type"] == "ping":
                await ws.send_json({"type": "pong"})
                continue
            assert message["type"] == "event", message
            if message["topic"] == f"{rule}/*":
                stream.ids.append(message["data"]["record"]["id"])
            elif message["topic"] == "sentinel/*" and message["data"]["record"]["title"] == END:
                return
    finally:
        await ws.close()


async def graphql_ws(world: World, actor: str, rule: str, stream: Stream) -> None:
    """`/api/graphql` over graphql-transport-ws: the token in `connection_init`, then one
    subscription per collection (`<rule>Changed` first, `sentinelChanged` second)."""
    ws = await connect(_ws_url(world, "/api/graphql"), {"Sec-WebSocket-Protocol": "graphql-transport-ws"})
    try:
        token = world.headers[actor].get("Authorization")
        await ws.send_json({"type": "connection_init", "payload": {"Authorization": token} if token else {}})
        try:
            ack = await ws.receive_json()
        except Closed as closed:
            assert closed.code == 4403, closed
            stream.refused = True
            stream.ready.set()
            return
        assert ack == {"type": "connection_ack"}
        for op_id, collection in (("r", rule), ("s", "sentinel")):
            query = f"subscription {{ {collection}Changed {{ action record {{ id title }} }} }}"
            await ws.send_json({"type": "subscribe", "id": op_id, "payload": {"query": query}})
        while True:
            message = await ws.receive_json(30)
            if message["type"] == "ping":
                await ws.send_json({"type": "pong"})
                continue
            assert message["type"] == "next", message
            [change] = message["payload"]["data"].values()
            if message["id"] == "r":
                stream.ids.append(change["record"]["id"])
            elif change["record"]["title"] == PROBE:
                stream.ready.set()  # the subscription sent before this one is in place too
            elif change["record"]["title"] == END:
                return
    finally:
        await ws.close()


SUBSCRIBERS: dict[str, Callable[[World, str, str, Stream], Awaitable[None]]] = {
    "sse": sse,
    "ws": realtime_ws,
    "graphql": graphql_ws,
}
SUBSCRIBE_CASES = [(t, rule) for t in SUBSCRIBERS for rule in RULES]


async def _all_ready(world: World, streams: dict[str, Stream], tasks: list[asyncio.Task[None]]) -> None:
    """Wait until every subscription is in place, sending probes for those that only learn it from one."""
    ready = asyncio.ensure_future(asyncio.gather(*(s.ready.wait() for s in streams.values())))
    for _ in range(150):
        await asyncio.wait([ready, *tasks], timeout=0.2, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            if task.done() and task.exception() is not None:
                ready.cancel()
                task.result()
        if ready.done():
            return
        r = await asyncio.to_thread(
            world.http.post,
            "/api/collections/sentinel/records",
            json={"title": PROBE},
            headers=world.headers["superuser"],
        )
        assert r.status_code == 200, r.text
    ready.cancel()
    raise AssertionError(f"subscriptions never in place: {[a for a, s in streams.items() if not s.ready.is_set()]}")


@pytest.mark.parametrize(("transport", "rule"), SUBSCRIBE_CASES, ids=["-".join(c) for c in SUBSCRIBE_CASES])
async def test_realtime_matrix(world: World, transport: str, rule: str) -> None:
    streams = {actor: Stream() for actor in ACTORS}
    tasks = [asyncio.create_task(SUBSCRIBERS[transport](world, a, rule, streams[a])) for a in ACTORS]
    try:
        await _all_ready(world, streams, tasks)
        target = await asyncio.to_thread(world.new_target, rule)
        r = await asyncio.to_thread(
            world.http.post,
            "/api/collections/sentinel/records",
            json={"title": END},
            headers=world.headers["superuser"],
        )
        assert r.status_code == 200
        await asyncio.wait_for(asyncio.gather(*tasks), 30)  # every stream got the end: events before it are in
    finally:
        for task in tasks:
            task.cancel()
    for actor, stream in streams.items():
        outcome = FORBID if stream.refused else ALLOW if stream.ids == [target] else HIDE
        assert outcome == expected_subscribe(transport, rule, actor), (transport, rule, actor, stream)


# ---------------------------------------------------------------- manageRule and self-promotion


def test_manage_rule_lets_a_manager_set_a_password_without_the_old_one(world: World) -> None:
    http = world.http
    new = {"password": "new-password-1", "passwordConfirm": "new-password-1"}
    # the record itself must give its old password
    r = http.patch(f"/api/collections/users/records/{world.ids['other']}", json=new, headers=world.headers["other"])
    assert r.status_code == 400 and "oldPassword" in r.json()["data"]
    # a manager (manageRule) does not
    r = http.patch(f"/api/collections/users/records/{world.ids['other']}", json=new, headers=world.headers["manager"])
    assert r.status_code == 200, r.text
    r = http.post(
        "/api/collections/users/auth-with-password",
        json={"identity": "other@example.com", "password": "new-password-1"},
    )
    assert r.status_code == 200
    world.headers["other"] = {"Authorization": r.json()["token"]}  # the change revoked the old token
    # another plain user can do neither
    r = http.patch(f"/api/collections/users/records/{world.ids['owner']}", json=new, headers=world.headers["other"])
    assert r.status_code == 404


def test_a_user_cannot_promote_itself(world: World) -> None:
    r = world.http.patch(
        f"/api/collections/users/records/{world.ids['other']}", json={"role": "manager"}, headers=world.headers["other"]
    )
    assert r.status_code == 404
    r = world.http.get(f"/api/collections/users/records/{world.ids['other']}", headers=world.headers["superuser"])
    assert r.json()["role"] == ""


def test_the_table_covers_every_cell() -> None:
    assert len(CASES) == len(TRANSPORTS) * len(RULES) * len(ACTORS) * len(ACTIONS)
    outcomes = {expected(r, a, x) for r in RULES for a in ACTORS for x in ACTIONS}
    assert outcomes == {ALLOW, FORBID, HIDE, REJECT}  # the table exercises every kind of denial
    assert len(SUBSCRIBE_CASES) == len(SUBSCRIBERS) * len(RULES)
    delivered = {
        t: {(r, a) for r in RULES for a in ACTORS if expected_subscribe(t, r, a) == ALLOW} for t in SUBSCRIBERS
    }
    assert all(delivered[t] and delivered[t] != {(r, a) for r in RULES for a in ACTORS} for t in SUBSCRIBERS)
