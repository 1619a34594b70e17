"""Backups kept in S3 (`backups.s3` enabled, against the moto server): every route works the same as
with the local directory, and the archives live in the bucket, not on the disk."""

from __future__ import annotations

import zipfile
from io import BytesIO

import httpx2
import pytest
from s3_service import settings_section

from satchel.core.app import App
from satchel.core.auth.superusers import find_superuser
from satchel.core.auth.tokens import TYPE_FILE, issue_record_token
from satchel.core.backups.names import is_key
from satchel.ports.blobs import S3Config
from satchel.testing import SUPERUSER_EMAIL
from tests.core.backups.backup_helpers import zip_of

pytestmark = pytest.mark.sqlite_only(
    "backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)"
)


async def test_backups_live_in_the_bucket(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str], s3_config: S3Config
) -> None:
    await app.settings.patch({"backups": {"s3": settings_section(s3_config)}})
    r = await client.post("/api/backups", json={"name": "in-s3.zip"}, headers=su_headers)
    assert r.status_code == 204, r.text
    upload = {"file": ("uploaded.zip", zip_of({"a.txt": b"b"}), "application/zip")}
    r = await client.post("/api/backups/upload", files=upload, headers=su_headers)
    assert r.status_code == 204, r.text
    r = await client.get("/api/backups", headers=su_headers)
    assert sorted(item["key"] for item in r.json()) == ["in-s3.zip", "uploaded.zip"]
    assert not (app.config.data_dir / "backups").exists() or not any((app.config.data_dir / "backups").iterdir())
    in_bucket = [info.key for info in await app.storages.backups().list()]
    assert in_bucket == ["in-s3.zip", "uploaded.zip"] and all(is_key(k) for k in in_bucket)

    superuser = await find_superuser(app, SUPERUSER_EMAIL)
    assert superuser is not None
    token = issue_record_token(app.secret, superuser, TYPE_FILE)
    r = await client.get(f"/api/backups/in-s3.zip?token={token}")
    assert r.status_code == 200 and zipfile.ZipFile(BytesIO(r.content)).namelist() == ["data.db"]

    r = await client.post("/api/collections", json={"name": "later", "type": "base"}, headers=su_headers)
    assert r.status_code == 200
    r = await client.post("/api/backups/in-s3.zip/restore", headers=su_headers)
    assert r.status_code == 204, r.text
    assert (await client.get("/api/collections/later", headers=su_headers)).status_code == 404
    # the restored settings are the ones of the snapshot, which already pointed at the bucket
    assert app.settings.current["backups"]["s3"]["enabled"] is True

    r = await client.delete("/api/backups/uploaded.zip", headers=su_headers)
    assert r.status_code == 204
    assert [info.key for info in await app.storages.backups().list()] == ["in-s3.zip"]
