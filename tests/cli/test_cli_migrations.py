"""`satchel migrate ...` and the migrations `satchel serve` applies at start."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
from click.testing import CliRunner

from satchel.cli.main import main
from satchel.cli.migrations import migrate
from satchel.core.migrations import applied, discover
from satchel.wiring import open_app
from tests.conformance.servers import SUPERUSER_EMAIL, SUPERUSER_PASSWORD, free_port
from tests.core.migrate.pg_schemas import postgres_urls

SUBCOMMANDS = ("up", "down", "create", "collections", "history-sync")


def create_posts(name: str = "posts", fail: bool = False) -> str:
    raise_line = "    raise ValueError('the migration is wrong')\n" if fail else ""
    return (
        f"async def up(app):\n    await app.collections_service.create({{'name': {name!r}}})\n{raise_line}\n\n"
        f"async def down(app):\n    await app.collections_service.delete({name!r})\n"
    )


def state(data: Path, db_url: str = "") -> tuple[list[dict[str, Any]], list[str]]:
    """(the non-system collections as JSON without save times, the applied migrations) of an instance."""

    async def read() -> tuple[list[dict[str, Any]], list[str]]:
        app = await open_app(data, db_url=db_url)
        try:
            items = [
                {k: v for k, v in c.to_json().items() if k not in ("created", "updated")}
                for c in sorted(app.collections.all(), key=lambda c: c.name)
                if not c.system
            ]
            return items, await applied(app.db.executor())
        finally:
            await app.close()

    return asyncio.run(read())


def test_help_lists_the_subcommands_apart_from_migrate_data() -> None:
    r = CliRunner().invoke(main, ["migrate", "--help"])
    assert r.exit_code == 0
    assert all(f"  {name} " in r.output for name in SUBCOMMANDS), r.output
    top = CliRunner().invoke(main, ["--help"]).output
    assert "  migrate " in top and "  migrate-data " in top


def test_create_up_down_and_history_sync(tmp_path: Path) -> None:
    runner = CliRunner()
    data, folder = tmp_path / "data", tmp_path / "satchel_migrations"
    r = runner.invoke(main, ["migrate", "create", "Add posts!", "--dir", str(data)])
    assert r.exit_code == 0, r.output
    (blank,) = discover(folder)  # next to the data dir by default
    assert blank.name.endswith("_add_posts.py") and f"Created {blank.path}" in r.output
    assert "async def up(app: App)" in blank.path.read_text()
    posts = folder / f"{blank.timestamp + 1}_posts.py"
    posts.write_text(create_posts())

    r = runner.invoke(main, ["migrate", "up", "--dir", str(data)])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [f"Applied {blank.name}", f"Applied {posts.name}"]
    assert [c["name"] for c in state(data)[0]] == ["posts", "users"]
    assert runner.invoke(main, ["migrate", "up", "--dir", str(data)]).output == "No new migrations to apply.\n"

    r = runner.invoke(main, ["migrate", "down", "--dir", str(data)])
    assert r.exit_code == 0 and r.output == f"Reverted {posts.name}\n"
    assert state(data) == ([c for c in state(data)[0] if c["name"] != "posts"], [blank.name])

    blank.path.unlink()
    r = runner.invoke(main, ["migrate", "history-sync", "--dir", str(data)])
    assert r.exit_code == 0 and f"Forgot {blank.name}" in r.output
    assert state(data)[1] == []


def test_down_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "1700000000_posts.py").write_text(create_posts())
    args = ["--dir", str(tmp_path / "data"), "--migrations-dir", str(folder)]
    assert runner.invoke(migrate, ["up", *args]).exit_code == 0
    (folder / "1700000000_posts.py").unlink()
    r = runner.invoke(migrate, ["down", "1", *args])
    assert r.exit_code == 1
    assert "migration 1700000000_posts.py failed: the file is not in" in r.output and "history-sync" in r.output


def test_a_collections_snapshot_rebuilds_them_on_a_fresh_instance(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = tmp_path / "migrations"
    (folder).mkdir()
    (folder / "1700000000_posts.py").write_text(create_posts())
    source = ["--dir", str(tmp_path / "a"), "--migrations-dir", str(folder)]
    assert runner.invoke(migrate, ["up", *source]).exit_code == 0

    async def customise() -> None:
        app = await open_app(tmp_path / "a")
        try:
            posts = app.collections.get("posts")
            assert posts is not None
            await app.collections_service.update(
                "posts",
                {"listRule": "", "fields": [*(f.to_json() for f in posts.fields), {"name": "n", "type": "number"}]},
            )
            await app.collections_service.create({"name": "tags", "type": "base", "indexes": []})
        finally:
            await app.close()

    asyncio.run(customise())
    r = runner.invoke(migrate, ["collections", *source])
    assert r.exit_code == 0, r.output
    snapshot = discover(folder)[-1]
    assert snapshot.name.endswith("_collections_snapshot.py")
    (folder / "1700000000_posts.py").unlink()  # the snapshot alone is enough

    target = ["--dir", str(tmp_path / "b"), "--migrations-dir", str(folder)]
    assert runner.invoke(migrate, ["up", *target]).exit_code == 0
    assert state(tmp_path / "b")[0] == state(tmp_path / "a")[0]


def test_serve_applies_pending_migrations_before_starting(
    tmp_path: Path, isolated_env: None, fake_granian: list[Any]
) -> None:
    folder = tmp_path / "satchel_migrations"
    folder.mkdir()
    (folder / "1700000000_posts.py").write_text(create_posts())
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path / "data")])
    assert r.exit_code == 0, r.output
    assert "Applied migration 1700000000_posts.py" in r.output and len(fake_granian) == 1
    assert os.environ["SATCHEL_MIGRATIONS_DIR"] == str(folder.resolve())  # the workers' automigrate writes there
    assert state(tmp_path / "data")[1] == ["1700000000_posts.py"]


def test_serve_refuses_to_start_when_a_migration_fails(
    tmp_path: Path, isolated_env: None, fake_granian: list[Any]
) -> None:
    folder = tmp_path / "custom"
    folder.mkdir()
    (folder / "1700000000_ok.py").write_text(create_posts("ok"))
    (folder / "1700000001_bad.py").write_text(create_posts("bad", fail=True))
    r = CliRunner().invoke(main, ["serve", "--dir", str(tmp_path / "data"), "--migrations-dir", str(folder)])
    assert r.exit_code == 1
    assert "migration 1700000001_bad.py failed: ValueError: the migration is wrong" in r.output
    assert "rolled back; the server was not started" in r.output
    assert fake_granian == []
    collections, history = state(tmp_path / "data")
    assert "bad" not in [c["name"] for c in collections] and history == ["1700000000_ok.py"]


def test_concurrent_migrate_up_on_postgres_applies_each_file_once(tmp_path: Path) -> None:
    """Several nodes starting together against one PostgreSQL database: separate processes."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    log = tmp_path / "ran.log"
    for i, name in enumerate(("one", "two", "three")):
        (folder / f"{1700000000 + i}_{name}.py").write_text(
            "import asyncio\n\nasync def up(app):\n    await asyncio.sleep(0.3)\n"
            f"    with open({str(log)!r}, 'a') as f:\n        f.write({name!r} + '\\n')\n"
            f"    await app.collections_service.create({{'name': {name!r}}})\n"
        )
    with postgres_urls(tmp_path, 1) as (url,):
        env = {**os.environ, "SATCHEL_DB": url, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        args = [sys.executable, "-m", "satchel", "migrate", "up", "--migrations-dir", str(folder)]
        # the database (bootstrap) first, so that both processes race on the migrations only
        assert CliRunner().invoke(migrate, ["history-sync", "--dir", str(tmp_path / "n0"), "--db", url]).exit_code == 0
        nodes = [
            subprocess.Popen([*args, "--dir", str(tmp_path / f"n{n}")], env=env, stdout=subprocess.PIPE, text=True)
            for n in (1, 2)
        ]
        outputs = [p.communicate(timeout=60)[0] for p in nodes]
        assert [p.returncode for p in nodes] == [0, 0], outputs
        assert log.read_text().split() == ["one", "two", "three"]
        applied_lines = sorted(line for out in outputs for line in out.splitlines() if line.startswith("Applied"))
        assert applied_lines == [f"Applied {f.name}" for f in discover(folder)]
        assert state(tmp_path / "n0", url)[1] == [f.name for f in discover(folder)]


def test_serve_dev_writes_a_file_per_change_with_several_workers(tmp_path: Path) -> None:
    """The real server (granian, two forked workers): changes through HTTP land in --migrations-dir."""
    data, folder = tmp_path / "data", tmp_path / "mig"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATCHEL_")}
    cli = [sys.executable, "-m", "satchel.cli.main"]
    subprocess.run(
        [*cli, "superuser", "upsert", SUPERUSER_EMAIL, SUPERUSER_PASSWORD, "--dir", str(data)],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = [*cli, "serve", "--dev", "--workers", "2", "--http", f"127.0.0.1:{port}", "--dir", str(data)]
    proc = subprocess.Popen(
        [*serve, "--migrations-dir", str(folder)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        with httpx2.Client(base_url=url, timeout=5) as client:
            for _ in range(300):
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                time.sleep(0.05)
            auth = client.post(
                "/api/collections/_superusers/auth-with-password",
                json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
            )
            assert auth.status_code == 200, auth.text
            headers = {"Authorization": auth.json()["token"]}
            for name in ("notes", "tags"):
                r = client.post("/api/collections", json={"name": name}, headers=headers)
                assert r.status_code == 200, r.text
            assert client.patch("/api/collections/notes", json={"listRule": ""}, headers=headers).status_code == 200
            assert client.delete("/api/collections/tags", headers=headers).status_code == 204
    finally:
        proc.terminate()
        proc.wait(timeout=60)  # a loaded 2-core CI box has taken over 20 s to stop two dev workers
    kinds = [f.name.split("_", 1)[1] for f in discover(folder)]
    assert kinds == ["created_notes.py", "created_tags.py", "updated_notes.py", "deleted_tags.py"]
    # restarting the dev server applies none of them again: they are recorded as applied
    r = CliRunner().invoke(migrate, ["up", "--dir", str(data), "--migrations-dir", str(folder)])
    assert r.exit_code == 0 and r.output == "No new migrations to apply.\n", r.output
