"""The RabbitMQ server the tests talk to (never a mock): its URL, or a skip that CI turns into a failure.

`SATCHEL_TEST_AMQP_URL` points elsewhere (default: the local broker on 5672 as guest). Tests
isolate themselves with exchange and queue names of their own and delete them afterwards.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

from required_service import unavailable

AMQP_URL = os.environ.get("SATCHEL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _reachable(url: str) -> str:
    """Why RabbitMQ cannot be used ("" when it answers the AMQP 0-9-1 header with Connection.Start)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5672
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            s.sendall(b"AMQP\x00\x00\x09\x01")
            reply = s.recv(16)
    except OSError as exc:
        return f"RabbitMQ at {host}:{port} is unreachable ({exc})"
    if not reply.startswith(b"\x01\x00\x00"):  # a method frame on channel 0
        return f"RabbitMQ at {host}:{port} answered the AMQP header with {reply!r}"
    return ""


def rabbitmq_url() -> str:
    """The test AMQP URL; skips locally when the broker is down, fails loudly under CI=true."""
    reason = _reachable(AMQP_URL)
    if reason:
        unavailable(reason, "set SATCHEL_TEST_AMQP_URL or start rabbitmq-server")
    return AMQP_URL
