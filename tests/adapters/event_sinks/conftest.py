"""Fixtures of the event sink suites: one backend per broker on the shared servers of this machine."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from rabbitmq_service import rabbitmq_url
from redis_service import redis_url
from sink_backends import Backend, jetstream_url, make_backend


@pytest.fixture(params=["nats", "amqp", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    server = {"nats": jetstream_url, "amqp": rabbitmq_url, "redis": redis_url}[request.param]()
    b = make_backend(request.param, server)
    yield b
    await b.cleanup()
