"""In-process Cache: the default for a single process (nothing shared between workers or nodes).

With `satchel serve --workers N` every worker holds its own counters, so a rate-limit budget is
per worker; `redis://` shares one budget (see docs/rate-limits.md).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable

from satchel.ports.cache import CacheError, WindowCount

_SWEEP_EVERY = 1024
"""Writes between sweeps of expired keys (keeps memory bounded without a timer task)."""


def _check_ttl(ttl: float | None) -> None:
    if ttl is not None and ttl <= 0:
        raise ValueError(f"cache ttl must be positive or None, got {ttl!r}")


class MemoryCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """`clock` is injectable so tests can step a window's expiry exactly instead of sleeping."""
        self._now = clock
        self._values: dict[str, tuple[bytes, float]] = {}
        self._expiries: list[tuple[float, str]] = []
        self._writes = 0

    def _live(self, key: str) -> tuple[bytes, float] | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        if entry[1] and entry[1] <= self._now():
            del self._values[key]
            return None
        return entry

    def _put(self, key: str, value: bytes, ttl: float | None) -> None:
        expires = self._now() + ttl if ttl else 0.0
        self._values[key] = (value, expires)
        if expires:
            heapq.heappush(self._expiries, (expires, key))
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            self._sweep()

    def _sweep(self) -> None:
        now = self._now()
        while self._expiries and self._expiries[0][0] <= now:
            expires, key = heapq.heappop(self._expiries)
            entry = self._values.get(key)
            if entry is not None and entry[1] == expires:
                del self._values[key]

    async def get(self, key: str) -> bytes | None:
        entry = self._live(key)
        return None if entry is None else entry[0]

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        _check_ttl(ttl)
        self._put(key, value, ttl)

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        _check_ttl(ttl)
        if self._live(key) is not None:
            return False
        self._put(key, value, ttl)
        return True

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def hit(self, key: str, window: float, amount: int = 1) -> WindowCount:
        _check_ttl(window)
        now = self._now()
        entry = self._values.get(key)
        count = amount
        if entry is not None and (not entry[1] or entry[1] > now):
            try:
                count = int(entry[0]) + amount
            except ValueError as exc:  # Redis answers the same way: INCR on a non-integer value
                raise CacheError(f"value of {key!r} is not an integer") from exc
            if entry[1]:  # the common case: a live window goes on
                self._values[key] = (b"%d" % count, entry[1])
                return WindowCount(count, entry[1] - now)
        # new, expired, or a `set` without expiry: the window starts now, as Redis's hit does
        self._put(key, b"%d" % count, window)
        return WindowCount(count, self._values[key][1] - now)

    async def close(self) -> None:
        self._values.clear()
        self._expiries.clear()
