"""Realtime across real processes: `satchel serve --workers 2`, and two nodes joined by Redis or NATS.

Every server here is the real command line in a subprocess, read with real SSE connections.
Connections are spread over workers by the kernel, so the tests open streams until they hold
clients of different processes (a client id starts with its process's node id) rather than
hoping for a spread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from nats_service import nats_url
from redis_service import redis_url

from satchel.core.realtime.broker import NODE_ID_LENGTH
from satchel.testing import postgres as pg_testing
from tests.apis.test_api_realtime import EMAIL, PASSWORD, Stream, free_port, healthy

pytestmark = pytest.mark.skipif(pg_testing.enabled(), reason="always on SQLite: run once, in the default pass")

POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": "public = true",
    "viewRule": "public = true",
    "createRule": "",
    "fields": [{"name": "title", "type": "text"}, {"name": "public", "type": "bool"}],
}


@dataclass
class Serve:
    proc: subprocess.Popen[bytes]
    url: str
    data: Path

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]


def serve(data: Path, *args: str) -> Serve:
    """`satchel serve` on a free port (the superuser is created first, with the same command line)."""
    subprocess.run(
        [sys.executable, "-m", "satchel.cli.main", "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(data)],
        check=True,
        capture_output=True,
    )
    port = free_port()
    cmd = [sys.executable, "-m", "satchel.cli.main", "serve", "--http", f"127.0.0.1:{port}", "--dir", str(data)]
    proc = subprocess.Popen(
        [*cmd, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    server = Serve(proc, f"http://127.0.0.1:{port}", data)
    if healthy(server.url, proc):
        return server
    server.stop()
    raise RuntimeError(f"satchel serve {' '.join(args)} did not start")


def fresh_connection_client(url: str) -> httpx2.AsyncClient:
    """No keep-alive: every request is a new connection, which any worker may accept."""
    return httpx2.AsyncClient(base_url=url, timeout=10, limits=httpx2.Limits(max_keepalive_connections=0))


async def setup_posts(url: str) -> dict[str, str]:
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        r = await http.post(
            "/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD}
        )
        su = {"Authorization": r.json()["token"]}
        r = await http.post("/api/collections", headers=su, json=POSTS)
        assert r.status_code == 200, r.text
        return su


@dataclass
class Subscriber:
    stream: Stream
    task: asyncio.Task[None]

    @property
    def node(self) -> str:
        return self.stream.client_id[:NODE_ID_LENGTH]

    async def events(self, count: int) -> list[dict[str, Any]]:
        return [(await self.stream.next()) for _ in range(count)]


@contextlib.asynccontextmanager
async def subscribers(url: str, nodes: int, topic: str = "posts/*") -> AsyncIterator[list[Subscriber]]:
    """SSE clients subscribed to `topic` until they sit on `nodes` different processes (one each)."""
    held: dict[str, Subscriber] = {}
    extra: list[Subscriber] = []
    streams = httpx2.AsyncClient(base_url=url, timeout=10, limits=httpx2.Limits(max_keepalive_connections=0))
    try:
        async with fresh_connection_client(url) as calls:
            for _ in range(60):
                stream = Stream(streams)
                sub = Subscriber(stream, asyncio.create_task(stream.run()))
                stream.client_id = (await stream.next())["id"]
                if sub.node in held:
                    extra.append(sub)
                    continue
                r = await calls.post("/api/realtime", json={"clientId": stream.client_id, "subscriptions": [topic]})
                assert r.status_code == 204, r.text
                held[sub.node] = sub
                if len(held) == nodes:
                    break
            assert len(held) == nodes, f"60 streams landed on {len(held)} process(es) only"
            yield list(held.values())
    finally:
        for sub in [*held.values(), *extra]:
            sub.task.cancel()
        await streams.aclose()


async def create(url: str, su: dict[str, str], title: str, public: bool = True) -> str:
    async with fresh_connection_client(url) as http:
        r = await http.post("/api/collections/posts/records", headers=su, json={"title": title, "public": public})
        assert r.status_code == 200, r.text
        record_id: str = r.json()["id"]
        return record_id


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[Serve]:
    server = serve(tmp_path / "data", "--workers", "2")
    yield server
    server.stop()


async def test_a_change_through_any_worker_reaches_subscribers_on_every_worker(two_workers: Serve) -> None:
    su = await setup_posts(two_workers.url)
    async with subscribers(two_workers.url, nodes=2) as subs:
        titles = [f"post {i}" for i in range(12)]
        for title in titles:
            await create(two_workers.url, su, title)  # new connections: both workers commit some
        await create(two_workers.url, su, "private", public=False)
        await create(two_workers.url, su, "marker")
        for sub in subs:
            events = await sub.events(len(titles) + 1)
            assert [e["data"]["record"]["title"] for e in events] == [*titles, "marker"]
            assert {e["event"] for e in events} == {"posts/*"}
            assert all(e["id"] == sub.stream.client_id for e in events)


async def test_custom_collections_made_on_one_worker_stream_from_the_other(two_workers: Serve) -> None:
    # the collection is created after the streams exist: each worker learns of it from the other's change
    async with subscribers(two_workers.url, nodes=2, topic="posts/*") as subs:
        su = await setup_posts(two_workers.url)
        await create(two_workers.url, su, "first")
        for sub in subs:
            assert [e["data"]["record"]["title"] for e in await sub.events(1)] == ["first"]


def node_pid(server: Serve, node: str) -> int:
    """The worker listening on `<node>.sock` in the data directory's realtime mesh."""
    suffix = f"/.realtime/{node}.sock"
    inodes = {line.split()[6] for line in Path("/proc/net/unix").read_text().splitlines()[1:] if line.endswith(suffix)}
    for pid in server.worker_pids():
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return pid
    raise AssertionError(f"no worker holds {suffix}")


SDK_SCRIPT = """
import PocketBase from "pocketbase";
import { EventSource } from "eventsource";
globalThis.EventSource = EventSource;
const pb = new PocketBase(process.argv[2]);
const seen = [];
await pb.collection("posts").subscribe("*", (e) => {
  seen.push(e.record.title);
  console.log(JSON.stringify({ event: e.record.title }));
  if (e.record.title === "after") process.exit(0);
});
console.log(JSON.stringify({ clientId: pb.realtime.clientId }));
pb.realtime.onDisconnect = () => console.log(JSON.stringify({ disconnected: true }));
setTimeout(() => { console.log(JSON.stringify({ timeout: seen })); process.exit(2); }, 30000);
"""


def node_available() -> Path:
    js = Path(__file__).resolve().parents[1] / "conformance" / "js"
    if not (js / "node_modules" / "pocketbase").is_dir():
        from required_service import unavailable

        unavailable("the JS SDK is not installed", f"run npm ci in {js}")
    return js


async def test_clients_of_a_killed_worker_reconnect_and_resubscribe_through_the_sdk(two_workers: Serve) -> None:
    js = node_available()
    su = await setup_posts(two_workers.url)
    script = js / f"_killed_worker_{os.getpid()}.mjs"
    script.write_text(SDK_SCRIPT)
    proc = await asyncio.create_subprocess_exec(
        "node", str(script), two_workers.url, stdout=asyncio.subprocess.PIPE, cwd=str(js)
    )
    try:
        assert proc.stdout is not None
        first = await asyncio.wait_for(proc.stdout.readline(), 15)
        client_id = json.loads(first)["clientId"]
        victim = node_pid(two_workers, client_id[:NODE_ID_LENGTH])
        os.kill(victim, signal.SIGKILL)
        # the SDK notices the dropped stream, reconnects (to the survivor or the replacement) and
        # resubscribes; records are created until one reaches it after the reconnect
        lines: list[str] = []
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and proc.returncode is None:
            await create(two_workers.url, su, "after")
            with contextlib.suppress(TimeoutError):
                while True:
                    line = await asyncio.wait_for(proc.stdout.readline(), 0.5)
                    if not line:
                        break
                    lines.append(line.decode())
        assert await asyncio.wait_for(proc.wait(), 10) == 0, lines
        assert any('"disconnected":true' in line for line in lines), lines
    finally:
        if proc.returncode is None:
            proc.kill()
        script.unlink()
    assert victim not in two_workers.worker_pids()


@pytest.fixture(params=["redis", "nats"])
def broker_url(request: pytest.FixtureRequest) -> str:
    return redis_url() if request.param == "redis" else nats_url()


async def test_two_nodes_share_changes_and_subscription_calls_through_a_broker(tmp_path: Path, broker_url: str) -> None:
    data = tmp_path / "data"
    one = serve(data, "--broker-url", broker_url)
    two = serve(data, "--broker-url", broker_url)
    try:
        su = await setup_posts(one.url)
        async with httpx2.AsyncClient(base_url=one.url, timeout=10) as streams, httpx2.AsyncClient(
            base_url=two.url, timeout=10
        ) as other:
            watcher, guest = Stream(streams), Stream(streams)
            tasks = [asyncio.create_task(s.run()) for s in (watcher, guest)]
            for s in (watcher, guest):
                s.client_id = (await s.next())["id"]
            # both subscription calls reach node two, which holds neither client
            r = await other.post(
                "/api/realtime", headers=su, json={"clientId": watcher.client_id, "subscriptions": ["posts/*"]}
            )
            assert r.status_code == 204, r.text
            r = await other.post("/api/realtime", json={"clientId": guest.client_id, "subscriptions": ["posts/*"]})
            assert r.status_code == 204, r.text
            r = await other.post("/api/realtime", json={"clientId": watcher.client_id, "subscriptions": []})
            assert r.status_code == 403, r.text  # the holder keeps the superuser binding

            await create(two.url, su, "hidden", public=False)
            await create(two.url, su, "shown")
            assert [e["data"]["record"]["title"] for e in [await watcher.next(), await watcher.next()]] == [
                "hidden",
                "shown",
            ]
            assert (await guest.next())["data"]["record"]["title"] == "shown"  # never "hidden"
            for task in tasks:
                task.cancel()
    finally:
        one.stop()
        two.stop()
