"""The settings encryption key on the command line: `settings new-key|rotate-key`, the flag and
environment variables of every command, and backups and `migrate-data` of an encrypted instance."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from satchel.core.backups.schedule import LOCK_FILE as SERVER_LOCK
from satchel.core.params import get_param
from satchel.core.settings import SETTINGS_KEY
from satchel.tools.file_lock import FileLock
from satchel.tools.secretbox import key_id_of, parse_key
from satchel.wiring import open_app

OLD = "11" * 32
NEW = "22" * 32
PASSWORD = "smtp-password-kept-secret"


@pytest.fixture
def runner(isolated_env: None, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("SATCHEL_ENCRYPTION_KEY", "SATCHEL_ENCRYPTION_KEY_FILE", "SATCHEL_BACKUP_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def _key_file(tmp_path: Path, name: str, key: str) -> str:
    path = tmp_path / name
    path.write_text(key + "\n")
    return str(path)


def _with(data: Path, key: str, action: Any = None) -> Any:
    """Open the instance with `key` ("" for none), run `action(app)`, return (password, raw row)."""

    async def run() -> Any:
        app = await open_app(data, encryption_key=parse_key(key) if key else b"")
        try:
            if action is not None:
                await action(app)
            return app.settings.current["smtp"]["password"], str(await get_param(app.db.executor(), SETTINGS_KEY))
        finally:
            await app.realtime.close()
            await app.close()

    return asyncio.run(run())


async def _set_password(app: Any) -> None:
    await app.settings.patch({"smtp": {"password": PASSWORD}})


def test_new_key_prints_a_usable_key(runner: CliRunner) -> None:
    r = runner.invoke(main, ["settings", "new-key"])
    assert r.exit_code == 0 and len(parse_key(r.output)) == 32
    assert runner.invoke(main, ["settings", "new-key"]).output != r.output


def test_rotate_key_from_a_key_file_to_another(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "d"
    _with(data, OLD, _set_password)
    args = ["settings", "rotate-key", "--dir", str(data), "--encryption-key-file", _key_file(tmp_path, "old", OLD)]
    r = runner.invoke(main, [*args, "--new-key-file", _key_file(tmp_path, "new", NEW)])
    assert r.exit_code == 0, r.output
    new_id = key_id_of(parse_key(NEW))
    assert "Secrets of the settings are now stored encrypted" in r.output and new_id in r.output
    password, raw = _with(data, NEW)
    assert password == PASSWORD and new_id in raw and PASSWORD not in raw and OLD not in r.output + raw
    r = runner.invoke(main, ["superuser", "upsert", "a@example.com", "password-123", "--dir", str(data)])
    assert r.exit_code == 1 and "no encryption key is configured" in r.output and "Traceback" not in r.output
    r = runner.invoke(main, [*args, "--new-key-file", _key_file(tmp_path, "new", NEW)])  # the old key is wrong now
    assert r.exit_code == 1 and key_id_of(parse_key(OLD)) in r.output and new_id in r.output


def test_rotate_key_seals_plaintext_and_goes_back_to_it(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "d"
    _with(data, "", _set_password)
    monkeypatch.setenv("NEXT_KEY", NEW)
    r = runner.invoke(main, ["settings", "rotate-key", "--dir", str(data), "--new-key-env", "NEXT_KEY"])
    assert r.exit_code == 0, r.output
    assert PASSWORD not in _with(data, NEW)[1]
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", NEW)
    r = runner.invoke(main, ["settings", "rotate-key", "--dir", str(data), "--to-plaintext"])
    assert r.exit_code == 0 and "now stored in clear" in r.output
    assert _with(data, "") == (PASSWORD, _with(data, "")[1]) and PASSWORD in _with(data, "")[1]


def test_rotate_key_refuses_bad_input_and_a_running_server(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "d"
    _with(data, "", _set_password)
    base = ["settings", "rotate-key", "--dir", str(data)]
    r = runner.invoke(main, base)
    assert r.exit_code == 2 and "exactly one of" in r.output
    r = runner.invoke(main, [*base, "--new-key-file", _key_file(tmp_path, "short", "too-short-a-key")])
    assert r.exit_code == 2 and "got 15 characters" in r.output and "too-short-a-key" not in r.output
    r = runner.invoke(main, [*base, "--new-key-env", "NOT_SET_ANYWHERE"])
    assert r.exit_code == 2 and "NOT_SET_ANYWHERE is not set" in r.output
    server = FileLock(data / SERVER_LOCK)
    assert server.try_acquire("pid 1")
    try:
        r = runner.invoke(main, [*base, "--new-key-file", _key_file(tmp_path, "new", NEW)])
        assert r.exit_code == 1 and "A server is running" in r.output
    finally:
        server.release()
    assert PASSWORD in _with(data, "")[1]  # left as it was


def test_serve_takes_the_key_from_a_file_or_the_environment(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_granian: list[Any]
) -> None:
    data = tmp_path / "d"
    _with(data, "", _set_password)
    r = runner.invoke(main, ["serve", "--dir", str(data)])
    assert r.exit_code == 0 and "stored in clear" in r.output  # the warning, once, at start
    key_file = _key_file(tmp_path, "key", OLD)
    r = runner.invoke(main, ["serve", "--dir", str(data), "--encryption-key-file", key_file])
    assert r.exit_code == 0, r.output
    assert "stored in clear" not in r.output and len(fake_granian) == 2
    import os

    assert os.environ["SATCHEL_ENCRYPTION_KEY_FILE"] == key_file  # what the workers read
    assert PASSWORD not in _with(data, OLD)[1]  # sealed at start
    r = runner.invoke(main, ["serve", "--dir", str(data), "--encryption-key-file", str(tmp_path / "missing")])
    assert r.exit_code == 2 and "cannot read" in r.output
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY_FILE", "")
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", "not-a-key")
    r = runner.invoke(main, ["serve", "--dir", str(data)])
    assert r.exit_code == 2 and "SATCHEL_ENCRYPTION_KEY" in r.output and len(fake_granian) == 2
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", NEW)
    r = runner.invoke(main, ["serve", "--dir", str(data)])
    assert r.exit_code == 1 and "rotate-key" in r.output and "Traceback" not in r.output
    assert len(fake_granian) == 2
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", OLD)
    r = runner.invoke(main, ["serve", "--dir", str(data), "--encryption-key-file", key_file])
    assert r.exit_code == 2 and "both set" in r.output


def test_backups_of_an_encrypted_instance_restore_with_the_key(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "d"
    _with(data, OLD, _set_password)
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", OLD)
    r = runner.invoke(main, ["backup", "create", "--name", "enc.zip", "--dir", str(data)])
    assert r.exit_code == 0, r.output

    async def change(app: Any) -> None:
        await app.settings.patch({"smtp": {"password": "changed-later"}})

    _with(data, OLD, change)
    r = runner.invoke(main, ["backup", "restore", "enc.zip", "--dir", str(data)])
    assert r.exit_code == 0, r.output
    password, raw = _with(data, OLD)
    assert password == PASSWORD and PASSWORD not in raw


def test_migrate_data_copies_sealed_secrets_for_the_same_key(runner: CliRunner, tmp_path: Path) -> None:
    source, target = tmp_path / "src", tmp_path / "dst"
    _with(source, OLD, _set_password)
    r = runner.invoke(main, ["migrate-data", "--from", str(source), "--to", str(target)])
    assert r.exit_code == 0, r.output
    assert f"encrypted with the key {key_id_of(parse_key(OLD))}" in r.output and "rotate-key" in r.output
    password, raw = _with(target, OLD)
    assert password == PASSWORD and PASSWORD not in raw
    # a target that is to use another key: re-encrypt there with the source's key as the current one
    old_file, new_file = _key_file(tmp_path, "old", OLD), _key_file(tmp_path, "new", NEW)
    r = runner.invoke(
        main,
        ["settings", "rotate-key", "--dir", str(target), "--encryption-key-file", old_file, "--new-key-file", new_file],
    )
    assert r.exit_code == 0, r.output
    assert _with(target, NEW)[0] == PASSWORD
    assert _with(source, OLD)[0] == PASSWORD  # the source is untouched
