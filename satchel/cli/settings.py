"""`satchel settings new-key|rotate-key`: the key that seals the settings' secrets at rest.

Rotating rewrites every stored secret (settings passwords, OAuth2 client secrets, webhook and
authenticator app secrets) under the new key: the settings' in one transaction, then each webhook's
and each authenticator app's, all checked to open first. Servers hold the key they started with,
so it is done with them stopped, then they start with the new key.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

import click

from satchel.cli.instance import require_database
from satchel.config import BootConfig, ConfigError, read_encryption_key
from satchel.tools.secretbox import key_id_of, new_key

if TYPE_CHECKING:
    pass

DIR_HELP = "Directory of the database and uploaded files (env SATCHEL_DIR; default ./satchel_data)."
DB_HELP = "The database, when not the data.db of --dir: postgres://... (env SATCHEL_DB)."
ENCRYPTION_KEY_FILE_HELP = (
    "File holding the key that encrypts the secrets of the settings at rest: 64 hex digits (satchel settings "
    "new-key), base64 of 32 bytes or 32 characters (env SATCHEL_ENCRYPTION_KEY_FILE, or the key itself in "
    "SATCHEL_ENCRYPTION_KEY; none: secrets are stored in clear)."
)


@click.group()
def settings() -> None:
    """Manage the key that encrypts the secrets of the runtime settings."""


@settings.command("new-key")
def settings_new_key() -> None:
    """Print a new random key (64 hex digits) for SATCHEL_ENCRYPTION_KEY or a key file."""
    click.echo(new_key())


def _new_key(new_key_file: str | None, new_key_env: str | None, to_plaintext: bool) -> bytes:
    if sum(bool(x) for x in (new_key_file, new_key_env, to_plaintext)) != 1:
        raise click.UsageError("give exactly one of --new-key-file, --new-key-env and --to-plaintext")
    if to_plaintext:
        return b""
    if new_key_env:
        if not os.environ.get(new_key_env):
            raise click.UsageError(f"--new-key-env: the environment variable {new_key_env} is not set")
        text = os.environ[new_key_env]
    else:
        text = ""
    try:
        return read_encryption_key(text, new_key_file or "", what="the new key")
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


@settings.command("rotate-key")
@click.option("--dir", "data_dir", default=None, type=click.Path(file_okay=False), help=DIR_HELP)
@click.option("--db", "db", default=None, help=DB_HELP)
@click.option(
    "--encryption-key-file",
    "encryption_key_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="File holding the current key (default: env SATCHEL_ENCRYPTION_KEY or SATCHEL_ENCRYPTION_KEY_FILE; "
    "none when the secrets are stored in clear).",
)
@click.option("--new-key-file", default=None, type=click.Path(dir_okay=False), help="File holding the new key.")
@click.option("--new-key-env", default=None, metavar="NAME", help="Environment variable holding the new key.")
@click.option("--to-plaintext", is_flag=True, help="Store the secrets in clear from now on (no key).")
def settings_rotate_key(
    data_dir: str | None,
    db: str | None,
    encryption_key_file: str | None,
    new_key_file: str | None,
    new_key_env: str | None,
    to_plaintext: bool,
) -> None:
    """Re-encrypt every stored secret with a new key (stop the servers first, restart them with it)."""
    from satchel.core import sealed_columns
    from satchel.core.auth import totp_store
    from satchel.core.secrets_at_rest import Secrets
    from satchel.core.secrets_rotation import reseal
    from satchel.plugins.events.webhooks import store as webhook_store
    from satchel.tools.keyring import KeyRing
    from satchel.tools.secretbox import SecretBox
    from satchel.wiring import open_app

    try:
        cfg = BootConfig.from_env(dir=data_dir, db=db, encryption_key_file=encryption_key_file)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    require_database(cfg)
    new = _new_key(new_key_file, new_key_env, to_plaintext)

    async def run() -> None:
        app = await open_app(cfg.dir, db_url=cfg.db, encryption_key=cfg.encryption_key_bytes())
        try:
            if app.backups.scheduler.server_running():
                raise click.ClickException("A server is running on this data directory: stop it first.")
            encrypted = [c.name for c in app.collections.all() if not c.is_view and c.encrypted_fields]
            if encrypted:
                raise click.ClickException(
                    f"The collections {', '.join(encrypted)} have encrypted fields, which this command does not "
                    "re-encrypt: use `satchel keys rotate` (docs/encryption.md). Nothing was changed."
                )
            await sealed_columns.check_keys(app.db, app.keys, webhook_store.SECRET)  # before anything changes
            await totp_store.check_secrets(app)
            done = await reseal(app, Secrets(SecretBox(new) if new else None))
            hooks = await sealed_columns.reseal(app.db, webhook_store.SECRET, app.keys, KeyRing(new))
            totps = await sealed_columns.reseal(app.db, totp_store.SECRET, app.keys, KeyRing(new))
        finally:
            await app.realtime.close()
            await app.close()
        what = ["the settings"] if done.settings else []
        what += [f"the OAuth2 providers of {', '.join(done.collections)}"] if done.collections else []
        what += [f"{hooks.rows} webhook(s)"] if hooks.rows else []
        what += [f"{totps.rows} authenticator app(s)"] if totps.rows else []
        stored = f"encrypted with the key {key_id_of(new)}" if new else "in clear"
        click.echo(f"Secrets of {' and '.join(what) or 'nothing stored yet'} are now stored {stored}.")
        if new:
            click.echo("Start the servers with the new key (SATCHEL_ENCRYPTION_KEY or --encryption-key-file).")

    asyncio.run(run())
