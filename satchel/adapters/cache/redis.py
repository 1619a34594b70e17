"""Redis Cache: one budget shared by every worker and node that points at the same server.

A rate-limit hit is one round trip: a Lua script increments the counter and starts its window
(sets the expiry) only when the key has none, so concurrent hits from many nodes can neither
lose a count nor extend a window. PEXPIRE's NX flag would need Redis 7; the script's
"no expiry yet" test does the same on any Redis a managed service may run.

Every driver failure (refused, reset, timed out, wrong type) becomes `CacheError`; callers
decide whether to fail open.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from satchel.ports.cache import CacheError, WindowCount
from satchel.tools.tls_trust import redis_options

DEFAULT_PREFIX = "satchel:"
TIMEOUT = 2.0
"""Seconds to connect or answer before a command fails (a hung Redis must not hang requests)."""

_HIT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


def _ms(seconds: float) -> int:
    if seconds <= 0:
        raise ValueError(f"cache ttl must be positive or None, got {seconds!r}")
    return max(1, round(seconds * 1000))


class RedisCache:
    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        """`url` as redis-py reads it (`redis://[:password@]host:port/db`, `rediss://`, `unix://`);
        its query string may override the timeouts. Connects lazily, on the first command."""
        self._redis: Redis = Redis.from_url(
            url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT, **redis_options(url)
        )
        self._prefix = prefix
        self._hit = self._redis.register_script(_HIT)

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._redis.get(self._prefix + key)
        except (RedisError, OSError) as exc:
            raise CacheError(str(exc)) from exc
        return value.encode() if isinstance(value, str) else value  # str only with decode_responses

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        px = None if ttl is None else _ms(ttl)
        try:
            await self._redis.set(self._prefix + key, value, px=px)
        except (RedisError, OSError) as exc:
            raise CacheError(str(exc)) from exc

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        px = None if ttl is None else _ms(ttl)
        try:
            done = await self._redis.set(self._prefix + key, value, px=px, nx=True)
        except (RedisError, OSError) as exc:
            raise CacheError(str(exc)) from exc
        return bool(done)

    async def delete(self, key: str) -> None:
        try:
            await self._redis.delete(self._prefix + key)
        except (RedisError, OSError) as exc:
            raise CacheError(str(exc)) from exc

    async def hit(self, key: str, window: float, amount: int = 1) -> WindowCount:
        ms = _ms(window)
        try:
            count, ttl = await self._hit(keys=[self._prefix + key], args=[ms, amount])
        except (RedisError, OSError) as exc:
            raise CacheError(str(exc)) from exc
        return WindowCount(int(count), int(ttl) / 1000)

    async def close(self) -> None:
        try:
            await self._redis.aclose()
        except (RedisError, OSError) as exc:
            raise CacheError(str(exc)) from exc
