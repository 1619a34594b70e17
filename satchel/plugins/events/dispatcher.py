"""Moves outbox events to the sinks: one process per deployment (the lease holder) at a time.

It wakes soon after a commit: at once for changes committed in this process, within
`SIGNAL_CHECK` seconds for a sibling worker's (a shared-memory word the writers bump), and within
`poll_interval` for another node's. Each sink's channel reads the events after its own cursor in
outbox order; events every current sink took are deleted once older than `retention`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx2

from satchel.plugins.events import outbox_store
from satchel.plugins.events.channels import Channel, WebhookChannel
from satchel.plugins.events.config import EventsConfig
from satchel.plugins.events.lease import Lease
from satchel.plugins.events.webhooks import store
from satchel.plugins.events.webhooks.sink import WebhookSink
from satchel.ports.event_sink import EventSink
from satchel.tools.change_signal import ChangeSignal
from satchel.tools.datetime import format_dt, now_str
from satchel.tools.tls_trust import httpx_verify

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.events")

SIGNAL_FILE = "outbox.signal"
SIGNAL_CHECK = 0.05
"""Seconds between two reads of the siblings' wake-up word (a memory read, no system call)."""
CLEANUP_INTERVAL = 30.0
CLOSE_GRACE = 2.0
"""Seconds a closing dispatcher waits for the cycle under way before cancelling it."""


def _ago(seconds: float) -> str:
    return format_dt(datetime.now(UTC) - timedelta(seconds=seconds))


class Dispatcher:
    def __init__(self, app: App, config: EventsConfig, sinks: list[EventSink], enabled: Callable[[], bool]) -> None:
        self.app = app
        self.config = config
        self.sinks = sinks
        self.enabled = enabled
        self.lease = Lease(app.db, config.lease_ttl)
        self._client: httpx2.AsyncClient | None = None
        self.channels: dict[str, Channel] = {}
        self._wake = asyncio.Event()
        self._lease_wake = asyncio.Event()
        self._signal: ChangeSignal | None = None
        self._seen = 0
        self._task: asyncio.Task[None] | None = None
        self._lease_task: asyncio.Task[None] | None = None
        self._next_cleanup = 0.0
        self._closing = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self.app.config.shared_schema:  # siblings may commit: they wake us through the word
            self._signal = ChangeSignal(self.app.config.data_dir / SIGNAL_FILE)
            self._seen = self._signal.read()
        self._task = asyncio.create_task(self._run(), name="satchel-events-dispatcher")
        self._lease_task = asyncio.create_task(self._keep_lease(), name="satchel-events-lease")

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        self._lease_wake.set()
        tasks = [t for t in (self._task, self._lease_task) if t is not None]
        if tasks:  # let a cycle finish its transaction; a slow receiver is cut short
            await asyncio.wait(tasks, timeout=CLOSE_GRACE)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self.lease.release()
        if self._client is not None:
            await self._client.aclose()
        signal, self._signal = self._signal, None  # a late commit's notify must not touch it
        if signal is not None:
            signal.close()

    @property
    def client(self) -> httpx2.AsyncClient:
        """Made with the first webhook: its TLS context costs a few MB that a process without
        webhooks need not pay."""
        if self._client is None:
            self._client = httpx2.AsyncClient(
                timeout=self.config.webhook_timeout, follow_redirects=False, verify=httpx_verify()
            )
        return self._client

    def kick(self) -> None:
        """Sinks appeared: compete for the lease now rather than at the next renewal."""
        self._lease_wake.set()

    def notify(self) -> None:
        """A transaction that wrote events committed in this process."""
        self._wake.set()
        if self._signal is not None:
            self._signal.bump()

    # ------------------------------------------------------------------ the loops
    async def _keep_lease(self) -> None:
        while not self._closing:
            if self.enabled():
                try:
                    was = self.lease.held()
                    if await self.lease.acquire() and not was:
                        log.info("event dispatcher: this process took the lease")
                        self.channels.clear()  # cursors may have moved under another holder
                        self._wake.set()
                except Exception:
                    log.exception("event dispatcher: lease renewal failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lease_wake.wait(), self.config.lease_ttl / 3)
            self._lease_wake.clear()

    async def _run(self) -> None:
        while not self._closing:
            try:
                wait = await self.cycle() if self.enabled() and self.lease.held() else self.config.poll_interval
            except Exception:
                log.exception("event dispatcher: cycle failed")
                wait = self.config.poll_interval
            await self._sleep(wait)

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        deadline = time.monotonic() + seconds
        while not self._wake.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self._signal is not None:
                word = self._signal.read()
                if word != self._seen:
                    self._seen = word
                    break
                left = min(left, SIGNAL_CHECK)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), left)
        self._wake.clear()

    async def cycle(self) -> float:
        """One pass over every channel; returns how long to sleep (0: there is more to do)."""
        channels = await self._current_channels()
        reader = self.app.db.executor()
        stored = await outbox_store.cursors(reader)
        if any(stored.get(c.name) != c.cursor for c in channels):
            # only the lease holder moves cursors, and it saves each move at once: a difference means
            # the database changed under it (a restored backup): take the cursors it holds now
            log.warning("event dispatcher: the stored cursors changed; reloading them")
            self.channels.clear()
            channels = await self._current_channels()
        now = time.monotonic()
        progressed = False
        wait = self.config.poll_interval
        for channel in channels:
            if channel.due > now:
                wait = min(wait, channel.due - now)
                continue
            events = await outbox_store.after(reader, channel.cursor, self.config.batch_size)
            if events and await channel.step(self.app.db, self.config, events):
                progressed = True
            if channel.due > now:
                wait = min(wait, channel.due - time.monotonic())
        if time.monotonic() >= self._next_cleanup:
            await self._cleanup(channels)
        return 0.0 if progressed else max(wait, 0.0)

    async def _current_channels(self) -> list[Channel]:
        """The boot sinks and the active webhooks, keeping each known channel's state."""
        ex = self.app.db.executor()
        wanted: dict[str, EventSink] = {s.name: s for s in self.sinks}
        for hook in await store.all_webhooks(ex, self.app.keys):
            if hook.active:
                wanted[hook.sink_name] = WebhookSink(hook, self.client)
        for name in list(self.channels):
            if name not in wanted:
                del self.channels[name]
        out: list[Channel] = []
        for name, sink in wanted.items():
            channel = self.channels.get(name)
            if channel is None:
                cursor = await outbox_store.get_cursor(ex, name)
                if cursor is None:
                    cursor = await outbox_store.head(ex)
                    async with self.app.db.transaction() as tx:
                        await outbox_store.set_cursor(tx, name, cursor, now_str())
                kind = WebhookChannel if isinstance(sink, WebhookSink) else Channel
                channel = self.channels[name] = kind(sink, cursor)
            elif isinstance(sink, WebhookSink):
                channel.sink = sink  # the webhook may have been edited (url, filter, secret)
            out.append(channel)
        return out

    async def _cleanup(self, channels: list[Channel]) -> None:
        self._next_cleanup = time.monotonic() + min(CLEANUP_INTERVAL, max(self.config.retention, 0.05))
        async with self.app.db.transaction() as tx:
            taken = min((c.cursor for c in channels), default=await outbox_store.head(tx))
            await outbox_store.delete_taken(tx, taken, _ago(self.config.retention))
            await store.delete_attempts_before(tx, _ago(self.config.attempt_retention))
