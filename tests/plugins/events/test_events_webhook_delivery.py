"""Webhook delivery against a real HTTP receiver: signatures, order, retries, dead letters, replay."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

from satchel.plugins.events import outbox_store
from satchel.plugins.events.webhooks import signature
from tests.plugins.events.conftest import FAST, SECRET, Env
from tests.plugins.events.receiver import Received, Receiver, wait_until


def verify(received: Received) -> bool:
    """What docs/events.md tells a receiver to do, written out independently of Satchel's code."""
    timestamp = received.headers["x-satchel-timestamp"]
    expected = "v1=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= 300
    return fresh and hmac.compare_digest(expected, received.headers["x-satchel-signature"])


async def test_every_event_arrives_signed_with_its_id(env: Env) -> None:
    with Receiver() as receiver:
        hook = await env.webhook(receiver.url)
        rec = await env.create("hello")
        r = await env.client.delete(f"/api/collections/notes/records/{rec['id']}", headers=env.su)
        assert r.status_code == 204
        await wait_until(lambda: len(receiver.delivered()) == 2)
    first, second = receiver.delivered()
    assert [first.event["action"], second.event["action"]] == ["create", "delete"]
    assert first.event["record"]["title"] == "hello" and first.event["recordId"] == rec["id"]
    assert first.event["collectionName"] == "notes"
    for received in (first, second):
        assert received.headers["x-satchel-event-id"] == str(received.event["id"])
        assert received.headers["x-satchel-webhook-id"] == hook["id"]
        assert received.headers["content-type"] == "application/json"
        assert verify(received)
        now = int(received.headers["x-satchel-timestamp"])
        assert signature.verify(SECRET, str(now), received.body, received.headers["x-satchel-signature"], now=now)
        assert not signature.verify(
            "another-secret-0123456", str(now), received.body, received.headers["x-satchel-signature"], now=now
        )
    tampered = Received(first.headers, first.body.replace(b"hello", b"hellO"), 200)
    assert not verify(tampered)


async def test_a_receiver_that_fails_then_recovers_gets_everything_in_order(env: Env) -> None:
    # five requests are answered 503 (three in a row, fewer than max_attempts): each was received, so
    # the resent ones are duplicates, which carry the same event id
    failing = {1, 2, 3, 5, 7}
    with Receiver(fail=lambda n, event: 503 if n in failing else 200) as receiver:
        await env.webhook(receiver.url)
        titles = [f"t{i}" for i in range(8)]
        for title in titles:
            await env.create(title)
        await wait_until(lambda: len(receiver.delivered()) == len(titles))
    arrived = receiver.all()
    assert len(arrived) == len(titles) + len(failing)
    ids = [r.event["id"] for r in arrived]
    assert len(set(ids)) == len(titles)  # duplicates are recognisable by the event id
    first_seen = list(dict.fromkeys(ids))
    assert first_seen == sorted(first_seen)  # order per webhook
    assert [r.event["record"]["title"] for r in receiver.delivered()] == titles
    assert all(verify(r) for r in arrived)


async def test_filters_by_collection_and_action(env: Env) -> None:
    r = await env.client.post(
        "/api/collections",
        json={"name": "other", "type": "base", "fields": [{"name": "title", "type": "text"}]},
        headers=env.su,
    )
    assert r.status_code == 200
    with Receiver() as receiver:
        await env.webhook(receiver.url, collections=["notes"], actions=["update"])
        rec = await env.create("a")
        await env.create("b", collection="other")
        r = await env.client.patch(f"/api/collections/notes/records/{rec['id']}", json={"title": "a2"}, headers=env.su)
        assert r.status_code == 200
        other = await env.create("c", collection="other")
        r = await env.client.patch(
            f"/api/collections/other/records/{other['id']}", json={"title": "c2"}, headers=env.su
        )
        assert r.status_code == 200
        marker = await env.create("marker")  # followed by the update below: all before it were considered
        await env.client.patch(f"/api/collections/notes/records/{marker['id']}", json={"title": "end"}, headers=env.su)
        await wait_until(lambda: len(receiver.delivered()) == 2)
    assert [(r.event["action"], r.event["record"]["title"]) for r in receiver.all()] == [
        ("update", "a2"),
        ("update", "end"),
    ]


async def attempts(env: Env, hook_id: str) -> list[dict[str, Any]]:
    r = await env.client.get(f"/api/webhooks/{hook_id}/attempts?perPage=100", headers=env.su)
    assert r.status_code == 200
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def dead_letters(env: Env, hook_id: str) -> list[dict[str, Any]]:
    r = await env.client.get(f"/api/webhooks/{hook_id}/dead-letters", headers=env.su)
    assert r.status_code == 200
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_a_poisoned_event_is_dead_lettered_and_the_webhook_moves_on_then_replayed(env: Env) -> None:
    accept_poison = False

    def answer(n: int, event: dict[str, Any]) -> int:
        return 500 if event["record"]["title"] == "poison" and not accept_poison else 200

    with Receiver(fail=answer) as receiver:
        hook = await env.webhook(receiver.url)
        await env.create("before")
        poison = await env.create("poison")
        await env.create("after")
        await wait_until(lambda: [r.event["record"]["title"] for r in receiver.delivered()] == ["before", "after"])
        await wait_until(lambda: len(receiver.all()) == 2 + FAST.max_attempts)
        (letter,) = await dead_letters(env, hook["id"])
        assert letter["event"]["recordId"] == poison["id"] and letter["attempts"] == FAST.max_attempts
        assert letter["error"] == "answered HTTP 500"
        failed = [a for a in await attempts(env, hook["id"]) if not a["success"]]
        assert sorted(a["attempt"] for a in failed) == list(range(1, FAST.max_attempts + 1))
        assert {(a["status"], a["eventId"]) for a in failed} == {(500, letter["eventId"])}

        r = await env.client.post(f"/api/webhooks/{hook['id']}/dead-letters/{letter['id']}/replay", headers=env.su)
        assert r.status_code == 200 and r.json()["delivered"] is False  # still refused: kept
        assert len(await dead_letters(env, hook["id"])) == 1
        accept_poison = True
        r = await env.client.post(f"/api/webhooks/{hook['id']}/dead-letters/{letter['id']}/replay", headers=env.su)
        assert r.status_code == 200 and r.json()["delivered"] is True
        assert r.json()["attempt"]["status"] == 200
    assert await dead_letters(env, hook["id"]) == []
    replayed = receiver.delivered()[-1]
    assert replayed.event["record"]["title"] == "poison" and verify(replayed)
    assert replayed.headers["x-satchel-event-id"] == str(letter["eventId"])


async def test_an_unreachable_receiver_is_retried_with_backoff(env: Env) -> None:
    with Receiver() as receiver:
        url = receiver.url
    # the port is closed now: connection refused, retried until dead-lettered
    hook = await env.webhook(url)
    await env.create("x")

    async def lettered() -> bool:
        return len(await dead_letters(env, hook["id"])) == 1

    deadline = time.monotonic() + 10
    while not await lettered():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    failed = await attempts(env, hook["id"])
    assert len(failed) == FAST.max_attempts and {a["status"] for a in failed} == {0}
    assert all(a["error"].startswith("no answer") for a in failed)
    stamps = sorted(a["created"] for a in failed)
    assert stamps[0] < stamps[-1]


async def test_taken_events_are_deleted_after_the_retention(tmp_path: Any) -> None:
    from dataclasses import replace

    from tests.plugins.events.conftest import start_env

    async with start_env(tmp_path / "pb_data", replace(FAST, retention=0.0)) as env:
        with Receiver() as receiver:
            await env.webhook(receiver.url)
            for i in range(3):
                await env.create(f"r{i}")
            await wait_until(lambda: len(receiver.delivered()) == 3)
            env.events.dispatcher._next_cleanup = 0.0
            env.events.dispatcher.notify()
            ex = env.app.db.executor()
            deadline = time.monotonic() + 10
            while await outbox_store.count(ex):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
        assert json.loads(receiver.delivered()[0].body)["record"]["title"] == "r0"


async def test_delivery_follows_the_commit_not_the_poll(tmp_path: Any) -> None:
    from dataclasses import replace

    from tests.plugins.events.conftest import start_env

    async with start_env(tmp_path / "pb_data", replace(FAST, poll_interval=3600.0)) as env:
        with Receiver() as receiver:
            await env.webhook(receiver.url)
            await asyncio.sleep(0.3)  # the dispatcher is idle, waiting (an hour at most) for a wake-up
            await env.create("woken")
            await wait_until(lambda: len(receiver.delivered()) == 1, timeout=10)


def documented_verify() -> Any:
    """The receiver's `verify` exactly as docs/events.md prints it."""
    text = (Path(__file__).parents[3] / "docs" / "events.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/events.md", "exec"), namespace)
    return namespace["verify"]


async def test_the_documented_receiver_code_verifies_real_deliveries(env: Env) -> None:
    verify_doc = documented_verify()
    with Receiver() as receiver:
        await env.webhook(receiver.url)
        await env.create("documented")
        await wait_until(lambda: len(receiver.delivered()) == 1)
    (received,) = receiver.delivered()
    assert verify_doc(SECRET, received.headers, received.body) is True
    assert verify_doc("wrong-secret-0123456789", received.headers, received.body) is False
    assert verify_doc(SECRET, received.headers, received.body + b" ") is False
    stale = {**received.headers, "x-satchel-timestamp": str(int(received.headers["x-satchel-timestamp"]) - 3600)}
    assert verify_doc(SECRET, stale, received.body) is False


async def test_each_request_reports_a_probe(env: Env) -> None:
    from satchel.tools import probes

    seen: list[tuple[str, dict[str, Any], BaseException | None]] = []

    def listener(name: str, start: int, end: int, attrs: dict[str, Any], error: BaseException | None) -> None:
        if name == "webhook.request":
            assert end >= start
            seen.append((name, dict(attrs), error))

    probes.listen(listener)
    try:
        with Receiver(fail=lambda n, event: 503 if n == 1 else 200) as receiver:
            hook = await env.webhook(receiver.url)
            await env.create("probed")
            await wait_until(lambda: len(receiver.delivered()) == 1)
            await wait_until(lambda: len(seen) == 2)
    finally:
        probes.unlisten(listener)
    (_, failed, error), (_, ok, no_error) = seen
    assert failed["http.response.status_code"] == 503 and error is not None
    assert ok["http.response.status_code"] == 200 and no_error is None
    assert ok["webhook.id"] == hook["id"] and ok["server.address"] == "127.0.0.1"
    assert SECRET not in repr(seen)
