"""Restoring a backup whose settings secrets were sealed with another key is refused before
anything is replaced (naming the key it needs); one made with this key restores as usual."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from satchel.core.files.storages import BACKUPS_DIR
from satchel.testing import client_for, running_app, superuser_token
from satchel.tools.secretbox import key_id_of
from tests.apis.helpers import error

KEY = bytes.fromhex("31" * 32)
OTHER = bytes.fromhex("32" * 32)
SHARED = "shared passphrase"
"""Archives are sealed with a passphrase, not the ring: this is about the secrets inside them."""
BACKUPS_ONLY_SQLITE = "backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)"


@pytest.mark.sqlite_only(BACKUPS_ONLY_SQLITE)
async def test_a_backup_sealed_with_another_key_is_refused_untouched(tmp_path: Path) -> None:
    async with running_app(tmp_path / "made", encryption_key=OTHER) as maker:
        await maker.settings.patch({"smtp": {"password": "from-the-other-instance"}})
        await maker.backups.create("other.zip", passphrase=SHARED)
    async with running_app(tmp_path / "here", encryption_key=KEY) as app, client_for(app) as client:
        su = {"Authorization": await superuser_token(app, client)}
        app.config.backup_passphrase = SHARED
        await app.settings.patch({"meta": {"appName": "Here"}, "smtp": {"password": "mine"}})
        await app.backups.create("mine.zip")
        shutil.copy(tmp_path / "made" / BACKUPS_DIR / "other.zip", tmp_path / "here" / BACKUPS_DIR / "other.zip")
        r = await client.post("/api/backups/other.zip/restore", headers=su)
        assert r.status_code == 400
        message = r.json()["message"]
        assert r.json() == error(400, message)
        assert key_id_of(OTHER) in message and key_id_of(KEY) in message and "was not restored" in message
        assert "from-the-other-instance" not in r.text
        assert app.settings.current["meta"]["appName"] == "Here"
        await app.settings.patch({"meta": {"appName": "Changed"}})
        r = await client.post("/api/backups/mine.zip/restore", headers=su)
        assert r.status_code == 204, r.text
        assert app.settings.current["meta"]["appName"] == "Here"
        assert app.settings.current["smtp"]["password"] == "mine"
