"""`amqps://` event sinks against a throwaway RabbitMQ node that only speaks TLS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tls_services import rabbitmq_tls
from transit_ca import TestCA

from satchel.adapters.event_sinks.rabbitmq import RabbitMqSink
from satchel.ports.event_sink import SinkError


@pytest.fixture(scope="module")
def amqp_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("amqp-ca"))


@pytest.fixture(scope="module")
def amqps_port(amqp_ca: TestCA) -> Iterator[int]:
    with rabbitmq_tls(amqp_ca.issue("rabbitmq")) as port:
        yield port


async def _start(url: str) -> None:
    sink = RabbitMqSink(url, name="transit", exchange="satchel.transit.test", timeout=10)
    try:
        await sink.start()
    finally:
        await sink.close()


async def test_a_private_ca_in_satchel_ca_file_is_trusted(
    amqps_port: int, amqp_ca: TestCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SATCHEL_CA_FILE", str(amqp_ca.ca_file))
    await _start(f"amqps://guest:guest@localhost:{amqps_port}/")


async def test_the_ca_in_the_url_is_trusted(amqps_port: int, amqp_ca: TestCA) -> None:
    await _start(f"amqps://guest:guest@localhost:{amqps_port}/?cafile={amqp_ca.ca_file}")


async def test_without_it_the_server_is_refused(amqps_port: int) -> None:
    with pytest.raises(SinkError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        await _start(f"amqps://guest:guest@localhost:{amqps_port}/")
