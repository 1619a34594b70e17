"""The database option: `--db` > SATCHEL_DB > the SQLite file, PostgreSQL through the same commands."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from required_service import unavailable

from satchel.adapters.db.postgres import PostgresDatabase
from satchel.adapters.db.sqlite import SqliteDatabase
from satchel.cli.main import main
from satchel.config import BootConfig, ConfigError, parse_db_url
from satchel.core.auth.superusers import find_superuser
from satchel.ports.database import DatabaseError
from satchel.testing import postgres as pg_testing
from satchel.wiring import build_app, open_app


def test_flag_beats_env_beats_the_sqlite_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert BootConfig.from_env().db == ""
    monkeypatch.setenv("SATCHEL_DB", "postgres://u:p@db:5432/app")
    assert BootConfig.from_env().db == "postgres://u:p@db:5432/app"
    assert BootConfig.from_env(db="sqlite:").db == "sqlite:"
    assert "p@db" not in repr(BootConfig.from_env())  # the URL may hold a password


@pytest.mark.parametrize("url", ["mysql://h/db", "postgres:/h", "sqlite", "data.db", "POSTGRES://h/db"])
def test_malformed_urls_are_refused_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError, match="--db expects sqlite:"):
        parse_db_url(url)
    with pytest.raises(ConfigError) as info:
        parse_db_url("mysql://user:s3cret@h/db")
    assert "s3cret" not in str(info.value)


def test_the_url_picks_the_adapter(tmp_path: Path) -> None:
    assert isinstance(build_app(tmp_path / "a").db, SqliteDatabase)
    assert isinstance(build_app(tmp_path / "b", db_url="sqlite:").db, SqliteDatabase)
    own = build_app(tmp_path / "c", db_url=f"sqlite:{tmp_path / 'elsewhere.db'}").db
    assert isinstance(own, SqliteDatabase) and own.path == str(tmp_path / "elsewhere.db")
    app = build_app(tmp_path / "d", db_url="postgresql://u@127.0.0.1:1/x")
    assert isinstance(app.db, PostgresDatabase)
    assert app.config.shared_schema  # every node shares the database: schema changes must be noticed
    assert (tmp_path / "d").is_dir()  # uploads and backups still live in the data directory


def test_serve_stops_when_the_database_is_unreachable(
    tmp_path: Path, isolated_env: None, fake_granian: list[Any]
) -> None:
    url = "postgres://satchel:s3cret@127.0.0.1:1/app"  # nothing listens on port 1
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path), "--db", url])
    assert r.exit_code == 1 and "cannot open the database postgres://satchel:***@127.0.0.1:1/app" in r.output
    assert "s3cret" not in r.output and fake_granian == []


def test_serve_with_cache_and_broker_short_names(tmp_path: Path, isolated_env: None, fake_granian: list[Any]) -> None:
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path), "--db", "sqlite:", "--cache", "memory:"])
    assert r.exit_code == 0, r.output
    assert len(fake_granian) == 1


def test_superuser_upsert_on_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        url = asyncio.run(pg_testing.database_url(tmp_path))
    except (OSError, DatabaseError) as exc:
        unavailable(f"PostgreSQL is unreachable at {pg_testing.base_url()} ({exc})", f"set {pg_testing.URL_ENV}")
    monkeypatch.setenv("SATCHEL_DB", url)
    r = CliRunner().invoke(main, ["superuser", "upsert", "pg@example.com", "pg-password-1", "--dir", str(tmp_path)])
    assert r.exit_code == 0, r.output

    async def stored() -> tuple[bool, bool]:
        on_pg = await open_app(tmp_path / "other-dir", db_url=url)  # the data is in PostgreSQL, not the dir
        on_sqlite = await open_app(tmp_path)
        try:
            return (await find_superuser(on_pg, "pg@example.com")) is not None, (
                await find_superuser(on_sqlite, "pg@example.com")
            ) is not None
        finally:
            await on_pg.close()
            await on_sqlite.close()

    assert asyncio.run(stored()) == (True, False)
