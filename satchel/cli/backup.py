"""`satchel backup create|list|restore`: backups from the command line, on the data directory.

Creating works while the server runs (the database is copied online). Restoring from here is for
a stopped server: a running one holds the collections and settings it loaded, so the restore is
refused then and should go through the server's API, which reloads every worker.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from satchel.cli.instance import require_database
from satchel.config import BootConfig, ConfigError

if TYPE_CHECKING:
    from satchel.core.app import App

DIR_HELP = "Directory of the database and uploaded files (env SATCHEL_DIR; default ./satchel_data)."
PHASES = {"database": "Copying the database", "files": "Adding files", "restore": "Restoring the database"}


class _Progress:
    """One click progress bar per phase; fed from worker threads as well as the event loop."""

    def __init__(self) -> None:
        self._phase = ""
        self._bar: Any = None
        self._done = 0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self._phase:
            self.close()
            self._phase, self._done = phase, 0
            self._bar = click.progressbar(length=max(total, 1), label=PHASES.get(phase, phase), file=sys.stderr)
            self._bar.render_progress()
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()
            self._bar = None


def _passphrase(cfg: BootConfig, value: str | None, env_name: str | None) -> str:
    if env_name:
        if env_name not in os.environ:
            raise click.UsageError(f"--passphrase-env: the environment variable {env_name} is not set")
        return os.environ[env_name]
    return cfg.backup_passphrase if value is None else value


def _run(
    data_dir: str | None,
    passphrase: str | None,
    env_name: str | None,
    action: Callable[[App], Awaitable[None]],
    *,
    create: bool = False,
) -> None:
    """`action` on the directory's app; only a restore (`create`) may start from no database."""
    from satchel.core.errors import SatchelError
    from satchel.wiring import open_app

    try:
        cfg = BootConfig.from_env(dir=data_dir)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if not create:
        require_database(cfg)
    secret = _passphrase(cfg, passphrase, env_name)

    async def run() -> None:
        app = await open_app(
            cfg.dir,
            backup_passphrase=secret,
            db_url=cfg.db,
            encryption_key=cfg.encryption_key_bytes(),
            old_encryption_keys=cfg.old_encryption_keys(),
        )
        try:
            await action(app)
        except SatchelError as exc:
            details = "".join(f"\n  {k}: {v.get('message', v)}" for k, v in exc.data.items() if isinstance(v, dict))
            raise click.ClickException(exc.message + details) from exc
        finally:
            await app.realtime.close()
            await app.close()

    asyncio.run(run())


def _options(f: Callable[..., None]) -> Callable[..., None]:
    f = click.option("--dir", "data_dir", default=None, type=click.Path(file_okay=False), help=DIR_HELP)(f)
    f = click.option(
        "--passphrase-env",
        "passphrase_env",
        default=None,
        metavar="NAME",
        help="Read the backup passphrase from this environment variable.",
    )(f)
    return click.option(
        "--passphrase",
        default=None,
        help="Backup passphrase (default: env SATCHEL_BACKUP_PASSPHRASE; prefer --passphrase-env: "
        "a command line is visible to other local users).",
    )(f)


@click.group()
def backup() -> None:
    """Create, list and restore backups (zip archives of the database and local files)."""


@backup.command("create")
@click.option("--name", default="", help="Archive name, like pb_backup.zip ([a-z0-9_-]+.zip; default: generated).")
@_options
def backup_create(name: str, data_dir: str | None, passphrase: str | None, passphrase_env: str | None) -> None:
    """Create a backup in the backups storage."""

    async def action(app: App) -> None:
        progress = _Progress()
        try:
            created = await app.backups.create(name, progress=progress)
        finally:
            progress.close()
        click.echo(f'Successfully created backup "{created}"!')

    _run(data_dir, passphrase, passphrase_env, action)


@backup.command("list")
@click.option("--dir", "data_dir", default=None, type=click.Path(file_okay=False), help=DIR_HELP)
def backup_list(data_dir: str | None) -> None:
    """List the backups, oldest first (with the id of the key each key-ring-encrypted one needs)."""

    async def action(app: App) -> None:
        items = sorted(await app.backups.list(), key=lambda b: (b.modified, b.key))
        if not items:
            click.echo("No backups.")
        for b in items:
            when = datetime.fromtimestamp(b.modified, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            key_id = await app.backups.key_id(b.key)
            click.echo(f"{b.key}\t{b.size}\t{when}" + (f"\tkey {key_id}" if key_id else ""))

    _run(data_dir, None, None, action)


@backup.command("restore")
@click.argument("name")
@_options
def backup_restore(name: str, data_dir: str | None, passphrase: str | None, passphrase_env: str | None) -> None:
    """Replace the database and the local files with a backup's (the server must be stopped)."""

    async def action(app: App) -> None:
        if app.backups.scheduler.server_running():
            raise click.ClickException(
                "A server is running on this data directory: stop it first, or restore through its API "
                f"(POST /api/backups/{name}/restore)."
            )
        progress = _Progress()
        try:
            await app.backups.restore(name, progress=progress)
        finally:
            progress.close()
        click.echo(f'Successfully restored backup "{name}"!')

    _run(data_dir, passphrase, passphrase_env, action, create=True)  # a new machine's empty directory too
