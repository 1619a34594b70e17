"""`@app.cron(id, expression)` in hook files and library use: PocketBase's `cronAdd`."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2
import pytest

from satchel.core.app import App
from satchel.plugins.extend import Registrar
from satchel.tools.cron import CronError


def test_a_bad_expression_fails_at_registration() -> None:
    with pytest.raises(CronError):
        Registrar().cron("bad", "99 * * * *")


async def test_recorded_jobs_are_added_when_bound_and_later_ones_at_once(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    r = Registrar()
    ran: list[str] = []

    @r.cron("nightly", "0 3 * * *")
    async def nightly() -> None:
        ran.append("nightly")

    assert not {"nightly", "hourly"} & {j.id for j in app.crons.jobs()}, "nothing before bind"
    r.bind(app)

    @r.cron("hourly", "@hourly")
    async def hourly() -> None:
        ran.append("hourly")

    listed = (await client.get("/api/crons", headers=su_headers)).json()
    assert listed[:2] == [{"id": "hourly", "expression": "@hourly"}, {"id": "nightly", "expression": "0 3 * * *"}]
    ticked = await app.crons.tick(datetime(2026, 1, 1, 3, 0, tzinfo=UTC))
    assert [i for i in ticked if not i.startswith("__pb")] == ["nightly", "hourly"]
    assert ran == ["nightly", "hourly"]
