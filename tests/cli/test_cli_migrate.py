"""`satchel migrate-data`: the forms of --from/--to, refusals, the report, and an instance served after."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from satchel.cli.migrate import check_table, parse_location
from satchel.core.backups.schedule import LOCK_FILE
from satchel.core.migrate.verify import TableCheck
from satchel.tools.file_lock import FileLock
from tests.core.migrate.migrate_source import POSTS, assert_same_instance, populate


@pytest.fixture
def runner(isolated_env: None) -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One populated instance, only ever read by these tests (the command opens it read-only)."""
    data = tmp_path_factory.mktemp("source") / "data"
    asyncio.run(populate(data))
    return data


def _migrate(runner: CliRunner, *args: str) -> tuple[int, str]:
    r = runner.invoke(main, ["migrate-data", *args])
    return r.exit_code, r.output


def test_a_data_directory_moves_with_its_files(runner: CliRunner, source: Path, tmp_path: Path) -> None:
    target = tmp_path / "new"
    code, out = _migrate(runner, "--from", str(source), "--to", f"sqlite:{target / 'data.db'}", "--batch-size", "3")
    assert code == 0, out
    assert re.search(rf"^posts +{POSTS} +{POSTS}  same$", out, re.MULTILINE), out
    assert "titles" in out and "MISMATCH" not in out
    assert "and 1 file(s) into" in out and out.rstrip().endswith("counts and ids match the source.")
    code, out = _migrate(runner, "--from", str(source / "data.db"), "--to", str(tmp_path / "file-only.db"))
    assert code == 0, out
    assert f"Note: files are not copied when --from names a database file: copy {source / 'storage'}" in out


def test_the_copy_is_served_with_its_tokens_and_files(runner: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "src"
    before = asyncio.run(populate(src))
    code, out = _migrate(runner, "--from", str(src), "--to", str(tmp_path / "dst"))
    assert code == 0, out
    asyncio.run(assert_same_instance(tmp_path / "dst", before))


def test_a_target_with_data_needs_force(runner: CliRunner, source: Path, tmp_path: Path) -> None:
    target = tmp_path / "t"
    assert _migrate(runner, "--from", str(source), "--to", str(target))[0] == 0
    code, out = _migrate(runner, "--from", str(source), "--to", str(target))
    assert code == 1
    assert "The target is not empty:\n  - 2 collection(s) of its own (posts, titles)" in out
    assert f"  - {POSTS} record(s) in posts" in out and "Run again with --force" in out
    code, out = _migrate(runner, "--from", str(source), "--to", str(target), "--force")
    assert code == 0, out
    assert "Replaced: 2 collection(s) of its own" in out


def test_refusals(runner: CliRunner, source: Path, tmp_path: Path) -> None:
    code, out = _migrate(runner, "--from", str(tmp_path / "nowhere"), "--to", str(tmp_path / "t"))
    assert code == 2 and "does not exist" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out = _migrate(runner, "--from", str(empty), "--to", str(tmp_path / "t"))
    assert code == 2 and "holds no data.db" in out
    code, out = _migrate(runner, "--from", str(source), "--to", f"sqlite:{source / 'data.db'}")
    assert code == 2 and "name the same database" in out
    code, out = _migrate(runner, "--from", str(source), "--to", str(tmp_path / "t"), "--dir", str(tmp_path))
    assert code == 2 and "--dir is for a PostgreSQL target" in out
    (tmp_path / "junk.db").write_bytes(b"not a database, just bytes" * 100)
    code, out = _migrate(runner, "--from", str(tmp_path / "junk.db"), "--to", str(tmp_path / "t"))
    assert code == 1 and "the source cannot be opened: file is not a database" in out


def test_a_running_server_on_the_target_is_refused(runner: CliRunner, source: Path, tmp_path: Path) -> None:
    target = tmp_path / "live"
    lock = FileLock(target / LOCK_FILE)
    assert lock.try_acquire("serve")  # what a running server holds
    try:
        code, out = _migrate(runner, "--from", str(source), "--to", str(target))
    finally:
        lock.release()
    assert code == 1 and f"A server is running on {target}" in out
    assert not (target / "data.db").exists()


def test_a_copy_that_fails_changes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "src"
    asyncio.run(populate(src))
    with sqlite3.connect(src / "data.db") as conn:
        conn.execute("CREATE TABLE legacy (id TEXT PRIMARY KEY)")
        conn.execute(
            "INSERT INTO _collections (id, system, type, name, fields, indexes, options, created, updated) VALUES "
            "('pbc_legacy_view', 0, 'view', 'legacy_view', '[]', '[]', '{\"viewQuery\": \"SELECT id FROM legacy\"}', "
            "'', '')"
        )
    code, out = _migrate(runner, "--from", str(src), "--to", str(tmp_path / "dst"))
    assert code == 1
    assert "view legacy_view: its query does not run on the target" in out and "Nothing was changed" in out
    assert not (tmp_path / "dst" / "storage").exists()


def test_the_check_table_marks_mismatches() -> None:
    text = check_table(
        [
            TableCheck("posts", 3, 3, "aa", "aa"),
            TableCheck("users", 2, 1, "bb", "cc"),
            TableCheck("titles", 4, 4, view=True),
        ]
    )
    lines = text.splitlines()
    assert lines[1].endswith("same") and "MISMATCH" not in lines[1]
    assert "DIFFER" in lines[2] and lines[2].endswith("<- MISMATCH")
    assert lines[3].endswith("-")


def test_location_forms(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "data.db").write_bytes(b"")
    as_dir = parse_location(str(tmp_path / "d"), source=True)
    assert as_dir.whole_dir and as_dir.database == str(tmp_path / "d" / "data.db")
    as_file = parse_location(f"sqlite:{tmp_path / 'd' / 'data.db'}", source=True)
    assert not as_file.whole_dir and as_file.data_dir == tmp_path / "d"
    new_dir = parse_location(str(tmp_path / "new"), source=False)
    assert new_dir.whole_dir and new_dir.database == str(tmp_path / "new" / "data.db")
    url = parse_location("postgres://u:secret@db.example/app", source=False)
    assert url.data_dir is None and url.shown == "postgres://u:***@db.example/app"


def test_the_documentation_matches_the_command() -> None:
    from satchel.cli.migrate import migrate_data
    from satchel.core.migrate.rows import DEFAULT_BATCH
    from satchel.core.migrate.tables import KNOWN_EXTRA

    doc = (Path(__file__).resolve().parents[2] / "docs" / "migrate.md").read_text()
    options = [opt for param in migrate_data.params for opt in param.opts if opt.startswith("--")]
    assert options and all(f"`{opt}" in doc for opt in options), options
    assert f"{DEFAULT_BATCH} by default" in doc
    assert all(f"`{name}`" in doc for name in KNOWN_EXTRA)
