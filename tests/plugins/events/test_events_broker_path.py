"""The whole path to a real broker: records written through the API, the outbox, the dispatcher and
the Redis Streams sink built from its `--event-sink` URL, with the broker restarted mid-stream
(changes committed while it is down arrive after it is back, in order, none lost)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import redis.asyncio as aioredis

from satchel.wiring import event_sinks_from_urls
from tests.adapters.event_sinks.private_brokers import private_redis
from tests.plugins.events.conftest import FAST, start_env

STREAM = "satchel:test-records"


async def stream_titles(url: str) -> list[tuple[int, str]]:
    client = aioredis.Redis.from_url(url)
    try:
        entries = await client.xrange(STREAM)
    finally:
        await client.aclose()
    out = []
    for _, fields in entries:
        event = json.loads(fields[b"event"])
        if event["collectionName"] == "notes":
            out.append((int(fields[b"id"]), event["record"]["title"]))
    return out


async def test_a_broker_restart_mid_stream_loses_nothing(tmp_path: Path) -> None:
    broker = private_redis(tmp_path)
    broker.start()
    url = f"redis://127.0.0.1:{broker.port}/0"
    seen: list[tuple[int, str]] = []
    try:
        sinks = event_sinks_from_urls(f"{url}?stream={STREAM}&timeout=1")
        async with start_env(tmp_path / "pb_data", FAST, sinks) as env:
            for i in range(5):
                await env.create(f"before{i}")

            async def arrived(n: int) -> bool:
                seen[:] = await stream_titles(url)
                return len(seen) >= n

            for _ in range(300):
                if await arrived(5):
                    break
                await asyncio.sleep(0.05)
            await asyncio.to_thread(broker.stop)  # the broker goes away mid-stream
            for i in range(5):
                await env.create(f"down{i}")  # committed: the API does not depend on the broker
            channel = env.events.dispatcher.channels[sinks[0].name]
            for _ in range(200):  # the dispatcher tries, fails and backs off meanwhile
                if channel.failures >= 2:
                    break
                await asyncio.sleep(0.05)
            assert channel.failures >= 2, "the broker outage was not noticed"
            await asyncio.to_thread(broker.start)
            for i in range(5):
                await env.create(f"after{i}")
            for _ in range(400):
                if await arrived(15):
                    break
                await asyncio.sleep(0.05)
    finally:
        broker.stop()
    titles = [t for _, t in seen]
    assert titles == [f"{p}{i}" for p in ("before", "down", "after") for i in range(5)]
    ids = [i for i, _ in seen]
    assert ids == sorted(ids) and len(set(ids)) == 15
