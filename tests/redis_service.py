"""The Redis server the tests talk to (never a mock): its URL, or a skip that CI turns into a failure.

`SATCHEL_TEST_REDIS_URL` points elsewhere (default: database 15 on the local server, which the
tests share with nothing else). Every test namespaces its keys, so runs never see each other.
"""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlsplit

import redis.asyncio
from required_service import unavailable

REDIS_URL = os.environ.get("SATCHEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(url: str) -> str:
    """Why Redis cannot be used ("" when a PING is answered)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            s.sendall(b"PING\r\n")
            reply = s.recv(64)
    except OSError as exc:
        return f"Redis at {host}:{port} is unreachable ({exc})"
    if not reply.startswith((b"+PONG", b"-NOAUTH")):
        return f"Redis at {host}:{port} answered PING with {reply!r}"
    return ""


def redis_url() -> str:
    """The test Redis URL; skips locally when it is down, fails loudly under CI=true."""
    reason = _reachable(REDIS_URL)
    if reason:
        unavailable(reason, "set SATCHEL_TEST_REDIS_URL or start redis-server")
    return REDIS_URL


def unique_prefix() -> str:
    """A key prefix no other test (or earlier run) uses."""
    return f"satchel-test:{uuid.uuid4().hex}:"


async def drop_prefix(prefix: str) -> None:
    """Delete every key a test left under its prefix (keys set without a ttl would stay forever)."""
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
