"""`satchel serve` for real: two nodes with two workers each on one PostgreSQL database (four
processes competing for the dispatcher lease), a webhook receiving writes made through both nodes,
once each and in order, and the other node taking over when one is killed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from satchel.testing import postgres as pg_testing
from tests.conformance.servers import SUPERUSER_EMAIL, SUPERUSER_PASSWORD
from tests.deploy.deploy_nodes import Node, start_node
from tests.multinode.multinode_cluster import create_database, drop_database, postgres_server, with_path
from tests.plugins.events.receiver import Receiver, wait_until

SCHEMA_POLL = 5.0
"""`core.schema_events.POLL_INTERVAL`: without a shared broker, how long a node may take to hear of
a webhook created through another (docs/events.md says so)."""


DB: list[str] = []


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    server = postgres_server()
    name = create_database(server)
    db_url = with_path(server, f"/{name}")
    DB[:] = [db_url]
    started: list[Node] = []
    try:
        # the superuser first, so no two nodes race to set up an empty database
        env = {k: v for k, v in os.environ.items() if not k.startswith("SATCHEL_")} | {"SATCHEL_DB": db_url}
        cmd = [sys.executable, "-m", "satchel.cli.main", "superuser", "upsert", SUPERUSER_EMAIL, SUPERUSER_PASSWORD]
        subprocess.run([*cmd, "--dir", str(tmp_path / "setup")], env=env, check=True, capture_output=True, timeout=60)
        for i in range(2):
            options = ["--db", db_url, "--workers", "2"]
            started.append(start_node(tmp_path / f"node-{i}", options, tmp_path / f"node-{i}.log"))
        yield started[0], started[1]
    finally:
        for node in started:
            with contextlib.suppress(Exception):
                node.stop()
        drop_database(server, name)


def logs(root: Path) -> str:
    return "\n".join(p.read_text()[-3000:] for p in sorted(root.glob("node-*.log")))


async def superuser(http: httpx2.AsyncClient) -> dict[str, str]:
    r = await http.post(
        "/api/collections/_superusers/auth-with-password",
        json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": r.json()["token"]}


@pytest.mark.skipif(pg_testing.enabled(), reason="always on PostgreSQL: run once, in the default pass")
async def test_two_nodes_one_dispatcher_every_event_once(nodes: tuple[Node, Node], tmp_path: Path) -> None:
    a, b = nodes
    with Receiver() as receiver:
        async with httpx2.AsyncClient(base_url=a.url) as http_a, httpx2.AsyncClient(base_url=b.url) as http_b:
            su = await superuser(http_a)
            spec = {"name": "served_notes", "type": "base", "fields": [{"name": "title", "type": "text"}]}
            assert (await http_a.post("/api/collections", json=spec, headers=su)).status_code == 200
            r = await http_a.post("/api/webhooks", json={"url": receiver.url, "secret": "s" * 20}, headers=su)
            assert r.status_code == 200, r.text
            await asyncio.sleep(SCHEMA_POLL + 1)  # node b hears of the webhook (no broker between them)

            async def write(http: httpx2.AsyncClient, title: str) -> None:
                r = await http.post("/api/collections/served_notes/records", json={"title": title}, headers=su)
                assert r.status_code == 200, r.text

            titles = [f"{side}{i}" for i in range(15) for side in "ab"]
            await asyncio.gather(*(write(http_a if t[0] == "a" else http_b, t) for t in titles))
            try:
                await wait_until(lambda: len(receiver.delivered()) >= len(titles), timeout=30)
            except AssertionError as exc:
                got = [(r.event["id"], r.event["record"]["title"]) for r in receiver.all()]
                import asyncpg

                conn = await asyncpg.connect(DB[0])
                rows = await conn.fetch('SELECT id, "recordId", created FROM "_outbox" ORDER BY id DESC LIMIT 3')
                cur = await conn.fetch('SELECT * FROM "_outboxCursors"')
                lease = await conn.fetch('SELECT * FROM "_outboxLease"')
                await conn.close()
                raise AssertionError(
                    f"{len(got)} of {len(titles)} arrived: {got}\n{rows}\n{cur}\n{lease}\n{logs(tmp_path)}"
                ) from exc
            await asyncio.sleep(1)  # a second dispatcher, if any, would send duplicates meanwhile
            received = receiver.all()
            ids = [r.event["id"] for r in received]
            assert len(ids) == len(set(ids)) == len(titles)  # one dispatcher: each event once
            assert ids == sorted(ids)
            assert sorted(r.event["record"]["title"] for r in received) == sorted(titles)

            a.stop()  # whichever node held the lease, node b delivers from now on
            await write(http_b, "after-kill")
            await wait_until(lambda: len(receiver.delivered()) == len(titles) + 1, timeout=40)
            assert receiver.delivered()[-1].event["record"]["title"] == "after-kill"
