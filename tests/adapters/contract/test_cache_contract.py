"""The Cache port's contract, run against every backend: in-process memory and a real Redis.

Windows expire for real: the memory backend's clock is stepped past the window, the Redis test
waits out a short window. Each test gets its own key namespace on the shared Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from redis_service import drop_prefix, redis_url, unique_prefix

from satchel.adapters.cache.memory import MemoryCache
from satchel.adapters.cache.redis import RedisCache
from satchel.ports.cache import Cache, CacheError

WINDOW = 0.25
"""Seconds; short so Redis expiries are waited out quickly, and a binary fraction so the stepped
memory clock is exact."""


@dataclass
class Backend:
    cache: Cache
    advance: Callable[[float], Awaitable[None]]
    """Let `seconds` pass for this backend (a clock step, or a real wait for Redis)."""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        clock = Clock()

        async def step(seconds: float) -> None:
            clock.now += seconds

        cache: Cache = MemoryCache(clock=clock)
        yield Backend(cache, step)
    else:
        prefix = unique_prefix()
        cache = RedisCache(redis_url(), prefix=prefix)
        yield Backend(cache, asyncio.sleep)
        await drop_prefix(prefix)
    await cache.close()


async def test_set_get_delete(backend: Backend) -> None:
    c = backend.cache
    assert await c.get("k") is None
    await c.set("k", b"\x00value\xff")
    assert await c.get("k") == b"\x00value\xff"
    await c.set("k", b"other")
    assert await c.get("k") == b"other"
    await c.delete("k")
    assert await c.get("k") is None
    await c.delete("never-set")  # deleting a missing key is not an error


async def test_ttl_expires_and_none_keeps(backend: Backend) -> None:
    c = backend.cache
    await c.set("short", b"1", ttl=WINDOW)
    await c.set("forever", b"2")
    assert await c.get("short") == b"1"
    await backend.advance(WINDOW * 1.5)
    assert await c.get("short") is None
    assert await c.get("forever") == b"2"


async def test_add_only_when_absent(backend: Backend) -> None:
    c = backend.cache
    assert await c.add("guard", b"first", ttl=WINDOW) is True
    assert await c.add("guard", b"second", ttl=WINDOW) is False
    assert await c.get("guard") == b"first"
    await backend.advance(WINDOW * 1.5)
    assert await c.add("guard", b"third", ttl=WINDOW) is True
    assert await c.get("guard") == b"third"


async def test_add_is_atomic_under_concurrency(backend: Backend) -> None:
    results = await asyncio.gather(*(backend.cache.add("once", str(i).encode(), ttl=60) for i in range(20)))
    assert results.count(True) == 1


async def test_hit_counts_in_a_fixed_window(backend: Backend) -> None:
    c = backend.cache
    first = await c.hit("rl", WINDOW)
    assert first.count == 1 and 0 < first.reset_in <= WINDOW
    second = await c.hit("rl", WINDOW)
    # the window started at the first hit: later hits neither extend nor restart it
    assert second.count == 2 and 0 < second.reset_in <= first.reset_in
    assert await c.get("rl") == b"2"  # the count is readable as an ASCII integer
    assert (await c.hit("other", WINDOW)).count == 1  # keys count independently
    await backend.advance(WINDOW * 1.5)
    again = await c.hit("rl", WINDOW)
    assert again.count == 1 and 0 < again.reset_in <= WINDOW


async def test_hit_counts_an_amount_at_once(backend: Backend) -> None:
    c = backend.cache
    first = await c.hit("many", WINDOW, 3)
    assert first.count == 3 and 0 < first.reset_in <= WINDOW
    assert (await c.hit("many", WINDOW)).count == 4
    assert (await c.hit("many", WINDOW, 5)).count == 9
    assert await c.get("many") == b"9"
    await backend.advance(WINDOW * 1.5)
    assert (await c.hit("many", WINDOW, 2)).count == 2  # a new window starts at the amount


async def test_hit_is_atomic_under_concurrency(backend: Backend) -> None:
    counts = await asyncio.gather(*(backend.cache.hit("burst", 60) for _ in range(50)))
    assert sorted(w.count for w in counts) == list(range(1, 51))


async def test_hit_starts_a_window_on_a_key_without_expiry(backend: Backend) -> None:
    c = backend.cache
    await c.set("plain", b"5")
    w = await c.hit("plain", WINDOW)
    assert w.count == 6 and 0 < w.reset_in <= WINDOW
    await backend.advance(WINDOW * 1.5)
    assert await c.get("plain") is None


async def test_hit_on_a_non_integer_value_is_a_cache_error(backend: Backend) -> None:
    await backend.cache.set("text", b"not a number")
    with pytest.raises(CacheError):
        await backend.cache.hit("text", WINDOW)


async def test_non_positive_ttls_are_rejected(backend: Backend) -> None:
    c = backend.cache
    for call in (c.set("k", b"v", ttl=0), c.add("k", b"v", ttl=-1), c.hit("k", 0)):
        with pytest.raises(ValueError, match="ttl must be positive"):
            await call
    assert await c.get("k") is None


def test_memory_window_is_exact_with_an_injected_clock() -> None:
    clock = Clock()
    cache = MemoryCache(clock=clock)

    async def run() -> None:
        assert (await cache.hit("k", 10)).reset_in == 10
        clock.now += 4
        assert (await cache.hit("k", 10)).reset_in == 6
        clock.now += 5.999
        assert (await cache.hit("k", 10)).count == 3
        clock.now += 0.001  # exactly at the end of the window: a new one starts
        assert (await cache.hit("k", 10)).count == 1

    asyncio.run(run())


async def test_redis_nodes_with_one_prefix_share_counters() -> None:
    url, prefix = redis_url(), unique_prefix()
    node_a, node_b, elsewhere = RedisCache(url, prefix=prefix), RedisCache(url, prefix=prefix), RedisCache(url)
    try:
        assert (await node_a.hit("shared", 60)).count == 1
        assert (await node_b.hit("shared", 60)).count == 2
        await node_b.set("flag", b"x")
        assert await node_a.get("flag") == b"x"
        assert await elsewhere.get("flag") is None  # another prefix is another namespace
    finally:
        await drop_prefix(prefix)
        for c in (node_a, node_b, elsewhere):
            await c.close()


async def test_unreachable_redis_raises_cache_error() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        for call in (cache.get("k"), cache.set("k", b"v"), cache.add("k", b"v"), cache.delete("k"), cache.hit("k", 1)):
            with pytest.raises(CacheError):
                await call
    finally:
        await cache.close()
