"""A GraphQL WebSocket session leaves one request entry in `_logs` when it ends (read back through
`GET /api/logs`), one stdout request line, and is counted in the request metrics.

In process first (ASGI websocket scopes, as in test_graphql_ws.py), then through `satchel serve`
with a real RFC 6455 client: the status the entry shows is the one the handshake got on the wire.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest

from satchel.apis.middleware.request_log import STDOUT
from satchel.config import BootConfig
from satchel.core.app import App
from satchel.core.logs.model import ERROR, INFO
from satchel.plugins import metrics
from satchel.plugins.graphql.plugin import GraphQL
from satchel.testing import client_for
from tests.apis.helpers import POSTS, create_collection, create_user, login
from tests.apis.test_api_realtime import EMAIL, PASSWORD
from tests.apis.test_api_realtime_scaleout import Serve, serve
from tests.apis.ws_client import HandshakeError, connect
from tests.plugins.graphql.test_graphql_ws import Socket, subscribed
from tests.plugins.grpc.servers import wait_for
from tests.plugins.metrics.test_metrics_endpoint import samples, value

PATH = "/api/graphql"


async def entries(client: httpx2.AsyncClient, su: dict[str, str]) -> list[dict[str, Any]]:
    """The request entries of `/api/graphql` over WebSocket, oldest first."""
    r = await client.get(
        "/api/logs",
        params={"filter": f"data.url = '{PATH}' && data.method = 'GET'", "sort": "created", "perPage": 100},
        headers=su,
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_a_session_is_logged_when_it_ends_with_its_auth_status_and_close_code(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    r = await client.patch("/api/settings", json={"logs": {"logAuthId": True}}, headers=su)
    assert r.status_code == 200, r.text
    await create_collection(client, su, POSTS)
    alice = await create_user(client, "alice@example.com")
    ha = await login(client, "alice@example.com")

    socket = Socket(app, headers=[(b"user-agent", b"graphql-ws/6"), (b"x-request-id", b"session-1")])
    await socket.init({"Authorization": ha["Authorization"]})
    await subscribed(app, socket, "s", "subscription { postsChanged { action } }")
    assert await entries(client, su) == []  # open: nothing logged yet
    await socket.hang_up()

    [entry] = await entries(client, su)
    assert (entry["level"], entry["message"]) == (INFO, f"GET {PATH}")
    data = entry["data"]
    assert data["type"] == "request" and data["method"] == "GET" and data["url"] == PATH
    assert data["status"] == 101 and data["closeCode"] == 1000
    assert (data["auth"], data["authId"]) == ("users", alice["id"])  # the connection_init token's record
    assert (data["userIP"], data["remoteIP"], data["userAgent"]) == ("127.0.0.1", "127.0.0.1", "graphql-ws/6")
    assert data["requestId"] == "session-1" and data["execTime"] > 0
    assert "error" not in data


async def test_refusals_and_server_closes_are_logged(app: App, client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    no_protocol = Socket(app, subprotocols=[])
    assert await no_protocol.closed() == (4406, "Subprotocol not acceptable")  # before accept
    bad_token = Socket(app)
    await bad_token.accepted()
    bad_token.send({"type": "connection_init", "payload": {"Authorization": "bad.token.here"}})
    assert await bad_token.closed() == (4403, "Forbidden")  # after accept

    refused, forbidden = await entries(client, su)
    assert (refused["level"], refused["data"]["status"], refused["data"]["closeCode"]) == (ERROR, 403, 4406)
    assert refused["data"]["error"] == "Subprotocol not acceptable"  # the close reason
    assert (forbidden["level"], forbidden["data"]["status"], forbidden["data"]["closeCode"]) == (INFO, 101, 4403)
    assert forbidden["data"]["auth"] == ""  # the token did not check out: a guest


async def test_log_settings_apply_to_sessions(app: App, client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    r = await client.patch("/api/settings", json={"logs": {"logIP": False}}, headers=su)
    assert r.status_code == 200, r.text
    socket = Socket(app)
    await socket.init({"Authorization": su["Authorization"]})
    await socket.hang_up()
    [entry] = await entries(client, su)
    assert entry["data"]["auth"] == "_superusers"
    assert "authId" not in entry["data"] and "userIP" not in entry["data"] and "remoteIP" not in entry["data"]
    r = await client.patch("/api/settings", json={"logs": {"maxDays": 0}}, headers=su)
    assert r.status_code == 200, r.text
    await Socket(app).hang_up()
    assert len(await entries(client, su)) == 1  # retention off: no entry


async def test_the_stdout_line_carries_the_close_code(
    app: App, plugin: GraphQL, capfd: pytest.CaptureFixture[str]
) -> None:
    app.config.log_format = "json"
    socket = Socket(app)
    await socket.init()
    socket.to_app.put_nowait({"type": "websocket.disconnect", "code": 1001})
    await asyncio.wait_for(socket.task, 10)
    STDOUT.flush()
    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"type":"request"' in line]
    [line] = [x for x in lines if x["path"] == PATH]
    assert line["msg"] == f"GET {PATH} 101" and line["level"] == "INFO"
    assert (line["method"], line["route"], line["status"], line["closeCode"]) == ("GET", PATH, 101, 1001)


@pytest.fixture
async def metered(app: App, plugin: GraphQL) -> AsyncIterator[httpx2.AsyncClient]:
    installed = metrics.register(app, BootConfig(metrics=True))
    try:
        async with client_for(app) as http:
            yield http
    finally:
        installed.close()


async def test_sessions_are_counted_in_the_request_families(app: App, metered: httpx2.AsyncClient) -> None:
    for _ in range(2):
        socket = Socket(app)
        await socket.init()
        await socket.hang_up()
    await Socket(app, subprotocols=[]).closed()
    r = await metered.get("/metrics")
    assert r.status_code == 200, r.text
    found = samples(r.text)
    count, latency = "satchel_http_requests_total", "satchel_http_request_duration_seconds_count"
    assert value(found, count, method="GET", route=PATH, status="101") == 2
    assert value(found, latency, method="GET", route=PATH, status="101") == 2
    assert value(found, count, method="GET", route=PATH, status="403") == 1


# ---------------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    s = serve(tmp_path_factory.mktemp("gqlws") / "data")
    yield s
    s.stop()


def logged(http: httpx2.Client, su: dict[str, str], request_id: str) -> list[dict[str, Any]]:
    r = http.get("/api/logs", params={"filter": f"data.requestId = '{request_id}'"}, headers=su)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_a_served_session_and_a_refused_handshake(server: Serve) -> None:
    with httpx2.Client(base_url=server.url, timeout=10) as http:
        r = http.post("/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD})
        su = {"Authorization": r.json()["token"]}
        ws_url = server.url.replace("http://", "ws://") + PATH
        protocol = {"Sec-WebSocket-Protocol": "graphql-transport-ws"}
        ws = await connect(ws_url, {**protocol, "X-Request-Id": "served-session"})
        await ws.send_json({"type": "connection_init", "payload": {"Authorization": su["Authorization"]}})
        assert await ws.receive_json() == {"type": "connection_ack"}
        await ws.close(1000)
        with pytest.raises(HandshakeError) as refused:
            await connect(ws_url, {"X-Request-Id": "served-refusal"})
        assert refused.value.status_line.split(" ")[1] == "403"

        wait_for(lambda: logged(http, su, "served-session") and logged(http, su, "served-refusal"))
        [session] = logged(http, su, "served-session")
        assert session["data"]["status"] == 101 and session["data"]["closeCode"] == 1000
        assert session["data"]["auth"] == "_superusers" and session["message"] == f"GET {PATH}"
        [refusal] = logged(http, su, "served-refusal")
        assert (refusal["data"]["status"], refusal["data"]["closeCode"]) == (403, 4406)
