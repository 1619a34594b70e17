"""Hidden fields over gRPC against a real `satchel serve --grpc`: Get, List, Create, Update and Watch
give them to superusers only, and refuse filtering or sorting by them to anyone else, as REST does.
(A Watch filter naming a hidden field is realtime's topic filter: tests/plugins/graphql covers it.)

`diaries` is `posts` (tests.plugins.grpc.servers) plus a hidden `mood`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, struct_pb2

from satchel.plugins.grpc.gen import records_pb2 as pb
from satchel.plugins.grpc.watch import WATCH_ID
from tests.plugins.grpc.servers import POSTS, GrpcServe, error_body, running

RECORDS = "/api/collections/diaries/records"
ACTORS = ("guest", "alice", "superuser")
READ_GUARD = 20.0
"""Seconds a read may block before the test is declared hung (a guard, not a measurement)."""
MOOD = {"name": "mood", "type": "text", "hidden": True}
DIARIES = {**POSTS, "name": "diaries", "fields": [*POSTS["fields"], MOOD]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GrpcServe]:
    with running(tmp_path_factory.mktemp("grpc-hidden") / "data") as s:
        with s.rest() as http:
            r = http.post("/api/collections", headers=s.headers("superuser"), json=DIARIES)
            assert r.status_code == 200, r.text
            for title, mood in (("calm", "fine"), ("storm", "")):
                body = {"title": title, "public": True, "owner": s.ids["alice"], "mood": "alice's"}
                r = http.post(RECORDS, headers=s.headers("alice"), json=body)
                assert r.status_code == 200, r.text
                s.ids[title] = r.json()["id"]
                r = http.patch(f"{RECORDS}/{s.ids[title]}", headers=s.headers("superuser"), json={"mood": mood})
                assert r.status_code == 200, r.text
        yield s


def plain(value: struct_pb2.Struct) -> dict[str, Any]:
    out: dict[str, Any] = json_format.MessageToDict(value)
    return out


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def rest(server: GrpcServe, who: str, path: str = RECORDS, **params: Any) -> tuple[int, Any]:
    with server.rest() as http:
        r = http.get(path, headers=server.headers(who), params=params)
        return r.status_code, r.json()


@pytest.mark.parametrize("who", ACTORS)
async def test_get_and_list_show_it_to_superusers_only_as_rest(server: GrpcServe, who: str) -> None:
    async with server.stub() as stub:
        listed = await stub.List(pb.ListRequest(collection="diaries", sort="title"), metadata=server.auth(who))
        got = await stub.Get(pb.GetRequest(collection="diaries", id=server.ids["calm"]), metadata=server.auth(who))
    items = [plain(i) for i in listed.items]
    expected = ["fine", ""] if who == "superuser" else [None, None]  # "" is a value, None no key at all
    assert [i.get("mood") for i in items] == expected
    assert ("mood" in plain(got.record)) is (who == "superuser")
    status, body = rest(server, who, sort="title")
    assert status == 200 and items == body["items"]
    assert plain(got.record) == rest(server, who, f"{RECORDS}/{server.ids['calm']}")[1]


@pytest.mark.parametrize("who", ("guest", "alice"))
async def test_filter_and_sort_by_it_are_rest_s_400_for_non_superusers(server: GrpcServe, who: str) -> None:
    async with server.stub() as stub:
        for params in ({"filter": 'mood != ""'}, {"sort": "-mood"}):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.List(pb.ListRequest(collection="diaries", **params), metadata=server.auth(who))
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            status, body = rest(server, who, **params)
            assert status == 400 and error_body(refused.value) == body


async def test_superusers_filter_and_sort_by_it(server: GrpcServe) -> None:
    async with server.stub() as stub:
        request = pb.ListRequest(collection="diaries", filter='mood != ""')
        found = await stub.List(request, metadata=server.auth("superuser"))
        assert [plain(i)["title"] for i in found.items] == ["calm"]
        request = pb.ListRequest(collection="diaries", sort="mood")
        ordered = await stub.List(request, metadata=server.auth("superuser"))
        assert [plain(i)["title"] for i in ordered.items] == ["storm", "calm"]


async def test_writes_keep_a_superuser_s_value_only_and_answer_as_rest(server: GrpcServe) -> None:
    async with server.stub() as stub:
        data = struct({"title": "mine", "public": False, "owner": server.ids["alice"], "mood": "ignored"})
        created = await stub.Create(pb.CreateRequest(collection="diaries", data=data), metadata=server.auth("alice"))
        record_id = plain(created.record)["id"]
        assert "mood" not in plain(created.record)
        update = pb.UpdateRequest(collection="diaries", id=record_id, data=struct({"mood": "set"}))
        updated = await stub.Update(update, metadata=server.auth("superuser"))
        assert plain(updated.record)["mood"] == "set"
        update = pb.UpdateRequest(collection="diaries", id=record_id, data=struct({"mood": "again", "title": "mine2"}))
        updated = await stub.Update(update, metadata=server.auth("alice"))
        assert "mood" not in plain(updated.record)
    status, body = rest(server, "superuser", f"{RECORDS}/{record_id}")
    assert status == 200 and (body["title"], body["mood"]) == ("mine2", "set")


async def test_watch_events_carry_it_for_superusers_only_as_sse(server: GrpcServe) -> None:
    async with server.stub() as stub:
        calls = {who: stub.Watch(pb.WatchRequest(collection="diaries"), metadata=server.auth(who)) for who in ACTORS}
        for call in calls.values():
            assert dict(await asyncio.wait_for(call.initial_metadata(), READ_GUARD))[WATCH_ID]
        with server.rest() as http:
            body = {"title": "news", "public": True, "owner": server.ids["alice"], "mood": "glad"}
            r = http.post(RECORDS, headers=server.headers("superuser"), json=body)
            assert r.status_code == 200, r.text
        for who, call in calls.items():
            event = await asyncio.wait_for(call.read(), READ_GUARD)
            assert event is not grpc.aio.EOF
            record = plain(event.record)
            assert (event.action, record["title"], record.get("mood")) == (
                "create",
                "news",
                "glad" if who == "superuser" else None,
            )
        for call in calls.values():
            call.cancel()
