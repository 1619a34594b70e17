"""What a superuser's GraphQL mutation leaves in the audit trail (read back through `GET /api/logs`):
over a real `graphql-transport-ws` session in process (ASGI websocket scopes, as test_graphql_ws.py),
an entry per mutation as it runs, with the session's request id, the trustedProxy address and the
operation, never a variable's value; none for a user's mutation nor a superuser's query or
subscription; 499 for a mutation the client completed while it ran. Over HTTP, the API key a
superuser's mutation came with, and the request's id.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2

from satchel.core.app import App
from satchel.core.auth.superusers import find_superuser
from satchel.core.logs.model import WARN
from satchel.plugins.graphql.audit import CANCELLED
from satchel.testing import SUPERUSER_EMAIL
from tests.apis.helpers import POSTS, create_collection, create_user, login
from tests.apis.test_api_api_keys import bearer, new_key
from tests.plugins.graphql.test_graphql_ws import Socket, subscribed

SECRET = "hunter2-s3cr3t-value"
CREATE_USER = "mutation NewUser($d: UsersCreateInput!) { createUsers(data: $d) { id } }"
RENAME = 'mutation Rename($id: ID!) { updatePosts(id: $id, data: {title: "renamed"}) { id title } }'
TWO = """mutation Both($id: ID!, $d: PostsCreateInput!) {
  a: createPosts(data: $d) { id }
  ...Gone
}
fragment Gone on Mutation { deletePosts(id: $id) }"""


async def audits(client: httpx2.AsyncClient, su: dict[str, str]) -> list[dict[str, Any]]:
    """The audit entries of GraphQL mutations, oldest first."""
    query = "data.audit = true && data.action.route = '/api/graphql' && data.action.collection != ''"
    r = await client.get("/api/logs", params={"filter": query, "sort": "created", "perPage": 100}, headers=su)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def run(socket: Socket, op_id: str, query: str, **variables: Any) -> dict[str, Any]:
    """One query or mutation on `socket`: its `next` payload (then `complete`)."""
    socket.send({"type": "subscribe", "id": op_id, "payload": {"query": query, "variables": variables}})
    message = await socket.next()
    assert message["type"] == "next" and message["id"] == op_id, message
    assert await socket.next() == {"type": "complete", "id": op_id}
    payload: dict[str, Any] = message["payload"]
    return payload


async def test_a_superusers_mutations_are_audited_while_the_session_is_open(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await app.settings.patch({"trustedProxy": {"headers": ["X-Real-IP"], "useLeftmostIP": False}})
    await create_collection(client, su, POSTS)
    alice = await create_user(client, "alice@example.com")
    post = await client.post("/api/collections/posts/records", json={"title": "x", "author": alice["id"]}, headers=su)
    post_id = post.json()["id"]

    socket = Socket(app, headers=[(b"x-real-ip", b"203.0.113.7"), (b"x-request-id", b"audited-session")])
    await socket.init({"Authorization": su["Authorization"]})
    created = await run(
        socket, "1", CREATE_USER, d={"email": "bob@example.com", "password": SECRET, "passwordConfirm": SECRET}
    )
    assert "errors" not in created, created
    bob_id = created["data"]["createUsers"]["id"]
    renamed = await run(socket, "2", RENAME, id=post_id)
    assert renamed["data"]["updatePosts"]["title"] == "renamed"
    missing = await run(socket, "3", 'mutation { deletePosts(id: "nosuchrecord12") }')
    assert missing["errors"][0]["extensions"]["code"] == 404  # attempts are audited too

    new_user, rename, failed = await audits(client, su)  # the socket is still open
    superuser = await find_superuser(app, SUPERUSER_EMAIL)
    assert superuser is not None
    for entry in (new_user, rename, failed):
        data = entry["data"]
        assert entry["level"] == WARN and data["type"] == "audit"
        assert data["actor"] == {
            "collection": "_superusers",
            "id": superuser.id,
            "email": SUPERUSER_EMAIL,
            "userIP": "203.0.113.7",  # through trustedProxy
            "remoteIP": "127.0.0.1",  # the socket's peer
        }
        assert data["requestId"] == "audited-session"  # the session's, as its request entry will show
        assert data["action"]["route"] == "/api/graphql"
        assert data["action"]["graphql"]["transport"] == "websocket"
    assert new_user["message"] == "Superuser action: POST /api/collections/users/records"
    assert new_user["data"]["action"] | {"fieldCount": 0} == {
        "method": "POST",
        "route": "/api/graphql",
        "url": "/api/collections/users/records",
        "status": 200,
        "collection": "users",
        "recordId": bob_id,
        "fields": ["email", "password", "passwordConfirm"],
        "fieldCount": 0,
        "graphql": {"transport": "websocket", "operationName": "NewUser", "field": "createUsers", "variables": ["d"]},
    }
    action = rename["data"]["action"]
    assert (action["method"], action["status"], action["collection"], action["recordId"], action["fields"]) == (
        "PATCH",
        200,
        "posts",
        post_id,
        ["title"],
    )
    assert action["graphql"] | {"transport": ""} == {
        "transport": "",
        "operationName": "Rename",
        "field": "updatePosts",
        "variables": ["id"],
    }
    action = failed["data"]["action"]
    assert (action["method"], action["status"], action["recordId"]) == ("DELETE", 404, "nosuchrecord12")
    assert action["graphql"]["operationName"] == ""  # an anonymous operation

    everything = await client.get("/api/logs", params={"perPage": 500}, headers=su)
    assert SECRET not in everything.text
    await socket.hang_up()
    r = await client.get("/api/logs", params={"filter": "data.requestId = 'audited-session'"}, headers=su)
    [session] = [e for e in r.json()["items"] if e["data"]["type"] == "request"]
    assert (session["data"]["url"], session["data"]["status"]) == ("/api/graphql", 101)  # the same session


async def test_each_root_field_of_an_operation_is_an_entry_of_its_own(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await create_collection(client, su, POSTS)
    alice = await create_user(client, "alice@example.com")
    post = await client.post("/api/collections/posts/records", json={"title": "x", "author": alice["id"]}, headers=su)
    socket = Socket(app)
    await socket.init({"Authorization": su["Authorization"]})
    result = await run(socket, "1", TWO, id=post.json()["id"], d={"title": "new", "author": alice["id"]})
    assert result["data"]["deletePosts"] is True, result
    created, deleted = (e["data"]["action"] for e in await audits(client, su))
    assert (created["method"], created["recordId"], created["fields"]) == (
        "POST",
        result["data"]["a"]["id"],
        ["author", "title"],
    )
    assert (deleted["method"], deleted["recordId"], deleted["fields"]) == ("DELETE", post.json()["id"], [])
    for action in (created, deleted):  # the root field's name, not its alias; through the fragment
        assert action["graphql"]["operationName"] == "Both" and action["graphql"]["variables"] == ["d", "id"]
    assert (created["graphql"]["field"], deleted["graphql"]["field"]) == ("createPosts", "deletePosts")
    await socket.hang_up()


async def test_users_mutations_and_superusers_reads_are_not_audited(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await create_collection(client, su, POSTS)
    alice = await create_user(client, "alice@example.com")
    ha = await login(client, "alice@example.com")

    user = Socket(app)
    await user.init({"Authorization": ha["Authorization"]})
    made = await run(
        user,
        "1",
        "mutation($d: PostsCreateInput!) { createPosts(data: $d) { id } }",
        d={"title": "mine", "author": alice["id"]},
    )
    assert "errors" not in made, made  # it ran, and changed something
    await user.hang_up()

    superuser = Socket(app)
    await superuser.init({"Authorization": su["Authorization"]})
    listed = await run(superuser, "1", "query { postsList { totalItems } }")
    assert listed["data"]["postsList"]["totalItems"] == 1
    await subscribed(app, superuser, "s", "subscription { postsChanged { action } }")
    await superuser.hang_up()
    r = await client.get("/api/logs", params={"filter": "data.audit = true && data.action.signIn != true"}, headers=su)
    routes = {e["data"]["action"]["route"] for e in r.json()["items"]}
    assert routes == {"/api/collections"}  # the REST set-up's own: nothing from either socket


async def test_a_mutation_the_client_completes_while_it_runs_is_audited_as_cancelled(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await create_collection(client, su, POSTS)
    entered, cancelled = asyncio.Event(), asyncio.Event()

    async def hold(e: Any) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    app.hooks.on_record_create_request.bind(hold)
    socket = Socket(app)
    await socket.init({"Authorization": su["Authorization"]})
    query = 'mutation { createPosts(data: {title: "held"}) { id } }'
    socket.send({"type": "subscribe", "id": "1", "payload": {"query": query}})
    await asyncio.wait_for(entered.wait(), 10)
    socket.send({"type": "complete", "id": "1"})
    await asyncio.wait_for(cancelled.wait(), 10)
    entries: list[dict[str, Any]] = []
    for _ in range(200):  # written as the operation's task unwinds, just after the hook saw it
        entries = await audits(client, su)
        if entries:
            break
        await asyncio.sleep(0.01)
    [entry] = entries
    action = entry["data"]["action"]
    assert (action["method"], action["status"], action["recordId"], action["fields"]) == (
        "POST",
        CANCELLED,
        "",
        ["title"],
    )
    socket.send({"type": "ping"})
    assert await socket.next() == {"type": "pong"}  # the session goes on
    await socket.hang_up()


async def test_over_http_the_entry_names_the_api_key_and_the_request(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await create_collection(client, su, POSTS)
    key = await new_key(client, su)
    r = await client.post(
        "/api/graphql",
        json={"query": 'mutation Add { createPosts(data: {title: "by key"}) { id } }'},
        headers={**bearer(key), "X-Request-Id": "keyed-request"},
    )
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    [entry] = await audits(client, su)
    data = entry["data"]
    assert data["actor"]["apiKeyId"] == key["id"] and data["actor"]["email"] == SUPERUSER_EMAIL  # its owner
    assert data["requestId"] == "keyed-request"
    assert data["action"]["recordId"] == r.json()["data"]["createPosts"]["id"]
    assert data["action"]["graphql"] == {
        "transport": "http",
        "operationName": "Add",
        "field": "createPosts",
        "variables": [],
    }
