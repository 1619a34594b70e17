"""Scheduled jobs: PocketBase's cron registry (`app.crons`), ticking at every minute boundary.

Jobs are registered by id with an expression in PocketBase's cron grammar (`satchel.tools.cron`)
and an async function: built-in ones (`__pbLogsCleanup__`, `__pbAutoBackup__`) and any an
application adds from Python (`app.crons.add("nightly", "0 3 * * *", fn)`). An expression may be
given as a function read at every tick, for schedules that live in the editable settings; an empty
expression leaves the job unscheduled (and out of the list, as PocketBase removes it).

With several worker processes, or several nodes on one PostgreSQL database, every process ticks
but a due job runs in one only: before running, a process claims the (job, minute) pair in the
`_cronLeases` table of the auxiliary database with a conditional write, which exactly one claimer
wins. `run(id)` (the API's "run now") runs the job at once in the calling process, unclaimed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from satchel.core.errors import NotFoundError
from satchel.ports.database import Database, DatabaseError, IntegrityError
from satchel.tools.cron import CronError, Schedule, every_minute
from satchel.tools.datetime import format_dt
from satchel.tools.sql import ir

log = logging.getLogger("satchel.crons")

JobFn = Callable[[], Awaitable[None]]
Expression = str | Callable[[], str]
LEASES_TABLE = "_cronLeases"
INTERNAL_PREFIX = "__pb"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class CronJob:
    id: str
    expression_source: Expression
    fn: JobFn

    @property
    def expression(self) -> str:
        source = self.expression_source
        return source() if callable(source) else source

    def due(self, minute: datetime) -> bool:
        expression = self.expression
        if not expression:
            return False
        try:
            return Schedule.parse(expression).is_due(minute)
        except CronError:  # a dynamic expression stored before validation existed
            return False


class CronLease:
    """One claim per (job, minute) across every process sharing the auxiliary database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._ready = False

    async def bootstrap(self) -> None:
        """Create the table on first use (idempotent; a sibling creating it meanwhile is fine)."""
        if self._ready or await self.db.table_columns(LEASES_TABLE):
            self._ready = True
            return
        try:
            async with self.db.transaction() as tx:
                await tx.ddl(
                    ir.CreateTable(
                        LEASES_TABLE,
                        (ir.ColumnDef("id", "TEXT", primary_key=True), ir.ColumnDef("minute", "TEXT", default="")),
                    )
                )
        except DatabaseError:
            if not await self.db.table_columns(LEASES_TABLE):
                raise
        self._ready = True

    async def claim(self, job_id: str, minute: datetime) -> bool:
        """Whether this process won `minute` of `job_id` (the first claimer does, later ones do not)."""
        stamp = format_dt(minute)
        await self.bootstrap()
        try:
            async with self.db.transaction() as tx:
                moved = await tx.execute(
                    ir.Update(
                        LEASES_TABLE,
                        {"minute": ir.Param(stamp)},
                        ir.and_all(
                            [ir.eq(ir.col("id"), ir.Param(job_id)), ir.Binary("<", ir.col("minute"), ir.Param(stamp))]
                        ),
                    )
                )
                if moved:
                    return True
                if (
                    await tx.fetch_value(
                        ir.Select(
                            (ir.col("minute"),), ir.Table(LEASES_TABLE), where=ir.eq(ir.col("id"), ir.Param(job_id))
                        )
                    )
                    is not None
                ):
                    return False  # claimed for this minute (or a later one) already
                await tx.execute(ir.Insert(LEASES_TABLE, {"id": ir.Param(job_id), "minute": ir.Param(stamp)}))
                return True
        except IntegrityError:  # a sibling inserted the first claim at the same moment
            return False


class CronRegistry:
    def __init__(
        self,
        lease: CronLease | None = None,
        *,
        refresh: JobFn | None = None,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.lease = lease
        self.refresh = refresh
        """Run before each tick: schedules read from settings see a sibling's edit."""
        self.clock = clock
        self.sleep = sleep
        self._jobs: dict[str, CronJob] = {}
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ registry
    def add(self, job_id: str, expression: Expression, fn: JobFn) -> None:
        """Register (or replace) a job; a fixed expression is validated now (CronError)."""
        if not job_id:
            raise ValueError("a cron job needs an id")
        if isinstance(expression, str):
            Schedule.parse(expression)
        self._jobs[job_id] = CronJob(job_id, expression, fn)

    def remove(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)

    def get(self, job_id: str) -> CronJob | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.expression else None

    def jobs(self) -> list[CronJob]:
        """Scheduled jobs as PocketBase lists them: an application's by id, then the built-in ones."""
        scheduled = [j for j in self._jobs.values() if j.expression]
        own = sorted((j for j in scheduled if not j.id.startswith(INTERNAL_PREFIX)), key=lambda j: j.id)
        return own + [j for j in scheduled if j.id.startswith(INTERNAL_PREFIX)]

    # ------------------------------------------------------------------ running
    async def run(self, job_id: str) -> None:
        """Run a job now, whatever its schedule (404 when there is no such scheduled job)."""
        job = self.get(job_id)
        if job is None:
            raise NotFoundError("Missing or invalid cron job.")
        await self._call(job)

    def run_in_background(self, job_id: str) -> None:
        """`run`, without waiting for the job (the API answers before a long job ends, as PocketBase)."""
        job = self.get(job_id)
        if job is None:
            raise NotFoundError("Missing or invalid cron job.")
        task = asyncio.get_running_loop().create_task(self._call(job), name=f"satchel-cron-{job_id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def tick(self, minute: datetime) -> list[str]:
        """Run every job due at `minute` that this process wins; the ids that ran."""
        minute = minute.astimezone(UTC).replace(second=0, microsecond=0)
        ran: list[str] = []
        if self.refresh is not None:
            await self.refresh()
        for job in list(self._jobs.values()):
            if not job.due(minute):
                continue
            if self.lease is not None:
                try:
                    if not await self.lease.claim(job.id, minute):
                        continue
                except DatabaseError as exc:
                    log.warning("cron %s skipped: cannot claim it (%s)", job.id, exc)
                    continue
            await self._call(job)
            ran.append(job.id)
        return ran

    async def _call(self, job: CronJob) -> None:
        try:
            await job.fn()
        except Exception:  # one failing job must not end the schedule
            log.exception("cron job %s failed", job.id)

    def start(self) -> None:
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(every_minute(self.clock, self.sleep, self._tick_safely), name="satchel-crons")

    async def _tick_safely(self, minute: datetime) -> None:
        try:
            await self.tick(minute)
        except Exception:
            log.exception("cron tick failed")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._running) if t is not None]
        self._task = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
