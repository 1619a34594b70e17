"""Forged, stale and misused tokens are all refused (a guest, so 401 where auth is required)."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx2
import jwt
import orjson
import pytest

from satchel.core.app import App
from satchel.core.auth.tokens import TYPE_PASSWORD_RESET, TYPE_VERIFICATION, issue_record_token, signing_key
from satchel.core.records.model import Record
from tests.apis.helpers import create_user, login

REFRESH = "/api/collections/users/auth-refresh"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def _record(app: App, token: str) -> Record:
    record = await app.auth.record_from_token(token)
    assert record is not None
    return record


async def _refused(client: httpx2.AsyncClient, token: str) -> None:
    r = await client.post(REFRESH, headers={"Authorization": token})
    assert r.status_code == 401, r.text
    assert r.json()["status"] == 401
    r = await client.get("/api/collections/users/records", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["items"] == []  # a guest: the list rule shows nothing


@pytest.fixture
async def alice(client: httpx2.AsyncClient) -> tuple[dict[str, Any], str]:
    user = await create_user(client, "alice@example.com")
    token = (await login(client, "alice@example.com"))["Authorization"]
    r = await client.post(REFRESH, headers={"Authorization": token})
    assert r.status_code == 200  # the genuine token works: every refusal below is about the change made
    return user, token


async def test_alg_none_and_other_algorithms(app: App, client: httpx2.AsyncClient, alice: tuple[Any, str]) -> None:
    _, token = alice
    claims = _claims(token)
    key = signing_key(app.secret, await _record(app, token))
    payload = _b64(orjson.dumps(claims))
    for header in ({"alg": "none", "typ": "JWT"}, {"alg": "None"}, {"alg": "NONE", "typ": "JWT"}):
        await _refused(client, f"{_b64(orjson.dumps(header))}.{payload}.")
    for alg in ("HS384", "HS512"):  # the right key, another algorithm
        await _refused(client, jwt.encode(claims, key, algorithm=alg))
    # an HS256 signature under a header that names another algorithm
    genuine_sig = token.split(".")[2]
    other_header = _b64(orjson.dumps({"alg": "HS512", "typ": "JWT"}))
    await _refused(client, f"{other_header}.{payload}.{genuine_sig}")


async def test_wrong_key_tampered_and_expired(app: App, client: httpx2.AsyncClient, alice: tuple[Any, str]) -> None:
    _, token = alice
    claims = _claims(token)
    key = signing_key(app.secret, await _record(app, token))
    await _refused(client, jwt.encode(claims, "not-the-key-" * 4, algorithm="HS256"))
    await _refused(client, jwt.encode(claims, app.secret, algorithm="HS256"))  # the app secret alone is not it
    bob = await create_user(client, "bob@example.com")
    head, _, sig = token.split(".")
    await _refused(client, f"{head}.{_b64(orjson.dumps({**claims, 'id': bob['id']}))}.{sig}")
    await _refused(client, jwt.encode({**claims, "exp": int(time.time()) - 1}, key, algorithm="HS256"))
    await _refused(client, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    for garbage in ("", "Bearer", "a.b", "a.b.c.d", "." * 3, "x" * 10_000, "é.é.é"):
        r = await client.post(REFRESH, headers={"Authorization": garbage.encode()})
        assert r.status_code == 401, garbage


async def test_another_collections_token(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str], alice: tuple[Any, str]
) -> None:
    _, token = alice
    r = await client.post(
        "/api/collections",
        json={"name": "members", "type": "auth", "authRule": "", "listRule": "", "viewRule": ""},
        headers=su_headers,
    )
    assert r.status_code == 200, r.text
    members_id = r.json()["id"]
    # a users token on the members collection's refresh
    r = await client.post("/api/collections/members/auth-refresh", headers={"Authorization": token})
    assert r.status_code in (401, 403) and r.json()["status"] == r.status_code
    # re-pointed at members or _superusers, signed with the user's own key: refused
    claims = _claims(token)
    key = signing_key(app.secret, await _record(app, token))
    superusers_id = app.collections.get("_superusers").id  # type: ignore[union-attr]
    for collection_id in (members_id, superusers_id):
        forged = jwt.encode({**claims, "collectionId": collection_id}, key, algorithm="HS256")
        r = await client.get("/api/settings", headers={"Authorization": forged})
        assert r.status_code == 401
        r = await client.post("/api/collections/members/auth-refresh", headers={"Authorization": forged})
        assert r.status_code == 401


async def test_password_change_revokes_and_refresh_after_revoke_fails(
    client: httpx2.AsyncClient, alice: tuple[Any, str]
) -> None:
    user, token = alice
    r = await client.patch(
        f"/api/collections/users/records/{user['id']}",
        json={"oldPassword": "password-123", "password": "password-456", "passwordConfirm": "password-456"},
        headers={"Authorization": token},
    )
    assert r.status_code == 200, r.text
    await _refused(client, token)
    r = await client.post(
        "/api/collections/users/auth-with-password", json={"identity": "alice@example.com", "password": "password-456"}
    )
    assert r.status_code == 200


async def test_file_and_email_tokens_are_not_auth_tokens(
    app: App, client: httpx2.AsyncClient, alice: tuple[Any, str]
) -> None:
    _, token = alice
    r = await client.post("/api/files/token", headers={"Authorization": token})
    assert r.status_code == 200
    await _refused(client, r.json()["token"])
    record = await _record(app, token)
    for purpose in (TYPE_VERIFICATION, TYPE_PASSWORD_RESET):
        await _refused(client, issue_record_token(app.secret, record, purpose, email=record.get("email")))


async def test_impersonation_token_is_never_extended(
    client: httpx2.AsyncClient, su_headers: dict[str, str], alice: tuple[Any, str]
) -> None:
    user, _ = alice
    r = await client.post(f"/api/collections/users/impersonate/{user['id']}", json={"duration": 60}, headers=su_headers)
    assert r.status_code == 200, r.text
    short = r.json()["token"]
    assert _claims(short)["refreshable"] is False
    r = await client.post(REFRESH, headers={"Authorization": short})
    # PocketBase answers a non-refreshable token with itself: its expiry is never pushed back
    assert r.status_code == 200 and r.json()["token"] == short
