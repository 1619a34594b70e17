"""Automatic backups on the `backups.cron` schedule, keeping the newest `backups.cronMaxKeep`.

Like PocketBase's cron, the loop wakes at the start of every minute (UTC) and runs the backup when
that minute is due; the settings are read at every tick since they are editable live. With several
worker processes only one may run it: the one holding a lock file in the data directory. The lock
is tried at every tick, so when its holder exits (or crashes: the kernel drops the lock) another
worker takes over within a minute. Clock and sleep are injectable so tests never wait for minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from satchel.core.backups import names
from satchel.core.errors import BadRequestError
from satchel.ports.blobs import BlobError
from satchel.tools.cron import CronError, Schedule
from satchel.tools.file_lock import FileLock

if TYPE_CHECKING:
    from satchel.core.app import App
    from satchel.core.backups.service import BackupsService

log = logging.getLogger("satchel.backups")

LOCK_FILE = ".autobackup.lock"


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
        self._task: asyncio.Task[None] | None = None
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
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="satchel-autobackup")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._lock.release()

    async def run(self) -> None:
        """Tick at every minute boundary, forever."""
        while True:
            now = self.clock()
            boundary = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
            while (now := self.clock()) < boundary:  # a timer may fire a little early
                await self.sleep((boundary - now).total_seconds())
            try:
                await self.tick(boundary)
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
        name = names.generate(settings["meta"]["appName"], names.AUTO_PREFIX, minute)
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
