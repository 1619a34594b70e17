"""Automatic backups on the `backups.cron` schedule, keeping the newest `backups.cronMaxKeep`.

On a server the schedule is PocketBase's `__pbAutoBackup__` job of the cron registry (`app.crons`):
its expression is read from the settings at every tick (they are editable live), the registry's
lease lets one process of the data directory or database run each due minute, and the API can
run it now. The lock file in the data directory still tells the CLI that a server is running here.
`tick` and `run` keep the stand-alone form (a lock-file leader, an injectable clock and sleep) so
the schedule can be tested without waiting for minutes.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from satchel.core.backups import names
from satchel.core.errors import BadRequestError
from satchel.ports.blobs import BlobError
from satchel.tools.cron import CronError, Schedule, every_minute
from satchel.tools.file_lock import FileLock

if TYPE_CHECKING:
    from satchel.core.app import App
    from satchel.core.backups.service import BackupsService

log = logging.getLogger("satchel.backups")

LOCK_FILE = ".autobackup.lock"
JOB_ID = "__pbAutoBackup__"


def utc_now() -> datetime:
    return datetime.now(UTC)


class AutoBackups:
    def __init__(
        self,
        app: App,
        service: BackupsService,
        *,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.app = app
        self.service = service
        self.clock = clock
        self.sleep = sleep
        self._lock = FileLock(app.config.data_dir / LOCK_FILE)
        self._last: datetime | None = None

    def server_running(self) -> bool:
        """Whether a server process (this one or another) is running on this data directory."""
        return self._lock.holder_note() is not None

    @property
    def leader(self) -> bool:
        """Whether this process is the one that runs automatic backups."""
        return self._lock.held

    def start(self) -> None:
        # taken at once, not at the first tick: it also tells the CLI that a server is running here
        self._lock.try_acquire(f"pid {os.getpid()}")
        self.app.crons.add(JOB_ID, self._expression, self.run_now)

    def _expression(self) -> str:
        cron: str = self.app.settings.current["backups"]["cron"]
        return cron

    async def stop(self) -> None:
        crons = getattr(self.app, "crons", None)
        if crons is not None:
            crons.remove(JOB_ID)
        self._lock.release()

    async def run(self) -> None:
        """Tick at every minute boundary, forever (stand-alone, without the registry)."""
        await every_minute(self.clock, self.sleep, self._tick_safely)

    async def _tick_safely(self, minute: datetime) -> None:
        try:
            await self.tick(minute)
        except Exception:  # one failed tick must not end the schedule
            log.exception("automatic backup tick failed")

    async def tick(self, minute: datetime) -> str | None:
        """Run the automatic backup if `minute` is due and this process leads; its name if it ran."""
        minute = minute.astimezone(UTC).replace(second=0, microsecond=0)
        if self._last is not None and minute <= self._last:
            return None
        self._last = minute
        if not self._lock.try_acquire(f"pid {os.getpid()}"):
            return None
        if self.app.stale():  # a sibling edited the schedule
            await self.app.sync()
        settings = self.app.settings.current
        try:
            due = bool(settings["backups"]["cron"]) and Schedule.parse(settings["backups"]["cron"]).is_due(minute)
        except CronError:
            return None  # stored before validation existed: nothing to run
        if not due:
            return None
        return await self._backup(minute)

    async def run_now(self) -> None:
        """The registry job (scheduled or run now): an automatic backup named for now, then retention."""
        if self.app.stale():
            await self.app.sync()
        await self._backup(self.clock().astimezone(UTC).replace(microsecond=0))

    async def _backup(self, minute: datetime) -> str:
        name = names.generate(self.app.settings.current["meta"]["appName"], names.AUTO_PREFIX, minute)
        try:
            await self.service.create_unchecked(name)
        except BadRequestError as exc:
            log.error("automatic backup %s failed: %s", name, exc.message)
        await self.prune()
        return name

    async def prune(self) -> list[str]:
        """Delete automatic backups beyond the newest `cronMaxKeep` (manual ones are never touched)."""
        keep = self.app.settings.current["backups"]["cronMaxKeep"]
        if keep <= 0:
            return []
        try:
            autos = [b for b in await self.service.list() if b.key.startswith(names.AUTO_PREFIX)]
        except BadRequestError as exc:
            log.error("cannot list automatic backups: %s", exc.message)
            return []
        autos.sort(key=lambda b: (b.modified, b.key), reverse=True)
        removed: list[str] = []
        for old in autos[keep:]:
            try:
                await self.service.store.delete(old.key)
            except BlobError as exc:
                log.error("cannot remove old automatic backup %s: %s", old.key, exc)
                continue
            removed.append(old.key)
        return removed
