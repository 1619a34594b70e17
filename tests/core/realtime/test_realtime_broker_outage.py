"""A broker outage in the middle of a run: local delivery goes on, the log says it once, delivery resumes.

Uses a throwaway redis-server of its own (stopped and started again by the test), not the shared one.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from required_service import unavailable

from satchel.adapters.broker.redis import RedisBroker
from satchel.core.app import App
from satchel.core.realtime.relay import BrokerTransport
from satchel.core.realtime.subscriptions import Client
from satchel.ports.broker import BrokerError
from satchel.testing import postgres as pg_testing
from satchel.wiring import build_app
from tests.apis.test_api_realtime import free_port

pytestmark = pytest.mark.skipif(pg_testing.enabled(), reason="always on SQLite: run once, in the default pass")


class Redis:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server is not installed", "apt-get install redis-server")
        self.binary = str(binary)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        cmd = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def redis_server() -> Iterator[Redis]:
    server = Redis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def apps(tmp_path: Path, redis_server: Redis) -> AsyncIterator[tuple[App, App]]:
    started: list[App] = []
    for _ in range(2):
        app = build_app(tmp_path / "pb_data", broker=RedisBroker(redis_server.url))
        await app.bootstrap()
        for _ in range(50):  # redis-server takes a moment to listen
            try:
                await app.realtime.open()
                break
            except BrokerError:
                await asyncio.sleep(0.1)
        started.append(app)
    yield started[0], started[1]
    for app in started:
        await app.realtime.close()
        await app.close()


def listener(app: App) -> Client:
    client = app.realtime.connect("127.0.0.1")
    app.realtime.subscribe(client, ["chat"], None)
    return client


async def heard(client: Client, sender: App, text: str, attempts: int = 100) -> bool:
    """Send `text` until `client` gets it (a reconnecting subscriber may miss the first ones)."""
    for _ in range(attempts):
        await sender.realtime.send_custom("chat", {"text": text})
        await asyncio.sleep(0.05)
        while not client.queue.empty():
            item = client.queue.get_nowait()
            if item is not None and text.encode() in item.data:
                return True
    return False


async def test_local_delivery_survives_an_outage_and_crossing_resumes(
    apps: tuple[App, App], redis_server: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = apps
    local, remote = listener(a), listener(b)
    assert await heard(remote, a, "before")

    redis_server.stop()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="satchel.realtime"):
        for i in range(3):
            await a.realtime.send_custom("chat", {"text": f"during {i}"})
        transport = a.realtime.transport
        assert isinstance(transport, BrokerTransport)
        await transport.drain()
    texts = []
    while not local.queue.empty():
        item = local.queue.get_nowait()
        assert item is not None
        texts.append(item.data)
    assert texts[-3:] == [b'{"text":"during 0"}', b'{"text":"during 1"}', b'{"text":"during 2"}']
    outage_lines = [r for r in caplog.records if "not reaching the other nodes" in r.getMessage()]
    assert len(outage_lines) == 1

    redis_server.start()
    assert await heard(remote, a, "after")
