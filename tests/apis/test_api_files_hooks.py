"""The file and backup hooks (PocketBase's OnFileDownloadRequest, OnFileTokenRequest, OnBackupCreate,
OnBackupRestore): they fire around the real work, may replace what is served or issued, and refuse by raising."""

from __future__ import annotations

from dataclasses import replace

import httpx2
import pytest

from satchel.core.app import App
from satchel.core.errors import BadRequestError, ForbiddenError
from satchel.core.hooks import BackupEvent, FileDownloadRequestEvent, FileTokenRequestEvent
from tests.apis.helpers import create_collection, create_user, login


async def _doc(client: httpx2.AsyncClient, su: dict[str, str]) -> dict[str, str]:
    fields = [{"name": "doc", "type": "file", "maxSelect": 2}]
    await create_collection(client, su, {"name": "docs", "type": "base", "viewRule": "", "fields": fields})
    files = [("doc", ("a.txt", b"first file", "text/plain")), ("doc", ("b.txt", b"second file", "text/plain"))]
    r = await client.post("/api/collections/docs/records", files=files, headers=su)
    assert r.status_code == 200, r.text
    record: dict[str, str] = r.json()
    return record


async def test_download_hook_sees_the_file_and_may_swap_or_refuse(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    record = await _doc(client, su_headers)
    first, second = record["doc"]
    seen: list[tuple[str, str, str]] = []

    async def swap(e: FileDownloadRequestEvent) -> None:
        seen.append((e.collection.name, e.field.name, e.served.name))
        if e.served.name == first:  # serve the other file of the same record instead
            key = e.served.key.rsplit("/", 1)[0] + "/" + second
            e.served = replace(e.served, key=key, name=second, info=await e.served.store.stat(key))
        await e.next()

    app.hooks.on_file_download_request.bind(swap)
    r = await client.get(f"/api/files/docs/{record['id']}/{first}")
    assert r.status_code == 200 and r.content == b"second file"
    assert seen == [("docs", "doc", first)]

    async def refuse(e: FileDownloadRequestEvent) -> None:
        raise ForbiddenError("No downloads today.")

    app.hooks.on_file_download_request.bind(refuse)
    r = await client.get(f"/api/files/docs/{record['id']}/{second}")
    assert r.status_code == 403 and r.json()["message"] == "No downloads today."
    # a file the record does not hold never reaches the hook
    r = await client.get(f"/api/files/docs/{record['id']}/missing.txt")
    assert r.status_code == 404 and len(seen) == 2


async def test_token_hook_may_replace_or_refuse(app: App, client: httpx2.AsyncClient) -> None:
    await create_user(client, "files@example.com")
    user = await login(client, "files@example.com")
    holders: list[str] = []

    async def wrap(e: FileTokenRequestEvent) -> None:
        await e.next()
        holders.append(e.record.get("email"))
        e.token = e.token + ".checked"

    app.hooks.on_file_token_request.bind(wrap)
    r = await client.post("/api/files/token", headers=user)
    assert r.status_code == 200 and r.json()["token"].endswith(".checked")
    assert holders == ["files@example.com"]
    r = await client.post("/api/files/token")
    assert r.status_code == 401 and holders == ["files@example.com"]  # guests are refused before the hook

    async def refuse(e: FileTokenRequestEvent) -> None:
        raise BadRequestError("Not now.")

    app.hooks.on_file_token_request.bind(refuse)
    r = await client.post("/api/files/token", headers=user)
    assert r.status_code == 400 and r.json()["message"] == "Not now."


@pytest.mark.sqlite_only("backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)")
async def test_backup_hooks_wrap_create_and_restore(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    events: list[tuple[str, str, bool]] = []

    async def create(e: BackupEvent) -> None:
        events.append(("create", e.name, await app.backups.store.exists(e.name)))
        await e.next()
        events.append(("created", e.name, await app.backups.store.exists(e.name)))

    async def restore(e: BackupEvent) -> None:
        events.append(("restore", e.name, True))
        if e.name == "refused.zip":
            raise BadRequestError("Restores are frozen.")
        await e.next()

    app.hooks.on_backup_create.bind(create)
    app.hooks.on_backup_restore.bind(restore)
    r = await client.post("/api/backups", json={"name": "kept.zip"}, headers=su_headers)
    assert r.status_code == 204, r.text
    assert events == [("create", "kept.zip", False), ("created", "kept.zip", True)]
    r = await client.post("/api/backups", json={"name": "refused.zip"}, headers=su_headers)
    assert r.status_code == 204
    r = await client.post("/api/backups/refused.zip/restore", headers=su_headers)
    assert r.status_code == 400 and r.json()["message"] == "Restores are frozen."
    r = await client.post("/api/backups/kept.zip/restore", headers=su_headers)
    assert r.status_code == 204
    assert [e[0] for e in events] == ["create", "created", "create", "created", "restore", "restore"]
