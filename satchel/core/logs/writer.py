"""Buffered writes of log entries: nothing touches the database on the request path.

`add` only appends to a list (and arms a timer the first time); `defer` appends something the flush
turns into an entry (`render`): a request's log costs the request path one append, and the entry,
its id, its JSON and its timestamp text are built with the batch. Entries reach `_logs` in one short
transaction per batch, one second after the first buffered entry or as soon as `BATCH_SIZE` are
waiting, on the event loop of the process that produced them. Several worker processes write the
same auxiliary SQLite file: each batch is one short transaction and the adapter's busy handling
queues it behind a sibling's. A failed batch is reported on stderr (never through the logging
handler that feeds this buffer) and dropped: logs must not take the server down with them.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import orjson

from satchel.core.logs.model import LOGS_TABLE
from satchel.ports.database import Database, DatabaseError
from satchel.tools.cheap_ids import ProcessIds, SecondCache
from satchel.tools.sql import ir

FLUSH_INTERVAL_S = 1.0
BATCH_SIZE = 1000
MAX_BUFFERED = 20_000
"""Entries kept while the database is unreachable; older ones are dropped beyond this."""
ID_LENGTH = 15
_IDS = ProcessIds(ID_LENGTH)
"""PocketBase-shaped ids (15 of [a-z0-9]), unique across worker processes and nodes."""
_CREATED = SecondCache("%Y-%m-%d %H:%M:%S", "Z")
"""PocketBase's datetime text (`2026-01-02 10:15:00.123Z`)."""

INSERT = ir.Insert(
    LOGS_TABLE, {name: ir.Slot(i) for i, name in enumerate(("id", "created", "level", "message", "data"))}
)
Entry = tuple[str, str, int, str, str]
"""id, created, level, message, data (JSON text)."""
Item = TypeVar("Item")
Render = Callable[[Item], "tuple[int, str, dict[str, Any], float] | None"]
"""What the flush makes of a deferred item: (level, message, data, created as `time.time()`), or
None when it is not kept after all."""


class LogWriter(Generic[Item]):
    def __init__(
        self,
        db: Database,
        *,
        interval: float = FLUSH_INTERVAL_S,
        batch_size: int = BATCH_SIZE,
        render: Render[Item] | None = None,
    ) -> None:
        self.db = db
        self.render = render
        self._deferred: list[Item] = []
        self.interval = interval
        self.batch_size = batch_size
        self._buffer: list[Entry] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None
        self.dropped = 0
        self._closed = False
        self.on_error: Callable[[str], None] = _stderr

    def add(self, level: int, message: str, data: dict[str, Any], created: str = "") -> str:
        """Buffer one entry (thread-safe: the logging handler may call it from any thread); its id."""
        entry_id = _IDS.next()
        if self._closed:  # a record logged during shutdown, after the last batch: not kept
            return entry_id
        created = created or _CREATED.format(time.time())
        self._buffer.append((entry_id, created, level, message, orjson.dumps(data, default=str).decode()))
        if len(self._buffer) > MAX_BUFFERED:
            del self._buffer[: len(self._buffer) - MAX_BUFFERED]
            self.dropped += 1
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another thread: the loop that flushes will pick the entry up
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._arm, self._loop)
            return entry_id
        self._arm(loop)
        return entry_id

    def defer(self, item: Item) -> None:
        """Buffer `item` for `render` at the next flush (event loop thread only)."""
        deferred = self._deferred
        deferred.append(item)
        n = len(deferred)
        if n == 1 or n == self.batch_size:  # the first arms the timer, a full batch starts the write
            self._arm(asyncio.get_running_loop())
        elif n > MAX_BUFFERED:
            del deferred[0]
            self.dropped += 1

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        if self._flushing is not None:
            return
        if self.pending >= self.batch_size:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._start()
        elif self._timer is None:
            self._timer = loop.call_later(self.interval, self._start)

    def _start(self) -> None:
        self._timer = None
        if self._flushing is None and self._loop is not None:
            self._flushing = self._loop.create_task(self._flush_then_rearm(), name="satchel-logs-flush")

    async def _flush_then_rearm(self) -> None:
        try:
            await self.flush()
        finally:
            self._flushing = None
            if self.pending and self._loop is not None:
                self._arm(self._loop)

    @property
    def pending(self) -> int:
        return len(self._buffer) + len(self._deferred)

    @property
    def idle(self) -> bool:
        """Nothing buffered and no batch being written."""
        return not self.pending and self._flushing is None

    async def flush(self) -> int:
        """Write everything buffered now; how many entries were written."""
        written = 0
        while self.pending:
            # swapped, not sliced: an entry appended by another thread meanwhile lands in one list or the other
            pending, self._buffer = self._buffer, []
            if self._deferred:
                deferred, self._deferred = self._deferred, []
                pending.extend(self._rendered(deferred))
            for start in range(0, len(pending), self.batch_size):
                batch = pending[start : start + self.batch_size]
                if not await self._write(batch):
                    return written
                written += len(batch)
        return written

    def _rendered(self, items: list[Item]) -> list[Entry]:
        render = self.render
        if render is None:
            raise RuntimeError("LogWriter.defer needs a render function")
        entries: list[Entry] = []
        ids, created_text, dumps = _IDS.next, _CREATED.format, orjson.dumps
        failed: Exception | None = None
        for item in items:
            try:  # a bug in rendering one entry must not lose the others (try costs nothing when nothing raises)
                made = render(item)
                if made is not None:
                    level, message, data, created = made
                    entries.append((ids(), created_text(created), level, message, dumps(data, default=str).decode()))
            except Exception as exc:
                failed = exc
                self.dropped += 1
        if failed is not None:
            self.on_error(f"satchel: log entries could not be rendered: {failed!r}")
        return entries

    async def _write(self, batch: list[Entry]) -> bool:
        if not batch:
            return True
        try:
            async with self.db.transaction() as tx:
                await tx.execute_many(INSERT, batch)
        except (DatabaseError, OSError) as exc:
            self.dropped += len(batch)
            self.on_error(f"satchel: {len(batch)} log entries could not be written: {exc}")
            return False
        return True

    async def close(self) -> None:
        """Write what is left (server shutdown); later entries are not kept."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        task = self._flushing
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        await self.flush()
        self._closed = True


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
