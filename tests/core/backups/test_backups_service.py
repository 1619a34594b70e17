"""Backups end to end at the service: consistent under writes, round trips, refusals that touch nothing."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx2
import pytest

from satchel.adapters.db import sqlite_copy
from satchel.core.app import App
from satchel.core.backups.encryption import MAGIC
from satchel.core.backups.service import CREATE_BUSY, LOCK_FILE, RESTORE_BUSY, WORK_DIR
from satchel.core.errors import BadRequestError, ValidationError
from satchel.ports.blobs import one_chunk
from satchel.testing import client_for, running_app, superuser_token
from satchel.tools.file_lock import FileLock
from tests.core.backups.backup_helpers import data_state, integrity, put_backup, read_backup, sqlite_bytes, zip_of

EVENTS = {
    "name": "events",
    "type": "base",
    "fields": [{"name": "n", "type": "number"}, {"name": "half", "type": "text"}],
}

pytestmark = pytest.mark.sqlite_only(
    "backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)"
)


async def _su(app: App, client: httpx2.AsyncClient) -> dict[str, str]:
    return {"Authorization": await superuser_token(app, client)}


async def _events(app: App) -> list[tuple[int, str]]:
    conn = sqlite3.connect(app.config.data_dir / "data.db")
    try:
        return [(int(n), str(h)) for n, h in conn.execute("SELECT n, half FROM events ORDER BY n, half")]
    finally:
        conn.close()


async def test_a_backup_taken_under_writes_restores_a_consistent_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_copy, "STEP_PAGES", 8)  # many copy steps, so writes land between them
    async with running_app(tmp_path / "live") as app, client_for(app) as client:
        su = await _su(app, client)
        assert (await client.post("/api/collections", json=EVENTS, headers=su)).status_code == 200
        await app.settings.patch({"batch": {"enabled": True}})
        written = 0

        async def write_pair() -> None:
            """Two records in one batch (one transaction): a torn copy would hold one without the other.

            Counted before it is sent, so `written` never lags behind what is committed.
            """
            nonlocal written
            n, written = written, written + 1
            body = {
                "requests": [
                    {"method": "POST", "url": "/api/collections/events/records", "body": {"n": n, "half": h}}
                    for h in ("a", "b")
                ]
            }
            r = await client.post("/api/batch", json=body, headers=su)
            assert r.status_code == 200, r.text

        for _ in range(150):
            await write_pair()
        started = threading.Event()
        enough = threading.Event()
        stop = asyncio.Event()
        mark = 0
        """Batches committed when the copy had made its first step: the snapshot was taken before."""

        async def writer() -> None:
            while not stop.is_set():
                await write_pair()
                if started.is_set() and written >= mark + 30:
                    enough.set()
                await asyncio.sleep(0)  # in-process requests never wait on I/O: let the backup run too

        def progress(phase: str, done: int, total: int) -> None:
            nonlocal mark
            if phase == "database" and not started.is_set():
                mark = written
                started.set()
                assert enough.wait(60), "the backup held up the writers"

        task = asyncio.create_task(writer())
        try:
            await app.backups.create("busy.zip", progress=progress)
        finally:
            stop.set()
            await task
        archive = await read_backup(app, "busy.zip")
    async with running_app(tmp_path / "fresh") as fresh:
        await put_backup(fresh, "busy.zip", archive)
        await fresh.backups.restore("busy.zip")
        rows = await _events(fresh)
        assert integrity(fresh.config.data_dir / "data.db") == "ok"
        count = len(rows) // 2
        assert rows == [(n, h) for n in range(count) for h in ("a", "b")], "not a prefix of whole batches"
        assert 150 <= count <= mark < mark + 30 <= written, "writes made during the copy leaked into it"
        assert fresh.collections.get("events") is not None


async def test_round_trip_with_files(tmp_path: Path) -> None:
    async with running_app(tmp_path / "d") as app, client_for(app) as client:
        su = await _su(app, client)
        files = app.storages.files()
        await files.write("col1/rec1/photo.png", one_chunk(b"\x89PNG original"))
        await files.write("col1/rec2/doc.txt", one_chunk(b"a" * 300_000))
        await app.backups.create("with-files.zip")
        before = data_state(app, restored=True)
        await files.write("col1/rec1/photo.png", one_chunk(b"changed"))
        await files.write("col2/rec9/new.txt", one_chunk(b"added later"))
        r = await client.post("/api/collections", json={"name": "later", "type": "base"}, headers=su)
        assert r.status_code == 200
        client_stream = await app.realtime.join()
        await app.backups.restore("with-files.zip")
        assert data_state(app, restored=True) == before
        assert app.collections.get("later") is None
        assert client_stream.id not in app.realtime.clients, "realtime clients are dropped, as on a restart"
        assert (await client.get("/api/collections/later", headers=su)).status_code == 404
        assert (await client.get("/api/collections/users", headers=su)).status_code == 200  # still signed in
        assert not list((app.config.data_dir / WORK_DIR).iterdir()), "scratch space left behind"


async def test_files_on_s3_are_left_out(tmp_path: Path) -> None:
    async with running_app(tmp_path / "d") as app:
        await app.storages.files().write("c/r/a.txt", one_chunk(b"local"))
        app.settings.current["s3"]["enabled"] = True  # PocketBase backs up pb_data only, not the bucket
        try:
            await app.backups.create("no-files.zip")
        finally:
            app.settings.current["s3"]["enabled"] = False
        import io
        import zipfile

        names = zipfile.ZipFile(io.BytesIO(await read_backup(app, "no-files.zip"))).namelist()
        assert names == ["data.db"]


async def test_encrypted_round_trip(tmp_path: Path) -> None:
    async with running_app(tmp_path / "d") as app:
        app.config.backup_passphrase = "s3cret passphrase"
        await app.storages.files().write("c/r/a.txt", one_chunk(b"kept"))
        await app.backups.create("enc.zip")
        raw = await read_backup(app, "enc.zip")
        assert raw.startswith(MAGIC) and b"data.db" not in raw and b"kept" not in raw
        before = data_state(app, restored=True)
        await app.storages.files().delete("c/r/a.txt")
        await app.settings.patch({"meta": {"appName": "Changed"}})
        await app.backups.restore("enc.zip")
        assert data_state(app, restored=True) == before
        assert app.settings.current["meta"]["appName"] == "Acme"
        # an explicit passphrase (the CLI's) wins over the configured one
        await app.backups.create("other.zip", passphrase="another one")
        with pytest.raises(BadRequestError, match="passphrase is wrong"):
            await app.backups.restore("other.zip")
        await app.backups.restore("other.zip", passphrase="another one")


def _valid_archive_variants(archive: bytes, tmp: Path) -> dict[str, tuple[bytes, str]]:
    middle = len(archive) // 2
    flipped = bytearray(archive)
    for i in range(200, 260):  # inside data.db's compressed bytes
        flipped[i] ^= 0x55
    no_tables = sqlite_bytes(tmp, "CREATE TABLE notes (id TEXT)")
    return {
        "truncated": (archive[:middle], "not a valid zip"),
        "corrupt": (bytes(flipped), "damaged"),
        "not a zip": (b"just some text, not an archive" * 10, "not a valid zip"),
        "empty": (b"", "not a valid zip"),
        "foreign zip": (zip_of({"readme.txt": b"hello"}), "no data.db"),
        "not sqlite": (zip_of({"data.db": b"this is not a database" * 50}), "not a SQLite database"),
        "no system tables": (zip_of({"data.db": no_tables}), "system tables"),
        "unsafe name": (zip_of({"data.db": no_tables, "storage/../../escape.txt": b"x"}), "unsafe entry"),
    }


async def test_bad_archives_are_refused_and_nothing_changes(tmp_path: Path) -> None:
    async with running_app(tmp_path / "d") as app:
        await app.storages.files().write("c/r/a.txt", one_chunk(b"current"))
        await app.backups.create("good.zip")
        good = await read_backup(app, "good.zip")
        app.config.backup_passphrase = "right"
        await app.backups.create("enc.zip")
        encrypted = await read_backup(app, "enc.zip")
        cases = _valid_archive_variants(good, tmp_path)
        cases["encrypted, truncated"] = (encrypted[: len(encrypted) - 40], "truncated")
        await app.storages.files().write("c/r/b.txt", one_chunk(b"after the backups"))
        before = data_state(app)
        for label, (blob, message) in cases.items():
            await put_backup(app, "bad.zip", blob)
            with pytest.raises(BadRequestError, match=message):
                await app.backups.restore("bad.zip")
            assert data_state(app) == before, label
        app.config.backup_passphrase = "wrong"
        with pytest.raises(BadRequestError, match="passphrase is wrong"):
            await app.backups.restore("enc.zip")
        app.config.backup_passphrase = ""
        with pytest.raises(BadRequestError, match="encrypted: set the backup passphrase"):
            await app.backups.restore("enc.zip")
        with pytest.raises(BadRequestError, match="Missing or invalid backup file"):
            await app.backups.restore("absent.zip")
        with pytest.raises(BadRequestError, match="Missing or invalid backup file"):
            await app.backups.restore("../data.db")
        assert data_state(app) == before
        assert not list((app.config.data_dir / WORK_DIR).iterdir())


async def test_one_operation_at_a_time_across_processes(tmp_path: Path) -> None:
    async with running_app(tmp_path / "d") as app:
        await app.backups.create("one.zip")
        sibling = FileLock(app.config.data_dir / LOCK_FILE)  # another worker, mid-backup
        assert sibling.try_acquire("one.zip")
        try:
            assert app.backups.active() == "one.zip"
            with pytest.raises(BadRequestError) as busy:
                await app.backups.create("two.zip")
            assert busy.value.message == CREATE_BUSY
            with pytest.raises(BadRequestError) as busy:
                await app.backups.restore("one.zip")
            assert busy.value.message == RESTORE_BUSY
            with pytest.raises(BadRequestError, match="currently being used"):
                await app.backups.delete("one.zip")
        finally:
            sibling.release()
        assert app.backups.active() is None
        await app.backups.delete("one.zip")
        assert await app.backups.list() == []


async def test_create_validates_the_name(tmp_path: Path) -> None:
    async with running_app(tmp_path / "d") as app:
        for name, code in [
            ("Bad.zip", "validation_match_invalid"),
            ("x" * 147 + ".zip", "validation_length_out_of_range"),
        ]:
            with pytest.raises(ValidationError) as info:
                await app.backups.create(name)
            assert info.value.data["name"]["code"] == code
        await app.backups.create("taken.zip")
        with pytest.raises(ValidationError) as info:
            await app.backups.create("taken.zip")
        assert info.value.data["name"]["code"] == "validation_backup_name_exists"
        await app.settings.patch({"meta": {"appName": "My Test App"}})
        name = await app.backups.create()
        assert name.startswith("pb_backup_my_test_app_") and len(name) == len(
            "pb_backup_my_test_app_20260101000000.zip"
        )
        assert sorted(b.key for b in await app.backups.list()) == sorted(["taken.zip", name])


async def test_a_sibling_worker_reloads_after_a_restore(tmp_path: Path) -> None:
    from satchel.wiring import build_app

    async with running_app(tmp_path / "elsewhere") as foreign:
        await foreign.settings.patch({"meta": {"appName": "Foreign"}})
        await foreign.backups.create("foreign.zip")
        archive = await read_backup(foreign, "foreign.zip")
        foreign_secret = foreign.secret
    data = tmp_path / "shared"
    a, b = build_app(data, workers=2), build_app(data, workers=2)
    await a.bootstrap()
    await b.bootstrap()
    await b.backups.start()
    try:
        async with client_for(a) as ca:
            su = await _su(a, ca)
            r = await ca.post("/api/collections", json={"name": "local_only", "type": "base"}, headers=su)
            assert r.status_code == 200
        await b.sync()
        assert b.collections.get("local_only") is not None
        stream = await b.realtime.join()
        await put_backup(a, "foreign.zip", archive)
        await a.backups.restore("foreign.zip")
        assert b.stale()
        await b.sync()
        assert b.collections.get("local_only") is None
        assert b.settings.current["meta"]["appName"] == "Foreign"
        assert b.secret == a.secret == foreign_secret
        assert stream.id not in b.realtime.clients
        # an ordinary schema change afterwards does not drop clients again
        again = await b.realtime.join()
        await a.settings.patch({"meta": {"appName": "Edited"}})
        await b.sync()
        assert again.id in b.realtime.clients and b.settings.current["meta"]["appName"] == "Edited"
    finally:
        await b.backups.close()
        for app in (a, b):
            await app.realtime.close()
            await app.close()


async def test_upload_streams_and_validates(tmp_path: Path) -> None:
    async def chunks(*parts: bytes) -> Any:
        for p in parts:
            yield p

    async with running_app(tmp_path / "d") as app:
        assert await app.backups.upload("dir/nested/up.zip", chunks(b"PK\x05\x06", b"\x00" * 18)) == "up.zip"
        assert (await read_backup(app, "up.zip")) == b"PK\x05\x06" + b"\x00" * 18
        with pytest.raises(ValidationError) as info:
            await app.backups.upload("up.zip", chunks(b"PK\x03\x04rest"))
        assert info.value.data["file"]["code"] == "validation_backup_name_exists"
        with pytest.raises(ValidationError) as info:
            await app.backups.upload("x.zip", chunks(b"%PDF-1.7 ..."))
        assert info.value.data["file"]["code"] == "validation_invalid_mime_type"
        with pytest.raises(ValidationError) as info:
            await app.backups.upload("we ird.zip", chunks(b"PK\x03\x04"))
        assert info.value.data["file"]["code"] == "validation_invalid_file_name"
        with pytest.raises(ValidationError) as info:
            await app.backups.upload(None, None)
        assert info.value.data["file"]["code"] == "validation_required"
        assert [b.key for b in await app.backups.list()] == ["up.zip"]
        app.config.backup_passphrase = "p"
        await app.backups.create("enc.zip")
        enc = await read_backup(app, "enc.zip")
        await app.backups.upload("enc-copy.zip", chunks(enc[:5], enc[5:]))  # encrypted archives are accepted too
        shutil.rmtree(app.config.data_dir / "storage", ignore_errors=True)
        await app.backups.restore("enc-copy.zip")
