"""`__pbMFACleanup__` / `__pbOTPCleanup__`: expired `_mfas` and `_otps` rows are deleted per collection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx2

from satchel.core.app import App
from satchel.core.auth import refs
from satchel.core.auth.expired_refs import delete_expired
from satchel.core.auth.mfa import duration as mfa_duration
from satchel.core.auth.otp import otp_duration
from satchel.core.records import storage
from satchel.tools.sql import ir
from tests.apis.helpers import create_user


async def _count(app: App, table: str) -> int:
    return int(await app.db.executor().fetch_value(ir.Select((ir.Raw("COUNT(*)"),), ir.Table(table))) or 0)


async def test_only_rows_past_their_collection_lifetime_go(app: App, client: httpx2.AsyncClient) -> None:
    user = await create_user(client, "someone@example.com")
    users = app.collections.get("users")
    assert users is not None
    record = await storage.fetch_by_id(app.db.executor(), users, user["id"], None)
    assert record is not None
    assert mfa_duration(users) > otp_duration(users)  # 600 s and 180 s by default
    await refs.create(app, refs.MFAS, record, method="password")
    await refs.create(app, refs.OTPS, record, password="12345678", sentTo="someone@example.com")
    now = datetime.now(UTC)
    assert await delete_expired(app, refs.MFAS, mfa_duration, now) == 0
    assert await delete_expired(app, refs.OTPS, otp_duration, now) == 0
    later = now + timedelta(seconds=otp_duration(users) + 5)
    assert await delete_expired(app, refs.OTPS, otp_duration, later) == 1
    assert await _count(app, refs.MFAS) == 1, "an MFA session lives longer than an OTP"
    assert await delete_expired(app, refs.MFAS, mfa_duration, now + timedelta(seconds=mfa_duration(users) + 5)) == 1
    assert (await _count(app, refs.MFAS), await _count(app, refs.OTPS)) == (0, 0)


async def test_the_jobs_are_registered_hourly(app: App) -> None:
    jobs = {j.id: j.expression for j in app.crons.jobs()}
    assert jobs["__pbMFACleanup__"] == jobs["__pbOTPCleanup__"] == "0 * * * *"
