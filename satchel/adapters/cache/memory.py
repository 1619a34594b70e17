"""In-process Cache: the default for a single process (nothing shared between workers or nodes)."""

from __future__ import annotations

import heapq
import time

from satchel.ports.cache import WindowCount

_SWEEP_EVERY = 1024
"""Writes between sweeps of expired keys (keeps memory bounded without a timer task)."""


class MemoryCache:
    def __init__(self) -> None:
        self._values: dict[str, tuple[bytes, float]] = {}
        self._expiries: list[tuple[float, str]] = []
        self._writes = 0

    @staticmethod
    def _now() -> float:
        return time.monotonic()

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
        self._put(key, value, ttl)

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._put(key, value, ttl)
        return True

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def hit(self, key: str, window: float) -> WindowCount:
        entry = self._live(key)
        if entry is None:
            self._put(key, b"1", window)
            return WindowCount(1, window)
        count = int(entry[0]) + 1
        self._values[key] = (str(count).encode(), entry[1])
        return WindowCount(count, max(0.0, entry[1] - self._now()))

    async def close(self) -> None:
        self._values.clear()
        self._expiries.clear()
