"""Restoring a backup whose authenticator or webhook secrets are sealed with a key this instance lacks
is refused up front, naming that key, with nothing replaced (after a restore the server would not
start, sign or check codes); one made under this key, or without those tables, restores as usual."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from satchel.core.app import App
from satchel.core.auth import totp_store
from satchel.core.errors import BadRequestError
from satchel.core.files.storages import BACKUPS_DIR
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.testing import running_app
from satchel.tools.secretbox import key_id_of
from tests.core.backups.backup_helpers import data_state
from tests.plugins.events.conftest import SECRET, start_env

KEY = bytes.fromhex("31" * 32)
OTHER = bytes.fromhex("32" * 32)
SHARED = "shared passphrase"
"""Archives are sealed with a passphrase, not the ring: this is about the secrets inside them."""
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
pytestmark = pytest.mark.sqlite_only("backups copy the SQLite file; on PostgreSQL they are pg_dump's job")


async def _with_authenticator(app: App) -> None:
    users = app.collections.get("users")
    assert users is not None
    record = Record(users, {f.name: f.zero() for f in users.fields})
    record.data.update(id="u1aaaaaaaaaaaaa", email="ann@example.com", tokenKey="k" * 50)
    async with app.db.transaction() as tx:
        await storage.insert(tx, record)
    await totp_store.save_pending(app, record, TOTP_SECRET)


async def _refused_untouched(tmp_path: Path, name: str, what: str) -> None:
    """Restore `name` (made in tmp_path/made) on an instance under KEY: refused, data as it was."""
    async with running_app(tmp_path / "here", encryption_key=KEY) as app:
        app.config.backup_passphrase = SHARED
        (tmp_path / "here" / BACKUPS_DIR).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "made" / BACKUPS_DIR / name, tmp_path / "here" / BACKUPS_DIR / name)
        before = data_state(app)
        with pytest.raises(BadRequestError) as refused:
            await app.backups.restore(name)
        message = str(refused.value)
        assert "cannot be restored with this key" in message and "was not restored" in message
        assert what in message and key_id_of(OTHER) in message and key_id_of(KEY) in message
        assert TOTP_SECRET not in message and SECRET not in message
        assert data_state(app) == before


async def test_a_backup_with_authenticator_secrets_under_another_key_is_refused(tmp_path: Path) -> None:
    async with running_app(tmp_path / "made", encryption_key=OTHER) as maker:
        await _with_authenticator(maker)
        await maker.backups.create("other.zip", passphrase=SHARED)
    await _refused_untouched(tmp_path, "other.zip", "authenticator app")


async def test_a_backup_with_webhook_secrets_under_another_key_is_refused(tmp_path: Path) -> None:
    async with start_env(tmp_path / "made", encryption_key=OTHER) as env:
        await env.webhook("http://127.0.0.1:9/unused", active=False)
        await env.app.backups.create("other.zip", passphrase=SHARED)
    await _refused_untouched(tmp_path, "other.zip", "webhook")


async def test_backups_under_this_key_or_in_clear_or_without_the_tables_restore(tmp_path: Path) -> None:
    async with running_app(tmp_path / "made", encryption_key=KEY) as maker:  # no `_webhooks` table in it
        await maker.backups.create("bare.zip", passphrase=SHARED)
        await _with_authenticator(maker)
        await maker.backups.create("sealed.zip", passphrase=SHARED)
    async with running_app(tmp_path / "clear") as maker:
        await _with_authenticator(maker)
        await maker.backups.create("clear.zip", passphrase=SHARED)
    shutil.copy(tmp_path / "clear" / BACKUPS_DIR / "clear.zip", tmp_path / "made" / BACKUPS_DIR / "clear.zip")
    async with running_app(tmp_path / "made", encryption_key=KEY) as app:
        app.config.backup_passphrase = SHARED
        for name, rows in (("bare.zip", 0), ("sealed.zip", 1), ("clear.zip", 1)):
            await app.backups.restore(name)
            assert await totp_store.check_secrets(app) == (name == "clear.zip"), name
            users = app.collections.get("users")
            assert users is not None
            record = await storage.fetch_by_id(app.db.executor(), users, "u1aaaaaaaaaaaaa")
            state = await totp_store.get(app, record) if record is not None else None
            assert (state is not None and state.secret == TOTP_SECRET) == bool(rows), name
