"""Core pieces of the email flows: address lookup as PocketBase does it, token lookup, hook events."""

from __future__ import annotations

from typing import Any

import httpx2
from smtp_server import SmtpServer

from satchel.core.app import App
from satchel.core.auth import email_flows
from satchel.core.auth.tokens import TYPE_PASSWORD_RESET, TYPE_VERIFICATION, issue_record_token
from satchel.core.hooks import RecordEmailChangeRequestEvent
from satchel.core.rules.request_info import RequestInfo
from satchel.testing import SUPERUSER_EMAIL
from tests.apis.helpers import create_collection, create_user, login

PASSWORD = "password-123"


def _collection(app: App, name: str) -> Any:
    c = app.collections.get(name)
    assert c is not None
    return c


async def test_email_lookup_is_exact_unless_the_index_is_nocase(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await create_user(client, "Ann@Example.com")
    users = _collection(app, "users")
    assert (await email_flows.find_by_email(app, users, "Ann@Example.com")) is not None
    assert await email_flows.find_by_email(app, users, "ann@example.com") is None
    members = await create_collection(
        client,
        su_headers,
        {
            "name": "members",
            "type": "auth",
            "fields": [],
            "indexes": ["CREATE UNIQUE INDEX `idx_members_email_nocase` ON `members` (`email` COLLATE NOCASE)"],
        },
    )
    r = await client.post(
        "/api/collections/members/records",
        json={"email": "Bea@Example.com", "password": PASSWORD, "passwordConfirm": PASSWORD},
        headers=su_headers,
    )
    assert r.status_code == 200, r.text
    found = await email_flows.find_by_email(app, _collection(app, members["id"]), "bea@example.COM")
    assert found is not None and found.get("email") == "Bea@Example.com"


async def test_token_lookup_needs_type_signature_and_an_auth_record(app: App, client: httpx2.AsyncClient) -> None:
    user = await create_user(client, "ann@example.com")
    record = await email_flows.find_by_email(app, _collection(app, "users"), "ann@example.com")
    assert record is not None
    token = issue_record_token(app.secret, record, TYPE_VERIFICATION, email="ann@example.com")
    found = await email_flows.find_by_token(app, token, TYPE_VERIFICATION)
    assert found is not None and found.id == user["id"]
    assert await email_flows.find_by_token(app, token, TYPE_PASSWORD_RESET) is None
    assert await email_flows.find_by_token(app, token + "x", TYPE_VERIFICATION) is None
    assert await email_flows.find_by_token(app, "not-a-token", TYPE_VERIFICATION) is None
    forged = issue_record_token("another-app-secret", record, TYPE_VERIFICATION, email="ann@example.com")
    assert await email_flows.find_by_token(app, forged, TYPE_VERIFICATION) is None


async def test_hooks_may_change_the_new_email(app: App, client: httpx2.AsyncClient, smtp: SmtpServer) -> None:
    user = await create_user(client, "carl@example.com")
    headers = await login(client, "carl@example.com")

    async def redirect(e: RecordEmailChangeRequestEvent) -> None:
        e.new_email = "carl.hooked@example.com"
        await e.next()

    app.hooks.on_record_confirm_email_change_request.bind(redirect)
    r = await client.post(
        "/api/collections/users/request-email-change", json={"newEmail": "carl.new@example.com"}, headers=headers
    )
    assert r.status_code == 204
    token = (await smtp.wait_for("carl.new@example.com")).token()
    r = await client.post("/api/collections/users/confirm-email-change", json={"token": token, "password": PASSWORD})
    assert r.status_code == 204
    record = await email_flows.find_by_email(app, _collection(app, "users"), "carl.hooked@example.com")
    assert record is not None and record.id == user["id"]


async def test_superusers_may_reset_their_password(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str], smtp: SmtpServer
) -> None:
    await email_flows.request_password_reset(app, "_superusers", {"email": SUPERUSER_EMAIL}, RequestInfo())
    mail = await smtp.wait_for(SUPERUSER_EMAIL)
    body = {"token": mail.token(), "password": "new-admin-pass-1", "passwordConfirm": "new-admin-pass-1"}
    await email_flows.confirm_password_reset(app, "_superusers", body, RequestInfo())
    r = await client.post(
        "/api/collections/_superusers/auth-with-password",
        json={"identity": SUPERUSER_EMAIL, "password": "new-admin-pass-1"},
    )
    assert r.status_code == 200, r.text
    assert (await client.get("/api/settings", headers=su_headers)).status_code == 401  # the old token died
