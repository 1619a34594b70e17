"""A unary call the client cancels while its handler runs: grpc cancels the handler, and the call is
still logged (`_logs`, read through `GET /api/logs`) and counted, with status 499.

The app's real gRPC server on loopback in this process, so a hook can hold the handler until the
client has cancelled (events, no timing).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx2
import pytest

from satchel.config import BootConfig
from satchel.core.app import App
from satchel.core.logs.model import ERROR
from satchel.plugins import grpc as grpc_plugin
from satchel.plugins import metrics
from satchel.plugins.grpc.call_log import CLIENT_CLOSED, CLIENT_CLOSED_MESSAGE
from satchel.plugins.grpc.gen import records_pb2 as pb
from satchel.plugins.grpc.gen import records_pb2_grpc
from satchel.testing import client_for, superuser_token
from tests.plugins.metrics.test_metrics_endpoint import samples, value

NOTES = {"name": "notes", "type": "base", "listRule": "", "fields": [{"name": "title", "type": "text"}]}
LIST = "/satchel.v1.Records/List"


@dataclass
class Held:
    """A list hook that holds every List handler until released, and what became of the handlers."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, event: Any) -> None:
        self.entered.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        await event.next()


@dataclass
class Served:
    http: httpx2.AsyncClient
    su: dict[str, str]
    stub: records_pb2_grpc.RecordsStub
    held: Held


@pytest.fixture
async def served(app: App) -> AsyncIterator[Served]:
    plugin = metrics.register(app, BootConfig(metrics=True))
    server = grpc_plugin.register(app, grpc_plugin.GrpcConfig("127.0.0.1:0"))
    await server.start()
    held = Held()
    try:
        async with client_for(app) as http:
            su = {"Authorization": await superuser_token(app, http)}
            r = await http.post("/api/collections", headers=su, json=NOTES)
            assert r.status_code == 200, r.text
            app.hooks.on_records_list_request.bind(held)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as ch:
                yield Served(http, su, records_pb2_grpc.RecordsStub(ch), held)
    finally:
        await server.stop()
        plugin.close()


async def list_entries(served: Served) -> list[dict[str, Any]]:
    r = await served.http.get("/api/logs", params={"filter": f"message = 'POST {LIST}'"}, headers=served.su)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_a_call_cancelled_mid_handler_is_logged_and_counted_as_499(served: Served) -> None:
    call = served.stub.List(pb.ListRequest(collection="notes"))
    await asyncio.wait_for(served.held.entered.wait(), 10)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.wait_for(served.held.cancelled.wait(), 10)  # grpc cancelled the handler itself

    entries: list[dict[str, Any]] = []
    for _ in range(200):  # the entry is written as the handler's task unwinds, just after the hook saw it
        entries = await list_entries(served)
        if entries:
            break
        await asyncio.sleep(0.01)
    [entry] = entries
    assert entry["level"] == ERROR
    data = entry["data"]
    assert (data["status"], data["method"], data["url"]) == (CLIENT_CLOSED, "POST", LIST)
    assert data["error"] == CLIENT_CLOSED_MESSAGE and data["execTime"] > 0

    r = await served.http.get("/metrics")
    found = samples(r.text)
    assert value(found, "satchel_http_requests_total", method="POST", route=LIST, status="499") == 1
    assert value(found, "satchel_http_request_duration_seconds_count", method="POST", route=LIST, status="499") == 1


async def test_a_call_that_finishes_is_still_a_200(served: Served) -> None:
    served.held.release.set()
    answer = await served.stub.List(pb.ListRequest(collection="notes"))
    assert answer.total_items == 0
    [entry] = await list_entries(served)
    assert entry["data"]["status"] == 200 and not served.held.cancelled.is_set()
