"""`on_settings_reload`: fired once the new settings are in place, at start, after a change made
here and after a sibling's change was loaded (without a restart)."""

from __future__ import annotations

from pathlib import Path

from satchel.adapters.broker.memory import MemoryBroker, MemoryBus
from satchel.core.app import App
from satchel.core.hooks import SettingsReloadEvent
from satchel.testing import database_url_for
from satchel.wiring import build_app


def _recorder(app: App) -> list[str]:
    seen: list[str] = []

    async def handler(e: SettingsReloadEvent) -> None:
        seen.append(e.settings["meta"]["appName"])
        assert e.settings is app.settings.current  # already in place
        await e.next()

    app.hooks.on_settings_reload.bind(handler)
    return seen


async def test_reload_hook_at_start_on_change_and_in_a_sibling(tmp_path: Path) -> None:
    data = tmp_path / "pb_data"
    url = await database_url_for(data)
    bus = MemoryBus()
    a = build_app(data, broker=MemoryBroker(bus), db_url=url)
    b = build_app(data, broker=MemoryBroker(bus), db_url=url)
    seen_a, seen_b = _recorder(a), _recorder(b)
    try:
        for app in (a, b):
            app.schema.poll_interval = 3600.0
            await app.bootstrap()
        assert seen_a == ["Acme"] and seen_b == ["Acme"]
        await a.settings.patch({"meta": {"appName": "Renamed"}})
        assert seen_a == ["Acme", "Renamed"]
        assert b.stale()  # the change signal of the shared data directory
        await b.sync()
        assert seen_b == ["Acme", "Renamed"] and b.settings.current["meta"]["appName"] == "Renamed"
        await b.sync()  # nothing changed since: no reload, no event
        assert seen_b == ["Acme", "Renamed"]
    finally:
        for app in (a, b):
            await app.realtime.close()
            await app.close()
