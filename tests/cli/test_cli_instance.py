"""Commands that work on an existing instance refuse a `--dir` (or `sqlite:PATH`) holding no database,
and create nothing; the commands that make or refill an instance still create it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from tests.cli.test_cli_backup import _add_collection, _collections

KEY = "7a" * 32
NEEDS_AN_INSTANCE = [
    ["openapi", "export"],
    ["openapi", "postman"],
    ["backup", "create"],
    ["backup", "list"],
    ["migrate", "down"],
    ["migrate", "collections"],
    ["migrate", "history-sync"],
    ["keys", "rotate"],
    ["settings", "rotate-key", "--to-plaintext"],
    ["superuser", "delete", "someone@example.com"],
]


@pytest.fixture
def runner(isolated_env: None, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", KEY)  # `keys rotate` asks for one before anything else
    monkeypatch.delenv("SATCHEL_ENCRYPTION_KEYS_OLD", raising=False)
    monkeypatch.delenv("SATCHEL_BACKUP_PASSPHRASE", raising=False)
    return CliRunner()


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("command", NEEDS_AN_INSTANCE, ids=" ".join)
@pytest.mark.parametrize("exists", [False, True], ids=["missing-dir", "empty-dir"])
def test_a_directory_without_a_database_is_refused_and_left_alone(
    runner: CliRunner, tmp_path: Path, command: list[str], exists: bool
) -> None:
    data = tmp_path / "typo"
    if exists:
        data.mkdir()
    r = runner.invoke(main, [*command, "--dir", str(data)])
    assert r.exit_code == 1, r.output
    assert f"No Satchel database in {data} (no data.db): check --dir" in r.output
    assert "Traceback" not in r.output
    assert _files(tmp_path) == (["typo"] if exists else [])  # no data.db, auxiliary.db, migrations folder


def test_a_missing_sqlite_file_named_by_db_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "d"
    _add_collection(data, "kept")  # the directory has a database; --db names another, missing, file
    missing = tmp_path / "other.db"
    r = runner.invoke(main, ["openapi", "export", "--dir", str(data), "--db", f"sqlite:{missing}"])
    assert r.exit_code == 1 and f"No database at {missing}: check --db" in r.output
    assert not missing.exists()


def test_an_existing_instance_is_still_served(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "d"
    _add_collection(data, "kept")
    r = runner.invoke(main, ["backup", "list", "--dir", str(data)])
    assert (r.exit_code, r.output) == (0, "No backups.\n")
    r = runner.invoke(main, ["openapi", "export", "--dir", str(data), "--db", f"sqlite:{data / 'data.db'}"])
    assert r.exit_code == 0 and "/api/collections/kept/records" in r.output


def test_migrate_up_and_superuser_upsert_still_create_the_instance(runner: CliRunner, tmp_path: Path) -> None:
    fresh, other = tmp_path / "fresh", tmp_path / "other"
    r = runner.invoke(main, ["migrate", "up", "--dir", str(fresh)])
    assert r.exit_code == 0, r.output
    assert (fresh / "data.db").is_file()
    r = runner.invoke(main, ["superuser", "upsert", "admin@example.com", "a-long-password", "--dir", str(other)])
    assert r.exit_code == 0, r.output
    assert (other / "data.db").is_file()


def test_a_backup_restores_into_a_directory_without_a_database(runner: CliRunner, tmp_path: Path) -> None:
    """A new machine: only the archive copied into `backups/`, then `backup restore`."""
    data, fresh = tmp_path / "d", tmp_path / "fresh"
    _add_collection(data, "kept")
    r = runner.invoke(main, ["backup", "create", "--name", "move.zip", "--dir", str(data)])
    assert r.exit_code == 0, r.output
    (fresh / "backups").mkdir(parents=True)
    shutil.copy(data / "backups" / "move.zip", fresh / "backups" / "move.zip")
    r = runner.invoke(main, ["backup", "restore", "move.zip", "--dir", str(fresh)])
    assert r.exit_code == 0, r.output
    assert _collections(fresh) == ["kept", "users"]
