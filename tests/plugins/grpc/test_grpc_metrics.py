"""gRPC calls in `/metrics`: counted and timed in the request families REST uses, under the route
`/satchel.v1.Records/<Method>` and the status REST would answer (`POST`, as their `_logs` entries).

First in one process (the app's real gRPC server on loopback, the exposition read through the
in-process HTTP client); then the real `satchel serve --workers 2 --grpc --metrics`, where the calls
are made on connections held by each worker and one scrape, whichever worker answers it, shows them all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx2
import pytest
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from satchel.config import BootConfig
from satchel.core.app import App
from satchel.core.realtime.broker import NODE_ID_LENGTH
from satchel.plugins import grpc as grpc_plugin
from satchel.plugins import metrics
from satchel.plugins.grpc.gen import records_pb2 as pb
from satchel.plugins.grpc.gen import records_pb2_grpc
from satchel.plugins.grpc.watch import WATCH_ID
from satchel.testing import client_for, superuser_token
from tests.plugins.grpc.servers import running
from tests.plugins.grpc.test_grpc_watch import channel
from tests.plugins.metrics.test_metrics_endpoint import samples, value

NOTES = {
    "name": "notes",
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "fields": [{"name": "title", "type": "text"}],
}  # createRule null: superusers only, a guest's create is a 403
ROUTE = "/satchel.v1.Records/{}"
COUNT = "satchel_http_requests_total"
LATENCY = "satchel_http_request_duration_seconds_count"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def calls(found: Samples, method: str, status: str) -> float:
    return value(found, COUNT, method="POST", route=ROUTE.format(method), status=status)


@dataclass
class Metered:
    app: App
    http: httpx2.AsyncClient
    stub: records_pb2_grpc.RecordsStub
    channel: grpc.aio.Channel

    async def scrape(self) -> Samples:
        r = await self.http.get("/metrics")
        assert r.status_code == 200, r.text
        return samples(r.text)

    async def scrape_until(self, done: Callable[[Samples], bool]) -> Samples:
        """A call is counted when the server has finished it, which may be after the client saw its end."""
        found = await self.scrape()
        for _ in range(200):
            if done(found):
                break
            await asyncio.sleep(0.02)
            found = await self.scrape()
        return found


@pytest.fixture
async def metered(app: App) -> AsyncIterator[Metered]:
    plugin = metrics.register(app, BootConfig(metrics=True))
    server = grpc_plugin.register(app, grpc_plugin.GrpcConfig("127.0.0.1:0"))
    await server.start()
    try:
        async with client_for(app) as http:
            r = await http.post(
                "/api/collections", headers={"Authorization": await superuser_token(app, http)}, json=NOTES
            )
            assert r.status_code == 200, r.text
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as ch:
                yield Metered(app, http, records_pb2_grpc.RecordsStub(ch), ch)
    finally:
        await server.stop()
        plugin.close()


async def test_calls_are_counted_as_requests_by_method_route_and_rest_status(metered: Metered) -> None:
    stub = metered.stub
    for _ in range(2):
        await stub.List(pb.ListRequest(collection="notes"))
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.Get(pb.GetRequest(collection="notes", id="missing1234567"))
    data = struct_pb2.Struct()
    data.update({"title": "x"})
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.Create(pb.CreateRequest(collection="notes", data=data))
    assert (missing.value.code(), refused.value.code()) == (
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.PERMISSION_DENIED,
    )
    health = await health_pb2_grpc.HealthStub(metered.channel).Check(health_pb2.HealthCheckRequest(service=""))
    assert health.status == health_pb2.HealthCheckResponse.SERVING

    found = await metered.scrape_until(lambda f: calls(f, "Create", "403") == 1)
    assert calls(found, "List", "200") == 2
    assert calls(found, "Get", "404") == 1  # the status REST answers, not the gRPC code
    assert calls(found, "Create", "403") == 1
    assert value(found, LATENCY, method="POST", route=ROUTE.format("List"), status="200") == 2
    grpc_routes = {
        dict(labels)["route"] for name, labels in found if name == COUNT and "Records" in dict(labels)["route"]
    }
    assert grpc_routes == {ROUTE.format("List"), ROUTE.format("Get"), ROUTE.format("Create")}  # no health check
    # the REST requests of the same process are still there, under their own routes
    assert value(found, COUNT, method="POST", route="/api/collections", status="200") == 1


async def test_a_watch_is_counted_when_it_ends(metered: Metered) -> None:
    call = metered.stub.Watch(pb.WatchRequest(collection="notes"))
    await call.initial_metadata()
    assert calls(await metered.scrape(), "Watch", "200") == 0  # open: not finished yet
    call.cancel()
    found = await metered.scrape_until(lambda f: calls(f, "Watch", "200") == 1)
    assert calls(found, "Watch", "200") == 1
    assert value(found, LATENCY, method="POST", route=ROUTE.format("Watch"), status="200") == 1


async def test_two_workers_calls_are_summed_in_one_scrape(tmp_path: Path) -> None:
    lists, misses = 3, 2
    with running(tmp_path / "data", "--workers", "2", "--metrics") as server:
        channels: list[grpc.aio.Channel] = []
        by_node: dict[str, tuple[records_pb2_grpc.RecordsStub, grpc.aio.Call]] = {}
        watches: list[grpc.aio.Call] = []
        try:
            while len(by_node) < 2 and len(channels) < 40:  # a connection each, until both workers hold one
                ch = channel(server.target)
                channels.append(ch)
                stub = records_pb2_grpc.RecordsStub(ch)
                watch = stub.Watch(pb.WatchRequest(collection="posts"))
                watches.append(watch)
                node = dict(await asyncio.wait_for(watch.initial_metadata(), 20))[WATCH_ID][:NODE_ID_LENGTH]
                by_node.setdefault(node, (stub, watch))
            assert len(by_node) == 2, f"{len(channels)} connections all landed on one worker"
            for stub, _ in by_node.values():  # each worker serves its own share on its connection
                for _ in range(lists):
                    await stub.List(pb.ListRequest(collection="posts"))
                for _ in range(misses):
                    with pytest.raises(grpc.aio.AioRpcError):
                        await stub.Get(pb.GetRequest(collection="posts", id="missing1234567"))
            for watch in watches:
                watch.cancel()
        finally:
            for ch in channels:
                await ch.close()

        expected = {("List", "200"): 2 * lists, ("Get", "404"): 2 * misses, ("Watch", "200"): len(watches)}

        def counts() -> dict[tuple[str, str], float]:
            with httpx2.Client(base_url=server.url, timeout=10) as http:  # whichever worker takes it
                r = http.get("/metrics")
                assert r.status_code == 200, r.text
                found = samples(r.text)
            return {key: calls(found, *key) for key in expected}

        got = counts()
        for _ in range(100):  # each worker hands its counts over within a second of the calls
            if got == expected:
                break
            await asyncio.sleep(0.2)
            got = counts()
    assert got == expected
