"""Automatic backups: due minutes from the cron setting, retention, one leader, an injected clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from satchel.core.app import App
from satchel.core.backups.schedule import AutoBackups
from satchel.testing import running_app
from satchel.wiring import build_app


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def _keys(app: App) -> list[str]:
    return sorted(b.key for b in await app.backups.list())


@pytest.mark.sqlite_only("backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)")
async def test_ticks_back_up_on_due_minutes_and_keep_the_newest(tmp_path: Path) -> None:
    async with running_app(tmp_path / "d") as app:
        await app.settings.patch({"backups": {"cron": "*/2 * * * *", "cronMaxKeep": 2}})
        await app.backups.create("manual.zip")
        scheduler = app.backups.scheduler
        ran = [await scheduler.tick(at(f"2026-01-01T10:0{m}")) for m in range(7)]
        assert ran == [
            "@auto_pb_backup_acme_20260101100000.zip",
            None,
            "@auto_pb_backup_acme_20260101100200.zip",
            None,
            "@auto_pb_backup_acme_20260101100400.zip",
            None,
            "@auto_pb_backup_acme_20260101100600.zip",
        ]
        assert await _keys(app) == [
            "@auto_pb_backup_acme_20260101100400.zip",
            "@auto_pb_backup_acme_20260101100600.zip",
            "manual.zip",  # retention only ever removes automatic backups
        ]
        assert await scheduler.tick(at("2026-01-01T10:06:30")) is None, "one run per minute"
        await scheduler.stop()


async def test_no_schedule_or_a_broken_one_runs_nothing(tmp_path: Path) -> None:
    async with running_app(tmp_path / "d") as app:
        scheduler = app.backups.scheduler
        assert await scheduler.tick(at("2026-01-01T00:00")) is None
        app.settings.current["backups"]["cron"] = "not a cron"  # stored before validation existed
        assert await scheduler.tick(at("2026-01-01T00:01")) is None
        assert await _keys(app) == []
        await scheduler.stop()


@pytest.mark.sqlite_only("backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)")
async def test_zero_keep_keeps_everything(tmp_path: Path) -> None:
    async with running_app(tmp_path / "d") as app:
        app.settings.current["backups"].update(cron="@hourly", cronMaxKeep=0)
        scheduler = app.backups.scheduler
        for hour in range(4):
            await scheduler.tick(at(f"2026-01-01T0{hour}:00"))
        assert len(await _keys(app)) == 4
        await scheduler.stop()


@pytest.mark.sqlite_only("backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)")
async def test_the_loop_wakes_at_each_minute_with_an_injected_clock(tmp_path: Path) -> None:
    async with running_app(tmp_path / "d") as app:
        await app.settings.patch({"backups": {"cron": "*/2 * * * *", "cronMaxKeep": 10}})
        now = at("2026-03-01T10:00:30")
        slept: list[float] = []

        def clock() -> datetime:
            return now

        async def sleep(seconds: float) -> None:
            nonlocal now
            if len(slept) >= 12:
                raise asyncio.CancelledError
            slept.append(seconds)
            # timers fire a hair early now and then: the loop must neither tick twice nor skip
            now += timedelta(seconds=seconds - (0.001 if len(slept) % 3 == 0 else 0))

        scheduler = AutoBackups(app, app.backups, clock=clock, sleep=sleep)
        with pytest.raises(asyncio.CancelledError):
            await scheduler.run()
        assert slept[0] == 30.0  # from 10:00:30 to 10:01:00
        assert await _keys(app) == [f"@auto_pb_backup_acme_2026030110{m:02d}00.zip" for m in (2, 4, 6, 8)]
        await scheduler.stop()


async def test_only_one_process_runs_the_schedule(tmp_path: Path) -> None:
    data = tmp_path / "shared"
    a, b = build_app(data, workers=2), build_app(data, workers=2)
    await a.bootstrap()
    await b.bootstrap()
    try:
        await a.settings.patch({"backups": {"cron": "* * * * *", "cronMaxKeep": 5}})
        assert await a.backups.scheduler.tick(at("2026-01-01T00:00")) is not None
        assert a.backups.scheduler.leader
        assert b.backups.scheduler.server_running()
        assert await b.backups.scheduler.tick(at("2026-01-01T00:01")) is None
        assert not b.backups.scheduler.leader
        await a.backups.scheduler.stop()  # the leader's worker exits
        name = await b.backups.scheduler.tick(at("2026-01-01T00:02"))
        assert name == "@auto_pb_backup_acme_20260101000200.zip"  # b saw a's schedule through the database
        assert b.backups.scheduler.leader
    finally:
        for app in (a, b):
            await app.backups.close()
            await app.realtime.close()
            await app.close()
