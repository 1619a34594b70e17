"""A fresh PostgreSQL database per Satchel under test, and the backend processes that serve it.

Each run gets its own database (created from template0 with the C collation, as docs/deploy.md asks
of production setups) and drops it afterwards, so a run never reads another run's rows or query
plans and leaves nothing behind. PostgreSQL works in processes of its own: their CPU and memory are
real costs of Satchel's requests, so `backend_pids` finds the backends connected to the benchmark's
database (from their process titles, no query needed) for the harness to measure beside Satchel.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # Satchel's own PostgreSQL driver: installed wherever `--db postgres` can work

from bench.servers import ServerError

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
ADMIN_URL_ENV = "BENCH_PG_URL"
NAME_PREFIX = "satchel_bench_"
SETTINGS = ("server_version", "fsync", "synchronous_commit", "shared_buffers", "max_connections", "jit")
_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_VALUE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
CONNECT_TIMEOUT_S = 10.0


def admin_url() -> str:
    """The URL the harness connects with to create and drop databases (env BENCH_PG_URL)."""
    return os.environ.get(ADMIN_URL_ENV, DEFAULT_ADMIN_URL)


def redact(url: str) -> str:
    """The URL without its password: figures and errors are shared, credentials are not."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def fresh_name() -> str:
    return f"{NAME_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"


def _quoted(name: str) -> str:
    if not _NAME_RE.match(name):
        raise ValueError(f"unexpected database name {name!r}")
    return f'"{name}"'


async def _connect(url: str) -> Any:
    try:
        return await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise ServerError(
            f"PostgreSQL at {redact(url)} is not usable ({type(exc).__name__}: {exc}); "
            f"set {ADMIN_URL_ENV} to a superuser URL"
        ) from exc


def parse_setting(text: str) -> tuple[str, str]:
    """`KEY=VALUE` of `--pg-set`, checked because ALTER DATABASE ... SET takes no parameters."""
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not _NAME_RE.match(key) or not _VALUE_RE.match(value):
        raise ValueError(f"--pg-set expects KEY=VALUE (a setting name and a plain value), got {text!r}")
    return key, value


async def _create(admin: str, name: str, overrides: Sequence[tuple[str, str]]) -> dict[str, str]:
    conn = await _connect(admin)
    try:
        await conn.execute(f"CREATE DATABASE {_quoted(name)} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'")
        try:
            for key, value in overrides:
                parse_setting(f"{key}={value}")
                await conn.execute(f"ALTER DATABASE {_quoted(name)} SET {key} = '{value}'")
        except asyncpg.PostgresError as exc:
            await conn.execute(f"DROP DATABASE {_quoted(name)}")
            raise ServerError(f"--pg-set refused by PostgreSQL: {exc}") from exc
        keys = [*SETTINGS, *(k for k, _ in overrides if k not in SETTINGS)]
        rows = await conn.fetch("SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1::text[])", keys)
    finally:
        await conn.close()
    settings = {r["name"]: r["setting"] + (f" ({r['unit']})" if r["unit"] else "") for r in rows}
    # pg_settings shows the server's values; the database's own override is what Satchel's sessions get
    settings.update({key: f"{value} (set on this database)" for key, value in overrides})
    return settings


async def _drop(admin: str, name: str) -> None:
    conn = await _connect(admin)
    try:
        # FORCE: a node killed mid-request may leave a backend behind for a moment
        await conn.execute(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)")
    finally:
        await conn.close()


@dataclass
class Database:
    """One created database; `url` is what Satchel gets as --db / SATCHEL_DB."""

    admin_url: str
    name: str
    settings: dict[str, str]

    @property
    def url(self) -> str:
        return with_database(self.admin_url, self.name)

    def drop(self) -> None:
        asyncio.run(_drop(self.admin_url, self.name))

    def backends(self) -> Callable[[], list[int]]:
        return lambda: backend_pids(self.name)


def create_database(admin: str | None = None, overrides: Sequence[tuple[str, str]] = ()) -> Database:
    """A new empty database; `overrides` are settings its sessions get (ALTER DATABASE ... SET)."""
    url = admin or admin_url()
    name = fresh_name()
    settings = asyncio.run(_create(url, name, overrides))
    return Database(url, name, settings)


def database_exists(name: str, admin: str | None = None) -> bool:
    async def check() -> bool:
        conn = await _connect(admin or admin_url())
        try:
            return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
        finally:
            await conn.close()

    return asyncio.run(check())


def parse_title(cmdline: bytes) -> tuple[str, str] | None:
    """(user, database) of a backend's process title, e.g. `postgres: 15/main: alice shop 127.0.0.1(5) idle`.

    The cluster name (`15/main:`) is optional; background workers (`checkpointer`, ...) have no database.
    """
    text = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    if not text.startswith("postgres: "):
        return None
    words = text.split()[1:]
    if words and words[0].endswith(":"):
        words = words[1:]
    if len(words) < 3 or words[0].endswith(":"):
        return None
    return words[0], words[1]


def backend_pids(database: str) -> list[int]:
    """The PostgreSQL backends currently connected to `database` (read from /proc, no query)."""
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                head = f.read(256)
        except OSError:
            continue
        if head.startswith(b"postgres: "):
            parsed = parse_title(head)
            if parsed and parsed[1] == database:
                found.append(int(entry))
    return found
