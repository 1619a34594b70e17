"""Schema changes with several nodes: two apps on one database file, each with its own data
directory (so no shared-memory signal between them, as on two machines), joined by an in-process bus.

A change made through one node is announced on the bus and loaded by the other before its next
request; a lost announcement is caught by the periodic version read; a change built on a stale
copy is made again on a fresh one instead of overwriting the other node's change.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from satchel.adapters.broker.memory import MemoryBroker, MemoryBus
from satchel.core.app import App
from satchel.core.collections.store import load_all
from satchel.core.errors import BadRequestError
from satchel.core.hooks import CollectionEvent
from satchel.core.params import read_version
from satchel.core.realtime.relay import BrokerTransport
from satchel.core.realtime.visibility import probe_cache
from satchel.core.schema_events import CONFLICT_MESSAGE, SchemaConflict
from satchel.wiring import DB_FILE, build_app

THINGS = {"name": "things", "type": "base", "fields": [{"name": "title", "type": "text"}]}


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[App, App]]:
    bus = MemoryBus()
    apps: list[App] = []
    for name in ("a", "b"):
        data_dir = tmp_path / name
        data_dir.mkdir()
        if apps:  # the same database file, seen from another data directory
            (data_dir / DB_FILE).symlink_to(tmp_path / "a" / DB_FILE)
        app = build_app(data_dir, broker=MemoryBroker(bus))
        app.schema.poll_interval = 3600.0  # polls only when a test calls `poll`
        await app.bootstrap()
        await app.realtime.open()
        apps.append(app)
    yield apps[0], apps[1]
    for app in apps:
        await app.realtime.close()
        await app.close()


async def bus_delivered() -> None:
    """The in-process bus hands frames over with `call_soon`: one loop turn delivers them."""
    for _ in range(2):
        await asyncio.sleep(0)


async def cut_off(app: App) -> None:
    """The node stops hearing the bus (an outage)."""
    transport = app.realtime.transport
    assert isinstance(transport, BrokerTransport)
    await transport.broker.close()
    await app.sync()
    assert not app.stale()


def names(app: App) -> set[str]:
    return {c.name for c in app.collections.all()}


async def test_a_change_through_one_node_is_heard_and_loaded_by_the_other(nodes: tuple[App, App]) -> None:
    a, b = nodes
    await a.collections_service.create(THINGS)
    await bus_delivered()
    assert b.stale()
    assert "things" not in names(b)  # loaded lazily, before the next request
    await b.sync()
    assert "things" in names(b)
    assert b.schema.version == a.schema.version == await read_version(b.db.executor())
    assert not b.stale()


async def test_a_request_arriving_during_a_reload_waits_for_it(nodes: tuple[App, App]) -> None:
    """Requests check `stale` then `sync`: one that arrives while another request's reload is under
    way must not go on with the copy being replaced (a listener, like the events plugin's, may
    change what the write path does)."""
    a, b = nodes
    reloading = asyncio.Event()
    release = asyncio.Event()
    heard: list[bool] = []

    async def slow_listener() -> None:
        heard.append(True)
        reloading.set()
        await release.wait()

    b.sync_listeners.append(slow_listener)
    await a.collections_service.create(THINGS)
    await bus_delivered()
    first = asyncio.create_task(b.sync())
    await reloading.wait()
    assert b.stale()  # the second request sees the reload under way...

    async def second_request() -> bool:
        if b.stale():
            await b.sync()
        return bool(heard) and release.is_set()

    second = asyncio.create_task(second_request())
    await asyncio.sleep(0.01)
    assert not second.done()  # ...and waits for it
    release.set()
    await first
    assert await second is True and "things" in names(b)
    assert not b.stale()


async def test_repeated_or_late_announcements_reload_nothing(nodes: tuple[App, App]) -> None:
    a, b = nodes
    await a.collections_service.create(THINGS)
    await bus_delivered()
    await b.sync()
    loaded = b.collections.version

    b.schema.heard(b.schema.version)  # a duplicate of the current one
    assert not b.stale()
    b.schema.heard("an-older-version")  # out of order: only the database knows which is newer
    assert b.stale()
    await b.sync()
    assert b.collections.version == loaded
    assert not b.stale()


async def test_a_node_that_missed_the_announcement_catches_up_at_the_next_poll(nodes: tuple[App, App]) -> None:
    a, b = nodes
    await cut_off(b)
    await a.collections_service.create(THINGS)
    await bus_delivered()
    assert not b.stale()
    b.schema.poll()  # what the timer does every `poll_interval` seconds
    assert b.stale()
    await b.sync()
    assert "things" in names(b)
    assert not b.stale()


async def test_a_change_made_from_a_stale_copy_keeps_the_other_node_change(nodes: tuple[App, App]) -> None:
    a, b = nodes
    await a.collections_service.create(THINGS)
    await bus_delivered()
    await b.sync()
    await cut_off(b)
    things = a.collections.get("things")
    assert things is not None
    fields = [f.to_json() for f in things.fields] + [{"name": "extra", "type": "number"}]
    await a.collections_service.update("things", {"fields": fields})
    stale = b.collections.get("things")
    assert stale is not None and stale.field("extra") is None

    renamed = await b.collections_service.update("things", {"name": "items"})

    assert renamed.field("extra") is not None
    stored = {c.name: c for c in await load_all(b.db.executor())}
    assert "things" not in stored and stored["items"].field("extra") is not None
    assert "extra" in await b.db.table_columns("items")
    await a.sync()
    mine = a.collections.get("items")
    assert mine is not None and mine.field("extra") is not None


async def test_a_claim_on_a_stale_copy_is_refused(nodes: tuple[App, App]) -> None:
    a, b = nodes
    await cut_off(b)
    await a.settings.patch({"meta": {"appName": "Through A"}})
    version = await read_version(a.db.executor())

    with pytest.raises(SchemaConflict):
        async with b.db.transaction() as tx:
            await b.schema.claim(tx)
    assert await read_version(b.db.executor()) == version


async def test_a_commit_by_another_node_in_between_makes_the_change_again(nodes: tuple[App, App]) -> None:
    a, b = nodes
    await a.collections_service.create({**THINGS, "listRule": None, "viewRule": None})
    await bus_delivered()
    await b.sync()
    calls: list[str] = []

    async def race(e: CollectionEvent) -> None:
        calls.append(str(e.collection.viewRule))
        if len(calls) == 1:  # after b's refresh, before its transaction
            await a.collections_service.update("things", {"listRule": "title != ''"})
        await e.next()

    b.hooks.on_collection_update.bind(race)
    saved = await b.collections_service.update("things", {"viewRule": "title = 'x'"})

    assert len(calls) == 2
    assert (saved.listRule, saved.viewRule) == ("title != ''", "title = 'x'")
    stored = {c.name: c for c in await load_all(a.db.executor())}["things"]
    assert (stored.listRule, stored.viewRule) == ("title != ''", "title = 'x'")


async def test_a_change_that_loses_every_race_is_refused_with_nothing_written(nodes: tuple[App, App]) -> None:
    a, b = nodes
    await a.collections_service.create(THINGS)
    await bus_delivered()
    await b.sync()
    rounds: list[int] = []

    async def always_beaten(e: CollectionEvent) -> None:
        rounds.append(1)
        await a.collections_service.update("things", {"listRule": f"title != '{len(rounds)}'"})
        await e.next()

    b.hooks.on_collection_update.bind(always_beaten)
    with pytest.raises(BadRequestError) as raised:
        await b.collections_service.update("things", {"viewRule": "title = 'x'"})

    assert raised.value.message == CONFLICT_MESSAGE
    assert len(rounds) == 3
    stored = {c.name: c for c in await load_all(a.db.executor())}["things"]
    assert stored.viewRule is None


async def test_settings_changed_through_a_stale_node_keep_the_other_node_change(nodes: tuple[App, App]) -> None:
    a, b = nodes
    await cut_off(b)
    await a.settings.patch({"meta": {"appName": "Through A"}})
    await b.settings.patch({"meta": {"senderName": "Through B"}})

    await a.sync()
    for app in (a, b):
        meta: dict[str, Any] = app.settings.current["meta"]
        assert (meta["appName"], meta["senderName"]) == ("Through A", "Through B")


async def test_collections_created_at_once_on_two_nodes_are_on_both(nodes: tuple[App, App]) -> None:
    a, b = nodes
    await asyncio.gather(
        a.collections_service.create({**THINGS, "name": "one"}),
        b.collections_service.create({**THINGS, "name": "two"}),
    )
    await bus_delivered()
    for app in (a, b):
        await app.sync()
        assert {"one", "two"} <= names(app)
    assert {"one", "two"} <= {c.name for c in await load_all(a.db.executor())}


async def test_compiled_rule_caches_expire_with_a_reload(nodes: tuple[App, App]) -> None:
    a, b = nodes
    await a.collections_service.create({**THINGS, "listRule": "title = 'x'"})
    await bus_delivered()
    await b.sync()
    things = b.collections.get("things")
    assert things is not None
    before = probe_cache(b, things)
    assert probe_cache(b, things) is before  # kept across events while nothing changes

    await a.collections_service.update("things", {"listRule": ""})
    await bus_delivered()
    await b.sync()

    reloaded = b.collections.get("things")
    assert reloaded is not None and reloaded.listRule == ""
    after = probe_cache(b, reloaded)
    assert after is not before and after.collection is reloaded


@pytest.mark.parametrize("shared", [True, False])
async def test_the_poll_timer_runs_only_where_other_processes_may_write(tmp_path: Path, shared: bool) -> None:
    app = build_app(tmp_path, broker=MemoryBroker() if shared else None)
    app.schema.poll_interval = 0.001
    await app.bootstrap()
    try:
        await asyncio.sleep(0.002)  # timers run in deadline order: a timer armed would have fired
        assert app.stale() is shared
    finally:
        await app.close()


async def test_a_change_inside_a_caller_transaction_is_announced_once_committed(nodes: tuple[App, App]) -> None:
    a, b = nodes
    async with a.db.transaction():
        await a.collections_service.create(THINGS)
        await bus_delivered()
        assert not b.stale()  # nothing committed yet
    await bus_delivered()
    assert b.stale()
    await b.sync()
    assert "things" in names(b)


async def test_a_stale_change_inside_a_caller_transaction_is_refused(nodes: tuple[App, App]) -> None:
    a, b = nodes
    await cut_off(b)
    await a.collections_service.create(THINGS)
    with pytest.raises(BadRequestError) as raised:
        async with b.db.transaction():
            await b.collections_service.create({**THINGS, "name": "other"})
    assert raised.value.message == CONFLICT_MESSAGE
    assert "other" not in {c.name for c in await load_all(a.db.executor())}
