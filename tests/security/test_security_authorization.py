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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest

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


# ---------------------------------------------------------------- realtime (SSE)


async def _stream_events(
    world: World, actor: str, subscriptions: list[str], ready: asyncio.Event, seen: list[dict[str, Any]]
) -> None:
    """Connect as `actor`, subscribe, then collect record events until the sentinel's arrives."""
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
                        json={"clientId": data["clientId"], "subscriptions": subscriptions},
                        headers=world.headers[actor],
                    )
                    assert s.status_code == 204, s.text
                    ready.set()
                    continue
                seen.append({"topic": lines.get("event"), **data})
                if lines.get("event") == "sentinel/*":
                    return


@pytest.mark.parametrize("rule", list(RULES))
async def test_realtime_matrix(world: World, rule: str) -> None:
    seen: dict[str, list[dict[str, Any]]] = {actor: [] for actor in ACTORS}
    readies = {actor: asyncio.Event() for actor in ACTORS}
    tasks = [
        asyncio.create_task(_stream_events(world, actor, [f"{rule}/*", "sentinel/*"], readies[actor], seen[actor]))
        for actor in ACTORS
    ]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in readies.values())), 30)
    target = await asyncio.to_thread(world.new_target, rule)
    r = await asyncio.to_thread(
        world.http.post, "/api/collections/sentinel/records", json={"title": "s"}, headers=world.headers["superuser"]
    )
    assert r.status_code == 200
    await asyncio.wait_for(asyncio.gather(*tasks), 30)  # every stream got the sentinel: events before it are in
    for actor in ACTORS:
        got = [e["record"]["id"] for e in seen[actor] if e["topic"] == f"{rule}/*"]
        outcome = ALLOW if got == [target] else HIDE
        want = expected_realtime(rule, actor)
        assert outcome == (ALLOW if want == ALLOW else HIDE), (rule, actor, seen[actor])


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
