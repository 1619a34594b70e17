"""`Records.Watch` against a real server: change events made over REST, filtered by the same rules
and topic filters as SSE realtime, on one worker and across two."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx2
import pytest
from google.protobuf import json_format

from satchel.core.realtime.broker import NODE_ID_LENGTH
from satchel.plugins.grpc.gen import records_pb2 as pb
from satchel.plugins.grpc.gen import records_pb2_grpc
from satchel.plugins.grpc.watch import WATCH_ID
from tests.plugins.grpc.servers import GrpcServe, running

RECORDS = "/api/collections/posts/records"
READ_GUARD = 20.0
"""Seconds a read may block before the test is declared hung (a guard, not a measurement)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GrpcServe]:
    with running(tmp_path_factory.mktemp("grpc-watch") / "data") as s:
        yield s


class Watcher:
    """An open Watch call, subscribed (its initial metadata arrived) before it is handed out."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.id = ""

    async def ready(self) -> Watcher:
        metadata = await asyncio.wait_for(self.call.initial_metadata(), READ_GUARD)
        self.id = dict(metadata)[WATCH_ID]
        return self

    async def next(self) -> tuple[str, dict[str, Any]]:
        event = await asyncio.wait_for(self.call.read(), READ_GUARD)
        assert event is not grpc.aio.EOF
        return event.action, json_format.MessageToDict(event.record)


def channel(target: str) -> grpc.aio.Channel:
    """A channel with a connection of its own (the kernel may give each one to another worker)."""
    return grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])


@pytest.fixture
async def stub(server: GrpcServe) -> AsyncIterator[records_pb2_grpc.RecordsStub]:
    async with channel(server.target) as ch:
        yield records_pb2_grpc.RecordsStub(ch)


async def watch(stub: records_pb2_grpc.RecordsStub, server: GrpcServe, who: str, **fields: str) -> Watcher:
    return await Watcher(stub.Watch(pb.WatchRequest(**fields), metadata=server.auth(who))).ready()


def create(server: GrpcServe, who: str, title: str, public: bool = True) -> str:
    with httpx2.Client(base_url=server.url, timeout=10, limits=httpx2.Limits(max_keepalive_connections=0)) as http:
        body = {"title": title, "public": public, "owner": server.ids[who]}
        r = http.post(RECORDS, headers=server.headers(who), json=body)
        assert r.status_code == 200, r.text
        record_id: str = r.json()["id"]
        return record_id


async def test_a_create_made_over_rest_reaches_watchers_the_list_rule_lets_see_it(
    server: GrpcServe, stub: records_pb2_grpc.RecordsStub
) -> None:
    guest = await watch(stub, server, "guest", collection="posts")
    alice = await watch(stub, server, "alice", collection="posts", expand="owner")
    create(server, "bob", "news")
    create(server, "alice", "private thoughts", public=False)
    create(server, "bob", "marker")
    seen = [await guest.next(), await guest.next()]
    assert [(action, record["title"]) for action, record in seen] == [("create", "news"), ("create", "marker")]
    assert seen[0][1]["owner"] == server.ids["bob"] and "expand" not in seen[0][1]
    mine = [await alice.next() for _ in range(3)]
    assert [record["title"] for _, record in mine] == ["news", "private thoughts", "marker"]
    assert mine[1][1]["expand"]["owner"]["name"] == "alice"
    guest.call.cancel()
    alice.call.cancel()


async def test_filters_and_single_record_watches(server: GrpcServe, stub: records_pb2_grpc.RecordsStub) -> None:
    target = create(server, "bob", "tracked")
    filtered = await watch(stub, server, "guest", collection="posts", filter='title ~ "keep"', fields="id,title")
    one = await watch(stub, server, "guest", collection="posts", record_id=target)
    create(server, "bob", "drop me")
    kept = create(server, "bob", "keep me")
    assert await filtered.next() == ("create", {"id": kept, "title": "keep me"})
    with httpx2.Client(base_url=server.url, timeout=10) as http:
        r = http.patch(f"{RECORDS}/{target}", headers=server.headers("bob"), json={"title": "tracked 2"})
        assert r.status_code == 200, r.text
        r = http.delete(f"{RECORDS}/{target}", headers=server.headers("bob"))
        assert r.status_code == 204, r.text
    updated, deleted = await one.next(), await one.next()
    assert (updated[0], updated[1]["title"], deleted[0], deleted[1]["id"]) == ("update", "tracked 2", "delete", target)
    filtered.call.cancel()
    one.call.cancel()


async def test_an_api_key_watches_as_a_guest(server: GrpcServe, stub: records_pb2_grpc.RecordsStub) -> None:
    # REST's realtime takes no API key: the key's owner sees her private posts only with her token
    with httpx2.Client(base_url=server.url, timeout=10) as http:
        r = http.post(
            "/api/keys",
            headers=server.headers("alice"),
            json={"name": "watch", "scopes": [{"collection": "posts", "actions": ["list", "view"]}]},
        )
        assert r.status_code == 200, r.text
        key = r.json()["key"]
    keyed = await Watcher(stub.Watch(pb.WatchRequest(collection="posts"), metadata=(("authorization", key),))).ready()
    create(server, "alice", "keyed private", public=False)
    create(server, "alice", "keyed public")
    assert (await keyed.next())[1]["title"] == "keyed public"
    keyed.call.cancel()


async def test_superusers_watch_superuser_only_collections(
    server: GrpcServe, stub: records_pb2_grpc.RecordsStub
) -> None:
    # (what others may not see is left out: the private post in the first test)
    superuser = await watch(stub, server, "superuser", collection="secrets")
    with httpx2.Client(base_url=server.url, timeout=10) as http:
        r = http.post("/api/collections/secrets/records", headers=server.headers("superuser"), json={"title": "s1"})
        assert r.status_code == 200, r.text
    assert (await superuser.next())[1]["title"] == "s1"
    superuser.call.cancel()


@pytest.mark.parametrize(
    ("request_fields", "code"),
    [
        ({"collection": "nope"}, grpc.StatusCode.NOT_FOUND),
        ({"collection": "posts", "record_id": "a?options=x"}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"collection": "posts", "filter": "title ~~ ("}, grpc.StatusCode.INVALID_ARGUMENT),
    ],
)
async def test_a_watch_that_cannot_start_fails_at_once(
    server: GrpcServe, stub: records_pb2_grpc.RecordsStub, request_fields: dict[str, str], code: grpc.StatusCode
) -> None:
    call = stub.Watch(pb.WatchRequest(**request_fields))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await asyncio.wait_for(call.read(), READ_GUARD)
    assert caught.value.code() == code


async def test_two_workers_serve_grpc_and_relay_events_between_them(tmp_path: Path) -> None:
    with running(tmp_path / "data", "--workers", "2") as server:
        channels: list[grpc.aio.Channel] = []
        by_node: dict[str, Watcher] = {}
        try:
            while len(by_node) < 2 and len(channels) < 40:
                ch = channel(server.target)
                channels.append(ch)
                watcher = await watch(records_pb2_grpc.RecordsStub(ch), server, "guest", collection="posts")
                by_node.setdefault(watcher.id[:NODE_ID_LENGTH], watcher)
            assert len(by_node) == 2, f"{len(channels)} connections all landed on one worker"
            titles = [f"post {i}" for i in range(8)]
            for title in titles:
                create(server, "alice", title)  # new connections: both workers commit some
            for watcher in by_node.values():
                assert [(await watcher.next())[1]["title"] for _ in titles] == titles
        finally:
            for ch in channels:
                await ch.close()
