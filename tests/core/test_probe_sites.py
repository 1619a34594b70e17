"""Probe call sites reached through the app: database statements (SQLite or PostgreSQL, whichever
this pass runs on), realtime connections, and the broker lag of relayed events."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx2
import pytest

from satchel.adapters.broker.memory import MemoryBroker, MemoryBus
from satchel.core.app import App
from satchel.ports.database import DatabaseError
from satchel.testing import superuser_token
from satchel.tools.sql import ir
from satchel.wiring import build_app
from tests.apis.helpers import POSTS, create_collection
from tests.probe_recording import recording


def _system(app: App) -> str:
    return "sqlite" if app.db.dialect == "sqlite" else "postgresql"


async def test_every_statement_of_a_request_is_a_db_query_probe(app: App, client: httpx2.AsyncClient) -> None:
    su = {"Authorization": await superuser_token(app, client)}
    await create_collection(client, su, POSTS)
    with recording() as rec:
        r = await client.post("/api/collections/posts/records", headers=su, json={"title": "hello"})
        assert r.status_code == 200, r.text
    queries = rec.named("db.query")
    assert queries, "a create ran no probed statement"
    assert {q.attrs["db.system"] for q in queries} == {_system(app)}
    assert "INSERT" in {q.attrs["db.operation"] for q in queries}
    insert = next(q for q in queries if q.attrs["db.operation"] == "INSERT")
    assert "hello" not in insert.attrs["db.statement"]  # values are bound, never in the text
    assert all(q.end_ns >= q.start_ns and q.error is None for q in queries)


async def test_a_failing_statement_reports_the_port_error(app: App) -> None:
    with recording() as rec, pytest.raises(DatabaseError):
        await app.db.executor().fetch_all(ir.Select((ir.Raw("1"),), ir.Table("no_such_table")))
    [failed] = [q for q in rec.named("db.query") if q.error is not None]
    assert isinstance(failed.error, DatabaseError)
    assert failed.attrs["db.operation"] == "SELECT"


async def test_realtime_connections_report_the_count_held_here(app: App) -> None:
    with recording() as rec:
        first = await app.realtime.join("127.0.0.1")
        await app.realtime.join("127.0.0.1")
        app.realtime.disconnect(first.id)
    assert [(f.attrs["realtime.change"], f.attrs["realtime.clients"]) for f in rec.named("realtime.clients")] == [
        ("connect", 1),
        ("connect", 2),
        ("disconnect", 1),
    ]


async def test_a_relayed_event_reports_the_broker_lag_since_the_sender_broadcast_it(tmp_path: Path) -> None:
    bus = MemoryBus()
    apps = []
    for _ in range(2):
        a = build_app(tmp_path / "pb_data", workers=2, broker=MemoryBroker(bus))
        await a.bootstrap()
        await a.realtime.open()
        apps.append(a)
    sender, receiver = apps
    try:
        client = await receiver.realtime.join("127.0.0.1")
        receiver.realtime.subscribe(client, ["chat"], None)
        with recording() as rec:
            before = time.perf_counter_ns()
            await sender.realtime.send_custom("chat", {"text": "hi"})
            for _ in range(20):
                await asyncio.sleep(0.005)
                if rec.named("realtime.relay"):
                    break
            after = time.perf_counter_ns()
        [relay] = rec.named("realtime.relay")
        assert relay.attrs == {"realtime.kind": "custom", "realtime.source": sender.realtime.transport.node}
        # start is the sender's broadcast translated to this clock: within the window, never after receipt
        assert before - 5_000_000 <= relay.start_ns <= relay.end_ns <= after
    finally:
        for a in apps:
            await a.realtime.close()
            await a.close()
