"""`tls://` NATS URLs for the realtime broker against a real nats-server requiring TLS."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tls_services import nats_tls
from transit_ca import Leaf, TestCA

from satchel.adapters.broker.nats import NatsBroker
from satchel.ports.broker import BrokerError

VERIFY_FAILED = r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"


async def _start(url: str, node: str, got: asyncio.Queue[bytes] | None = None) -> NatsBroker:
    broker = NatsBroker(url, prefix="transit")
    await broker.start(node, (got.put_nowait if got is not None else lambda _data: None))
    return broker


@pytest.mark.parametrize("scheme", ["tls", "nats"])  # nats://: the server's INFO demands TLS, same checks
async def test_broker_over_tls_with_satchel_ca_file(leaf: Leaf, trust_ca: Path, tmp_path: Path, scheme: str) -> None:
    with nats_tls(leaf, tmp_path) as port:
        url = f"{scheme}://127.0.0.1:{port}"
        got: asyncio.Queue[bytes] = asyncio.Queue()
        receiver = await _start(url, "node-b", got)
        sender = await _start(url, "node-a")
        try:
            await sender.send("node-b", b"over tls")
            assert await asyncio.wait_for(got.get(), 10) == b"over tls"
        finally:
            await sender.close()
            await receiver.close()


async def test_an_untrusted_certificate_is_refused(leaf: Leaf, tmp_path: Path) -> None:
    with nats_tls(leaf, tmp_path) as port, pytest.raises(BrokerError, match=VERIFY_FAILED):
        await _start(f"tls://127.0.0.1:{port}", "node-a")


async def test_a_certificate_from_an_unknown_ca_is_refused(stranger: TestCA, trust_ca: Path, tmp_path: Path) -> None:
    with nats_tls(stranger.issue("nats-stranger"), tmp_path) as port, pytest.raises(BrokerError, match=VERIFY_FAILED):
        await _start(f"tls://127.0.0.1:{port}", "node-a")
