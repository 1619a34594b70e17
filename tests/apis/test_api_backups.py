"""`/api/backups` as PocketBase answers it: statuses, messages and field codes, auth on every route."""

from __future__ import annotations

import re
import zipfile
from io import BytesIO
from typing import Any

import httpx2
import pytest

from satchel.core.app import App
from satchel.core.auth.superusers import find_superuser
from satchel.core.auth.tokens import TYPE_FILE, issue_record_token, signing_key
from satchel.core.backups.service import LOCK_FILE
from satchel.testing import SUPERUSER_EMAIL
from satchel.tools import tokens
from satchel.tools.file_lock import FileLock
from tests.apis.helpers import create_user, error, login
from tests.core.backups.backup_helpers import put_backup, read_backup, zip_of

GUEST = 401
USER = 403
ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/backups", {}),
    ("POST", "/api/backups", {"json": {"name": "x.zip"}}),
    ("POST", "/api/backups/upload", {"files": {"file": ("x.zip", zip_of({"a": b"b"}), "application/zip")}}),
    ("DELETE", "/api/backups/one.zip", {}),
    ("POST", "/api/backups/one.zip/restore", {}),
]
FILE_TOKEN_NEEDED = error(403, "Insufficient permissions to access the resource.")


async def _file_token(app: App, duration: int | None = None) -> str:
    record = await find_superuser(app, SUPERUSER_EMAIL)
    assert record is not None
    if duration is None:
        return issue_record_token(app.secret, record, TYPE_FILE)
    claims = {"collectionId": record.collection_id, "id": record.id, "type": TYPE_FILE}
    return tokens.sign(claims, signing_key(app.secret, record, TYPE_FILE), duration)


async def _keys(client: httpx2.AsyncClient, su: dict[str, str]) -> list[str]:
    r = await client.get("/api/backups", headers=su)
    assert r.status_code == 200
    return sorted(item["key"] for item in r.json())


@pytest.mark.sqlite_only("backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)")
async def test_every_route_needs_a_superuser(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await app.backups.create("one.zip")
    await create_user(client, "someone@example.com")
    user = await login(client, "someone@example.com")
    for method, url, kwargs in ROUTES:
        r = await client.request(method, url, **kwargs)
        assert (r.status_code, r.json()["data"]) == (GUEST, {}), (method, url)
        r = await client.request(method, url, headers=user, **kwargs)
        assert (r.status_code, r.json()["data"]) == (USER, {}), (method, url)
    assert await _keys(client, su_headers) == ["one.zip"]


@pytest.mark.sqlite_only("backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)")
async def test_list_and_create(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await client.get("/api/backups", headers=su_headers)
    assert r.json() == []
    assert (await client.post("/api/backups", headers=su_headers)).status_code == 204
    r = await client.post("/api/backups", json={"name": "test.zip"}, headers=su_headers)
    assert r.status_code == 204
    items = (await client.get("/api/backups", headers=su_headers)).json()
    assert [i["key"] for i in items][1] == "test.zip" and items[0]["key"].startswith("pb_backup_acme_")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z", items[0]["modified"])
    assert all(isinstance(i["size"], int) and i["size"] > 0 for i in items)
    r = await client.post("/api/backups", json={"name": "test.zip"}, headers=su_headers)
    assert r.status_code == 400
    assert r.json()["data"]["name"]["code"] == "validation_backup_name_exists"
    r = await client.post("/api/backups", json={"name": "!test.zip"}, headers=su_headers)
    assert r.json() == error(
        400,
        "An error occurred while validating the submitted data.",
        {"name": {"code": "validation_match_invalid", "message": "Must be in a valid format."}},
    )
    for body in (b'{"name": 123}', b"not json"):
        r = await client.post("/api/backups", content=body, headers={**su_headers, "Content-Type": "application/json"})
        assert r.json() == error(400, "An error occurred while loading the submitted data.")
    holder = FileLock(app.config.data_dir / LOCK_FILE)
    assert holder.try_acquire("other.zip")
    try:
        r = await client.post("/api/backups", json={"name": "busy.zip"}, headers=su_headers)
        assert r.json() == error(400, "Try again later - another backup/restore process has already been started")
    finally:
        holder.release()
    assert len(await _keys(client, su_headers)) == 2


async def test_upload(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await client.post("/api/backups/upload", headers=su_headers)
    assert r.json()["data"] == {"file": {"code": "validation_required", "message": "Cannot be blank."}}
    r = await client.post(
        "/api/backups/upload", headers=su_headers, files={"other": ("a.zip", zip_of({"a": b"b"}), "application/zip")}
    )
    assert r.json()["data"]["file"]["code"] == "validation_required"
    r = await client.post("/api/backups/upload", headers=su_headers, files={"file": ("a.txt", b"hello", "text/plain")})
    assert r.json()["data"] == {
        "file": {
            "code": "validation_invalid_mime_type",
            "message": '"a.txt" mime type must be one of: application/zip.',
        }
    }
    archive = zip_of({"data.db": b"x" * 5000})
    app.config.max_body_size = 1000  # the upload route is exempt, like PocketBase's BodyLimit(0)
    files = {"file": ("../../up.zip", archive, "application/zip")}
    r = await client.post("/api/backups/upload", headers=su_headers, files=files, data={"note": "ignored"})
    assert r.status_code == 204, r.text
    assert await read_backup(app, "up.zip") == archive
    r = await client.post("/api/backups", json={"name": "x" * 2000}, headers=su_headers)
    assert r.status_code == 413, "only the upload route is exempt"
    app.config.max_body_size = 32 << 20
    r = await client.post("/api/backups/upload", headers=su_headers, files=files)
    assert r.json()["data"]["file"]["code"] == "validation_backup_name_exists"
    r = await client.post(
        "/api/backups/upload",
        content=b'--b\r\nContent-Disposition: form-data; name="file"; filename="t.zip"\r\n\r\nPK\x03\x04 cut',
        headers={**su_headers, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 400 and "t.zip" not in await _keys(client, su_headers), "a cut upload stores nothing"
    assert await _keys(client, su_headers) == ["up.zip"]


@pytest.mark.sqlite_only("backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)")
async def test_download(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await app.backups.create("test1.zip")
    await app.backups.create_unchecked("@test4.zip")  # core takes any name, as PocketBase's CreateBackup
    await create_user(client, "someone@example.com")
    user = await login(client, "someone@example.com")
    user_record = await app.auth.record_from_token(user["Authorization"])
    assert user_record is not None
    denied = [
        ("/api/backups/test1.zip", {}),
        ("/api/backups/test1.zip", su_headers),
        ("/api/backups/test1.zip?token=", {}),
        ("/api/backups/test1.zip?token=" + su_headers["Authorization"], {}),
        ("/api/backups/test1.zip?token=" + issue_record_token(app.secret, user_record, TYPE_FILE), {}),
        ("/api/backups/test1.zip?token=" + await _file_token(app, duration=-60), {}),
    ]
    for url, headers in denied:
        r = await client.get(url, headers=headers)
        assert r.json() == FILE_TOKEN_NEEDED, url
    token = await _file_token(app)
    r = await client.get(f"/api/backups/missing.zip?token={token}")
    assert r.json() == error(404, "The requested resource wasn't found.")
    r = await client.get(f"/api/backups/test1.zip?token={token}")
    assert r.status_code == 200
    assert r.content == await read_backup(app, "test1.zip")
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"] == 'attachment; filename="test1.zip"'
    assert "sandbox" in r.headers["content-security-policy"]
    assert zipfile.ZipFile(BytesIO(r.content)).namelist() == ["data.db"]
    r = await client.get(f"/api/backups/test1.zip?token={token}", headers={"Range": "bytes=0-9"})
    assert (r.status_code, r.content) == (206, (await read_backup(app, "test1.zip"))[:10]), "downloads can resume"
    r = await client.get(f"/api/backups/%40test4.zip?token={token}")
    assert r.status_code == 200
    await app.settings.patch({"trustedProxy": {"headers": ["x-test-ip"]}, "superuserIPs": ["10.0.0.0/8", "::1"]})
    for ip in ("10.1.2.3", "::1"):
        r = await client.get(f"/api/backups/test1.zip?token={token}", headers={"x-test-ip": ip})
        assert r.status_code == 200, ip
    r = await client.get(f"/api/backups/test1.zip?token={token}", headers={"x-test-ip": "127.0.0.1"})
    assert r.json() == FILE_TOKEN_NEEDED


@pytest.mark.sqlite_only("backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)")
async def test_delete(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    for name in ("test1.zip", "test2.zip", "@test4.zip"):
        await app.backups.create_unchecked(name)
    r = await client.delete("/api/backups/missing.zip", headers=su_headers)
    assert r.json() == error(400, "Invalid or already deleted backup file.")
    holder = FileLock(app.config.data_dir / LOCK_FILE)
    assert holder.try_acquire("test1.zip")
    try:
        r = await client.delete("/api/backups/test1.zip", headers=su_headers)
        assert r.json() == error(400, "The backup is currently being used and cannot be deleted.")
        assert (await client.delete("/api/backups/test2.zip", headers=su_headers)).status_code == 204
    finally:
        holder.release()
    assert (await client.delete("/api/backups/%40test4.zip", headers=su_headers)).status_code == 204
    assert await _keys(client, su_headers) == ["test1.zip"]


@pytest.mark.sqlite_only("backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)")
async def test_restore(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await app.backups.create("test1.zip")
    r = await client.post("/api/collections", json={"name": "later", "type": "base"}, headers=su_headers)
    assert r.status_code == 200
    r = await client.post("/api/backups/missing.zip/restore", headers=su_headers)
    assert r.json() == error(400, "Missing or invalid backup file.")
    await put_backup(app, "broken.zip", (await read_backup(app, "test1.zip"))[:100])
    r = await client.post("/api/backups/broken.zip/restore", headers=su_headers)
    assert r.status_code == 400 and "not a valid zip" in r.json()["message"]
    holder = FileLock(app.config.data_dir / LOCK_FILE)
    assert holder.try_acquire("")
    try:
        r = await client.post("/api/backups/test1.zip/restore", headers=su_headers)
        assert r.json() == error(400, "Try again later - another backup/restore process has already been started.")
    finally:
        holder.release()
    assert (await client.get("/api/collections/later", headers=su_headers)).status_code == 200
    r = await client.post("/api/backups/test1.zip/restore", headers=su_headers)
    assert r.status_code == 204
    assert (await client.get("/api/collections/later", headers=su_headers)).status_code == 404


@pytest.mark.parametrize(
    ("backups", "expected"),
    [
        (
            {"cron": "bad", "cronMaxKeep": -1},
            {
                "cron": {
                    "code": "validation_invalid_cron",
                    "message": "Invalid cron expression - must be a valid macro or to have exactly 5 space "
                    "separated segments.",
                },
                "cronMaxKeep": {
                    "code": "validation_min_greater_equal_than_required",
                    "message": "Must be no less than 1.",
                    "params": {"threshold": 1},
                },
            },
        ),
        (
            {"cron": "@daily", "cronMaxKeep": 0},
            {"cronMaxKeep": {"code": "validation_required", "message": "Cannot be blank."}},
        ),
        (
            {"cron": "*/0 * * * *"},
            {
                "cron": {
                    "code": "validation_invalid_cron",
                    "message": "Invalid segment step boundary - the step must be between 1 and the 59.",
                }
            },
        ),
    ],
)
async def test_settings_validate_the_schedule(
    client: httpx2.AsyncClient, su_headers: dict[str, str], backups: dict[str, Any], expected: dict[str, Any]
) -> None:
    r = await client.patch("/api/settings", json={"backups": backups}, headers=su_headers)
    assert r.status_code == 400
    assert r.json()["data"] == {"backups": expected}


async def test_settings_accept_a_schedule(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    accepted = (
        {"cron": "0 0 31 2 *", "cronMaxKeep": 2},
        {"cron": "", "cronMaxKeep": 0},
        {"cron": "@daily", "cronMaxKeep": 1},
    )
    for backups in accepted:
        r = await client.patch("/api/settings", json={"backups": backups}, headers=su_headers)
        assert r.status_code == 200, (backups, r.text)
        assert {k: r.json()["backups"][k] for k in backups} == backups
    assert app.settings.current["backups"]["cron"] == "@daily"
