"""Public test helpers: an app factory, an in-process HTTP client and a hook recorder.

Used by Satchel's own tests and meant for applications that extend Satchel with hooks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2

from satchel.apis.server import create_app
from satchel.core.app import App
from satchel.core.auth.superusers import upsert_superuser
from satchel.testing import postgres
from satchel.tools.hooks import Hook
from satchel.wiring import open_app

SUPERUSER_EMAIL = "admin@example.com"
SUPERUSER_PASSWORD = "Admin12345!"  # noqa: S105 - a test fixture value


class HookRecorder:
    """Binds a pass-through handler to every hook and records which fired, in order."""

    def __init__(self, app: App) -> None:
        self.fired: list[str] = []
        for name in app.hooks.names():
            hook: Hook[Any] = getattr(app.hooks, name)
            hook.bind(self._handler(name), id=f"recorder:{name}")

    def _handler(self, name: str) -> Any:
        async def handler(e: Any) -> None:
            self.fired.append(name)
            await e.next()

        return handler

    def clear(self) -> None:
        self.fired.clear()


async def database_url_for(data_dir: Path) -> str:
    """The database a test app on `data_dir` uses: its SQLite file, or a PostgreSQL schema when
    `SATCHEL_TEST_DB=postgres` (see `satchel.testing.postgres`)."""
    return await postgres.database_url(data_dir) if postgres.enabled() else ""


@asynccontextmanager
async def running_app(
    data_dir: Path, *, encryption_key: bytes = b"", old_encryption_keys: tuple[bytes, ...] = ()
) -> AsyncIterator[App]:
    app = await open_app(
        data_dir,
        db_url=await database_url_for(data_dir),
        encryption_key=encryption_key,
        old_encryption_keys=old_encryption_keys,
    )
    try:
        yield app
    finally:
        await app.realtime.close()
        await app.close()


def client_for(app: App) -> httpx2.AsyncClient:
    """An HTTP client calling the ASGI app in-process (no sockets)."""
    transport = httpx2.ASGITransport(app=create_app(app))
    return httpx2.AsyncClient(transport=transport, base_url="http://satchel.test")


async def superuser_token(app: App, client: httpx2.AsyncClient) -> str:
    await upsert_superuser(app, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
    r = await client.post(
        "/api/collections/_superusers/auth-with-password",
        json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
    )
    r.raise_for_status()
    token: str = r.json()["token"]
    return token
