"""`/api/backups` with a key ring: archives are created sealed with the current key (locally and in
S3), downloaded as stored, restored with any ring key, and a missing key is a clear 400."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from s3_service import settings_section

from satchel.core.app import App
from satchel.core.auth.superusers import find_superuser
from satchel.core.auth.tokens import TYPE_FILE, issue_record_token
from satchel.core.backups.encryption import RING_HEADER_SIZE, RING_MAGIC, header_key_id
from satchel.ports.blobs import S3Config
from satchel.testing import SUPERUSER_EMAIL, client_for, running_app, superuser_token
from satchel.tools.secretbox import key_id_of
from tests.apis.helpers import error
from tests.core.backups.backup_helpers import read_backup

KEY = bytes.fromhex("61" * 32)
NEW = bytes.fromhex("62" * 32)
OTHER = bytes.fromhex("63" * 32)

pytestmark = pytest.mark.sqlite_only(
    "backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)"
)


async def _download(app: App, client: httpx2.AsyncClient, name: str) -> bytes:
    superuser = await find_superuser(app, SUPERUSER_EMAIL)
    assert superuser is not None
    r = await client.get(f"/api/backups/{name}?token={issue_record_token(app.secret, superuser, TYPE_FILE)}")
    assert r.status_code == 200, r.text
    return r.content


async def _made_with_key(tmp_path: Path) -> bytes:
    """An archive of an instance with the collection `kept`, sealed with KEY, as downloaded."""
    async with running_app(tmp_path / "made", encryption_key=KEY) as app, client_for(app) as client:
        su = {"Authorization": await superuser_token(app, client)}
        r = await client.post("/api/collections", json={"name": "kept", "type": "base"}, headers=su)
        assert r.status_code == 200, r.text
        r = await client.post("/api/backups", json={"name": "made.zip"}, headers=su)
        assert r.status_code == 204, r.text
        stored = await read_backup(app, "made.zip")
        assert stored.startswith(RING_MAGIC) and b"PK\x03\x04" not in stored
        assert await _download(app, client, "made.zip") == stored  # downloaded as stored: still sealed
        return stored


async def _upload_and_restore(app: App, client: httpx2.AsyncClient, archive: bytes) -> httpx2.Response:
    su = {"Authorization": await superuser_token(app, client)}
    files = {"file": ("uploaded.zip", archive, "application/zip")}
    r = await client.post("/api/backups/upload", files=files, headers=su)
    assert r.status_code == 204, r.text
    return await client.post("/api/backups/uploaded.zip/restore", headers=su)


async def test_upload_and_restore_after_a_rotation(tmp_path: Path) -> None:
    archive = await _made_with_key(tmp_path)
    ring = running_app(tmp_path / "rotated", encryption_key=NEW, old_encryption_keys=(KEY,))
    async with ring as app, client_for(app) as client:
        r = await _upload_and_restore(app, client, archive)
        assert r.status_code == 204, r.text
        su = {"Authorization": await superuser_token(app, client)}
        assert (await client.get("/api/collections/kept", headers=su)).status_code == 200


async def test_a_missing_key_is_a_400_naming_it(tmp_path: Path) -> None:
    archive = await _made_with_key(tmp_path)
    ring = running_app(tmp_path / "here", encryption_key=NEW, old_encryption_keys=(OTHER,))
    async with ring as app, client_for(app) as client:
        r = await _upload_and_restore(app, client, archive)
        assert r.status_code == 400
        message = r.json()["message"]
        assert r.json() == error(400, message)
        assert f"encrypted with the key {key_id_of(KEY)}" in message and key_id_of(NEW) in message
        su = {"Authorization": await superuser_token(app, client)}
        assert (await client.get("/api/collections/kept", headers=su)).status_code == 404
        crafted = archive[: len(RING_MAGIC)] + b"\xff" * 16 + archive[len(RING_MAGIC) + 16 : RING_HEADER_SIZE]
        files = {"file": ("crafted.zip", crafted, "application/zip")}
        assert (await client.post("/api/backups/upload", files=files, headers=su)).status_code == 204
        r = await client.post("/api/backups/crafted.zip/restore", headers=su)
        assert r.status_code == 400 and r.json() == error(400, r.json()["message"])
        assert "header is damaged" in r.json()["message"]


async def test_archives_in_s3_are_sealed_too(tmp_path: Path, s3_config: S3Config) -> None:
    async with running_app(tmp_path / "d", encryption_key=KEY) as app, client_for(app) as client:
        su = {"Authorization": await superuser_token(app, client)}
        await app.settings.patch({"backups": {"s3": settings_section(s3_config)}})
        r = await client.post("/api/backups", json={"name": "in-s3.zip"}, headers=su)
        assert r.status_code == 204, r.text
        stored = await read_backup(app, "in-s3.zip")
        assert header_key_id(stored) == key_id_of(KEY) and b"PK\x03\x04" not in stored
        assert [info.key for info in await app.storages.backups().list()] == ["in-s3.zip"]
        assert await _download(app, client, "in-s3.zip") == stored
        r = await client.post("/api/collections", json={"name": "later", "type": "base"}, headers=su)
        assert r.status_code == 200
        r = await client.post("/api/backups/in-s3.zip/restore", headers=su)
        assert r.status_code == 204, r.text
        assert (await client.get("/api/collections/later", headers=su)).status_code == 404
