"""Restoring a backup never gives an event id to another event: the real path, from the records API
through the outbox and a real restore to real brokers and a webhook receiver.

Each test backs up, writes events that are delivered, restores the backup and writes more: every
event written after the restore must arrive under an id no consumer saw before. Without that,
JetStream (Nats-Msg-Id) and the Redis stream (entry ids) drop the new events as duplicates, and a
RabbitMQ or webhook consumer that deduplicates by id drops them itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aio_pika.exceptions import ChannelNotFoundEntity
from nats.js.errors import NotFoundError
from rabbitmq_service import rabbitmq_url
from redis_service import redis_url

from satchel.plugins import events as events_plugin
from satchel.plugins.events import outbox_store
from satchel.testing import client_for, running_app, superuser_token
from satchel.wiring import event_sinks_from_urls, open_app
from tests.adapters.event_sinks.sink_backends import Backend, Received, jetstream_url, make_backend
from tests.plugins.events.conftest import FAST, Env, start_env
from tests.plugins.events.receiver import Receiver, wait_until

pytestmark = pytest.mark.sqlite_only("backups copy the SQLite file; PostgreSQL has no backups yet")

SERVERS: dict[str, Callable[[], str]] = {"nats": jetstream_url, "amqp": rabbitmq_url, "redis": redis_url}


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def title(envelope: dict[str, Any]) -> str:
    record = envelope["record"]
    assert isinstance(record, dict)
    return str(record["title"])


def one_event_per_id(events: list[tuple[int, dict[str, Any]]]) -> None:
    """Every id that arrived more than once (at least once delivery) stands for the same event."""
    by_id: dict[int, set[tuple[str, str, str]]] = {}
    for event_id, e in events:
        by_id.setdefault(event_id, set()).add((e["recordId"], e["action"], e["created"]))
    reused = {i: sorted(v) for i, v in by_id.items() if len(v) > 1}
    assert not reused, f"ids given to different events: {reused}"


async def write(env: Env, prefix: str, n: int = 3) -> None:
    for i in range(n):
        await env.create(f"{prefix}{i}")


async def restore(env: Env, key: str) -> None:
    r = await env.client.post(f"/api/backups/{key}/restore", headers=env.su)
    assert r.status_code == 204, r.text


@pytest.mark.parametrize("kind", ["nats", "amqp", "redis"])
async def test_events_after_a_restore_reach_the_broker_under_new_ids(tmp_path: Path, kind: str) -> None:
    backend: Backend = make_backend(kind, SERVERS[kind]())
    seen: list[Received] = []

    async def arrived(*titles: str) -> bool:
        try:
            got = await backend.read_all()
        except (NotFoundError, ChannelNotFoundEntity):  # the sink has not declared its stream or queue yet
            return False
        if kind == "amqp":  # a queue is drained as it is read
            seen.extend(got)
        else:  # a stream is read whole every time
            seen[:] = got
        have = {title(r.envelope) for r in seen if r.envelope["collectionName"] == "notes"}
        return set(titles) <= have

    try:
        sinks = event_sinks_from_urls(backend.url(timeout="2"))
        async with start_env(tmp_path / "pb_data", FAST, sinks) as env:
            await write(env, "before")
            assert await eventually(lambda: arrived("before0", "before1", "before2"))
            await env.app.backups.create("b.zip")
            await write(env, "lost")  # delivered, then taken away by the restore
            assert await eventually(lambda: arrived("lost0", "lost1", "lost2"))
            earlier = {r.id for r in seen}
            await restore(env, "b.zip")
            await write(env, "after")
            after = ("after0", "after1", "after2")
            assert await eventually(lambda: arrived(*after)), (
                f"events written after the restore did not all reach {kind}: "
                f"{[(r.id, title(r.envelope)) for r in seen if r.envelope['collectionName'] == 'notes']}"
            )
    finally:
        await backend.cleanup()
    notes = [(r.id, r.envelope) for r in seen if r.envelope["collectionName"] == "notes"]
    new_ids = [i for i, e in notes if title(e) in after]
    assert not set(new_ids) & earlier, f"{kind}: ids {sorted(set(new_ids) & earlier)} were seen before the restore"
    assert new_ids == sorted(new_ids) and min(new_ids) > max(earlier)  # still increasing in commit order
    assert all(r.id == r.envelope["id"] for r in seen)  # the broker's id is the body's id
    one_event_per_id(notes)


async def test_a_webhook_gets_new_ids_after_a_restore_and_the_backups_pending_events_again(tmp_path: Path) -> None:
    """The cursors are the backup's: what the receiver had not taken when the backup was made is sent
    again after the restore, under the ids (and with the bodies) it had, so deduplication drops it;
    what is written after the restore comes under ids never used."""
    accepting = True
    with Receiver(lambda n, event: 200 if accepting else 503) as receiver:
        config = replace(FAST, max_attempts=10_000)  # held back, not dead-lettered, while refused
        async with start_env(tmp_path / "pb_data", config) as env:
            await env.webhook(receiver.url, collections=["notes"])
            await write(env, "before", 1)
            await wait_until(lambda: len(receiver.delivered()) == 1)
            accepting = False
            await write(env, "pending", 2)
            await env.app.backups.create("b.zip")  # the webhook's cursor is still at "before0"
            accepting = True
            await write(env, "lost", 1)
            await wait_until(lambda: len(receiver.delivered()) == 4)
            earlier = {int(r.headers["x-satchel-event-id"]) for r in receiver.delivered()}
            first_bodies = {int(r.headers["x-satchel-event-id"]): r.body for r in receiver.delivered()}
            await restore(env, "b.zip")
            await write(env, "after")
            await wait_until(lambda: {"after0", "after1", "after2"} <= {title(r.event) for r in receiver.delivered()})
    delivered = receiver.delivered()[4:]
    again = [r for r in delivered if title(r.event).startswith("pending")]
    assert [title(r.event) for r in again] == ["pending0", "pending1"]
    assert all(r.body == first_bodies[int(r.headers["x-satchel-event-id"])] for r in again)
    new = [r for r in delivered if title(r.event).startswith("after")]
    new_ids = [int(r.headers["x-satchel-event-id"]) for r in new]
    assert all(r.event["id"] == int(r.headers["x-satchel-event-id"]) for r in delivered)
    assert not set(new_ids) & earlier and new_ids == sorted(new_ids) and min(new_ids) > max(earlier)
    assert "lost0" not in {title(r.event) for r in delivered}  # taken away by the restore, not sent again
    one_event_per_id([(int(r.headers["x-satchel-event-id"]), r.event) for r in receiver.delivered()])


async def test_a_restore_from_the_command_line_keeps_the_sequence(tmp_path: Path) -> None:
    """`satchel backup restore` runs on an app without the events plugin: the sequence is kept all
    the same, and a server started afterwards numbers on from it."""
    data = tmp_path / "pb_data"
    with Receiver() as receiver:
        async with start_env(data) as env:
            await env.webhook(receiver.url, collections=["notes"])
            await env.app.backups.create("b.zip")
            await write(env, "lost")
            await wait_until(lambda: len(receiver.delivered()) == 3)
            head = await outbox_store.head(env.app.db.executor())
        app = await open_app(data)  # what the CLI command does
        try:
            await app.backups.restore("b.zip")
            assert await outbox_store.head(app.db.executor()) == head
        finally:
            await app.realtime.close()
            await app.close()
        async with running_app(data) as app:  # the server started again, on the restored data
            events = events_plugin.register(app, FAST)
            await events.start()
            try:
                async with client_for(app) as client:
                    su = {"Authorization": await superuser_token(app, client)}
                    r = await client.post("/api/collections/notes/records", json={"title": "after0"}, headers=su)
                    assert r.status_code == 200, r.text
                    await wait_until(lambda: len(receiver.delivered()) == 4)
            finally:
                await events.close()
    ids = [int(r.headers["x-satchel-event-id"]) for r in receiver.delivered()]
    assert ids[3] > max(ids[:3]), ids
