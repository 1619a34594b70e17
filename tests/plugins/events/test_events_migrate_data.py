"""`satchel migrate-data` carries the events plugin's state: webhooks (secrets sealed as they are),
their attempts and dead letters, and the outbox with its cursors, so an event not yet delivered on
the source is delivered from the target with its id, and new events number on from there."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from satchel.plugins import events as events_plugin
from satchel.plugins.events import outbox_store
from satchel.testing import client_for, superuser_token
from satchel.tools.secretbox import key_id_of
from satchel.wiring import open_app
from tests.core.migrate.pg_schemas import postgres_urls
from tests.plugins.events.conftest import FAST, NOTES, SECRET, Env
from tests.plugins.events.receiver import Received, Receiver, wait_until
from tests.plugins.events.test_events_webhook_secrets import signed_with

KEY = bytes(range(32))
CONFIG = dataclasses.replace(FAST, max_attempts=2)


@asynccontextmanager
async def events_app(data_dir: Path, db_url: str = "") -> AsyncIterator[Env]:
    """The plugin started on a given database (the source is always SQLite, whatever the test pass)."""
    app = await open_app(data_dir, db_url=db_url, encryption_key=KEY)
    events = events_plugin.register(app, CONFIG)
    try:
        await events.start()
        async with client_for(app) as client:
            su = {"Authorization": await superuser_token(app, client)}
            yield Env(app, events, client, su)
    finally:
        await events.close()
        await app.realtime.close()
        await app.close()


async def _poll(env: Env, path: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        r = await env.client.get(path, headers=env.su)
        assert r.status_code == 200, r.text
        if items := r.json()["items"]:
            return list(items)
        assert time.monotonic() < deadline, f"nothing at {path}"
        await asyncio.sleep(0.05)


async def _make_source(src: Path, receiver: Receiver, refusing: set[str]) -> dict[str, Any]:
    """A webhook whose receiver refused one event (dead-lettered) and has not had the next one."""
    async with events_app(src) as env:
        assert (await env.client.post("/api/collections", json=NOTES, headers=env.su)).status_code == 200
        hook = await env.webhook(receiver.url, collections=["notes"])
        refusing.add("lost")
        lost = await env.create("lost")
        await _poll(env, f"/api/webhooks/{hook['id']}/dead-letters")
        await env.events.dispatcher.close()  # the source stops delivering; its writer still records
        await env.create("pending")
        head = await outbox_store.head(env.app.db.executor())
    refusing.clear()
    return {"hook": hook["id"], "lost": lost["id"], "pending": head}


async def _check_target(data_dir: Path, source: dict[str, Any], receiver: Receiver, db_url: str = "") -> None:
    hook = source["hook"]

    def titled(title: str) -> list[Received]:
        return [x for x in receiver.delivered() if x.event["record"]["title"] == title]

    app = await open_app(data_dir, db_url=db_url, encryption_key=KEY)
    try:  # the event counter came along: the target numbers on from the source's last event
        assert await outbox_store.head(app.db.executor()) == source["pending"]
    finally:
        await app.realtime.close()
        await app.close()
    async with events_app(data_dir, db_url) as env:
        await wait_until(lambda: bool(titled("pending")))  # taken up where the source stopped
        assert titled("pending")[0].event["id"] == source["pending"]
        assert signed_with(SECRET, titled("pending")[0])
        await env.create("after")
        await wait_until(lambda: bool(titled("after")))
        assert titled("after")[0].event["id"] > source["pending"]  # no id handed out twice

        attempts = await _poll(env, f"/api/webhooks/{hook}/attempts")
        assert len([a for a in attempts if a["eventId"] == source["pending"] - 1]) == 2  # the history came along
        letters = await _poll(env, f"/api/webhooks/{hook}/dead-letters")
        r = await env.client.post(f"/api/webhooks/{hook}/dead-letters/{letters[0]['id']}/replay", headers=env.su)
        assert r.status_code == 200 and r.json()["delivered"], r.text
        assert signed_with(SECRET, titled("lost")[0])


def _receiver(refusing: set[str]) -> Receiver:
    return Receiver(fail=lambda n, event: 503 if event["record"].get("title") in refusing else 200)


def _migrate(*args: str) -> str:
    r = CliRunner().invoke(main, ["migrate-data", *args])
    assert r.exit_code == 0, r.output
    return " ".join(r.output.split())


def test_sqlite_to_sqlite(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    refusing: set[str] = set()
    with _receiver(refusing) as receiver:
        source = asyncio.run(_make_source(src, receiver, refusing))

        async def started_once() -> None:  # a target whose server ran once (with the plugin) counts as empty
            app = await open_app(dst, encryption_key=KEY)
            events = events_plugin.register(app, CONFIG)
            await events.start()
            await events.close()
            await app.realtime.close()
            await app.close()

        asyncio.run(started_once())
        output = _migrate("--from", str(src), "--to", str(dst))
        assert f"webhook secrets are encrypted with the key {key_id_of(KEY)}" in output
        for table in ("_webhooks", "_webhookDeadLetters", "_webhookAttempts", "_outbox", "_outboxCursors"):
            assert table in output
        asyncio.run(_check_target(dst, source, receiver))


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    with postgres_urls(tmp_path, 1) as urls:
        yield urls[0]


def test_sqlite_to_postgres(pg_url: str, tmp_path: Path) -> None:
    src, files = tmp_path / "src", tmp_path / "pg-files"
    refusing: set[str] = set()
    with _receiver(refusing) as receiver:
        source = asyncio.run(_make_source(src, receiver, refusing))
        _migrate("--from", str(src), "--to", pg_url, "--dir", str(files))
        asyncio.run(_check_target(files, source, receiver, pg_url))
