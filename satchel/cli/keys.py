"""`satchel keys new|rotate`: the key ring that encrypts secrets (settings, OAuth2, webhooks, authenticator
apps), record fields and backup archives.

Rotation without downtime: restart the servers with the new key as the current one and the old
key among the older ones (they then write under the new key and read both), run `satchel keys
rotate` while they serve, then drop the old key, once no backup archive needs it (archives are not
rewritten). `satchel settings rotate-key` (servers stopped, settings secrets only) keeps working.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import click

from satchel.cli.instance import require_database
from satchel.config import BootConfig, ConfigError
from satchel.tools.secretbox import new_key

if TYPE_CHECKING:
    from satchel.core.app import App

DIR_HELP = "Directory of the database and uploaded files (env SATCHEL_DIR; default ./satchel_data)."
DB_HELP = "The database, when not the data.db of --dir: postgres://... (env SATCHEL_DB)."
KEY_FILE_HELP = (
    "File holding the keys: the new (current) key on the first line, older keys on the next lines (env "
    "SATCHEL_ENCRYPTION_KEY_FILE; or SATCHEL_ENCRYPTION_KEY with SATCHEL_ENCRYPTION_KEYS_OLD)."
)


@click.group()
def keys() -> None:
    """Manage the encryption keys of settings secrets and encrypted record fields."""


@keys.command("new")
def keys_new() -> None:
    """Print a new random key (64 hex digits)."""
    click.echo(new_key())


@keys.command("rotate")
@click.option("--dir", "data_dir", default=None, type=click.Path(file_okay=False), help=DIR_HELP)
@click.option("--db", "db", default=None, help=DB_HELP)
@click.option("--encryption-key-file", default=None, type=click.Path(dir_okay=False), help=KEY_FILE_HELP)
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 100_000), help="Rows per read.")
def keys_rotate(data_dir: str | None, db: str | None, encryption_key_file: str | None, batch_size: int) -> None:
    """Re-encrypt every value not yet under the current key (servers may keep running)."""
    from satchel.core import sealed_columns
    from satchel.core.auth import totp_store
    from satchel.core.key_rotation import count_rows, rotate
    from satchel.core.records.sealed_fields import SealedFieldError
    from satchel.core.secrets_at_rest import SecretsKeyError
    from satchel.plugins.events.webhooks import store as webhook_store
    from satchel.wiring import open_app

    try:
        cfg = BootConfig.from_env(dir=data_dir, db=db, encryption_key_file=encryption_key_file)
        current, old = cfg.encryption_key_bytes(), cfg.old_encryption_keys()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if not current:
        raise click.UsageError("no current key: set SATCHEL_ENCRYPTION_KEY (or --encryption-key-file) to the new key")
    require_database(cfg)

    async def run() -> None:
        try:
            app = await open_app(cfg.dir, db_url=cfg.db, encryption_key=current, old_encryption_keys=old)
        except SecretsKeyError as exc:
            raise click.ClickException(str(exc)) from exc
        try:
            totps_count = await sealed_columns.count(app.db, totp_store.SECRET)
            total = await count_rows(app) + await sealed_columns.count(app.db, webhook_store.SECRET) + totps_count
            with click.progressbar(length=total, label="Re-encrypting records", file=sys.stderr) as bar:
                report = await rotate(app, progress=bar.update, batch=batch_size)
                hooks = await sealed_columns.reseal(
                    app.db, webhook_store.SECRET, app.keys, app.keys, progress=bar.update
                )
                totps = await sealed_columns.reseal(app.db, totp_store.SECRET, app.keys, app.keys, progress=bar.update)
            current_id = app.keys.key_id
            older_archives = await _archives_under_older_keys(app)
        except SealedFieldError as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            await app.realtime.close()
            await app.close()
        click.echo(
            f"{report.rewritten} of {report.rows} records re-encrypted with the key {current_id}"
            + (f" ({report.raced} changed meanwhile by a server, already under it)" if report.raced else "")
            + ("; settings secrets re-encrypted" if report.settings else "")
            + (f"; {hooks.rewritten} of {hooks.rows} webhook secrets re-encrypted" if hooks.rewritten else "")
            + (f"; {totps.rewritten} of {totps.rows} authenticator app secrets re-encrypted" if totps.rewritten else "")
            + "."
        )
        failures = report.failures + hooks.failures + totps.failures
        if failures:
            for failure in failures[:20]:
                click.echo(f"Could not open: {failure}", err=True)
            raise click.ClickException(f"{len(failures)} values could not be opened with any configured key.")
        if older_archives:
            click.echo(
                f"Every value is under the current key, but {len(older_archives)} backup archive(s) are encrypted "
                f"with an older key ({', '.join(older_archives[:10])}): archives are not rewritten, so keep that key "
                "in SATCHEL_ENCRYPTION_KEYS_OLD until they are deleted or re-made (`satchel backup list` shows each "
                "archive's key)."
            )
            return
        click.echo("Every value is under the current key: older keys can be removed from the configuration.")

    asyncio.run(run())


async def _archives_under_older_keys(app: App) -> list[str]:
    """`name (key id)` of the backups sealed with a ring key other than the current one: rotating
    does not rewrite archives, so dropping their key would leave them unrestorable."""
    from satchel.core.errors import SatchelError

    try:
        backups = await app.backups.list()
    except SatchelError:
        return []  # the backups store is unreachable: nothing to tell about it here
    out: list[str] = []
    for backup in backups:
        key_id = await app.backups.key_id(backup.key)
        if key_id and key_id != app.keys.key_id:
            out.append(f"{backup.key} (key {key_id})")
    return out
