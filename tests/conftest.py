"""Shared fixtures: a bootstrapped app in a temp dir, an in-process client, a superuser token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest
from smtp_server import SmtpServer

from satchel.core.app import App
from satchel.testing import HookRecorder, client_for, running_app, superuser_token
from satchel.testing import postgres as pg_testing
from satchel.tools import passwords

# argon2's production cost makes every test that hashes a password slow; correctness does not
# depend on the cost, so tests use the cheapest valid parameters.
passwords.configure(time_cost=1, memory_cost=8, parallelism=1)


KNOWN_PG_FAILURES = Path(__file__).parent / "postgres_known_failures.txt"


def _known_pg_failures() -> dict[str, str]:
    """Test ids (as pytest prints them) expected to fail on PostgreSQL: `<test id> # <reason>` lines."""
    out: dict[str, str] = {}
    if KNOWN_PG_FAILURES.exists():
        for line in KNOWN_PG_FAILURES.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                test_id, _, reason = line.partition(" # ")
                out[test_id.strip()] = reason.strip() or "known PostgreSQL difference"
    return out


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass (SATCHEL_TEST_DB=postgres): skip SQLite-only tests, and expect the
    listed known failures to fail (strictly: a fixed one fails the run until it leaves the list)."""
    if not pg_testing.enabled():
        return
    known = _known_pg_failures()
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else "tests the SQLite file itself"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))
        elif item.nodeid in known:
            item.add_marker(pytest.mark.xfail(reason=known[item.nodeid], strict=True))


@pytest.fixture(autouse=True)
def _drop_postgres_schemas() -> Iterator[None]:
    """Each test's PostgreSQL schemas go when it ends (after its apps closed: autouse runs first)."""
    yield
    if pg_testing.enabled():
        asyncio.run(pg_testing.drop_schemas())


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
