"""PocketBase's `__pbMFACleanup__` and `__pbOTPCleanup__` jobs: expired `_mfas` and `_otps` rows go.

Reads already refuse an expired row; these hourly jobs keep the tables from growing with rows
nobody will present again. Each auth collection has its own lifetime (`mfa.duration`,
`otp.duration`), so the delete runs per collection, one short statement each.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from satchel.core.auth import refs
from satchel.core.auth.mfa import duration as mfa_duration
from satchel.core.auth.otp import otp_duration
from satchel.core.collections.model import Collection
from satchel.tools.datetime import format_dt
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App

MFA_CLEANUP_JOB = "__pbMFACleanup__"
OTP_CLEANUP_JOB = "__pbOTPCleanup__"
HOURLY = "0 * * * *"


async def delete_expired(
    app: App, table: str, lifetime: Callable[[Collection], int], now: datetime | None = None
) -> int:
    """Rows of `table` older than their auth collection's `lifetime` (seconds); how many went."""
    now = now or datetime.now(UTC)
    deleted = 0
    for collection in app.collections.all():
        if not collection.is_auth:
            continue
        cutoff = format_dt(now - timedelta(seconds=lifetime(collection)))
        where = ir.and_all(
            [
                ir.eq(ir.col("collectionRef"), ir.Param(collection.id)),
                ir.Binary("<", ir.col("created"), ir.Param(cutoff)),
            ]
        )
        async with app.db.transaction() as tx:
            deleted += await tx.execute(ir.Delete(table, where))
    return deleted


def register(app: App) -> None:
    async def mfas() -> None:
        await delete_expired(app, refs.MFAS, mfa_duration)

    async def otps() -> None:
        await delete_expired(app, refs.OTPS, otp_duration)

    app.crons.add(MFA_CLEANUP_JOB, HOURLY, mfas)
    app.crons.add(OTP_CLEANUP_JOB, HOURLY, otps)
