"""The NATS server the tests talk to (never a mock): its URL, or a skip that CI turns into a failure.

`SATCHEL_TEST_NATS_URL` points elsewhere (default: the local server on 4222). Tests isolate
themselves with subject prefixes of their own.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

from required_service import unavailable

NATS_URL = os.environ.get("SATCHEL_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _reachable(url: str) -> str:
    """Why NATS cannot be used ("" when the server greets with INFO)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 4222
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            greeting = s.recv(16)
    except OSError as exc:
        return f"NATS at {host}:{port} is unreachable ({exc})"
    if not greeting.startswith(b"INFO"):
        return f"NATS at {host}:{port} greeted with {greeting!r}"
    return ""


def nats_url() -> str:
    """The test NATS URL; skips locally when it is down, fails loudly under CI=true."""
    reason = _reachable(NATS_URL)
    if reason:
        unavailable(reason, "set SATCHEL_TEST_NATS_URL or start nats-server")
    return NATS_URL
