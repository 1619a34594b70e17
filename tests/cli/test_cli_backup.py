"""`satchel backup create|list|restore` on a data directory, with and without a passphrase or a key ring."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from satchel.core.backups.encryption import MAGIC, RING_MAGIC
from satchel.core.backups.schedule import LOCK_FILE as SERVER_LOCK
from satchel.tools.file_lock import FileLock
from satchel.tools.secretbox import key_id_of
from satchel.wiring import open_app


def _collections(data: Path) -> list[str]:
    async def read() -> list[str]:
        app = await open_app(data)
        try:
            return sorted(c.name for c in app.collections.all() if not c.system)
        finally:
            await app.realtime.close()
            await app.close()

    return asyncio.run(read())


def _add_collection(data: Path, name: str) -> None:
    async def add() -> None:
        app = await open_app(data)
        try:
            await app.collections_service.create({"name": name, "type": "base"})
        finally:
            await app.realtime.close()
            await app.close()

    asyncio.run(add())


@pytest.fixture
def runner(isolated_env: None, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("SATCHEL_BACKUP_PASSPHRASE", raising=False)
    return CliRunner()


def test_create_list_restore(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "d"
    _add_collection(data, "kept")
    r = runner.invoke(main, ["backup", "create", "--name", "first.zip", "--dir", str(data)])
    assert r.exit_code == 0, r.output
    assert 'Successfully created backup "first.zip"!' in r.output
    r = runner.invoke(main, ["backup", "create", "--dir", str(data)])
    assert r.exit_code == 0 and "pb_backup_acme_" in r.output
    r = runner.invoke(main, ["backup", "list", "--dir", str(data)])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 0 and len(lines) == 2 and lines[0].startswith("first.zip\t")
    _add_collection(data, "dropped")
    r = runner.invoke(main, ["backup", "restore", "first.zip", "--dir", str(data)])
    assert r.exit_code == 0, r.output
    assert _collections(data) == ["kept", "users"]
    r = runner.invoke(main, ["backup", "create", "--name", "Bad Name", "--dir", str(data)])
    assert r.exit_code == 1 and "name: Must be in a valid format." in r.output
    r = runner.invoke(main, ["backup", "restore", "nope.zip", "--dir", str(data)])
    assert r.exit_code == 1 and "Missing or invalid backup file." in r.output


def test_passphrases(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "d"
    _add_collection(data, "kept")  # an instance to back up: `backup create` refuses a directory without one
    monkeypatch.setenv("MY_BACKUP_KEY", "from the environment")
    r = runner.invoke(
        main, ["backup", "create", "--name", "enc.zip", "--passphrase-env", "MY_BACKUP_KEY", "--dir", str(data)]
    )
    assert r.exit_code == 0, r.output
    assert (data / "backups" / "enc.zip").read_bytes().startswith(MAGIC)
    assert "from the environment" not in r.output
    r = runner.invoke(main, ["backup", "restore", "enc.zip", "--dir", str(data)])
    assert r.exit_code == 1 and "encrypted" in r.output
    r = runner.invoke(main, ["backup", "restore", "enc.zip", "--passphrase", "guess", "--dir", str(data)])
    assert r.exit_code == 1 and "passphrase is wrong" in r.output
    monkeypatch.setenv("SATCHEL_BACKUP_PASSPHRASE", "from the environment")
    r = runner.invoke(main, ["backup", "restore", "enc.zip", "--dir", str(data)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["backup", "create", "--passphrase-env", "UNSET_VARIABLE_X", "--dir", str(data)])
    assert r.exit_code == 2 and "UNSET_VARIABLE_X" in r.output


def test_restore_is_refused_while_a_server_runs(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "d"
    _add_collection(data, "kept")  # an instance to back up: `backup create` refuses a directory without one
    assert runner.invoke(main, ["backup", "create", "--name", "a.zip", "--dir", str(data)]).exit_code == 0
    server = FileLock(data / SERVER_LOCK)  # what a running server's process holds
    assert server.try_acquire("pid 1")
    try:
        r = runner.invoke(main, ["backup", "restore", "a.zip", "--dir", str(data)])
        assert r.exit_code == 1 and "A server is running" in r.output
        r = runner.invoke(main, ["backup", "create", "--name", "online.zip", "--dir", str(data)])
        assert r.exit_code == 0, "creating works while the server runs"
    finally:
        server.release()
    assert runner.invoke(main, ["backup", "restore", "a.zip", "--dir", str(data)]).exit_code == 0


def test_key_ring_archives(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key, new, other = "71" * 32, "72" * 32, "73" * 32
    data, elsewhere = tmp_path / "d", tmp_path / "elsewhere"
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", key)
    monkeypatch.delenv("SATCHEL_ENCRYPTION_KEYS_OLD", raising=False)
    _add_collection(data, "kept")
    r = runner.invoke(main, ["backup", "create", "--name", "ring.zip", "--dir", str(data)])
    assert r.exit_code == 0, r.output
    archive = (data / "backups" / "ring.zip").read_bytes()
    assert archive.startswith(RING_MAGIC) and b"PK\x03\x04" not in archive
    old_id = key_id_of(bytes.fromhex(key))
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", new)  # rotated: the old key kept for opening
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEYS_OLD", key)
    _add_collection(data, "dropped")
    r = runner.invoke(main, ["backup", "restore", "ring.zip", "--dir", str(data)])
    assert r.exit_code == 0, r.output
    assert _collections(data) == ["kept", "users"]
    assert runner.invoke(main, ["backup", "create", "--name", "rotated.zip", "--dir", str(data)]).exit_code == 0
    r = runner.invoke(main, ["backup", "list", "--dir", str(data)])
    listed = {line.split("\t")[0]: line.split("\t")[-1] for line in r.output.strip().splitlines()}
    assert listed == {"ring.zip": f"key {old_id}", "rotated.zip": f"key {key_id_of(bytes.fromhex(new))}"}

    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", other)  # an instance that never had the key
    monkeypatch.delenv("SATCHEL_ENCRYPTION_KEYS_OLD")
    _add_collection(elsewhere, "mine")
    (elsewhere / "backups").mkdir()
    (elsewhere / "backups" / "ring.zip").write_bytes(archive)
    r = runner.invoke(main, ["backup", "restore", "ring.zip", "--dir", str(elsewhere)])
    assert r.exit_code == 1 and f"encrypted with the key {old_id}, which is not configured" in r.output
    assert _collections(elsewhere) == ["mine", "users"]


def test_keys_rotate_names_the_archives_that_still_need_an_older_key(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, new = "74" * 32, "75" * 32
    data = tmp_path / "d"
    _add_collection(data, "kept")  # an instance to back up: `backup create` refuses a directory without one
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", key)
    monkeypatch.delenv("SATCHEL_ENCRYPTION_KEYS_OLD", raising=False)
    assert runner.invoke(main, ["backup", "create", "--name", "old.zip", "--dir", str(data)]).exit_code == 0
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", new)
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEYS_OLD", key)
    assert runner.invoke(main, ["backup", "create", "--name", "new.zip", "--dir", str(data)]).exit_code == 0
    r = runner.invoke(main, ["keys", "rotate", "--dir", str(data)])
    assert r.exit_code == 0, r.output
    old_id = key_id_of(bytes.fromhex(key))
    assert f"1 backup archive(s) are encrypted with an older key (old.zip (key {old_id}))" in r.output
    assert "older keys can be removed" not in r.output and "new.zip" not in r.output
    (data / "backups" / "old.zip").unlink()  # gone: nothing needs the old key any more
    r = runner.invoke(main, ["keys", "rotate", "--dir", str(data)])
    assert r.exit_code == 0 and "older keys can be removed from the configuration" in r.output
