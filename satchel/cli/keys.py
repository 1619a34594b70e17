"""`satchel keys new|rotate`: the key ring that encrypts settings secrets and record fields.

Rotation without downtime: restart the servers with the new key as the current one and the old
key among the older ones (they then write under the new key and read both), run `satchel keys
rotate` while they serve, then drop the old key. `satchel settings rotate-key` (servers stopped,
settings secrets only) keeps working.
"""

from __future__ import annotations

import asyncio
import sys

import click

from satchel.config import BootConfig, ConfigError
from satchel.tools.secretbox import new_key

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
    from satchel.core.key_rotation import count_rows, rotate
    from satchel.core.records.sealed_fields import SealedFieldError
    from satchel.core.secrets_at_rest import SecretsKeyError
    from satchel.wiring import open_app

    try:
        cfg = BootConfig.from_env(dir=data_dir, db=db, encryption_key_file=encryption_key_file)
        current, old = cfg.encryption_key_bytes(), cfg.old_encryption_keys()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if not current:
        raise click.UsageError("no current key: set SATCHEL_ENCRYPTION_KEY (or --encryption-key-file) to the new key")

    async def run() -> None:
        try:
            app = await open_app(cfg.dir, db_url=cfg.db, encryption_key=current, old_encryption_keys=old)
        except SecretsKeyError as exc:
            raise click.ClickException(str(exc)) from exc
        try:
            total = await count_rows(app)
            with click.progressbar(length=total, label="Re-encrypting records", file=sys.stderr) as bar:
                report = await rotate(app, progress=bar.update, batch=batch_size)
            current_id = app.keys.key_id
        except SealedFieldError as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            await app.realtime.close()
            await app.close()
        click.echo(
            f"{report.rewritten} of {report.rows} records re-encrypted with the key {current_id}"
            + (f" ({report.raced} changed meanwhile by a server, already under it)" if report.raced else "")
            + ("; settings secrets re-encrypted" if report.settings else "")
            + "."
        )
        if report.failures:
            for failure in report.failures[:20]:
                click.echo(f"Could not open: {failure}", err=True)
            raise click.ClickException(f"{len(report.failures)} values could not be opened with any configured key.")
        click.echo("Every value is under the current key: older keys can be removed from the configuration.")

    asyncio.run(run())
