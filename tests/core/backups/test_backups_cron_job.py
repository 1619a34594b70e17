"""Automatic backups run as PocketBase's `__pbAutoBackup__` job of the cron registry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from satchel.testing import running_app


@pytest.mark.sqlite_only("backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)")
async def test_the_auto_backup_job_follows_the_settings_and_runs_now(tmp_path: Path) -> None:
    async with running_app(tmp_path / "d") as app:
        await app.backups.start()
        try:
            assert "__pbAutoBackup__" not in [j.id for j in app.crons.jobs()], "no schedule: no job"
            await app.settings.patch({"backups": {"cron": "0 2 * * *", "cronMaxKeep": 3}})
            jobs = {j.id: j.expression for j in app.crons.jobs()}
            assert jobs["__pbAutoBackup__"] == "0 2 * * *"
            ran = await app.crons.tick(datetime(2026, 1, 1, 2, 0, tzinfo=UTC))
            assert ran == ["__pbMFACleanup__", "__pbOTPCleanup__", "__pbAutoBackup__"]
            assert await app.crons.tick(datetime(2026, 1, 1, 2, 1, tzinfo=UTC)) == []
            scheduled = [b.key for b in await app.backups.list()]
            assert len(scheduled) == 1 and scheduled[0].startswith("@auto_pb_backup_acme_")
            await app.backups.delete(scheduled[0])
            await app.crons.run("__pbAutoBackup__")
            now = [b.key for b in await app.backups.list()]
            assert len(now) == 1 and now[0].startswith("@auto_pb_backup_acme_")
        finally:
            await app.backups.close()
        assert "__pbAutoBackup__" not in [j.id for j in app.crons.jobs()]
