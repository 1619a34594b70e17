"""OTP sign-in end to end: request over HTTP, read the code out of the mail the SMTP server got, spend
it over HTTP; and every way a request or a code can be wrong, with PocketBase's answers."""

from __future__ import annotations

import re
import socket
from typing import Any

import httpx2
from smtp_server import SmtpServer

from satchel.core.app import App
from satchel.core.auth import otp
from satchel.core.records.model import Record
from satchel.testing import HookRecorder
from satchel.tools.ids import is_valid_record_id
from satchel.tools.passwords import verify_password
from satchel.tools.sql import ir
from tests.apis.auth_flows import auth_with_otp as auth
from tests.apis.auth_flows import (
    backdate,
    code_in,
    configure,
    enable_otp,
    mailed_code,
    request_otp,
    rows,
    user_record,
)
from tests.apis.helpers import create_collection, create_user, error

INVALID = "An error occurred while validating the submitted data."
LOAD = "An error occurred while loading the submitted data."
INVALID_OTP = error(400, "Invalid or expired OTP.")
DISABLED = error(403, "The collection is not configured to allow OTP authentication.")


async def otp_rows(app: App, record_id: str | None = None) -> list[Record]:
    return await rows(app, "_otps", record_id)


# ---------------------------------------------------------------------------------- the flow
async def test_request_then_auth_with_the_mailed_code(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str], hooks: HookRecorder
) -> None:
    user = await create_user(client, "ann@example.com", name="Ann")
    await enable_otp(client, su_headers)
    hooks.clear()
    otp_id = await request_otp(client, "ann@example.com")
    assert hooks.fired[0] == "on_record_request_otp_request" and "on_record_create" in hooks.fired
    mail = await smtp.wait_for("ann@example.com")
    assert mail.subject == "Code for Acme" and f"id {otp_id}" in mail.html
    code = code_in(mail)
    assert re.fullmatch(r"\d{8}", code)  # PocketBase's default length
    (row,) = await otp_rows(app, user["id"])
    assert row.id == otp_id and row.get("sentTo") == "ann@example.com"
    assert row.get("password") != code and verify_password(row.get("password"), code)  # stored hashed

    hooks.clear()
    r = await auth(client, otp_id, code)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token", "record"} and body["record"]["id"] == user["id"]
    assert body["record"]["email"] == "ann@example.com" and body["record"]["verified"] is True
    assert hooks.fired[0] == "on_record_auth_with_otp_request" and "on_record_auth_request" in hooks.fired
    r = await client.post("/api/collections/users/auth-refresh", headers={"Authorization": body["token"]})
    assert r.status_code == 200
    assert await otp_rows(app, user["id"]) == []  # spent
    r = await auth(client, otp_id, code)
    assert r.status_code == 400 and r.json() == INVALID_OTP  # no replay
    # verified by OTP without MFA: the old password is replaced (PocketBase's pre-hijacking guard)
    r = await client.post(
        "/api/collections/users/auth-with-password", json={"identity": "ann@example.com", "password": "password-123"}
    )
    assert r.status_code == 400


async def test_otp_options_length_expand_and_fields(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    await create_user(client, "bob@example.com", name="Bob")
    await configure(client, su_headers, otp={"enabled": True, "length": 4})  # PocketBase's default template
    otp_id = await request_otp(client, "bob@example.com")
    mail = await smtp.wait_for("bob@example.com")
    assert mail.subject == "OTP for Acme" and "Your one-time password is:" in mail.text
    code = code_in(mail)
    assert re.fullmatch(r"\d{4}", code)
    r = await auth(client, otp_id, code, params={"fields": "record.name,token"})
    assert r.status_code == 200 and set(r.json()) == {"record", "token"} and r.json()["record"] == {"name": "Bob"}


async def test_unknown_email_gets_an_unused_well_formed_id(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    await create_user(client, "cat@example.com")
    await enable_otp(client, su_headers)
    fake = await request_otp(client, "nobody@example.com")
    assert is_valid_record_id(fake) and len(fake) == 15
    assert await otp_rows(app) == []
    r = await auth(client, fake, "12345678")
    assert r.status_code == 400 and r.json() == INVALID_OTP
    # the next real mail is the only one: nothing went to the unknown address
    real = await request_otp(client, "cat@example.com")
    await mailed_code(smtp, "cat@example.com", real)
    await otp.settle()
    assert [m.envelope_to for m in smtp.received] == [["cat@example.com"]]


async def test_email_lookup_is_exact_unless_the_index_is_nocase(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    await create_user(client, "dan@example.com")
    await enable_otp(client, su_headers)
    await request_otp(client, "DAN@example.com")  # PocketBase's users email index is case-sensitive
    assert await otp_rows(app) == []


# --------------------------------------------------------------------------- bad input
async def test_disabled_collection_and_contexts(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await client.post("/api/collections/users/request-otp", json={"email": "a@example.com"})
    assert r.status_code == 403 and r.json() == DISABLED
    assert (await auth(client, "x", "y")).json() == DISABLED
    r = await client.post("/api/collections/nope/request-otp", json={"email": "a@example.com"})
    assert r.status_code == 404 and r.json() == error(404, "Missing or invalid collection context.")
    await create_collection(client, su_headers, {"name": "notes", "type": "base", "fields": []})
    r = await client.post("/api/collections/notes/auth-with-otp", json={})
    assert r.status_code == 404 and r.json() == error(404, "Missing or invalid auth collection context.")


async def test_request_validation(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await enable_otp(client, su_headers)
    cases: list[tuple[Any, dict[str, Any]]] = [
        ({}, {"email": {"code": "validation_required", "message": "Cannot be blank."}}),
        ({"email": "nope"}, {"email": {"code": "validation_is_email", "message": "Must be a valid email address."}}),
        (
            {"email": "a" * 250 + "@x.com"},
            {
                "email": {
                    "code": "validation_length_out_of_range",
                    "message": "The length must be between 1 and 255.",
                    "params": {"max": 255, "min": 1},
                }
            },
        ),
    ]
    for body, data in cases:
        r = await client.post("/api/collections/users/request-otp", json=body)
        assert r.status_code == 400 and r.json() == error(400, INVALID, data), body
    for body in ({"email": 12}, {"email": ["a@example.com"]}):
        r = await client.post("/api/collections/users/request-otp", json=body)
        assert r.status_code == 400 and r.json() == error(400, LOAD)
    r = await client.post("/api/collections/users/request-otp", content=b"{not json")
    assert r.status_code == 400 and r.json() == error(400, LOAD)


async def test_auth_validation(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await enable_otp(client, su_headers)
    r = await client.post("/api/collections/users/auth-with-otp", json={})
    assert r.status_code == 400 and set(r.json()["data"]) == {"otpId", "password"}
    r = await auth(client, "x", "1" * 72)
    assert r.json()["data"]["password"]["params"] == {"max": 71, "min": 1}
    r = await auth(client, "x" * 256, "1")
    assert r.json()["data"]["otpId"]["code"] == "validation_length_out_of_range"
    for otp_id, password in ((1, "x"), ("x", 12345678), ("x", {"a": 1}), (["x"], "1")):
        r = await auth(client, otp_id, password)
        assert r.status_code == 400 and r.json() == error(400, LOAD), (otp_id, password)
    r = await auth(client, "x", None)  # null binds as "" in PocketBase: blank, not unloadable
    assert r.status_code == 400 and set(r.json()["data"]) == {"password"}


# ------------------------------------------------------------------------------ bad codes
async def test_wrong_code_answers_like_an_unknown_id(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    await create_user(client, "eve@example.com")
    await enable_otp(client, su_headers)
    otp_id = await request_otp(client, "eve@example.com")
    code = await mailed_code(smtp, "eve@example.com", otp_id)
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    unknown = await auth(client, "abcdefghijklmno", wrong)
    bad = await auth(client, otp_id, wrong)
    assert bad.status_code == unknown.status_code == 400 and bad.json() == unknown.json() == INVALID_OTP
    # a wrong code does not spend the OTP
    assert (await auth(client, otp_id, code)).status_code == 200


async def test_expired_otp_fails_and_stays(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    user = await create_user(client, "fay@example.com")
    await enable_otp(client, su_headers, otp={"duration": 60})
    otp_id = await request_otp(client, "fay@example.com")
    code = await mailed_code(smtp, "fay@example.com", otp_id)
    await backdate(app, "_otps", otp_id, 61)
    r = await auth(client, otp_id, code)
    assert r.status_code == 400 and r.json() == INVALID_OTP
    assert [o.id for o in await otp_rows(app, user["id"])] == [otp_id]  # PocketBase leaves it to the cleanup
    assert (await user_record(app, user["id"])).get("verified") is False


async def test_otp_of_another_collection_is_refused(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    await create_user(client, "gil@example.com")
    await enable_otp(client, su_headers)
    await create_collection(client, su_headers, {"name": "staff", "type": "auth", "fields": []})
    await enable_otp(client, su_headers, "staff")
    otp_id = await request_otp(client, "gil@example.com")
    code = await mailed_code(smtp, "gil@example.com", otp_id)
    r = await auth(client, otp_id, code, "staff")
    assert r.status_code == 400 and r.json() == INVALID_OTP


async def test_five_attempts_per_record_then_429(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    await create_user(client, "hal@example.com")
    await enable_otp(client, su_headers)
    otp_id = await request_otp(client, "hal@example.com")
    code = await mailed_code(smtp, "hal@example.com", otp_id)
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    for _ in range(5):
        assert (await auth(client, otp_id, wrong)).json() == INVALID_OTP
    r = await auth(client, otp_id, code)  # even the right code: the limit comes first
    assert r.status_code == 429
    assert r.json() == error(429, "Too many attempts, please try again later with a new OTP.")


async def test_more_than_nine_recent_otps_reuse_the_last_unmailed(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    user = await create_user(client, "ivy@example.com")
    await enable_otp(client, su_headers)
    ids = [await request_otp(client, "ivy@example.com") for _ in range(10)]
    assert len(set(ids)) == 10
    await otp.settle()
    assert await request_otp(client, "ivy@example.com") == ids[-1]
    await otp.settle()
    assert len([m for m in smtp.received if "ivy@example.com" in m.envelope_to]) == 10
    assert len(await otp_rows(app, user["id"])) == 10
    # expired ones do not count
    for otp_id in ids:
        await backdate(app, "_otps", otp_id, 3600)
    assert await request_otp(client, "ivy@example.com") not in ids


# --------------------------------------------------------------------- verified and MFA
async def test_verified_only_when_sent_to_the_records_email(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    await create_user(client, "jo@example.com")
    await enable_otp(client, su_headers)
    otp_id = await request_otp(client, "jo@example.com")
    code = await mailed_code(smtp, "jo@example.com", otp_id)
    async with app.db.transaction() as tx:  # as if the code had gone to a phone
        await tx.execute(ir.Update("_otps", {"sentTo": ir.Param("+123")}, ir.eq(ir.col("id"), ir.Param(otp_id))))
    r = await auth(client, otp_id, code)
    assert r.status_code == 200 and r.json()["record"]["verified"] is False
    # the password was not touched either
    r = await client.post(
        "/api/collections/users/auth-with-password", json={"identity": "jo@example.com", "password": "password-123"}
    )
    assert r.status_code == 200


async def test_auth_rule_refusal_is_403_and_spends_the_otp(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    user = await create_user(client, "kim@example.com")
    await enable_otp(client, su_headers, authRule="name = 'admin'")
    otp_id = await request_otp(client, "kim@example.com")
    code = await mailed_code(smtp, "kim@example.com", otp_id)
    r = await auth(client, otp_id, code)
    assert r.status_code == 403
    assert r.json() == error(403, "The request doesn't satisfy the collection requirements to authenticate.")
    assert await otp_rows(app, user["id"]) == []
    assert (await user_record(app, user["id"])).get("verified") is True  # as PocketBase: before the answer


# --------------------------------------------------------------------------- lifecycle
async def test_undeliverable_mail_deletes_the_otp(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await create_user(client, "lee@example.com")
    await enable_otp(client, su_headers)
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await app.settings.patch({"smtp": {"enabled": True, "host": "127.0.0.1", "port": port, "tls": False}})
    otp_id = await request_otp(client, "lee@example.com")
    await otp.settle()
    assert await otp_rows(app) == []
    assert (await auth(client, otp_id, "12345678")).json() == INVALID_OTP


async def test_otps_go_with_token_key_changes_and_the_record(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    user = await create_user(client, "max@example.com")
    other = await create_user(client, "ned@example.com")
    await enable_otp(client, su_headers)
    await request_otp(client, "max@example.com")
    await request_otp(client, "ned@example.com")
    await otp.settle()
    r = await client.patch(
        f"/api/collections/users/records/{user['id']}",
        json={"password": "new-password-1", "passwordConfirm": "new-password-1"},
        headers=su_headers,
    )
    assert r.status_code == 200, r.text
    assert await otp_rows(app, user["id"]) == []  # a new password rotates tokenKey
    assert len(await otp_rows(app, other["id"])) == 1
    r = await client.delete(f"/api/collections/users/records/{other['id']}", headers=su_headers)
    assert r.status_code == 204
    assert await otp_rows(app) == []
