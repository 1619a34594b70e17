"""Request bytes that are no protobuf message of the method's type: answered INVALID_ARGUMENT with
REST's message for a body it cannot read, and logged (`_logs`, read through `GET /api/logs`) like
any other failed call, not grpc's UNKNOWN with an exception's name and no trace.

The app's real gRPC server on loopback in this process; the garbage goes out on a raw channel with
identity serializers, as a broken or hostile client would send it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx2
import pytest
from google.protobuf.message import DecodeError

from satchel.apis.request import LOAD_ERROR
from satchel.core.app import App
from satchel.plugins import grpc as grpc_plugin
from satchel.plugins.grpc.errors import ERROR_METADATA
from satchel.plugins.grpc.gen import records_pb2 as pb
from satchel.testing import client_for, superuser_token

GARBAGE = b"\xff\xff\xff\xff"
"""Field 31 with wire type 7, which does not exist: no message decodes it."""
NOTES = {"name": "notes", "type": "base", "listRule": "", "fields": [{"name": "title", "type": "text"}]}


@dataclass
class Raw:
    http: httpx2.AsyncClient
    su: dict[str, str]
    channel: grpc.aio.Channel


@pytest.fixture
async def raw(app: App) -> AsyncIterator[Raw]:
    server = grpc_plugin.register(app, grpc_plugin.GrpcConfig("127.0.0.1:0"))
    await server.start()
    try:
        async with client_for(app) as http:
            su = {"Authorization": await superuser_token(app, http)}
            r = await http.post("/api/collections", headers=su, json=NOTES)
            assert r.status_code == 200, r.text
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                yield Raw(http, su, channel)
    finally:
        await server.stop()


async def entries(raw: Raw, path: str) -> list[dict[str, Any]]:
    r = await raw.http.get("/api/logs", params={"filter": f"message = 'POST {path}'"}, headers=raw.su)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def refused(error: grpc.aio.AioRpcError) -> None:
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert error.details() == LOAD_ERROR
    body = json.loads(dict(error.trailing_metadata() or ())[ERROR_METADATA])
    assert body == {"data": {}, "message": LOAD_ERROR, "status": 400}


def test_the_garbage_is_no_message() -> None:
    with pytest.raises(DecodeError):
        pb.CreateRequest.FromString(GARBAGE)


@pytest.mark.parametrize("method", ["List", "Get", "Create", "Update", "Delete"])
async def test_undecodable_unary_requests_are_invalid_argument_and_logged(raw: Raw, method: str) -> None:
    path = f"/satchel.v1.Records/{method}"
    call = raw.channel.unary_unary(path, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(GARBAGE, timeout=10)
    refused(caught.value)

    [entry] = await entries(raw, path)
    data = entry["data"]
    assert (data["status"], data["method"], data["url"]) == (400, "POST", path)
    assert data["error"] == LOAD_ERROR and data["remoteIP"] == "127.0.0.1"


async def test_an_undecodable_watch_request_is_invalid_argument_and_logged(raw: Raw) -> None:
    path = "/satchel.v1.Records/Watch"
    call = raw.channel.unary_stream(path, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in call(GARBAGE, timeout=10):
            pass
    refused(caught.value)
    [entry] = await entries(raw, path)
    assert (entry["data"]["status"], entry["data"]["error"]) == (400, LOAD_ERROR)


async def test_well_formed_requests_still_decode(raw: Raw) -> None:
    """The same raw channel with a real message's bytes: the handler decodes what grpc no longer does."""
    call = raw.channel.unary_unary("/satchel.v1.Records/List", request_serializer=None, response_deserializer=None)
    answer = pb.ListResponse.FromString(await call(pb.ListRequest(collection="notes").SerializeToString(), timeout=10))
    assert (answer.page, answer.total_items) == (1, 0)
