"""A superuser's write through its API key is audited with the key's id, and never with a value it
sent (test_grpc_records.py checks the entries of calls by token against a served instance). The
app's real gRPC server on loopback, in this process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx2
import pytest

from satchel.core.app import App
from satchel.plugins import grpc as grpc_plugin
from satchel.plugins.grpc.convert import to_struct
from satchel.plugins.grpc.gen import records_pb2 as pb
from satchel.plugins.grpc.gen import records_pb2_grpc
from satchel.testing import SUPERUSER_EMAIL, client_for, superuser_token
from tests.apis.test_api_api_keys import bearer, new_key

SECRET = "hunter2-s3cr3t-value"
NOTES = {
    "name": "notes",
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "fields": [{"name": "title", "type": "text"}, {"name": "secret", "type": "text"}],
}
SERVICE = "/satchel.v1.Records/"


@dataclass
class Served:
    http: httpx2.AsyncClient
    su: dict[str, str]
    stub: records_pb2_grpc.RecordsStub


@pytest.fixture
async def served(app: App) -> AsyncIterator[Served]:
    server = grpc_plugin.register(app, grpc_plugin.GrpcConfig("127.0.0.1:0"))
    await server.start()
    try:
        async with client_for(app) as http:
            su = {"Authorization": await superuser_token(app, http)}
            r = await http.post("/api/collections", headers=su, json=NOTES)
            assert r.status_code == 200, r.text
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as ch:
                yield Served(http, su, records_pb2_grpc.RecordsStub(ch))
    finally:
        await server.stop()


async def audits(served: Served) -> list[dict[str, Any]]:
    """The audit entries of gRPC calls, oldest first (the test's REST set-up leaves its own)."""
    query = f"data.audit = true && data.action.route ~ '{SERVICE}'"
    r = await served.http.get("/api/logs", params={"filter": query, "sort": "created"}, headers=served.su)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def auth(headers: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return (("authorization", headers["Authorization"]),)


async def test_a_superusers_api_key_is_named(served: Served) -> None:
    key = await new_key(served.http, served.su)
    await served.stub.Create(
        pb.CreateRequest(collection="notes", data=to_struct({"title": "k"})), metadata=auth(bearer(key))
    )
    [entry] = await audits(served)
    assert entry["data"]["actor"]["apiKeyId"] == key["id"]
    assert entry["data"]["actor"]["email"] == SUPERUSER_EMAIL  # the key's owner
