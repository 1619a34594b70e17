"""The outbox: written in the record's transaction only while a sink exists, in commit order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from satchel.core.hooks import RecordEvent
from satchel.plugins.events import outbox_store
from tests.plugins.events.conftest import Env

UNREACHABLE = "http://127.0.0.1:9/never"


async def events_in(env: Env) -> list[outbox_store.OutboxEvent]:
    return await outbox_store.after(env.app.db.executor(), 0, 1000)


async def test_nothing_is_written_without_a_sink(env: Env) -> None:
    await env.create("no sink")
    assert await outbox_store.count(env.app.db.executor()) == 0
    assert env.app.hooks.on_record_create.length() == 0  # the write path is untouched


async def test_each_change_is_written_in_order_with_its_values(env: Env) -> None:
    await env.webhook(UNREACHABLE, active=True)
    assert env.app.hooks.on_record_create.length() == 1
    rec = await env.create("first")
    r = await env.client.patch(f"/api/collections/notes/records/{rec['id']}", json={"title": "second"}, headers=env.su)
    assert r.status_code == 200
    r = await env.client.delete(f"/api/collections/notes/records/{rec['id']}", headers=env.su)
    assert r.status_code == 204
    events = await events_in(env)
    assert [e.action for e in events] == ["create", "update", "delete"]
    assert [e.id for e in events] == sorted(e.id for e in events) and len({e.id for e in events}) == 3
    assert {e.record_id for e in events} == {rec["id"]}
    assert [json.loads(e.record)["title"] for e in events] == ["first", "second", "second"]
    assert all(e.collection_name == "notes" and e.collection_id == rec["collectionId"] for e in events)


async def test_secrets_of_auth_records_stay_out(env: Env) -> None:
    await env.webhook(UNREACHABLE)
    r = await env.client.post(
        "/api/collections/users/records",
        json={"email": "a@example.com", "password": "password-123", "passwordConfirm": "password-123"},
    )
    assert r.status_code == 200, r.text
    (event,) = await events_in(env)
    record = json.loads(event.record)
    assert record["email"] == "a@example.com"  # hidden fields are included (sinks are server-side)
    assert "password" not in record and "tokenKey" not in record


async def test_a_rolled_back_write_leaves_no_event(env: Env) -> None:
    await env.webhook(UNREACHABLE)

    async def fail_after_write(e: RecordEvent) -> None:
        await e.next()
        raise RuntimeError("undo")

    hook_id = env.app.hooks.on_record_create.bind(fail_after_write, priority=-1)
    r = await env.client.post("/api/collections/notes/records", json={"title": "never committed"}, headers=env.su)
    assert r.status_code == 500  # the hook's exception, answered with PocketBase's generic error
    assert await outbox_store.count(env.app.db.executor()) == 0
    env.app.hooks.on_record_create.unbind(hook_id)
    await env.create("committed")
    assert [json.loads(e.record)["title"] for e in await events_in(env)] == ["committed"]


async def test_batch_writes_one_event_per_record_in_one_transaction(env: Env) -> None:
    await env.webhook(UNREACHABLE)
    r = await env.client.patch("/api/settings", json={"batch": {"enabled": True}}, headers=env.su)
    assert r.status_code == 200
    requests = [{"method": "POST", "url": "/api/collections/notes/records", "body": {"title": t}} for t in "abc"]
    r = await env.client.post("/api/batch", json={"requests": requests}, headers=env.su)
    assert r.status_code == 200, r.text
    assert [json.loads(e.record)["title"] for e in await events_in(env)] == ["a", "b", "c"]


async def test_concurrent_writers_get_ids_in_commit_order(env: Env) -> None:
    await env.webhook(UNREACHABLE)
    await asyncio.gather(*(env.create(f"n{i}") for i in range(20)))
    events = await events_in(env)
    assert [e.id for e in events] == list(range(events[0].id, events[0].id + 20))


async def test_removing_the_last_webhook_stops_writing(env: Env) -> None:
    hook = await env.webhook(UNREACHABLE)
    r = await env.client.delete(f"/api/webhooks/{hook['id']}", headers=env.su)
    assert r.status_code == 204
    assert env.app.hooks.on_record_create.length() == 0
    before = await outbox_store.count(env.app.db.executor())
    await env.create("after removal")
    assert await outbox_store.count(env.app.db.executor()) == before


async def test_a_sibling_process_hears_of_the_first_webhook(tmp_path: Path) -> None:
    """Two apps on one database (workers): a webhook created through one makes the other write."""
    from satchel.plugins import events as events_plugin
    from satchel.testing import running_app
    from tests.plugins.events.conftest import FAST, start_env

    async with start_env(tmp_path / "pb_data") as first, running_app(tmp_path / "pb_data") as second:
        other = events_plugin.register(second, FAST)
        await other.start()
        try:
            assert second.hooks.on_record_create.length() == 0
            await first.webhook(UNREACHABLE)
            await second.schema.refresh()  # what the next request does once it hears of the change
            assert second.hooks.on_record_create.length() == 1
        finally:
            await other.close()
