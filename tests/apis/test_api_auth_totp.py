"""Authenticator apps over HTTP: enrol, verify, sign in with password + authenticator (or a recovery code),
replays and codes of the wrong time step refused, disabling, and who may do what.

Codes are computed with pyotp for explicit times: the server accepts one 30-second step of drift either
way, so "now" and "the next step" are right, and three steps away is wrong, however the clock ticks."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx2
import pyotp

from satchel.core.app import App
from satchel.tools.sql import ir
from tests.apis.auth_flows import auth_with_password, configure, enable_mfa, rows
from tests.apis.helpers import create_collection, create_user, error, login

INVALID_CODE = error(400, "Invalid or expired authenticator code.")
CODE_ERROR = {"code": {"code": "validation_invalid_code", "message": "Invalid or expired authenticator code."}}
INVALID = "An error occurred while validating the submitted data."


def at(secret: str, offset_s: float = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + offset_s)


async def post(client: httpx2.AsyncClient, path: str, body: Any = None, **kw: Any) -> httpx2.Response:
    return await client.post(f"/api/collections/users/{path}", json=body if body is not None else {}, **kw)


async def signed_in(client: httpx2.AsyncClient, su: dict[str, str], email: str, **extra: Any) -> dict[str, str]:
    """A user with a token, and MFA on for the collection (the token was issued before it was)."""
    await create_user(client, email, **extra)
    h = await login(client, email)
    await enable_mfa(client, su)
    return h


async def enrolled(client: httpx2.AsyncClient, h: dict[str, str]) -> tuple[str, list[str]]:
    """(secret, recovery codes) of a verified authenticator app."""
    r = await post(client, "totp/enroll", headers=h)
    assert r.status_code == 200, r.text
    secret: str = r.json()["secret"]
    r = await post(client, "totp/verify", {"code": at(secret)}, headers=h)
    assert r.status_code == 200, r.text
    codes: list[str] = r.json()["recoveryCodes"]
    return secret, codes


async def first_factor(client: httpx2.AsyncClient, email: str) -> str:
    r = await auth_with_password(client, email)
    assert r.status_code == 401, r.text
    mfa_id: str = r.json()["mfaId"]
    return mfa_id


async def second_factor(client: httpx2.AsyncClient, mfa_id: str, code: str) -> httpx2.Response:
    return await post(client, "auth-with-totp", {"mfaId": mfa_id, "code": code})


# ------------------------------------------------------------------------------- enrolment
async def test_enrol_verify_then_password_plus_authenticator(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    h = await signed_in(client, su_headers, "ann@example.com")
    status = await client.get("/api/collections/users/totp", headers=h)
    assert status.json() == {"enabled": False, "pending": False, "recoveryCodesLeft": 0}

    r = await post(client, "totp/enroll", headers=h)
    assert r.status_code == 200 and set(r.json()) == {"secret", "uri", "qrCode"}
    secret, uri, qr = r.json()["secret"], r.json()["uri"], r.json()["qrCode"]
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp" and parsed.path == "/Acme:ann%40example.com"
    assert parse_qs(parsed.query) == {"secret": [secret], "issuer": ["Acme"]}
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert qr.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and qr.rstrip().endswith("</svg>")
    assert (await client.get("/api/collections/users/totp", headers=h)).json()["pending"] is True
    r = await post(client, "totp/verify", {"code": at(secret, -90)}, headers=h)
    assert r.status_code == 400 and r.json() == error(400, INVALID, CODE_ERROR)

    r = await post(client, "totp/verify", {"code": at(secret)}, headers=h)
    assert r.status_code == 200 and set(r.json()) == {"recoveryCodes"}
    codes = r.json()["recoveryCodes"]
    assert len(set(codes)) == 10 and all(re.fullmatch(r"([a-z2-9]{4}-){3}[a-z2-9]{4}", c) for c in codes)
    status = await client.get("/api/collections/users/totp", headers=h)
    assert status.json() == {"enabled": True, "pending": False, "recoveryCodesLeft": 10}
    r = await post(client, "totp/enroll", headers=h)
    assert r.status_code == 400
    assert r.json() == error(400, "An authenticator app is already enabled; disable it before enrolling another.")

    mfa_id = await first_factor(client, "ann@example.com")
    code = at(secret, 30)  # the next step: the current one was spent by the verification
    r = await second_factor(client, mfa_id, code)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"token", "record"} and r.json()["record"]["email"] == "ann@example.com"
    assert await rows(app, "_mfas") == []
    # the same code again, in a new MFA session: a replay
    mfa_id = await first_factor(client, "ann@example.com")
    assert (await second_factor(client, mfa_id, code)).json() == INVALID_CODE
    assert len(await rows(app, "_mfas")) == 1  # the session survives a wrong code


async def test_recovery_codes_are_single_use(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    h = await signed_in(client, su_headers, "bob@example.com")
    _, codes = await enrolled(client, h)
    mfa_id = await first_factor(client, "bob@example.com")
    r = await second_factor(client, mfa_id, codes[3].upper().replace("-", " "))  # as typed from paper
    assert r.status_code == 200, r.text
    mfa_id = await first_factor(client, "bob@example.com")
    assert (await second_factor(client, mfa_id, codes[3])).json() == INVALID_CODE
    assert (await client.get("/api/collections/users/totp", headers=h)).json()["recoveryCodesLeft"] == 9
    assert (await second_factor(client, mfa_id, codes[4])).status_code == 200


async def test_codes_of_other_time_steps_and_garbage_fail(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    h = await signed_in(client, su_headers, "cat@example.com")
    secret, _ = await enrolled(client, h)
    mfa_id = await first_factor(client, "cat@example.com")
    for code in (at(secret, -90), at(secret, 90), at(secret, -3600), "12345", "1234567", "abcdef", "", "x" * 65):
        if code in (at(secret), at(secret, 30), at(secret, -30)):
            continue  # a wrong-step code that happens to equal a valid one (one in a million)
        r = await second_factor(client, mfa_id, code)
        assert r.status_code == 400, code
    r = await second_factor(client, mfa_id, at(secret, 30))
    assert r.status_code == 200, r.text


async def test_authenticator_is_required_even_outside_the_mfa_rule(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await create_user(client, "dan@example.com", name="plain")
    h = await login(client, "dan@example.com")
    await enable_mfa(client, su_headers, rule="name = 'vip'")
    assert (await auth_with_password(client, "dan@example.com")).status_code == 200  # the rule skips dan
    secret, _ = await enrolled(client, h)
    mfa_id = await first_factor(client, "dan@example.com")  # opted in: asked anyway
    assert (await second_factor(client, mfa_id, at(secret, 30))).status_code == 200


# ------------------------------------------------------------------------ second-factor errors
async def test_auth_with_totp_errors(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await post(client, "auth-with-totp", {"mfaId": "x", "code": "123456"})
    assert r.status_code == 403 and r.json() == error(
        403, "The collection is not configured to allow MFA authentication."
    )
    h = await signed_in(client, su_headers, "eve@example.com")
    await create_user(client, "fay@example.com")
    r = await post(client, "auth-with-totp", {})
    assert r.status_code == 400 and set(r.json()["data"]) == {"mfaId", "code"}
    r = await post(client, "auth-with-totp", {"mfaId": "x", "code": 123456})
    assert r.json() == error(400, "An error occurred while loading the submitted data.")
    r = await post(client, "auth-with-totp", {"mfaId": "nosuchsession00", "code": "123456"})
    assert r.json() == error(400, "Invalid or expired MFA session.")
    # fay has no authenticator: her session cannot be completed with one
    fay_mfa = await first_factor(client, "fay@example.com")
    assert (await second_factor(client, fay_mfa, "123456")).json() == INVALID_CODE
    # a session of another collection is unknown here
    await create_collection(
        client, su_headers, {"name": "staff", "type": "auth", "fields": [], "passwordAuth": {"enabled": True}}
    )
    await enable_mfa(client, su_headers, "staff")
    r = await client.post(
        "/api/collections/staff/records",
        json={"email": "gus@example.com", "password": "password-123", "passwordConfirm": "password-123"},
        headers=su_headers,
    )
    assert r.status_code == 200
    staff_mfa = (await auth_with_password(client, "gus@example.com", collection="staff")).json()["mfaId"]
    secret, _ = await enrolled(client, h)
    assert (await second_factor(client, staff_mfa, at(secret, 30))).json() == error(
        400, "Invalid or expired MFA session."
    )


async def test_wrong_codes_count_against_the_login_guard(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    h = await signed_in(client, su_headers, "gil@example.com")
    secret, _ = await enrolled(client, h)
    mfa_id = await first_factor(client, "gil@example.com")
    statuses = [(await second_factor(client, mfa_id, at(secret, -300))).status_code for _ in range(11)]
    assert statuses[:10] == [400] * 10 and statuses[10] == 429
    assert (await second_factor(client, mfa_id, at(secret, 30))).status_code == 429  # even a good one, for now


# ----------------------------------------------------------------------------- who may act
async def test_only_the_record_itself_in_its_collection(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    for path in ("totp/enroll", "totp/verify", "totp/disable", "totp/recovery-codes"):
        r = await post(client, path)
        assert r.status_code == 401, path
    assert (await client.get("/api/collections/users/totp")).status_code == 401
    r = await post(client, "totp/enroll", headers=su_headers)  # a superuser token is not a users record
    assert r.status_code == 403
    assert r.json() == error(403, "The request requires valid auth record of the current collection.")
    await create_user(client, "hal@example.com")
    h = await login(client, "hal@example.com")
    r = await post(client, "totp/enroll", headers=h)  # MFA is off for users
    assert r.status_code == 403 and r.json() == error(
        403, "The collection is not configured to allow MFA authentication."
    )
    await enable_mfa(client, su_headers)
    r = await post(client, "totp/verify", {"code": "123456"}, headers=h)
    assert r.status_code == 400 and r.json() == error(400, "There is no authenticator app waiting to be verified.")
    # superusers enrol for themselves in their own collection
    await configure(client, su_headers, "_superusers", mfa={"enabled": True}, otp={"enabled": True})
    r = await client.post("/api/collections/_superusers/totp/enroll", headers=su_headers)
    assert r.status_code == 200


async def test_disable_with_password_code_or_recovery_code(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    h = await signed_in(client, su_headers, "ivy@example.com")
    assert (await post(client, "totp/disable", {"password": "password-123"}, headers=h)).json() == error(
        400, "No authenticator app is enabled."
    )
    secret, codes = await enrolled(client, h)
    r = await post(client, "totp/disable", {}, headers=h)
    assert r.status_code == 400 and set(r.json()["data"]) == {"code", "password"}
    r = await post(client, "totp/disable", {"password": "wrong-password"}, headers=h)
    assert r.status_code == 400 and r.json()["data"]["password"]["code"] == "validation_invalid_password"
    r = await post(client, "totp/disable", {"code": at(secret, -90)}, headers=h)
    assert r.status_code == 400 and r.json() == error(400, INVALID, CODE_ERROR)
    r = await post(client, "totp/disable", {"password": "password-123"}, headers=h)
    assert r.status_code == 204 and r.content == b""
    assert (await client.get("/api/collections/users/totp", headers=h)).json()["enabled"] is False
    assert await rows_totp(app) == 0

    secret, codes = await enrolled(client, h)
    assert (await post(client, "totp/disable", {"code": at(secret, 30)}, headers=h)).status_code == 204
    secret, codes = await enrolled(client, h)
    assert (await post(client, "totp/disable", {"code": codes[0]}, headers=h)).status_code == 204
    # a pending enrolment can be dropped too
    assert (await post(client, "totp/enroll", headers=h)).status_code == 200
    assert (await post(client, "totp/disable", {"password": "password-123"}, headers=h)).status_code == 204


async def test_new_recovery_codes_replace_the_old(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    h = await signed_in(client, su_headers, "jo@example.com")
    secret, old = await enrolled(client, h)
    r = await post(client, "totp/recovery-codes", {"code": old[0]}, headers=h)  # a recovery code cannot mint more
    assert r.status_code == 400 and r.json() == error(400, INVALID, CODE_ERROR)
    r = await post(client, "totp/recovery-codes", {"code": at(secret, 30)}, headers=h)
    assert r.status_code == 200
    new = r.json()["recoveryCodes"]
    assert len(new) == 10 and not set(new) & set(old)
    mfa_id = await first_factor(client, "jo@example.com")
    assert (await second_factor(client, mfa_id, old[1])).json() == INVALID_CODE
    assert (await second_factor(client, mfa_id, new[1])).status_code == 200


# ------------------------------------------------------------------------------ storage
async def rows_totp(app: App) -> int:
    return int(await app.db.executor().fetch_value(ir.Select((ir.Raw("COUNT(*)"),), ir.Table("_totps"))) or 0)


async def test_totps_is_a_table_not_a_collection(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    h = await signed_in(client, su_headers, "kim@example.com")
    await enrolled(client, h)
    r = await client.get("/api/collections", params={"perPage": 100}, headers=su_headers)
    names = [c["name"] for c in r.json()["items"]]
    assert "_totps" not in names
    assert set(names) == {"_mfas", "_otps", "_externalAuths", "_authOrigins", "_superusers", "users"}
    r = await client.post("/api/collections", json={"name": "_totps", "type": "base"}, headers=su_headers)
    assert r.status_code == 400 and r.json()["data"]["name"]["code"] == "validation_collection_name_invalid"
    # and it goes with its record
    me = (await client.post("/api/collections/users/auth-refresh", headers=h)).json()["record"]
    assert (await client.delete(f"/api/collections/users/records/{me['id']}", headers=h)).status_code == 204
    assert await rows_totp(app) == 0
