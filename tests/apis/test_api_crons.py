"""`/api/crons` as PocketBase serves it: the job list, run now (204, not waited for), superusers only."""

from __future__ import annotations

import asyncio

import httpx2

from satchel.core.app import App
from tests.apis.helpers import create_user, error, login


async def test_every_route_needs_a_superuser(client: httpx2.AsyncClient) -> None:
    await create_user(client, "someone@example.com")
    user = await login(client, "someone@example.com")
    for method, url in (("GET", "/api/crons"), ("POST", "/api/crons/__pbLogsCleanup__")):
        assert (await client.request(method, url)).status_code == 401
        r = await client.request(method, url, headers=user)
        assert r.json() == error(403, "The authorized record is not allowed to perform this action.")


async def test_list_puts_application_jobs_before_builtin_ones(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    async def job() -> None:
        pass

    app.crons.add("reports", "0 3 * * *", job)
    app.crons.add("digest", "@daily", job)
    r = await client.get("/api/crons", headers=su_headers)
    assert r.status_code == 200
    assert r.json() == [
        {"id": "digest", "expression": "@daily"},
        {"id": "reports", "expression": "0 3 * * *"},
        {"id": "__pbLogsCleanup__", "expression": "0 */6 * * *"},
        {"id": "__pbMFACleanup__", "expression": "0 * * * *"},
        {"id": "__pbOTPCleanup__", "expression": "0 * * * *"},
    ]


async def test_run_now_answers_204_and_runs_the_job(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    done = asyncio.Event()

    async def job() -> None:
        done.set()

    app.crons.add("now", "@yearly", job)
    r = await client.post("/api/crons/now", headers=su_headers)
    assert (r.status_code, r.content) == (204, b"")
    await asyncio.wait_for(done.wait(), 5)


async def test_unknown_job_is_a_404(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await client.post("/api/crons/missing", headers=su_headers)
    assert r.json() == error(404, "Missing or invalid cron job.")
