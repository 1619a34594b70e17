"""MFA as PocketBase: a first factor answers 401 {mfaId}; a different second one carrying it gets the token;
the same method again, an expired, unknown or foreign mfaId fail with PocketBase's messages."""

from __future__ import annotations

import httpx2
from smtp_server import SmtpServer

from satchel.core.app import App
from satchel.core.records.model import Record
from satchel.testing import HookRecorder
from tests.apis.auth_flows import (
    PASSWORD,
    auth_with_otp,
    auth_with_password,
    backdate,
    configure,
    enable_mfa,
    fresh_otp,
    rows,
)
from tests.apis.helpers import create_user, error

INVALID_SESSION = error(400, "Invalid or expired MFA session.")


async def mfa_rows(app: App, record_id: str | None = None) -> list[Record]:
    return await rows(app, "_mfas", record_id)


async def first_factor(client: httpx2.AsyncClient, email: str) -> str:
    r = await auth_with_password(client, email)
    assert r.status_code == 401, r.text
    assert set(r.json()) == {"mfaId"}  # PocketBase's bare body, not the error shape
    mfa_id: str = r.json()["mfaId"]
    return mfa_id


async def test_password_then_otp(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str], hooks: HookRecorder
) -> None:
    user = await create_user(client, "ann@example.com")
    await enable_mfa(client, su_headers)
    hooks.clear()
    mfa_id = await first_factor(client, "ann@example.com")
    assert hooks.fired == ["on_record_auth_request", "on_record_create", "on_record_after_create_success"]
    (row,) = await mfa_rows(app, user["id"])
    assert row.id == mfa_id and row.get("method") == "password" and row.get("collectionRef") == "_pb_users_auth_"
    assert await rows(app, "_authOrigins", user["id"]) == []  # not signed in yet: no origin, no alert

    otp_id, code = await fresh_otp(client, smtp, "ann@example.com")
    r = await auth_with_otp(client, otp_id, code, extra={"mfaId": mfa_id})
    assert r.status_code == 200, r.text
    assert r.json()["record"]["id"] == user["id"] and r.json()["token"]
    assert await mfa_rows(app) == []  # spent
    assert len(await rows(app, "_authOrigins", user["id"])) == 1
    # with MFA on, the OTP verified the address but left the password alone (PocketBase)
    assert (await auth_with_password(client, "ann@example.com")).status_code == 401


async def test_otp_first_then_password_with_mfa_id_in_the_query(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    await create_user(client, "bob@example.com")
    await enable_mfa(client, su_headers)
    otp_id, code = await fresh_otp(client, smtp, "bob@example.com")
    r = await auth_with_otp(client, otp_id, code)
    assert r.status_code == 401
    mfa_id = r.json()["mfaId"]
    assert [m.get("method") for m in await mfa_rows(app)] == ["otp"]
    r = await client.post(
        "/api/collections/users/auth-with-password",
        params={"mfaId": mfa_id},
        json={"identity": "bob@example.com", "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    assert await mfa_rows(app) == []


async def test_same_method_twice_is_refused(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_user(client, "cat@example.com")
    await enable_mfa(client, su_headers)
    mfa_id = await first_factor(client, "cat@example.com")
    r = await auth_with_password(client, "cat@example.com", mfaId=mfa_id)
    assert r.status_code == 400 and r.json() == error(400, "A different authentication method is required.")
    assert [m.id for m in await mfa_rows(app)] == [mfa_id]  # still usable with another method


async def test_second_otp_after_first_otp_is_the_same_method(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    await create_user(client, "cy@example.com")
    await enable_mfa(client, su_headers)
    otp_id, code = await fresh_otp(client, smtp, "cy@example.com")
    mfa_id = (await auth_with_otp(client, otp_id, code)).json()["mfaId"]
    otp_id, code = await fresh_otp(client, smtp, "cy@example.com")
    r = await auth_with_otp(client, otp_id, code, extra={"mfaId": mfa_id})
    assert r.status_code == 400 and r.json() == error(400, "A different authentication method is required.")
    r = await auth_with_otp(client, otp_id, code, extra={"mfaId": mfa_id})
    assert r.json() == error(400, "Invalid or expired OTP.")  # spent before the MFA check, as PocketBase


async def test_wrong_second_factor_keeps_the_session(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await create_user(client, "dee@example.com")
    await enable_mfa(client, su_headers)
    mfa_id = await first_factor(client, "dee@example.com")
    r = await auth_with_otp(client, "abcdefghijklmno", "12345678", extra={"mfaId": mfa_id})
    assert r.status_code == 400 and r.json() == error(400, "Invalid or expired OTP.")
    assert [m.id for m in await mfa_rows(app)] == [mfa_id]


async def test_foreign_unknown_expired_and_unreadable_mfa_ids(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    await create_user(client, "eve@example.com")
    await create_user(client, "fay@example.com")
    await enable_mfa(client, su_headers, duration=60)
    eve_mfa = await first_factor(client, "eve@example.com")
    otp_id, code = await fresh_otp(client, smtp, "fay@example.com")
    r = await auth_with_otp(client, otp_id, code, extra={"mfaId": eve_mfa})
    assert r.status_code == 400 and r.json() == error(400, "Invalid MFA session.")
    otp_id, code = await fresh_otp(client, smtp, "fay@example.com")
    r = await auth_with_otp(client, otp_id, code, extra={"mfaId": "nosuchsession00"})
    assert r.status_code == 400 and r.json() == INVALID_SESSION
    r = await auth_with_password(client, "fay@example.com", mfaId=12)
    assert r.status_code == 400 and r.json() == error(400, "Failed to read MFA Id.")

    await backdate(app, "_mfas", eve_mfa, 61)
    otp_id, code = await fresh_otp(client, smtp, "eve@example.com")
    r = await auth_with_otp(client, otp_id, code, extra={"mfaId": eve_mfa})
    assert r.status_code == 400 and r.json() == INVALID_SESSION
    assert eve_mfa not in [m.id for m in await mfa_rows(app)]  # an expired session is deleted


async def test_mfa_rule_picks_who_needs_a_second_factor(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await create_user(client, "gil@example.com", name="vip")
    await create_user(client, "hal@example.com", name="plain")
    await enable_mfa(client, su_headers, rule="name = 'vip'")
    await first_factor(client, "gil@example.com")
    r = await auth_with_password(client, "hal@example.com")
    assert r.status_code == 200 and set(r.json()) == {"token", "record"}
    # the rule sees the request: its context is the auth method's, and the body as sent
    await configure(client, su_headers, mfa={"rule": "@request.context = 'password' && @request.body.x = 'y'"})
    assert (await auth_with_password(client, "hal@example.com")).status_code == 200
    assert (await auth_with_password(client, "hal@example.com", x="y")).status_code == 401


async def test_refresh_and_impersonation_never_ask(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    user = await create_user(client, "ivy@example.com")
    r = await auth_with_password(client, "ivy@example.com")
    token = r.json()["token"]
    await enable_mfa(client, su_headers)
    r = await client.post("/api/collections/users/auth-refresh", headers={"Authorization": token})
    assert r.status_code == 200
    r = await client.post(f"/api/collections/users/impersonate/{user['id']}", json={}, headers=su_headers)
    assert r.status_code == 200
    assert await mfa_rows(app) == []


async def test_sessions_end_with_a_new_password_and_with_the_record(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    jo = await create_user(client, "jo@example.com")
    kim = await create_user(client, "kim@example.com")
    await enable_mfa(client, su_headers)
    await first_factor(client, "jo@example.com")
    await first_factor(client, "kim@example.com")
    r = await client.patch(
        f"/api/collections/users/records/{jo['id']}",
        json={"password": "new-password-1", "passwordConfirm": "new-password-1"},
        headers=su_headers,
    )
    assert r.status_code == 200
    assert await mfa_rows(app, jo["id"]) == []
    r = await client.patch(f"/api/collections/users/records/{kim['id']}", json={"name": "Kim"}, headers=su_headers)
    assert r.status_code == 200 and len(await mfa_rows(app, kim["id"])) == 1  # other changes keep it
    assert (await client.delete(f"/api/collections/users/records/{kim['id']}", headers=su_headers)).status_code == 204
    assert await mfa_rows(app) == []


async def test_mfa_rows_go_with_a_deleted_collection(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    r = await client.post(
        "/api/collections",
        json={"name": "staff", "type": "auth", "fields": [], "passwordAuth": {"enabled": True}},
        headers=su_headers,
    )
    assert r.status_code == 200, r.text
    await enable_mfa(client, su_headers, "staff")
    r = await client.post(
        "/api/collections/staff/records",
        json={"email": "lee@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD},
        headers=su_headers,
    )
    assert r.status_code == 200
    r = await auth_with_password(client, "lee@example.com", collection="staff")
    assert r.status_code == 401
    assert len(await mfa_rows(app)) == 1
    assert (await client.delete("/api/collections/staff", headers=su_headers)).status_code == 204
    assert await mfa_rows(app) == []
