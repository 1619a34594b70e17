"""The email flows end to end: request over HTTP, read the token out of the mail the SMTP server got,
confirm over HTTP; and every way a request or a token can be wrong, with PocketBase's answers."""

from __future__ import annotations

import time
from typing import Any

import httpx2
from smtp_server import Received, SmtpServer

from satchel.adapters.cache.redis import RedisCache
from satchel.core.app import App
from satchel.core.auth.tokens import (
    TYPE_EMAIL_CHANGE,
    TYPE_PASSWORD_RESET,
    TYPE_VERIFICATION,
    issue_record_token,
)
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.testing import HookRecorder
from tests.apis.helpers import create_collection, create_user, error, login

INVALID = "An error occurred while validating the submitted data."
LOAD = "An error occurred while loading the submitted data."
PASSWORD = "password-123"


def _fields(r: httpx2.Response) -> dict[str, str]:
    assert r.status_code == 400, r.text
    return {k: v["code"] for k, v in r.json()["data"].items()}


async def _record(app: App, record_id: str, collection: str = "users") -> Record:
    c = app.collections.get(collection)
    assert c is not None
    found = await storage.fetch_by_id(app.db.executor(), c, record_id)
    assert found is not None
    return found


async def _post(client: httpx2.AsyncClient, collection: str, action: str, body: Any, **kw: Any) -> httpx2.Response:
    return await client.post(f"/api/collections/{collection}/{action}", json=body, **kw)


async def _sentinel(client: httpx2.AsyncClient, smtp: SmtpServer, email: str) -> list[Received]:
    """Every mail `email` got, once a password-reset mail asked for after everything else arrived.

    Mails go out in the background, in order; the later mail having arrived is how a test knows
    that the earlier requests had their chance to send (and did not)."""
    r = await _post(client, "users", "request-password-reset", {"email": email})
    assert r.status_code == 204
    await _wait_subject(smtp, email, "Reset your")
    return [m for m in smtp.received if email in m.envelope_to]


async def _wait_subject(smtp: SmtpServer, email: str, prefix: str) -> Received:
    return await smtp.wait_until(lambda m: email in m.envelope_to and m.subject.startswith(prefix))


# ------------------------------------------------------------------------------ verification
async def test_verification_flow(app: App, client: httpx2.AsyncClient, smtp: SmtpServer, hooks: HookRecorder) -> None:
    user = await create_user(client, "ann@example.com")
    hooks.clear()
    r = await _post(client, "users", "request-verification", {"email": "ann@example.com"})
    assert r.status_code == 204 and r.content == b""
    mail = await smtp.wait_for("ann@example.com")
    assert hooks.fired == ["on_record_request_verification_request", "on_mailer_record_verification_send", "on_mailer_send"]
    assert mail.subject == "Verify your Acme email"
    assert "http://localhost:8090/_/#/auth/confirm-verification/" in mail.html
    hooks.clear()
    r = await _post(client, "users", "confirm-verification", {"token": mail.token()})
    assert r.status_code == 204, r.text
    assert hooks.fired[0] == "on_record_confirm_verification_request" and "on_record_update" in hooks.fired
    assert (await _record(app, user["id"])).get("verified") is True
    # PocketBase answers a repeated confirm with 204 too (the token is not spent by verifying)
    assert (await _post(client, "users", "confirm-verification", {"token": mail.token()})).status_code == 204
    # an already verified record gets no new mail, and the answer is the same
    r = await _post(client, "users", "request-verification", {"email": "ann@example.com"})
    assert r.status_code == 204
    got = await _sentinel(client, smtp, "ann@example.com")
    assert [m.subject for m in got].count("Verify your Acme email") == 1


async def test_verification_of_unknown_email_is_204_and_sends_nothing(
    client: httpx2.AsyncClient, smtp: SmtpServer
) -> None:
    await create_user(client, "ann@example.com")
    r = await _post(client, "users", "request-verification", {"email": "nobody@example.com"})
    assert r.status_code == 204 and r.content == b""
    await _sentinel(client, smtp, "ann@example.com")
    assert all("nobody@example.com" not in m.envelope_to for m in smtp.received)


async def test_verification_resend_guard(app: App, client: httpx2.AsyncClient, smtp: SmtpServer) -> None:
    await create_user(client, "ann@example.com")
    for _ in range(3):
        r = await _post(client, "users", "request-verification", {"email": "ann@example.com"})
        assert r.status_code == 204
    await _wait_subject(smtp, "ann@example.com", "Verify your")
    got = await _sentinel(client, smtp, "ann@example.com")
    assert [m.subject for m in got].count("Verify your Acme email") == 1


async def test_a_refusing_hook_does_not_leave_the_resend_guard(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer
) -> None:
    await create_user(client, "ann@example.com")

    async def refuse(e: Any) -> None:
        raise ValueError("not today")

    hid = app.hooks.on_record_request_verification_request.bind(refuse)
    r = await _post(client, "users", "request-verification", {"email": "ann@example.com"})
    assert r.status_code == 500  # the hook's exception, answered with PocketBase's generic error
    app.hooks.on_record_request_verification_request.unbind(hid)
    r = await _post(client, "users", "request-verification", {"email": "ann@example.com"})
    assert r.status_code == 204
    await _wait_subject(smtp, "ann@example.com", "Verify your")


async def test_resend_guard_fails_open_when_the_cache_is_down(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer
) -> None:
    await create_user(client, "ann@example.com")
    await app.cache.close()
    app.cache = RedisCache("redis://127.0.0.1:1/0")  # nothing listens there: every command fails
    r = await _post(client, "users", "request-password-reset", {"email": "ann@example.com"})
    assert r.status_code == 204
    token = (await smtp.wait_for("ann@example.com")).token()
    body = {"token": token, "password": "brand-new-pass", "passwordConfirm": "brand-new-pass"}
    assert (await _post(client, "users", "confirm-password-reset", body)).status_code == 204


async def test_request_verification_input_errors(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await _post(client, "users", "request-verification", {})
    assert r.json() == error(400, INVALID, {"email": {"code": "validation_required", "message": "Cannot be blank."}})
    r = await _post(client, "users", "request-verification", {"email": "bad"})
    assert r.json()["data"]["email"] == {"code": "validation_is_email", "message": "Must be a valid email address."}
    r = await _post(client, "users", "request-verification", {"email": "a" * 250 + "@example.com"})
    assert _fields(r) == {"email": "validation_length_out_of_range"}
    for body in ({"email": 5}, {"email": ["a@b.co"]}):
        r = await _post(client, "users", "request-verification", body)
        assert r.status_code == 400 and r.json() == error(400, LOAD)
    r = await client.post("/api/collections/users/request-verification", content=b"{nope")
    assert r.json() == error(400, LOAD)
    r = await _post(client, "_superusers", "request-verification", {"email": "a@b.co"})
    assert r.json() == error(400, "All superusers are verified by default.")
    r = await _post(client, "nope", "request-verification", {"email": "a@b.co"})
    assert r.status_code == 404 and r.json() == error(404, "Missing or invalid collection context.")
    await create_collection(client, su_headers, {"name": "notes", "type": "base", "fields": []})
    r = await _post(client, "notes", "request-verification", {"email": "a@b.co"})
    assert r.json() == error(404, "Missing or invalid auth collection context.")


async def test_confirm_verification_rejects_bad_tokens(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    user = await create_user(client, "ann@example.com")
    record = await _record(app, user["id"])
    good = issue_record_token(app.secret, record, TYPE_VERIFICATION, email="ann@example.com")

    async def code(token: Any) -> str:
        r = await _post(client, "users", "confirm-verification", {"token": token})
        assert r.status_code == 400 and r.json()["message"] == INVALID, r.text
        return str(r.json()["data"]["token"]["code"])

    assert await code("") == "validation_required"
    assert await code("abc") == "validation_invalid_token_claims"
    assert await code(good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")) == "validation_invalid_token"
    expired = issue_record_token(
        app.secret, record, TYPE_VERIFICATION, email="ann@example.com", exp=int(time.time()) - 5
    )
    assert await code(expired) == "validation_invalid_token"
    reset = issue_record_token(app.secret, record, TYPE_PASSWORD_RESET, email="ann@example.com")
    assert await code(reset) == "validation_invalid_token"
    assert await code(issue_record_token(app.secret, record, TYPE_VERIFICATION)) == "validation_invalid_token_claims"
    other_email = issue_record_token(app.secret, record, TYPE_VERIFICATION, email="old@example.com")
    assert await code(other_email) == "validation_token_email_mismatch"
    # a token of another auth collection's record
    await create_collection(
        client, su_headers, {"name": "members", "type": "auth", "fields": [], "passwordAuth": {"enabled": True}}
    )
    r = await client.post(
        "/api/collections/members/records",
        json={"email": "m@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD},
        headers=su_headers,
    )
    member = await _record(app, r.json()["id"], "members")
    member_token = issue_record_token(app.secret, member, TYPE_VERIFICATION, email="m@example.com")
    assert await code(member_token) == "validation_token_collection_mismatch"
    assert (await _record(app, user["id"])).get("verified") is False
    r = await _post(client, "users", "confirm-verification", {"token": good})
    assert r.status_code == 204


async def test_verifying_without_password_auth_replaces_the_password(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    user = await create_user(client, "ann@example.com")
    headers = await login(client, "ann@example.com")
    r = await client.patch("/api/collections/users", json={"passwordAuth": {"enabled": False}}, headers=su_headers)
    assert r.status_code == 200, r.text
    record = await _record(app, user["id"])
    token = issue_record_token(app.secret, record, TYPE_VERIFICATION, email="ann@example.com")
    assert (await _post(client, "users", "confirm-verification", {"token": token})).status_code == 204
    after = await _record(app, user["id"])
    assert after.get("verified") is True and after.get("password") != record.get("password")
    assert after.get("tokenKey") != record.get("tokenKey")
    assert (await client.post("/api/collections/users/auth-refresh", headers=headers)).status_code == 401


# ---------------------------------------------------------------------------- password reset
async def test_password_reset_flow(app: App, client: httpx2.AsyncClient, smtp: SmtpServer, hooks: HookRecorder) -> None:
    user = await create_user(client, "bob@example.com")
    old_auth = await login(client, "bob@example.com")
    hooks.clear()
    r = await _post(client, "users", "request-password-reset", {"email": "bob@example.com"})
    assert r.status_code == 204 and r.content == b""
    mail = await smtp.wait_for("bob@example.com")
    assert hooks.fired == ["on_record_request_password_reset_request", "on_mailer_record_password_reset_send", "on_mailer_send"]
    assert mail.subject == "Reset your Acme password"
    token = mail.token()
    body = {"token": token, "password": "brand-new-pass", "passwordConfirm": "brand-new-pass"}
    hooks.clear()
    r = await _post(client, "users", "confirm-password-reset", body)
    assert r.status_code == 204 and r.content == b""
    assert hooks.fired[0] == "on_record_confirm_password_reset_request"
    # the old password and every earlier token are dead; the reset token is spent
    assert (await client.post("/api/collections/users/auth-refresh", headers=old_auth)).status_code == 401
    r = await _post(client, "users", "auth-with-password", {"identity": "bob@example.com", "password": PASSWORD})
    assert r.status_code == 400
    await login(client, "bob@example.com", "brand-new-pass")
    r = await _post(
        client, "users", "confirm-password-reset", {**body, "password": "x" * 10, "passwordConfirm": "x" * 10}
    )
    assert _fields(r) == {"token": "validation_invalid_token"}
    # the token came to the record's own address: that proves it, as in PocketBase
    assert (await _record(app, user["id"])).get("verified") is True


async def test_reset_token_dies_when_the_password_changes_another_way(app: App, client: httpx2.AsyncClient) -> None:
    user = await create_user(client, "bob@example.com")
    token = issue_record_token(app.secret, await _record(app, user["id"]), TYPE_PASSWORD_RESET, email="bob@example.com")
    headers = await login(client, "bob@example.com")
    r = await client.patch(
        f"/api/collections/users/records/{user['id']}",
        json={"oldPassword": PASSWORD, "password": "changed-1234", "passwordConfirm": "changed-1234"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    body = {"token": token, "password": "another-1234", "passwordConfirm": "another-1234"}
    assert _fields(await _post(client, "users", "confirm-password-reset", body)) == {
        "token": "validation_invalid_token"
    }


async def test_reset_does_not_verify_a_changed_address(app: App, client: httpx2.AsyncClient) -> None:
    user = await create_user(client, "bob@example.com")
    token = issue_record_token(app.secret, await _record(app, user["id"]), TYPE_PASSWORD_RESET, email="old@example.com")
    body = {"token": token, "password": "another-1234", "passwordConfirm": "another-1234"}
    assert (await _post(client, "users", "confirm-password-reset", body)).status_code == 204
    assert (await _record(app, user["id"])).get("verified") is False


async def test_password_reset_unknown_email_and_resend_guard(client: httpx2.AsyncClient, smtp: SmtpServer) -> None:
    await create_user(client, "bob@example.com")
    for email in ("nobody@example.com", "bob@example.com", "bob@example.com"):
        r = await _post(client, "users", "request-password-reset", {"email": email})
        assert r.status_code == 204 and r.content == b""
    await smtp.wait_for("bob@example.com")
    r = await _post(client, "users", "request-verification", {"email": "bob@example.com"})
    await _wait_subject(smtp, "bob@example.com", "Verify your")  # sent after both resets had their chance
    assert [m.subject for m in smtp.received] == ["Reset your Acme password", "Verify your Acme email"]


async def test_confirm_password_reset_input_errors(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    user = await create_user(client, "bob@example.com")
    token = issue_record_token(app.secret, await _record(app, user["id"]), TYPE_PASSWORD_RESET, email="bob@example.com")
    r = await _post(client, "users", "confirm-password-reset", {})
    assert r.json()["message"] == INVALID
    assert _fields(r) == {
        "token": "validation_required",
        "password": "validation_required",
        "passwordConfirm": "validation_required",
    }
    r = await _post(
        client, "users", "confirm-password-reset", {"token": "abc", "password": "x", "passwordConfirm": "y"}
    )
    assert r.json()["data"] == {
        "token": {"code": "validation_invalid_token", "message": "Invalid or expired token."},
        "password": {
            "code": "validation_length_out_of_range",
            "message": "The length must be between 8 and 255.",
            "params": {"max": 255, "min": 8},
        },
        "passwordConfirm": {"code": "validation_values_mismatch", "message": "Values don't match."},
    }
    r = await _post(client, "users", "confirm-password-reset", {"token": token, "password": 12345678})
    assert r.json() == error(400, LOAD)
    # within the form's 255 but over the field's limit: refused when saving, nothing written
    long = "x" * 80
    r = await _post(
        client, "users", "confirm-password-reset", {"token": token, "password": long, "passwordConfirm": long}
    )
    assert r.json()["message"] == "Failed to set new password." and _fields(r) == {
        "password": "validation_invalid_value"
    }
    await login(client, "bob@example.com")
    expired = issue_record_token(
        app.secret, await _record(app, user["id"]), TYPE_PASSWORD_RESET, exp=int(time.time()) - 1
    )
    body = {"token": expired, "password": "another-1234", "passwordConfirm": "another-1234"}
    assert _fields(await _post(client, "users", "confirm-password-reset", body)) == {
        "token": "validation_invalid_token"
    }
    verification = issue_record_token(app.secret, await _record(app, user["id"]), TYPE_VERIFICATION, email="b@x.co")
    body["token"] = verification
    assert _fields(await _post(client, "users", "confirm-password-reset", body)) == {
        "token": "validation_invalid_token"
    }
    r = await client.patch("/api/collections/users", json={"passwordAuth": {"enabled": False}}, headers=su_headers)
    assert r.status_code == 200
    r = await _post(client, "users", "request-password-reset", {"email": "bob@example.com"})
    assert r.json() == error(400, "The collection is not configured to allow password authentication.")


async def test_password_min_of_the_field_is_respected(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    users = (await client.get("/api/collections/users", headers=su_headers)).json()
    for f in users["fields"]:
        if f["name"] == "password":
            f["min"], f["max"] = 12, 20
    r = await client.patch("/api/collections/users", json={"fields": users["fields"]}, headers=su_headers)
    assert r.status_code == 200, r.text
    user = await create_user(client, "bob@example.com", password="long-enough-1")
    token = issue_record_token(app.secret, await _record(app, user["id"]), TYPE_PASSWORD_RESET, email="bob@example.com")
    short = {"token": token, "password": "short-1234", "passwordConfirm": "short-1234"}
    r = await _post(client, "users", "confirm-password-reset", short)
    assert r.json()["data"]["password"]["message"] == "The length must be between 12 and 255."
    too_long = {"token": token, "password": "x" * 21, "passwordConfirm": "x" * 21}
    r = await _post(client, "users", "confirm-password-reset", too_long)
    assert r.json()["message"] == "Failed to set new password."
    assert _fields(r) == {"password": "validation_max_text_constraint"}


# ------------------------------------------------------------------------------ email change
async def test_email_change_flow(app: App, client: httpx2.AsyncClient, smtp: SmtpServer, hooks: HookRecorder) -> None:
    user = await create_user(client, "carl@example.com")
    headers = await login(client, "carl@example.com")
    hooks.clear()
    r = await _post(client, "users", "request-email-change", {"newEmail": "carl.new@example.com"}, headers=headers)
    assert r.status_code == 204 and r.content == b""
    mail = await smtp.wait_for("carl.new@example.com")  # sent to the new address
    assert hooks.fired == ["on_record_request_email_change_request", "on_mailer_record_email_change_send", "on_mailer_send"]
    assert mail.subject == "Confirm your Acme new email address"
    token = mail.token()
    hooks.clear()
    r = await _post(client, "users", "confirm-email-change", {"token": token, "password": PASSWORD})
    assert r.status_code == 204 and r.content == b""
    assert hooks.fired[0] == "on_record_confirm_email_change_request"
    after = await _record(app, user["id"])
    assert after.get("email") == "carl.new@example.com" and after.get("verified") is True
    assert (await client.post("/api/collections/users/auth-refresh", headers=headers)).status_code == 401
    await login(client, "carl.new@example.com")
    r = await _post(client, "users", "confirm-email-change", {"token": token, "password": PASSWORD})
    assert _fields(r) == {"token": "validation_invalid_token", "password": "validation_invalid_password"}


async def test_request_email_change_errors(
    client: httpx2.AsyncClient, su_headers: dict[str, str], smtp: SmtpServer
) -> None:
    await create_user(client, "carl@example.com")
    await create_user(client, "dora@example.com")
    r = await _post(client, "users", "request-email-change", {"newEmail": "x@example.com"})
    assert r.status_code == 401 and r.json() == error(401, "The request requires valid record authorization token.")
    r = await client.post("/api/collections/users/request-email-change", content=b"{nope")
    assert r.status_code == 401  # the auth requirement comes before the body, as in PocketBase
    r = await _post(client, "users", "request-email-change", {"newEmail": "x@example.com"}, headers=su_headers)
    assert r.json() == error(403, "The request requires auth record from _superusers collection.")
    r = await _post(client, "_superusers", "request-email-change", {"newEmail": "x@example.com"}, headers=su_headers)
    assert r.json() == error(400, "All superusers can change their emails directly.")
    h = await login(client, "carl@example.com")
    cases = [
        ({}, "validation_required"),
        ({"newEmail": "bad"}, "validation_is_email"),
        ({"newEmail": "carl@example.com"}, "validation_not_in_invalid"),
        ({"newEmail": "dora@example.com"}, "validation_invalid_new_email"),
    ]
    for body, code in cases:
        r = await _post(client, "users", "request-email-change", body, headers=h)
        assert r.json()["message"] == INVALID and _fields(r) == {"newEmail": code}, body
    r = await _post(client, "users", "request-email-change", {"newEmail": 1}, headers=h)
    assert r.json() == error(400, LOAD)
    assert smtp.received == []


async def test_request_email_change_fails_when_the_mail_cannot_be_sent(app: App, client: httpx2.AsyncClient) -> None:
    await app.settings.patch({"smtp": {"enabled": True, "host": "127.0.0.1", "port": 1}})
    await create_user(client, "carl@example.com")
    h = await login(client, "carl@example.com")
    r = await _post(client, "users", "request-email-change", {"newEmail": "c2@example.com"}, headers=h)
    assert r.json() == error(400, "Failed to request email change.")


async def test_confirm_email_change_errors(app: App, client: httpx2.AsyncClient) -> None:
    user = await create_user(client, "carl@example.com")
    await create_user(client, "dora@example.com")
    record = await _record(app, user["id"])

    def token(new_email: str | None, purpose: str = TYPE_EMAIL_CHANGE, **claims: Any) -> str:
        extra = {"newEmail": new_email} if new_email is not None else {}
        return issue_record_token(app.secret, record, purpose, email="carl@example.com", **extra, **claims)

    async def codes(body: dict[str, Any]) -> dict[str, str]:
        r = await _post(client, "users", "confirm-email-change", body)
        assert r.json()["message"] == INVALID, r.text
        return _fields(r)

    assert await codes({}) == {"token": "validation_required", "password": "validation_required"}
    assert await codes({"token": "abc", "password": "x"}) == {
        "token": "validation_invalid_token_payload",
        "password": "validation_invalid_password",
    }
    good = token("carl2@example.com")
    assert await codes({"token": good, "password": "wrong-pass"}) == {"password": "validation_invalid_password"}
    assert await codes({"token": good, "password": "x" * 101}) == {"password": "validation_length_out_of_range"}
    assert await codes({"token": token(None), "password": PASSWORD}) == {
        "token": "validation_invalid_token_payload",
        "password": "validation_invalid_password",
    }
    taken = token("dora@example.com")
    assert (await codes({"token": taken, "password": PASSWORD}))["token"] == "validation_invalid_token_email"
    wrong_type = token("carl2@example.com", TYPE_PASSWORD_RESET)
    assert (await codes({"token": wrong_type, "password": PASSWORD}))["token"] == "validation_invalid_token"
    expired = token("carl2@example.com", exp=int(time.time()) - 5)
    assert (await codes({"token": expired, "password": PASSWORD}))["token"] == "validation_invalid_token"
    r = await _post(client, "_superusers", "confirm-email-change", {"token": good, "password": PASSWORD})
    assert r.json() == error(400, "All superusers can change their emails directly.")
    r = await _post(client, "users", "confirm-email-change", {"token": good, "password": 5})
    assert r.json() == error(400, LOAD)
    assert (await _record(app, user["id"])).get("email") == "carl@example.com"
    assert (
        await _post(client, "users", "confirm-email-change", {"token": good, "password": PASSWORD})
    ).status_code == 204


# ---------------------------------------------------------------------------------- templates
async def test_each_flow_uses_the_collection_template(
    client: httpx2.AsyncClient, su_headers: dict[str, str], smtp: SmtpServer
) -> None:
    template = {"subject": "Check {RECORD:name}", "body": '<a href="https://acme.test/v?t={TOKEN}">go</a>'}
    r = await client.patch("/api/collections/users", json={"verificationTemplate": template}, headers=su_headers)
    assert r.status_code == 200 and r.json()["verificationTemplate"] == template
    await create_user(client, "ann@example.com", name="Ann")
    await _post(client, "users", "request-verification", {"email": "ann@example.com"})
    mail = await smtp.wait_for("ann@example.com")
    assert mail.subject == "Check Ann" and 'href="https://acme.test/v?t=ey' in mail.html
    r = await client.patch(
        "/api/collections/users", json={"resetPasswordTemplate": {"subject": "", "body": "x"}}, headers=su_headers
    )
    assert (
        r.status_code == 400 and r.json()["data"]["resetPasswordTemplate"]["subject"]["code"] == "validation_required"
    )
