"""Request bodies that must keep arriving: a slow (or stalled) client gets PocketBase's 408.

One watcher per worker instead of one timer per read: `asyncio.timeout` around every `receive`
cost ~2-3 us per call (a Timeout object, a timer handle pushed on the loop's heap and cancelled),
paid by every create and update whose body arrives at once. Here a read costs a dict insert and
delete; a single timer, armed only while reads are pending, sweeps them every `interval` seconds
and cancels the tasks whose deadline passed. The cancellation surfaces in the read as
`RequestTimeoutError`, exactly as a timeout would, up to `interval` late.
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import Message, Receive

from satchel.core.errors import RequestTimeoutError

MAX_SWEEP_INTERVAL = 1.0


class ReadDeadlines:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.interval = min(MAX_SWEEP_INTERVAL, timeout / 4)
        self._reads: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._timer: asyncio.TimerHandle | None = None

    def wrap(self, receive: Receive) -> Receive:
        """`receive` that gives up on a body stalled for `timeout` (only until the body is complete:
        a streamed response waits on `receive` for the disconnect as long as it likes)."""
        complete = False
        reads, expired = self._reads, self._expired

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            task: asyncio.Task[object] | None = asyncio.current_task()
            if task is None:  # not inside a task (never the case under an ASGI server): no deadline
                return await receive()
            reads[task] = time.monotonic() + self.timeout
            if self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self.interval, self._sweep)
            try:
                message = await receive()
            except asyncio.CancelledError:
                if task not in expired:
                    raise
                expired.discard(task)
                task.uncancel()
                raise RequestTimeoutError() from None
            finally:
                reads.pop(task, None)
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        return timed_receive

    def _sweep(self) -> None:
        self._timer = None
        now = time.monotonic()
        for task, deadline in list(self._reads.items()):
            if deadline <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        if self._reads:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self._sweep)

    @property
    def pending(self) -> int:
        """Reads waiting now (for tests)."""
        return len(self._reads)
