"""Shared fixtures: a bootstrapped app in a temp dir, an in-process client, a superuser token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from smtp_server import SmtpServer

from satchel.core.app import App
from satchel.testing import HookRecorder, client_for, running_app, superuser_token
from satchel.tools import passwords

# argon2's production cost makes every test that hashes a password slow; correctness does not
# depend on the cost, so tests use the cheapest valid parameters.
passwords.configure(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    async with running_app(tmp_path / "pb_data") as a:
        yield a


@pytest.fixture
async def client(app: App) -> AsyncIterator[httpx2.AsyncClient]:
    async with client_for(app) as c:
        yield c


@pytest.fixture
async def su_headers(app: App, client: httpx2.AsyncClient) -> dict[str, str]:
    return {"Authorization": await superuser_token(app, client)}


@pytest.fixture
def hooks(app: App) -> HookRecorder:
    return HookRecorder(app)


@pytest.fixture
async def smtp(app: App) -> AsyncIterator[SmtpServer]:
    """A real SMTP server on loopback, and the app's runtime settings pointing at it."""
    server = SmtpServer().start()
    await app.settings.patch({"smtp": server.settings()})
    try:
        yield server
    finally:
        server.stop()
