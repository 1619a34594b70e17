"""The Cache port: short-lived shared state with expiry (rate-limit windows, resend guards, one-time flags).

Several nodes share one budget only if they share the backend, so everything that must hold across
processes (rate limits, "mail already sent" guards) goes through this port rather than a dict.
Values are bytes; keys are plain strings that callers namespace (`rl:`, `resend:`...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class CacheError(Exception):
    """The backend is unreachable or refused the command."""


@dataclass(slots=True)
class WindowCount:
    """The state of a fixed window after one more hit (not frozen: built on every rate-limited
    request, and a frozen dataclass costs four times as much to build)."""

    count: int
    """Hits in the current window, this one included."""
    reset_in: float
    """Seconds until the window (and its count) expires."""


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """`ttl` is seconds (> 0, else ValueError) or None for no expiry."""
        ...

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Set only if absent (atomically); True when this call set it."""
        ...

    async def delete(self, key: str) -> None: ...

    async def hit(self, key: str, window: float, amount: int = 1) -> WindowCount:
        """Count `amount` hits (>= 1) in the fixed window `key` (created with a `window`-second
        lifetime): one request that does the work of several is counted as several at once."""
        ...

    async def close(self) -> None: ...
