"""Backups under the key ring: sealed with the current key when no passphrase is set, restored with
any ring key, refused (untouched, naming the key) when the ring lacks it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from satchel.core.backups.encryption import MAGIC, RING_HEADER_SIZE, RING_MAGIC, header_key_id
from satchel.core.backups.names import AUTO_PREFIX
from satchel.core.errors import BadRequestError
from satchel.core.files.storages import BACKUPS_DIR
from satchel.ports.blobs import one_chunk
from satchel.testing import running_app
from satchel.tools.secretbox import key_id_of
from tests.core.backups.backup_helpers import data_state, put_backup, read_backup

KEY = bytes.fromhex("51" * 32)
NEW = bytes.fromhex("52" * 32)
OTHER = bytes.fromhex("53" * 32)
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x01\x02")

pytestmark = pytest.mark.sqlite_only(
    "backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)"
)


def _sealed_with(raw: bytes, key: bytes) -> None:
    assert raw.startswith(RING_MAGIC) and header_key_id(raw) == key_id_of(key)
    assert not any(sig in raw for sig in ZIP_SIGNATURES) and b"data.db" not in raw


async def test_manual_and_scheduled_backups_are_sealed_with_the_current_key(tmp_path: Path) -> None:
    async with running_app(tmp_path / "d", encryption_key=KEY) as app:
        await app.storages.files().write("c/r/a.txt", one_chunk(b"kept file"))
        await app.backups.create("ring.zip")
        raw = await read_backup(app, "ring.zip")
        _sealed_with(raw, KEY)
        assert b"kept file" not in raw
        assert await app.backups.key_id("ring.zip") == key_id_of(KEY)
        await app.backups.scheduler.run_now()
        (auto,) = [b.key for b in await app.backups.list() if b.key.startswith(AUTO_PREFIX)]
        _sealed_with(await read_backup(app, auto), KEY)

        before = data_state(app, restored=True)
        await app.storages.files().delete("c/r/a.txt")
        await app.settings.patch({"meta": {"appName": "Changed"}})
        await app.backups.restore("ring.zip")
        assert data_state(app, restored=True) == before
        assert app.settings.current["meta"]["appName"] == "Acme"


async def test_after_a_rotation_old_archives_restore_while_the_old_key_is_kept(tmp_path: Path) -> None:
    async with running_app(tmp_path / "old", encryption_key=KEY) as app:
        await app.settings.patch({"meta": {"appName": "Before rotation"}})
        await app.backups.create("before.zip")
    archive = tmp_path / "old" / BACKUPS_DIR / "before.zip"
    async with running_app(tmp_path / "rotated", encryption_key=NEW, old_encryption_keys=(KEY,)) as app:
        (tmp_path / "rotated" / BACKUPS_DIR).mkdir(parents=True, exist_ok=True)
        shutil.copy(archive, tmp_path / "rotated" / BACKUPS_DIR / "before.zip")
        assert await app.backups.key_id("before.zip") == key_id_of(KEY)
        await app.backups.create("after.zip")
        _sealed_with(await read_backup(app, "after.zip"), NEW)  # new archives use the new current key
        await app.backups.restore("before.zip")
        assert app.settings.current["meta"]["appName"] == "Before rotation"


async def test_a_ring_without_the_key_refuses_and_touches_nothing(tmp_path: Path) -> None:
    async with running_app(tmp_path / "old", encryption_key=KEY) as app:
        await app.backups.create("sealed.zip")
        sealed = await read_backup(app, "sealed.zip")
    for ring in ((NEW, (OTHER,)), (b"", ())):
        async with running_app(
            tmp_path / f"here{len(ring[0])}", encryption_key=ring[0], old_encryption_keys=ring[1]
        ) as app:
            await app.settings.patch({"meta": {"appName": "Here"}})
            await put_backup(app, "sealed.zip", sealed)
            before = data_state(app)
            with pytest.raises(BadRequestError, match=f"encrypted with the key {key_id_of(KEY)}, which is not"):
                await app.backups.restore("sealed.zip")
            assert data_state(app) == before and app.settings.current["meta"]["appName"] == "Here"
            damaged = bytearray(sealed)
            damaged[RING_HEADER_SIZE + 50] ^= 1
            await put_backup(app, "damaged.zip", bytes(damaged))
            with pytest.raises(BadRequestError, match=key_id_of(KEY)):
                await app.backups.restore("damaged.zip")  # the missing key is told before any record is read


async def test_tampering_is_refused_and_touches_nothing(tmp_path: Path) -> None:
    async with running_app(tmp_path / "d", encryption_key=KEY) as app:
        await app.backups.create("sealed.zip")
        sealed = await read_backup(app, "sealed.zip")
        await app.settings.patch({"meta": {"appName": "Later"}})
        before = data_state(app)
        chunk, header = bytearray(sealed), bytearray(sealed)
        chunk[RING_HEADER_SIZE + 50] ^= 1
        header[len(RING_MAGIC) + 20] ^= 1  # the salt
        cases = {"chunk": (chunk, "authentication"), "header": (header, "key check failed")}
        cases["cut"] = (bytearray(sealed[:-3]), "truncated")
        for label, (blob, message) in cases.items():
            await put_backup(app, "bad.zip", bytes(blob))
            with pytest.raises(BadRequestError, match=message):
                await app.backups.restore("bad.zip")
            assert data_state(app) == before, label


async def test_a_passphrase_takes_precedence_and_plain_zips_still_restore(tmp_path: Path) -> None:
    async with running_app(tmp_path / "plain") as app:
        await app.settings.patch({"meta": {"appName": "Plain"}})
        await app.backups.create("plain.zip")
        plain = await read_backup(app, "plain.zip")
    assert plain.startswith(b"PK\x03\x04")
    async with running_app(tmp_path / "d", encryption_key=KEY) as app:
        app.config.backup_passphrase = "pass phrase"
        await app.backups.create("phrase.zip")
        raw = await read_backup(app, "phrase.zip")
        assert raw.startswith(MAGIC) and header_key_id(raw) == ""
        assert await app.backups.key_id("phrase.zip") == ""
        await app.settings.patch({"meta": {"appName": "Changed"}})
        await app.backups.restore("phrase.zip")
        assert app.settings.current["meta"]["appName"] == "Acme"
        app.config.backup_passphrase = ""
        with pytest.raises(BadRequestError, match="set the backup passphrase"):
            await app.backups.restore("phrase.zip")  # the ring does not open a passphrase archive
        await put_backup(app, "plain.zip", plain)
        assert await app.backups.key_id("plain.zip") == ""
        await app.backups.restore("plain.zip")
        assert app.settings.current["meta"]["appName"] == "Plain"
