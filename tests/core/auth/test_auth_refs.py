"""The system rows that hang off an auth record go with it, its collection, or its secrets."""

from __future__ import annotations

import httpx2

from satchel.core.app import App
from satchel.core.auth import refs
from satchel.core.records import storage
from satchel.core.records.model import Record
from tests.apis.helpers import create_user


async def _rows(app: App, record: Record) -> dict[str, int]:
    return {name: len(await refs.find_all(app, name, record)) for name in (refs.MFAS, refs.AUTH_ORIGINS, refs.EXTERNAL_AUTHS)}


async def _user_with_rows(app: App, client: httpx2.AsyncClient, email: str) -> Record:
    created = await create_user(client, email)
    users = app.collections.get("users")
    assert users is not None
    record = await storage.fetch_by_id(app.db.executor(), users, created["id"])
    assert record is not None
    await refs.create(app, refs.MFAS, record, method="password")
    await refs.create(app, refs.AUTH_ORIGINS, record, fingerprint="f" * 32)
    await refs.create(app, refs.EXTERNAL_AUTHS, record, provider="github", providerId=f"gh-{email}")
    assert await _rows(app, record) == {"_mfas": 1, "_authOrigins": 1, "_externalAuths": 1}
    return record


async def test_a_new_password_ends_sessions_and_origins_but_keeps_provider_links(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    record = await _user_with_rows(app, client, "pat@example.com")
    body = {"password": "another-pass-1", "passwordConfirm": "another-pass-1"}
    r = await client.patch(f"/api/collections/users/records/{record.id}", json=body, headers=su_headers)
    assert r.status_code == 200, r.text
    assert await _rows(app, record) == {"_mfas": 0, "_authOrigins": 0, "_externalAuths": 1}


async def test_rows_go_with_their_record_and_with_its_collection(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    gone = await _user_with_rows(app, client, "gone@example.com")
    kept = await _user_with_rows(app, client, "kept@example.com")
    r = await client.delete(f"/api/collections/users/records/{gone.id}", headers=su_headers)
    assert r.status_code == 204
    assert await _rows(app, gone) == {"_mfas": 0, "_authOrigins": 0, "_externalAuths": 0}
    assert await _rows(app, kept) == {"_mfas": 1, "_authOrigins": 1, "_externalAuths": 1}
    r = await client.delete("/api/collections/users", headers=su_headers)
    assert r.status_code == 204, r.text
    assert await _rows(app, kept) == {"_mfas": 0, "_authOrigins": 0, "_externalAuths": 0}
