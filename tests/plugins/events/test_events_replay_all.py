"""Replaying every dead letter of a webhook at once (the dashboard's *Replay all*), and the boot
options that bound a webhook's retries."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from satchel.config import BootConfig, ConfigError
from tests.plugins.events.conftest import FAST, Env
from tests.plugins.events.receiver import Receiver, wait_until


async def _letters(env: Env, hook_id: str) -> list[dict[str, Any]]:
    r = await env.client.get(f"/api/webhooks/{hook_id}/dead-letters", headers=env.su)
    assert r.status_code == 200
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def _until_letters(env: Env, hook_id: str, count: int) -> None:
    """The last attempt is recorded in the same transaction as its dead letter, but the receiver
    sees the request before that commits: wait for the list itself."""
    for _ in range(500):
        if len(await _letters(env, hook_id)) == count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} dead letters")


async def test_replay_all_resends_in_event_order_and_stops_at_a_refusal(env: Env) -> None:
    accept = False

    def answer(n: int, event: dict[str, Any]) -> int:
        return 200 if accept else 503

    with Receiver(fail=answer) as receiver:
        hook = await env.webhook(receiver.url)
        first = await env.create("one")
        second = await env.create("two")
        await wait_until(lambda: len(receiver.all()) == 2 * FAST.max_attempts)
        await _until_letters(env, hook["id"], 2)
        url = f"/api/webhooks/{hook['id']}/dead-letters/replay"

        r = await env.client.post(url, headers=env.su)  # still refused: one try, then it stops
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["delivered"], body["failed"], body["remaining"]) == (0, 1, 2)
        assert [a["status"] for a in body["attempts"]] == [503]
        assert len(await _letters(env, hook["id"])) == 2

        accept = True
        sent_before = len(receiver.all())
        r = await env.client.post(url, headers=env.su)
        body = r.json()
        assert (body["delivered"], body["failed"], body["remaining"]) == (2, 0, 0)
        assert [a["status"] for a in body["attempts"]] == [200, 200]
        assert await _letters(env, hook["id"]) == []
        resent = receiver.all()[sent_before:]
        assert [x.event["recordId"] for x in resent] == [first["id"], second["id"]]

        r = await env.client.post(url, headers=env.su)  # nothing left: nothing sent
        assert r.json() == {"delivered": 0, "failed": 0, "remaining": 0, "attempts": []}
        assert len(receiver.all()) == sent_before + 2


async def test_replay_all_is_for_superusers_of_existing_webhooks(env: Env) -> None:
    with Receiver() as receiver:
        hook = await env.webhook(receiver.url)
    r = await env.client.post(f"/api/webhooks/{hook['id']}/dead-letters/replay")
    assert r.status_code == 401 and r.json()["status"] == 401
    r = await env.client.post("/api/webhooks/missing/dead-letters/replay", headers=env.su)
    assert r.status_code == 404 and r.json()["status"] == 404


def test_retry_options_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATCHEL_WEBHOOK_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("SATCHEL_WEBHOOK_RETRY_BASE", "0.25")
    cfg = BootConfig.from_env()
    assert (cfg.webhook_max_attempts, cfg.webhook_retry_base) == (2, 0.25)


@pytest.mark.parametrize(
    ("name", "value"), [("SATCHEL_WEBHOOK_MAX_ATTEMPTS", "0"), ("SATCHEL_WEBHOOK_RETRY_BASE", "0")]
)
def test_retry_options_out_of_range_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        BootConfig.from_env()
