"""Password auth, refresh, impersonation, auth-methods, token revocation and email visibility."""

from __future__ import annotations

from typing import Any

import httpx2

from satchel.testing import HookRecorder
from tests.apis.helpers import create_user, error, login


async def test_auth_with_password_and_refresh(client: httpx2.AsyncClient, hooks: HookRecorder) -> None:
    user = await create_user(client, "Alice@Example.com", name="Alice")
    assert "email" not in user  # emailVisibility is off for guests
    hooks.clear()
    r = await client.post(
        "/api/collections/users/auth-with-password", json={"identity": "alice@example.com", "password": "password-123"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token", "record"} and body["record"]["email"] == "Alice@Example.com"
    # the sign-in's origin is saved like any record (`_authOrigins`, as PocketBase does)
    assert hooks.fired == ["on_record_auth_request", "on_record_create", "on_record_after_create_success"]
    h = {"Authorization": "Bearer " + body["token"]}
    r = await client.post("/api/collections/users/auth-refresh", headers=h)
    assert r.status_code == 200 and r.json()["record"]["id"] == user["id"]
    r = await client.post("/api/collections/users/auth-refresh")
    assert r.status_code == 401 and r.json() == error(401, "The request requires valid record authorization token.")


async def test_wrong_credentials_and_missing_fields(client: httpx2.AsyncClient) -> None:
    await create_user(client, "bob@example.com")
    for body in (
        {"identity": "bob@example.com", "password": "nope-nope"},
        {"identity": "x@y.z", "password": "nope-nope"},
    ):
        r = await client.post("/api/collections/users/auth-with-password", json=body)
        assert r.status_code == 400 and r.json() == error(400, "Failed to authenticate.")
    r = await client.post("/api/collections/users/auth-with-password", json={})
    assert r.status_code == 400 and set(r.json()["data"]) == {"identity", "password"}


async def test_password_change_revokes_tokens(client: httpx2.AsyncClient) -> None:
    user = await create_user(client, "carol@example.com")
    h = await login(client, "carol@example.com")
    r = await client.patch(
        f"/api/collections/users/records/{user['id']}",
        json={"password": "new-password-1", "passwordConfirm": "new-password-1"},
        headers=h,
    )
    assert r.status_code == 400 and r.json()["data"]["oldPassword"]["code"] == "validation_required"
    r = await client.patch(
        f"/api/collections/users/records/{user['id']}",
        json={"password": "new-password-1", "passwordConfirm": "new-password-1", "oldPassword": "password-123"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    # the old token no longer authenticates
    assert (await client.post("/api/collections/users/auth-refresh", headers=h)).status_code == 401
    await login(client, "carol@example.com", "new-password-1")


async def test_impersonate_and_auth_methods(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    user = await create_user(client, "dave@example.com")
    r = await client.post(f"/api/collections/users/impersonate/{user['id']}", json={"duration": 60})
    assert r.status_code == 401
    r = await client.post(f"/api/collections/users/impersonate/{user['id']}", json={"duration": 60}, headers=su_headers)
    assert r.status_code == 200 and r.json()["record"]["id"] == user["id"]
    token = r.json()["token"]
    # impersonation tokens are not refreshable: PocketBase answers with the same token
    r = await client.post("/api/collections/users/auth-refresh", headers={"Authorization": token})
    assert r.status_code == 200 and r.json()["token"] == token
    r = await client.get("/api/collections/users/auth-methods")
    assert r.json()["password"] == {"identityFields": ["email"], "enabled": True}
    assert r.json()["emailPassword"] is True


async def test_verified_and_email_changes_need_manage_access(client: httpx2.AsyncClient) -> None:
    user = await create_user(client, "erin@example.com")
    h = await login(client, "erin@example.com")
    r = await client.patch(f"/api/collections/users/records/{user['id']}", json={"verified": True}, headers=h)
    assert r.status_code == 400 and r.json()["data"]["verified"]["code"] == "validation_values_mismatch"
    r = await client.patch(f"/api/collections/users/records/{user['id']}", json={"email": "x@example.com"}, headers=h)
    assert r.status_code == 400 and r.json()["data"]["email"]["code"] == "validation_values_mismatch"


async def test_auth_rule_sees_the_request_as_it_came_and_refuses_with_403(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    """As PocketBase 0.40.6 answers (probed): `@request.auth` is the caller (a guest here), not the record."""
    rule = "verified = true && @request.auth.id = '' && @request.context = 'password'"
    r = await client.patch("/api/collections/users", json={"authRule": rule}, headers=su_headers)
    assert r.status_code == 200, r.text
    user = await create_user(client, "dora@example.com")
    creds = {"identity": "dora@example.com", "password": "password-123"}
    r = await client.post("/api/collections/users/auth-with-password", json=creds)
    assert r.status_code == 403
    assert r.json() == error(403, "The request doesn't satisfy the collection requirements to authenticate.")
    r = await client.patch(f"/api/collections/users/records/{user['id']}", json={"verified": True}, headers=su_headers)
    assert r.status_code == 200, r.text
    r = await client.post("/api/collections/users/auth-with-password", json=creds)
    assert r.status_code == 200, r.text
    # a wrong password is still the generic 400, whatever the rule says
    r = await client.post("/api/collections/users/auth-with-password", json={**creds, "password": "wrong-one"})
    assert r.status_code == 400 and r.json() == error(400, "Failed to authenticate.")


async def test_managers_see_emails_whatever_their_visibility(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    rules = {"listRule": "", "viewRule": "", "manageRule": "@request.auth.name = 'boss'"}
    r = await client.patch("/api/collections/users", json=rules, headers=su_headers)
    assert r.status_code == 200, r.text
    await create_user(client, "boss@example.com", name="boss")
    worker = await create_user(client, "worker@example.com", name="worker")
    await create_user(client, "other@example.com", name="other")
    boss, other = await login(client, "boss@example.com"), await login(client, "other@example.com")

    def emails(items: list[dict[str, Any]]) -> dict[str, str | None]:
        return {item["name"]: item.get("email") for item in items}

    listed = (await client.get("/api/collections/users/records?sort=name", headers=boss)).json()["items"]
    assert emails(listed) == {"boss": "boss@example.com", "other": "other@example.com", "worker": "worker@example.com"}
    listed = (await client.get("/api/collections/users/records?sort=name", headers=other)).json()["items"]
    assert emails(listed) == {"boss": None, "other": "other@example.com", "worker": None}  # only its own
    viewed = (await client.get(f"/api/collections/users/records/{worker['id']}", headers=boss)).json()
    assert viewed["email"] == "worker@example.com"
    assert "email" not in (await client.get(f"/api/collections/users/records/{worker['id']}")).json()


async def test_an_email_change_by_a_superuser_revokes_the_old_tokens(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    user = await create_user(client, "fay@example.com")
    h = await login(client, "fay@example.com")
    r = await client.patch(f"/api/collections/users/records/{user['id']}", json={"name": "Fay"}, headers=su_headers)
    assert r.status_code == 200
    assert (await client.post("/api/collections/users/auth-refresh", headers=h)).status_code == 200  # still valid
    r = await client.patch(
        f"/api/collections/users/records/{user['id']}", json={"email": "fay2@example.com"}, headers=su_headers
    )
    assert r.status_code == 200, r.text
    r = await client.post("/api/collections/users/auth-refresh", headers=h)
    assert r.status_code == 401  # as PocketBase 0.40.6 answers (probed)
    await login(client, "fay2@example.com")
