"""Webhook secrets at rest: sealed with the key ring like the settings secrets, still signing, old
rows in clear still working until sealed, and a key that does not open them said rather than a 500."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from satchel.core import sealed_columns
from satchel.core.secrets_at_rest import SecretsKeyError
from satchel.plugins.events.webhooks import store
from satchel.tools.keyring import KeyRing, parse_sealed, stored_key_id
from satchel.tools.secretbox import key_id_of
from satchel.tools.sql import ir
from tests.plugins.events.conftest import FAST, SECRET, Env, start_env
from tests.plugins.events.receiver import Received, Receiver, wait_until

KEY = bytes(range(32))
OLD = bytes(range(100, 132))
OTHER = bytes(range(200, 232))
NEW_SECRET = "a-new-receiver-secret-987654"


def signed_with(secret: str, received: Received) -> bool:
    """What docs/events.md tells a receiver to do, written out independently of Satchel's code."""
    timestamp = received.headers["x-satchel-timestamp"]
    expected = "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= 300
    return fresh and hmac.compare_digest(expected, received.headers["x-satchel-signature"])


async def stored(env: Env, hook_id: str) -> Any:
    """The raw `secret` column, read through the executor (not the store, which opens it)."""
    where = ir.eq(ir.col("id"), ir.Param(hook_id))
    return await env.app.db.executor().fetch_value(
        ir.Select((ir.col("secret"),), ir.Table(store.WEBHOOKS), where=where)
    )


async def store_raw(env: Env, hook_id: str, value: str) -> None:
    """Write the column as an older version (in clear), another key or a sibling would have."""
    where = ir.eq(ir.col("id"), ir.Param(hook_id))
    async with env.app.db.transaction() as tx:
        assert await tx.execute(ir.Update(store.WEBHOOKS, {"secret": ir.Param(value)}, where)) == 1


async def delivered_signed(env: Env, receiver: Receiver, title: str, secret: str = SECRET) -> None:
    await env.create(title)

    def arrived() -> list[Received]:  # other collections' events (a superuser's sign-in) may come too
        return [r for r in receiver.delivered() if r.event["record"].get("title") == title]

    await wait_until(lambda: bool(arrived()))
    assert signed_with(secret, arrived()[0])


async def test_with_a_key_the_stored_column_is_a_sealed_envelope_and_events_are_signed(tmp_path: Path) -> None:
    async with start_env(tmp_path / "d", encryption_key=KEY) as env:
        with Receiver() as receiver:
            hook = await env.webhook(receiver.url)
            raw = await stored(env, hook["id"])
            assert SECRET not in str(raw)
            assert parse_sealed(raw) is not None and stored_key_id(raw) == key_id_of(KEY)  # the settings' envelope
            await delivered_signed(env, receiver, "hello")
        listed = await env.client.get("/api/webhooks", headers=env.su)
        viewed = await env.client.get(f"/api/webhooks/{hook['id']}", headers=env.su)
        assert SECRET not in listed.text + viewed.text and "secret" not in viewed.json()
        loaded = await store.get(env.app.db.executor(), hook["id"], env.app.keys)
        assert loaded is not None and loaded.secret == SECRET and SECRET not in repr(loaded)


async def test_without_a_key_the_secret_is_stored_in_clear_as_settings_secrets_are(env: Env) -> None:
    with Receiver() as receiver:
        hook = await env.webhook(receiver.url)
        assert await stored(env, hook["id"]) == SECRET
        await delivered_signed(env, receiver, "clear")


async def test_a_row_written_in_clear_still_signs_and_is_sealed_on_its_next_save(tmp_path: Path) -> None:
    async with start_env(tmp_path / "d", encryption_key=KEY) as env:
        with Receiver() as receiver:
            hook = await env.webhook(receiver.url)
            await store_raw(env, hook["id"], SECRET)  # as written before secrets were sealed
            await delivered_signed(env, receiver, "legacy")
            r = await env.client.patch(f"/api/webhooks/{hook['id']}", json={"name": "renamed"}, headers=env.su)
            assert r.status_code == 200, r.text
            raw = await stored(env, hook["id"])
            assert raw != SECRET and stored_key_id(raw) == key_id_of(KEY)
            await delivered_signed(env, receiver, "sealed now")


async def test_a_secret_under_an_old_key_signs_while_that_key_is_listed_and_rotation_moves_it(tmp_path: Path) -> None:
    data = tmp_path / "d"
    async with start_env(data, encryption_key=OLD) as env:
        sealed_hook = (await env.webhook("http://127.0.0.1:9/unused", active=False))["id"]
        legacy_hook = (await env.webhook("http://127.0.0.1:9/unused", active=False))["id"]
        await store_raw(env, legacy_hook, SECRET)
    async with start_env(data, encryption_key=KEY, old_encryption_keys=(OLD,)) as env:
        with Receiver() as receiver:
            r = await env.client.patch(
                f"/api/webhooks/{sealed_hook}", json={"url": receiver.url, "active": True}, headers=env.su
            )
            assert r.status_code == 200, r.text  # a save: sealed again under the current key
            assert stored_key_id(await stored(env, sealed_hook)) == key_id_of(KEY)
            await delivered_signed(env, receiver, "after the new key")
            # rotation is what moves the rows nobody saved: the clear one here, an old-key one below
            await store_raw(env, sealed_hook, KeyRing(OLD).seal_text(SECRET, store.SECRET.label(sealed_hook)))
            await delivered_signed(env, receiver, "old key still opens")
            seen: list[int] = []
            done = await sealed_columns.reseal(env.app.db, store.SECRET, env.app.keys, env.app.keys, progress=seen.append)
            assert (done.rows, done.rewritten, done.raced, done.failures) == (2, 2, 0, [])
            assert sum(seen) == 2
            for hook_id in (sealed_hook, legacy_hook):
                raw = await stored(env, hook_id)
                assert SECRET not in str(raw) and stored_key_id(raw) == key_id_of(KEY)
            again = await sealed_columns.reseal(env.app.db, store.SECRET, env.app.keys, env.app.keys)
            assert again.rewritten == 0
    async with start_env(data, encryption_key=KEY) as env:  # the old key dropped
        with Receiver() as receiver:
            r = await env.client.patch(f"/api/webhooks/{sealed_hook}", json={"url": receiver.url}, headers=env.su)
            assert r.status_code == 200, r.text
            await delivered_signed(env, receiver, "old key gone")


async def test_a_process_without_the_key_refuses_to_start_naming_it(tmp_path: Path) -> None:
    data = tmp_path / "d"
    async with start_env(data, encryption_key=KEY) as env:
        await env.webhook("http://127.0.0.1:9/unused")
    for key in (b"", OTHER):
        with pytest.raises(SecretsKeyError) as caught:
            async with start_env(data, encryption_key=key):
                pass
        message = str(caught.value)
        assert key_id_of(KEY) in message and "SATCHEL_ENCRYPTION_KEY" in message and "Nothing was changed" in message
        assert SECRET not in message


async def test_a_secret_that_cannot_be_opened_is_said_not_a_500(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = dataclasses.replace(FAST, max_attempts=2)
    async with start_env(tmp_path / "d", config, encryption_key=KEY) as env:
        with Receiver() as receiver:
            hook = (await env.webhook(receiver.url))["id"]
            # a sibling started with another key, or a restored backup, wrote it
            await store_raw(env, hook, KeyRing(OTHER).seal_text(SECRET, store.SECRET.label(hook)))
            await env.create("unsignable")
            letters: list[dict[str, Any]] = []
            deadline = time.monotonic() + 15
            while not letters:
                assert time.monotonic() < deadline, "the event was not dead-lettered"
                await asyncio.sleep(0.05)
                r = await env.client.get(f"/api/webhooks/{hook}/dead-letters", headers=env.su)
                letters = r.json()["items"]
            assert receiver.all() == []  # nothing was sent unsigned or signed with something else
            assert key_id_of(OTHER) in letters[0]["error"]

            r = await env.client.get(f"/api/webhooks/{hook}", headers=env.su)
            assert r.status_code == 200  # viewing needs no secret
            for method, path, body in (
                ("PATCH", f"/api/webhooks/{hook}", {"name": "renamed"}),
                ("POST", f"/api/webhooks/{hook}/dead-letters/{letters[0]['id']}/replay", None),
                ("POST", f"/api/webhooks/{hook}/dead-letters/replay", None),
            ):
                r = await env.client.request(method, path, json=body, headers=env.su)
                assert r.status_code == 400, (path, r.text)
                answer = r.json()
                assert answer["status"] == 400 and answer["data"] == {}
                assert key_id_of(OTHER) in answer["message"] and "SATCHEL_ENCRYPTION_KEY" in answer["message"]

            r = await env.client.patch(f"/api/webhooks/{hook}", json={"secret": NEW_SECRET}, headers=env.su)
            assert r.status_code == 200, r.text  # a new secret replaces the one nobody can open
            assert stored_key_id(await stored(env, hook)) == key_id_of(KEY)
            r = await env.client.post(f"/api/webhooks/{hook}/dead-letters/replay", headers=env.su)
            assert r.status_code == 200 and r.json()["delivered"] == 1, r.text
            replayed = [x for x in receiver.delivered() if x.event["record"].get("title") == "unsignable"]
            assert len(replayed) == 1 and signed_with(NEW_SECRET, replayed[0])
    assert SECRET not in caplog.text and NEW_SECRET not in caplog.text
    assert key_id_of(OTHER) in caplog.text  # the dispatcher's warning says why


async def test_a_secret_that_reads_as_an_envelope_is_refused(env: Env) -> None:
    fake = KeyRing(KEY).seal_text("x" * 20, "webhooks.x.secret")
    r = await env.client.post(
        "/api/webhooks", json={"url": "http://127.0.0.1:9/unused", "secret": fake}, headers=env.su
    )
    assert r.status_code == 400
    assert r.json()["data"]["secret"]["code"] == "validation_invalid_value"
