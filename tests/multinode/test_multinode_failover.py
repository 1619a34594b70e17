"""One of two PostgreSQL nodes behind nginx is killed (SIGKILL, its whole process group) in the middle
of a load of concurrent creates: requests keep succeeding through the other node, and no write a
client was told succeeded is lost.

The shipped nginx config retries a request on the other node only when it was never sent (connect
refused, 502/503 before a byte): a POST already sent to the dying node is not replayed, since it
may have committed. So the rows are at least the acknowledged creates, every acknowledged id is
there, and no create was written twice; the creates that reached the killed node and got no answer
from it (in flight when it died, or sent in the moment before nginx saw its pooled connections
close) answer 502 and may or may not have been written.

The load is sized by counts, not by time: it runs until `BEFORE_KILL` creates were acknowledged,
kills node B, and goes on until `AFTER_KILL` more, sent after the kill, were acknowledged.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx2
import pytest
from multinode_cluster import Cluster, running_cluster

from tests.conformance.servers import SUPERUSER_EMAIL, SUPERUSER_PASSWORD

pytestmark = pytest.mark.timeout(120)

CONCURRENCY = 16
BEFORE_KILL = 600
AFTER_KILL = 1200
LOAD_WAIT_S = 60.0
"""A bound on waiting for each phase's count (a hung cluster fails instead of hanging the run)."""
SCHEMA_WAIT_S = 15.0
"""A bound on waiting for a node to pick up a collection created through the other (its schema
poll runs every 5 s; the broker's announcement normally arrives within milliseconds)."""
ACCESS = re.compile(r'"POST /api/collections/\S+/records HTTP/[\d.]+" (\d{3}) .* upstream=(\S+(?:, \S+)*) rt=')


@dataclass
class Outcome:
    title: str
    sent_after_kill: bool
    status: int | None = None
    """The HTTP status nginx answered (None: the connection to nginx itself failed)."""
    record_id: str | None = None
    error: str = ""


@dataclass
class Load:
    collection: str
    outcomes: list[Outcome] = field(default_factory=list)
    kill_now: asyncio.Event = field(default_factory=asyncio.Event)
    killed: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def acked(self, *, after_kill: bool | None = None) -> list[Outcome]:
        return [o for o in self.outcomes if o.record_id is not None and after_kill in (None, o.sent_after_kill)]

    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.record_id is None]

    async def worker(self, http: httpx2.AsyncClient, n: int) -> None:
        i = 0
        while not self.done.is_set():
            outcome = Outcome(f"w{n}-{i}", self.killed.is_set())
            i += 1
            try:
                r = await http.post(f"/api/collections/{self.collection}/records", json={"title": outcome.title})
                outcome.status = r.status_code
                if r.status_code == 200:
                    outcome.record_id = r.json()["id"]
                else:
                    outcome.error = r.text[:200]
            except httpx2.TransportError as exc:
                outcome.error = repr(exc)
            self.outcomes.append(outcome)
            if len(self.acked()) >= BEFORE_KILL:
                self.kill_now.set()
            if len(self.acked(after_kill=True)) >= AFTER_KILL:
                self.done.set()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(tmp_path / "cluster") as running:
        yield running


async def rows(cluster: Cluster, collection: str) -> tuple[set[str], Counter[str]]:
    """The record ids in PostgreSQL (read directly, not through Satchel), and how many rows carry
    each title (a title names one request)."""
    conn = await asyncpg.connect(cluster.db_url)
    try:
        found = await conn.fetch(f'SELECT id, title FROM "{collection}"')
    finally:
        await conn.close()
    return {r["id"] for r in found}, Counter(r["title"] for r in found)


async def known_everywhere(cluster: Cluster, collection: str, su: dict[str, str]) -> None:
    """Until both nodes serve the new collection.

    The node that did not create it learns of it from the broker's announcement (or its 5 s schema
    poll) and answers 404 "Missing or invalid collection context." until then: a create sent at
    once through the other node fails. Not what this test is about, so it waits here.
    """
    deadline = time.monotonic() + SCHEMA_WAIT_S
    for node in cluster.nodes:
        async with httpx2.AsyncClient(base_url=node.url, headers=su, timeout=10) as http:
            while (r := await http.get(f"/api/collections/{collection}")).status_code != 200:
                assert r.status_code == 404 and time.monotonic() < deadline, (node.url, r.status_code, r.text)
                await asyncio.sleep(0.02)


async def test_killed_node_loses_no_acknowledged_write(cluster: Cluster) -> None:
    proxy = cluster.nginx
    collection = f"load_{uuid.uuid4().hex[:10]}"
    async with proxy.client() as http:
        r = await http.post(
            "/api/collections/_superusers/auth-with-password",
            json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
        )
        assert r.status_code == 200, r.text
        body = {"name": collection, "createRule": "", "fields": [{"name": "title", "type": "text"}]}
        su = {"Authorization": r.json()["token"]}
        r = await http.post("/api/collections", headers=su, json=body)
        assert r.status_code == 200, r.text
    await known_everywhere(cluster, collection, su)

    load = Load(collection)
    victim = cluster.b
    async with proxy.client(limits=httpx2.Limits(max_connections=CONCURRENCY)) as http:
        workers = [asyncio.create_task(load.worker(http, n)) for n in range(CONCURRENCY)]
        try:
            await asyncio.wait_for(load.kill_now.wait(), LOAD_WAIT_S)
            await asyncio.to_thread(victim.stop)  # SIGKILL to the node's process group, then reaped
            load.killed.set()
            await asyncio.wait_for(load.done.wait(), LOAD_WAIT_S)
        finally:
            load.done.set()
            await asyncio.gather(*workers)

    ids, titles = await rows(cluster, collection)
    acked = load.acked()
    failed = load.failed()
    access = ACCESS.findall(cluster.nginx_log.read_text(errors="replace"))
    retried = [upstream for _, upstream in access if ", " in upstream]
    summary = (
        f"{len(load.outcomes)} creates: {len(acked)} acknowledged ({len(load.acked(after_kill=True))} sent after the kill), "
        f"{len(failed)} failed {dict(Counter(o.status for o in failed))} "
        f"({sum(o.sent_after_kill for o in failed)} of them sent after the kill); {len(ids)} rows; "
        f"nginx retried {len(retried)} on the other node (connect refused: never sent to the dead one)"
    )
    print(summary)
    context = f"{summary}\n{cluster.describe()}"

    # node B really carried part of the load before it died
    victim_address = f"127.0.0.1:{victim.port}"
    assert any(status == "200" and upstream == victim_address for status, upstream in access), context
    # no acknowledged write lost
    missing = [o.record_id for o in acked if o.record_id not in ids]
    assert missing == [], f"acknowledged but not in PostgreSQL: {missing}\n{context}"
    assert len(ids) >= len(acked), context
    # nothing written twice (a POST is never replayed) and nothing written that no request accounts for
    assert [title for title, count in titles.items() if count > 1] == [], context
    assert len(ids) <= len(acked) + len(failed), context
    # the only failures are creates that reached the killed node, answered by nginx: the ones in
    # flight when it died, and any sent just after on a pooled connection to it whose close nginx
    # had not yet seen (a POST nginx may not replay, since it cannot know what the node did with it)
    assert all(o.status == 502 for o in failed), f"{[(o.status, o.error) for o in failed]}\n{context}"
    # ... and not replayed: a 502 came from the killed node alone; a request nginx moved to the
    # other node had never reached the killed one (its connection was refused)
    assert all(upstream == victim_address for status, upstream in access if status == "502"), context
    assert all(upstream.startswith(f"{victim_address}, ") for upstream in retried), context
