"""Superusers are always verified: PocketBase sets `verified` on every save of a `_superusers` record."""

from __future__ import annotations

import httpx2


async def test_superusers_are_verified_whatever_the_body_says(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    body = {"email": "root2@example.com", "password": "pass-word-123", "passwordConfirm": "pass-word-123"}
    r = await client.post("/api/collections/_superusers/records", headers=su_headers, json=body)
    assert r.status_code == 200, r.text
    created = r.json()
    assert created["verified"] is True
    r = await client.patch(
        f"/api/collections/_superusers/records/{created['id']}", headers=su_headers, json={"verified": False}
    )
    assert r.status_code == 200, r.text
    assert r.json()["verified"] is True
    r = await client.post(
        "/api/collections/_superusers/records",
        headers=su_headers,
        json={**body, "email": "root3@example.com", "verified": False},
    )
    assert r.status_code == 200, r.text
    assert r.json()["verified"] is True


async def test_other_auth_records_keep_their_verified_flag(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    body = {"email": "user@example.com", "password": "pass-word-123", "passwordConfirm": "pass-word-123"}
    r = await client.post("/api/collections/users/records", headers=su_headers, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["verified"] is False
