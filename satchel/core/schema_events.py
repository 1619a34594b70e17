"""Keeping this process's copy of collections and settings in step with the database's.

Every request reads collections and settings, so each process keeps them in memory; the database
holds the truth and a version (in `_params`) that every change replaces. Other processes may
change them, and each way of hearing about it only marks the copy stale:

- a sibling on this machine bumps a shared-memory word (`ChangeSignal`), seen at the next request;
- a node elsewhere broadcasts "schema changed, version V" on the Broker (`heard`);
- a broadcast can be lost (broker outage, a node that joined late), so a timer also marks the
  copy stale every `POLL_INTERVAL` seconds, whatever was heard.

The next request (or realtime event) then compares versions and reloads only when they differ,
so a duplicate or late message costs one indexed read and nothing else; when nothing changed the
check is a flag and a shared-memory word, with no query (a timer rather than a clock read per
request: `stale` runs before every request).

Writes are the other half. A change built on a stale copy would overwrite another node's (an
update made from the former fields, settings merged into the former ones, DDL diffed against a
table that has moved on). So the changes of one process take turns (`run`), each starts from a
copy refreshed from the database, and its transaction claims the version it was built on
(`claim`): when another node committed in between, the transaction is undone and the change made
again on a reloaded copy. The claim locks the version row first, so concurrent schema changes on
several nodes are serialised by the database itself.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from satchel.core.collections.store import load_all
from satchel.core.errors import BadRequestError
from satchel.core.params import PARAMS_TABLE, VERSION_KEY, bump_version, put_param, read_version
from satchel.tools.change_signal import ChangeSignal
from satchel.tools.datetime import now_str
from satchel.tools.ids import random_string
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App
    from satchel.ports.database import Executor

log = logging.getLogger("satchel.schema")

T = TypeVar("T")

SCHEMA_SIGNAL = "schema.signal"
"""Shared-memory flag in the data directory, bumped whenever collections or settings change."""
POLL_INTERVAL = 5.0
"""Seconds between version reads whatever was heard: how long a lost broadcast can leave a node
behind. One primary-key read per interval per busy process; an idle one reads nothing."""
ATTEMPTS = 3
"""How many times a change is made again after finding that another node committed first."""
CONFLICT_MESSAGE = "The collections or settings were changed by another request at the same time. Try again."

Announcer = Callable[[str], Awaitable[None]]


class SchemaConflict(Exception):
    """The database's schema version is not the one the change was built on (never shown to clients)."""


class SchemaChanges:
    def __init__(self, app: App, *, poll_interval: float = POLL_INTERVAL) -> None:
        self.app = app
        self.version = ""
        """The database version the in-memory collections and settings reflect."""
        self.poll_interval = poll_interval
        self.announcers: list[Announcer] = []
        """Told the new version after each change committed here (the broker relay broadcasts it)."""
        self._stale = False
        self._reloading = False
        """A reload is under way: requests arriving meanwhile wait for it (`sync`) rather than going
        on with the copy it replaces (the flag above is cleared when the reload starts)."""
        self._signal_file: ChangeSignal | None = None
        self._signal = 0
        self._timer: asyncio.TimerHandle | None = None
        self._sync_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()
        self._writing: contextvars.ContextVar[bool] = contextvars.ContextVar(
            f"satchel_schema_{id(self)}", default=False
        )
        self._base = ""
        """The version the change being made (`run`) was built on; advances with each of its commits."""
        self._claimed: set[str] = set()
        """Versions claimed by transactions not committed yet (a second claim in one is a no-op)."""
        self._committed = False

    async def start(self) -> None:
        """Load the copy at a known version; join the siblings' signal when others may write."""
        await self._ensure_version()
        async with self._sync_lock:
            # the version first: collections loaded after it are at least that recent
            await self._load(await read_version(self.app.db.executor()))
        if self.app.config.shared_schema:
            self._signal_file = ChangeSignal(self.app.config.data_dir / SCHEMA_SIGNAL)
            self._signal = self._signal_file.read()
            self._arm()

    async def _ensure_version(self) -> None:
        """A database from before versions (or a fresh one) gets one, so every claim has a base."""
        if await read_version(self.app.db.executor()):
            return
        async with self.app.db.transaction() as tx:
            if not await read_version(tx):
                await bump_version(tx)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._signal_file is not None:
            self._signal_file.close()

    # ------------------------------------------------------------------ hearing of changes
    def stale(self) -> bool:
        """Whether the copy may be behind the database (checked before every request)."""
        if self._stale or self._reloading:
            return True
        signal = self._signal_file
        return signal is not None and signal.read() != self._signal

    def poll(self) -> None:
        """The periodic version read is due: a lost announcement is caught at the latest here."""
        self._stale = True
        self._arm()

    def _arm(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self.poll_interval, self.poll)

    def heard(self, version: str) -> None:
        """Another node committed `version` (a broadcast: possibly late, repeated or out of order)."""
        if version != self.version:
            self._stale = True

    async def sync(self) -> None:
        """Reload when `stale` says so and the database's version differs from the copy's."""
        async with self._sync_lock:
            if self.stale():  # another request may have reloaded while this one waited
                await self._refresh()

    async def refresh(self) -> None:
        """Compare with the database now, whatever was heard (before a change, or an unknown id)."""
        async with self._sync_lock:
            await self._refresh()

    async def _refresh(self) -> None:
        self._stale = False
        self._reloading = True
        if self._signal_file is not None:
            # our own bumps move the word too (on purpose: a sibling's bump may hide behind ours)
            self._signal = self._signal_file.read()
        try:
            version = await read_version(self.app.db.executor())
            if version != self.version:
                await self._reload(version)
        except BaseException:
            self._stale = True  # not seen yet: the next request tries again
            raise
        finally:
            self._reloading = False

    async def _load(self, version: str) -> None:
        collections = await load_all(self.app.db.executor(), self.app.secrets)
        await self.app.settings.load()
        self.app.collections.set_all(collections)  # a new registry version: compiled-rule caches expire
        self.version = version

    async def _reload(self, version: str) -> None:
        await self._load(version)
        for listener in self.app.sync_listeners:
            await listener()

    # ------------------------------------------------------------------ making changes
    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Make a change of collections or settings from a fresh copy, again if another node won.

        `work` reads the copy, and its transaction calls `claim`. A change made while making
        another (a hook, the views re-derived after a collection change) is part of it.
        """
        if self._writing.get():
            return await work()
        if self.app.db.executor().in_transaction:
            # inside a caller's transaction (a hook of a record write): not ours to undo and make
            # again, and waiting for the lock here could wait for a change that waits for this one
            try:
                return await work()
            except SchemaConflict as exc:
                raise BadRequestError(CONFLICT_MESSAGE) from exc
        async with self._write_lock:
            token = self._writing.set(True)
            try:
                return await self._attempts(work)
            finally:
                self._writing.reset(token)

    async def _attempts(self, work: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            await self.refresh()
            self._base = self.version
            self._committed = False
            try:
                return await work()
            except SchemaConflict as exc:
                if self._committed:  # part of it is in: making it again would apply that twice
                    await self.refresh()
                    raise BadRequestError(CONFLICT_MESSAGE) from exc
                log.info("schema changed by another node during a change (attempt %d): making it again", attempt)
            except BaseException:
                if self._committed:  # the copy may lack what was committed before the failure
                    await self.refresh()
                raise
        raise BadRequestError(CONFLICT_MESSAGE)

    async def claim(self, tx: Executor) -> str:
        """Take the schema version inside `tx`, which changes collections or settings; raises
        SchemaConflict when the database is no longer at the version the change was built on.

        The version row is written before it is read: on PostgreSQL that holds its lock until
        commit (a concurrent claim waits, then reads the winner's version); SQLite's write
        transactions hold the whole database already. Calls after the first in one transaction
        return the version it claimed.
        """
        in_run = self._writing.get()
        base = self._base if in_run else self.version
        current = await _lock_version(tx)
        if current in self._claimed:
            return current
        if current != base:
            raise SchemaConflict(f"version {current!r}, change built on {base!r}")
        version = random_string(16)
        await put_param(tx, VERSION_KEY, version)
        self._claimed.add(version)

        async def committed() -> None:
            self._claimed.discard(version)
            if in_run:  # the next transaction of the same change builds on this one
                self._base = version
                self._committed = True
            await self.changed(version)

        async def undone() -> None:
            self._claimed.discard(version)

        tx.on_commit(committed)
        tx.on_rollback(undone)
        return version

    async def changed(self, version: str) -> None:
        """A change to `version` was committed here: the copy is at it, and the others hear of it."""
        self.version = version
        if self._signal_file is not None:
            self._signal_file.bump()
        for announce in self.announcers:
            await announce(version)


async def _lock_version(tx: Executor) -> str:
    """The version row's value, read after writing the row (which takes its lock until commit)."""
    touched = await tx.execute(
        ir.Update(PARAMS_TABLE, {"updated": ir.Param(now_str())}, ir.eq(ir.col("id"), ir.Param(VERSION_KEY)))
    )
    return await read_version(tx) if touched else ""
