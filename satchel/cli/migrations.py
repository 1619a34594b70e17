"""`satchel migrate up|down|create|collections|history-sync`: schema migration files.

(`satchel migrate-data` is something else: it copies a whole instance between databases.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from satchel.cli.instance import require_database
from satchel.config import BootConfig, ConfigError, redact_url

if TYPE_CHECKING:
    from satchel.core.app import App

T = TypeVar("T")

DIR_HELP = "Directory of the database and uploaded files (env SATCHEL_DIR; default ./satchel_data)."
MIGRATIONS_DIR_HELP = (
    "Folder of the migration files (env SATCHEL_MIGRATIONS_DIR; default satchel_migrations next to --dir)."
)
DB_HELP = "The database: sqlite: (default) or postgres://USER:PASS@HOST:PORT/DB (env SATCHEL_DB)."


def _options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--migrations-dir", "migrations_dir", default=None, help=MIGRATIONS_DIR_HELP)(fn)
    fn = click.option("--db", "db", default=None, help=DB_HELP)(fn)
    return click.option("--dir", "data_dir", default=None, type=click.Path(file_okay=False), help=DIR_HELP)(fn)


def _config(data_dir: str | None, db: str | None, migrations_dir: str | None) -> BootConfig:
    try:
        return BootConfig.from_env(dir=data_dir, db=db, migrations_dir=migrations_dir)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def _with_app(cfg: BootConfig, work: Callable[[App], Awaitable[T]], *, create: bool = False) -> T:
    """`work` on the app; only `migrate up` (`create`) may start from no database."""
    from satchel.core.migrations import SchemaMigrationError
    from satchel.ports.database import DatabaseError
    from satchel.wiring import configure_passwords, open_app

    if not create:
        require_database(cfg)
    configure_passwords()

    async def run() -> T:
        try:
            app = await open_app(
                cfg.dir,
                db_url=cfg.db,
                encryption_key=cfg.encryption_key_bytes(),
                old_encryption_keys=cfg.old_encryption_keys(),
            )
        except DatabaseError as exc:
            raise click.ClickException(f"cannot open the database {redact_url(cfg.db)}: {exc}") from exc
        try:
            return await work(app)
        except SchemaMigrationError as exc:
            raise click.ClickException(f"{exc}. Nothing of that file was applied.") from exc
        finally:
            await app.close()

    return asyncio.run(run())


@click.group("migrate")
def migrate() -> None:
    """Schema migrations: Python files applied in order (see also migrate-data)."""


@migrate.command("up")
@_options
def migrate_up(data_dir: str | None, db: str | None, migrations_dir: str | None) -> None:
    """Apply the migration files not applied yet, in filename order."""
    from satchel.core.migrations import run_pending

    cfg = _config(data_dir, db, migrations_dir)
    applied = _with_app(cfg, lambda app: run_pending(app, cfg.migrations_folder), create=True)
    for name in applied:
        click.echo(f"Applied {name}")
    if not applied:
        click.echo("No new migrations to apply.")


@migrate.command("down")
@click.argument("count", type=click.IntRange(min=1), default=1, required=False)
@_options
def migrate_down(count: int, data_dir: str | None, db: str | None, migrations_dir: str | None) -> None:
    """Revert the last COUNT applied migrations (default 1) with their down()."""
    from satchel.core.migrations import revert

    cfg = _config(data_dir, db, migrations_dir)
    reverted = _with_app(cfg, lambda app: revert(app, cfg.migrations_folder, count))
    for name in reverted:
        click.echo(f"Reverted {name}")
    if not reverted:
        click.echo("No migrations to revert.")


@migrate.command("create")
@click.argument("name")
@click.option("--migrations-dir", "migrations_dir", default=None, help=MIGRATIONS_DIR_HELP)
@click.option("--dir", "data_dir", default=None, type=click.Path(file_okay=False), help=DIR_HELP)
def migrate_create(name: str, migrations_dir: str | None, data_dir: str | None) -> None:
    """Write an empty migration file NAME (the database is not touched)."""
    from satchel.core.migrations import new_file_name
    from satchel.core.migrations.templates import blank

    folder = _config(data_dir, None, migrations_dir).migrations_folder
    path = _write(folder, new_file_name(folder, name), blank())
    click.echo(f"Created {path}")


@migrate.command("collections")
@_options
def migrate_collections(data_dir: str | None, db: str | None, migrations_dir: str | None) -> None:
    """Write a migration file holding a snapshot of every non-system collection."""
    from satchel.core.migrations import new_file_name
    from satchel.core.migrations.templates import full_snapshot

    cfg = _config(data_dir, db, migrations_dir)

    async def snapshot(app: App) -> str:
        return full_snapshot([c.to_json() for c in app.collections.all() if not c.system])

    source = _with_app(cfg, snapshot)
    folder = cfg.migrations_folder
    path = _write(folder, new_file_name(folder, "collections_snapshot"), source)
    click.echo(f"Created {path}")


@migrate.command("history-sync")
@_options
def migrate_history_sync(data_dir: str | None, db: str | None, migrations_dir: str | None) -> None:
    """Forget applied migrations whose files no longer exist."""
    from satchel.core.migrations import history_sync

    cfg = _config(data_dir, db, migrations_dir)
    gone = _with_app(cfg, lambda app: history_sync(app, cfg.migrations_folder))
    for name in gone:
        click.echo(f"Forgot {name}")
    click.echo(f"Removed {len(gone)} record(s) of missing migration files.")


def _write(folder: Path, name: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(source, encoding="utf-8")
    return path
