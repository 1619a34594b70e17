"""The command line: superuser management without a server, config precedence, clear errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from satchel.config import BootConfig, ConfigError
from satchel.core.auth.superusers import find_superuser
from satchel.tools.passwords import verify_password
from satchel.wiring import open_app


def _password_hash(data: Path, email: str) -> str:
    async def read() -> str:
        app = await open_app(data)
        try:
            record = await find_superuser(app, email)
            return str(record.get("password")) if record else ""
        finally:
            await app.close()

    return asyncio.run(read())


def test_superuser_upsert_creates_then_updates_and_delete(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "d"
    r = runner.invoke(main, ["superuser", "upsert", "root@example.com", "first-pass-1", "--dir", str(data)])
    assert r.exit_code == 0 and "Successfully saved" in r.output
    assert verify_password(_password_hash(data, "root@example.com"), "first-pass-1")
    r = runner.invoke(main, ["superuser", "upsert", "root@example.com", "second-pass-2", "--dir", str(data)])
    assert r.exit_code == 0
    assert verify_password(_password_hash(data, "root@example.com"), "second-pass-2")
    r = runner.invoke(main, ["superuser", "upsert", "not-an-email", "x", "--dir", str(data)])
    assert r.exit_code != 0 and "email" in r.output
    r = runner.invoke(main, ["superuser", "delete", "root@example.com", "--dir", str(data)])
    assert r.exit_code == 0 and _password_hash(data, "root@example.com") == ""
    r = runner.invoke(main, ["superuser", "delete", "root@example.com", "--dir", str(data)])
    assert r.exit_code != 0 and "not found" in r.output


def test_config_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATCHEL_HTTP", "127.0.0.1:9000")
    monkeypatch.setenv("SATCHEL_WORKERS", "3")
    cfg = BootConfig.from_env()
    assert (cfg.http, cfg.workers) == ("127.0.0.1:9000", 3)
    assert BootConfig.from_env(http="0.0.0.0:1234").http == "0.0.0.0:1234"
    monkeypatch.setenv("SATCHEL_WORKERS", "many")
    with pytest.raises(ConfigError, match="SATCHEL_WORKERS"):
        BootConfig.from_env()


def test_serve_rejects_a_bad_address(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["serve", "--http", "nonsense", "--dir", str(tmp_path)])
    assert r.exit_code == 2 and "HOST:PORT" in r.output
