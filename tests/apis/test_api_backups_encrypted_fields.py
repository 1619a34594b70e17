"""A backup whose encrypted record fields were sealed with a key this instance does not have is
refused before anything is replaced; with that key among the older ones it restores and opens."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from satchel.core.files.storages import BACKUPS_DIR
from satchel.testing import client_for, running_app, superuser_token
from satchel.tools.secretbox import key_id_of

KEY = bytes.fromhex("31" * 32)
OTHER = bytes.fromhex("32" * 32)
SHARED = "shared passphrase"
"""Archives are sealed with a passphrase, not the ring: this is about the fields inside them."""
NOTES = {"name": "notes", "viewRule": "", "fields": [{"name": "ssn", "type": "text", "encrypted": True}]}


@pytest.mark.sqlite_only("backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)")
async def test_a_backup_of_fields_sealed_with_another_key_needs_that_key(tmp_path: Path) -> None:
    async with running_app(tmp_path / "made", encryption_key=OTHER) as maker, client_for(maker) as client:
        su = {"Authorization": await superuser_token(maker, client)}
        assert (await client.post("/api/collections", json=NOTES, headers=su)).status_code == 200
        r = await client.post("/api/collections/notes/records", json={"ssn": "ssn 123"}, headers=su)
        record_id = r.json()["id"]
        await maker.backups.create("other.zip", passphrase=SHARED)
    archive = tmp_path / "made" / BACKUPS_DIR / "other.zip"
    async with running_app(tmp_path / "here", encryption_key=KEY) as app, client_for(app) as client:
        su = {"Authorization": await superuser_token(app, client)}
        app.config.backup_passphrase = SHARED
        (tmp_path / "here" / BACKUPS_DIR).mkdir(parents=True, exist_ok=True)
        shutil.copy(archive, tmp_path / "here" / BACKUPS_DIR / "other.zip")
        r = await client.post("/api/backups/other.zip/restore", headers=su)
        assert r.status_code == 400 and key_id_of(OTHER) in r.json()["message"]
        assert "was not restored" in r.json()["message"] and "ssn 123" not in r.text
        assert app.collections.get("notes") is None
    ring = running_app(tmp_path / "ring", encryption_key=KEY, old_encryption_keys=(OTHER,))
    async with ring as app, client_for(app) as client:
        su = {"Authorization": await superuser_token(app, client)}
        app.config.backup_passphrase = SHARED
        (tmp_path / "ring" / BACKUPS_DIR).mkdir(parents=True, exist_ok=True)
        shutil.copy(archive, tmp_path / "ring" / BACKUPS_DIR / "other.zip")
        r = await client.post("/api/backups/other.zip/restore", headers=su)
        assert r.status_code == 204, r.text
        r = await client.get(f"/api/collections/notes/records/{record_id}")
        assert r.status_code == 200 and r.json()["ssn"] == "ssn 123"
