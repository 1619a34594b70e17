"""An app with the events plugin started (fast retries), its client and a superuser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from satchel.core.app import App
from satchel.plugins import events as events_plugin
from satchel.plugins.events import Events, EventsConfig
from satchel.ports.event_sink import EventSink
from satchel.testing import client_for, running_app, superuser_token

FAST = EventsConfig(
    poll_interval=0.2, lease_ttl=3.0, backoff_base=0.02, backoff_cap=0.1, max_attempts=4, webhook_timeout=2.0
)
SECRET = "receiver-secret-0123456789"
NOTES = {"name": "notes", "type": "base", "fields": [{"name": "title", "type": "text"}]}


@dataclass
class Env:
    app: App
    events: Events
    client: httpx2.AsyncClient
    su: dict[str, str]

    async def webhook(self, url: str, **extra: Any) -> dict[str, Any]:
        r = await self.client.post("/api/webhooks", json={"url": url, "secret": SECRET, **extra}, headers=self.su)
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    async def create(self, title: str, collection: str = "notes") -> dict[str, Any]:
        r = await self.client.post(f"/api/collections/{collection}/records", json={"title": title}, headers=self.su)
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result


@asynccontextmanager
async def start_env(
    data_dir: Path,
    config: EventsConfig = FAST,
    sinks: list[EventSink] | None = None,
    *,
    encryption_key: bytes = b"",
    old_encryption_keys: tuple[bytes, ...] = (),
) -> AsyncIterator[Env]:
    async with running_app(data_dir, encryption_key=encryption_key, old_encryption_keys=old_encryption_keys) as app:
        events = events_plugin.register(app, config, sinks)
        await events.start()
        try:
            async with client_for(app) as client:
                su = {"Authorization": await superuser_token(app, client)}
                if app.collections.get("notes") is None:  # not when started again on the same data
                    r = await client.post("/api/collections", json=NOTES, headers=su)
                    assert r.status_code == 200, r.text
                yield Env(app, events, client, su)
        finally:
            await events.close()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with start_env(tmp_path / "pb_data") as e:
        yield e
