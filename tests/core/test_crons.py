"""`app.crons`: PocketBase's cron registry, its built-in jobs, and one run per due minute across
processes sharing the auxiliary database (worker siblings, or nodes on one PostgreSQL database)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from satchel.core.app import App
from satchel.core.crons import CronRegistry
from satchel.core.errors import NotFoundError
from satchel.testing import database_url_for
from satchel.tools.cron import CronError
from satchel.wiring import build_app

BUILTIN = ["__pbLogsCleanup__", "__pbMFACleanup__", "__pbOTPCleanup__"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_expressions_are_validated_when_added() -> None:
    crons = CronRegistry()

    async def job() -> None:
        pass

    with pytest.raises(CronError):
        crons.add("bad", "61 * * * *", job)
    with pytest.raises(ValueError, match="id"):
        crons.add("", "* * * * *", job)
    crons.add("ok", "@hourly", job)
    assert [j.id for j in crons.jobs()] == ["ok"]


async def test_builtin_jobs_and_pocketbase_list_order(app: App) -> None:
    async def job() -> None:
        pass

    app.crons.add("zeta", "0 0 * * *", job)
    app.crons.add("alpha", "*/5 * * * *", job)
    assert [(j.id, j.expression) for j in app.crons.jobs()] == [
        ("alpha", "*/5 * * * *"),
        ("zeta", "0 0 * * *"),
        ("__pbLogsCleanup__", "0 */6 * * *"),
        ("__pbMFACleanup__", "0 * * * *"),
        ("__pbOTPCleanup__", "0 * * * *"),
    ]
    app.crons.remove("zeta")
    assert [j.id for j in app.crons.jobs()] == ["alpha", *BUILTIN]


async def test_due_jobs_run_once_per_minute(app: App) -> None:
    runs: list[str] = []

    async def every_other() -> None:
        runs.append("two")

    async def hourly() -> None:
        runs.append("hour")

    app.crons.add("two", "*/2 * * * *", every_other)
    app.crons.add("hour", "0 * * * *", hourly)
    assert await app.crons.tick(at("2026-01-01T10:00:00")) == ["__pbMFACleanup__", "__pbOTPCleanup__", "two", "hour"]
    assert await app.crons.tick(at("2026-01-01T10:00:30")) == [], "the same minute again"
    assert await app.crons.tick(at("2026-01-01T10:01")) == []
    assert await app.crons.tick(at("2026-01-01T10:02")) == ["two"]
    assert runs == ["two", "hour", "two"]


async def test_a_failing_job_does_not_stop_the_others(app: App) -> None:
    ran: list[str] = []

    async def boom() -> None:
        raise RuntimeError("boom")

    async def fine() -> None:
        ran.append("fine")

    app.crons.add("a-boom", "* * * * *", boom)
    app.crons.add("b-fine", "* * * * *", fine)
    assert await app.crons.tick(at("2026-01-01T00:01")) == ["a-boom", "b-fine"]
    assert ran == ["fine"]


async def test_run_now_ignores_the_schedule_and_unknown_ids_are_404(app: App) -> None:
    ran: list[int] = []

    async def job() -> None:
        ran.append(1)

    app.crons.add("yearly", "@yearly", job)
    await app.crons.run("yearly")
    assert ran == [1]
    with pytest.raises(NotFoundError):
        await app.crons.run("missing")


async def test_a_dynamic_expression_is_read_at_every_tick(app: App) -> None:
    expression = ""
    ran: list[datetime] = []

    async def job() -> None:
        ran.append(datetime.now(UTC))

    app.crons.add("dyn", lambda: expression, job)
    assert [j.id for j in app.crons.jobs()] == BUILTIN, "unscheduled while empty"
    assert await app.crons.tick(at("2026-01-01T00:01")) == []
    expression = "* * * * *"
    assert await app.crons.tick(at("2026-01-01T00:02")) == ["dyn"]
    expression = "not cron"
    assert await app.crons.tick(at("2026-01-01T00:03")) == []
    assert len(ran) == 1


async def test_one_process_runs_each_due_minute(tmp_path: Path) -> None:
    """Two apps on one data directory (two workers) or one PostgreSQL database (two nodes)."""
    data = tmp_path / "shared"
    url = await database_url_for(data)
    a = build_app(data, workers=2, db_url=url)
    b = build_app(data, workers=2, db_url=url)
    await a.bootstrap()
    await b.bootstrap()
    runs: list[str] = []
    try:
        for name, app in (("a", a), ("b", b)):

            async def job(name: str = name) -> None:
                runs.append(name)

            app.crons.add("shared", "* * * * *", job)
        minute = at("2026-01-01T00:01")  # clear of the built-in jobs' minutes
        for m in range(4):
            both = await asyncio.gather(
                a.crons.tick(minute + timedelta(minutes=m)), b.crons.tick(minute + timedelta(minutes=m))
            )
            assert sorted(len(r) for r in both) == [0, 1], both
        assert len(runs) == 4
    finally:
        for app in (a, b):
            await app.realtime.close()
            await app.close()


async def test_the_loop_ticks_at_minute_boundaries(app: App) -> None:
    now = at("2026-03-01T10:00:45")
    ran: list[str] = []

    def clock() -> datetime:
        return now

    async def sleep(seconds: float) -> None:
        nonlocal now
        if now >= at("2026-03-01T10:03:00"):
            raise asyncio.CancelledError
        now += timedelta(seconds=seconds)

    async def job() -> None:
        ran.append(clock().isoformat())

    crons = CronRegistry(clock=clock, sleep=sleep)
    crons.add("j", "* * * * *", job)
    crons.start()
    task = crons._task
    assert task is not None
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ran == ["2026-03-01T10:01:00+00:00", "2026-03-01T10:02:00+00:00", "2026-03-01T10:03:00+00:00"]
    await crons.stop()
