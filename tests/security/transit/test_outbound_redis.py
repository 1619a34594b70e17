"""`rediss://` for the cache and the realtime broker against a real TLS-only redis-server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tls_services import redis_tls
from transit_ca import Leaf, TestCA

from satchel.adapters.broker.redis import RedisBroker
from satchel.adapters.cache.redis import RedisCache
from satchel.ports.broker import BrokerError
from satchel.ports.cache import CacheError

VERIFY_FAILED = r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"


async def _roundtrip(url: str) -> bytes | None:
    cache = RedisCache(url)
    try:
        await cache.set("transit", b"sealed")
        return await cache.get("transit")
    finally:
        await cache.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_cache_over_rediss_with_satchel_ca_file(
    leaf: Leaf, ca: TestCA, trust_ca: Path, tmp_path: Path, host: str
) -> None:
    with redis_tls(leaf, ca.ca_file, tmp_path) as port:
        assert await _roundtrip(f"rediss://{host}:{port}/0") == b"sealed"


async def test_cache_over_rediss_with_the_ca_in_the_url(leaf: Leaf, ca: TestCA, tmp_path: Path) -> None:
    with redis_tls(leaf, ca.ca_file, tmp_path) as port:
        assert await _roundtrip(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={ca.ca_file}") == b"sealed"


async def test_an_untrusted_certificate_is_refused(leaf: Leaf, ca: TestCA, tmp_path: Path) -> None:
    with redis_tls(leaf, ca.ca_file, tmp_path) as port, pytest.raises(CacheError, match=VERIFY_FAILED):
        await _roundtrip(f"rediss://127.0.0.1:{port}/0")


async def test_a_certificate_for_another_host_is_refused(ca: TestCA, trust_ca: Path, tmp_path: Path) -> None:
    other = ca.issue("redis-elsewhere", ("cache.example.org",))
    with (
        redis_tls(other, ca.ca_file, tmp_path) as port,
        pytest.raises(CacheError, match=r"IP address mismatch|[Hh]ostname mismatch|doesn.t match"),
    ):
        await _roundtrip(f"rediss://127.0.0.1:{port}/0")


async def test_realtime_broker_over_rediss(leaf: Leaf, ca: TestCA, trust_ca: Path, tmp_path: Path) -> None:
    with redis_tls(leaf, ca.ca_file, tmp_path) as port:
        url = f"rediss://127.0.0.1:{port}/0"
        sender, receiver = RedisBroker(url), RedisBroker(url)
        got: asyncio.Queue[bytes] = asyncio.Queue()
        try:
            await receiver.start("node-b", got.put_nowait)
            await sender.start("node-a", lambda _data: None)
            await sender.send("node-b", b"over tls")
            assert await asyncio.wait_for(got.get(), 10) == b"over tls"
        finally:
            await sender.close()
            await receiver.close()


async def test_realtime_broker_refuses_an_untrusted_server(leaf: Leaf, ca: TestCA, tmp_path: Path) -> None:
    with redis_tls(leaf, ca.ca_file, tmp_path) as port:
        broker = RedisBroker(f"rediss://127.0.0.1:{port}/0")
        try:
            with pytest.raises(BrokerError, match=VERIFY_FAILED):
                await broker.start("node-a", lambda _data: None)
        finally:
            await broker.close()
