"""`POST /api/settings/test/email`: every template PocketBase offers, really sent; and its failures."""

from __future__ import annotations

import re

import httpx2
import pytest
from smtp_server import SmtpServer

from satchel.core.app import App
from tests.apis.helpers import error, login

FAILED = "Failed to send the test email."


@pytest.mark.parametrize(
    ("template", "subject", "marker"),
    [
        ("verification", "Verify your Acme email", "/auth/confirm-verification/ey"),
        ("password-reset", "Reset your Acme password", "/auth/confirm-password-reset/ey"),
        ("email-change", "Confirm your Acme new email address", "/auth/confirm-email-change/ey"),
        ("otp", "OTP for Acme", "<strong>123456</strong>"),
        ("login-alert", "Login from a new location", " - TEST_IP TEST_USER_AGENT</em>"),
    ],
)
async def test_each_template_is_sent(
    client: httpx2.AsyncClient, su_headers: dict[str, str], smtp: SmtpServer, template: str, subject: str, marker: str
) -> None:
    body = {"email": "check@example.com", "template": template}
    r = await client.post("/api/settings/test/email", json=body, headers=su_headers)
    assert r.status_code == 204 and r.content == b""
    got = smtp.received  # delivered before the answer: the endpoint reports delivery
    assert [m.envelope_to for m in got] == [["check@example.com"]]
    assert got[0].subject == subject and marker in got[0].html


async def test_record_placeholders_show_test_values(
    client: httpx2.AsyncClient, su_headers: dict[str, str], smtp: SmtpServer
) -> None:
    template = {"subject": "Hi {RECORD:name}", "body": "<p>{RECORD:email} {RECORD:tokenKey} {TOKEN}</p>"}
    r = await client.patch("/api/collections/users", json={"verificationTemplate": template}, headers=su_headers)
    assert r.status_code == 200, r.text
    body = {"email": "check@example.com", "template": "verification", "collection": "users"}
    assert (await client.post("/api/settings/test/email", json=body, headers=su_headers)).status_code == 204
    mail = smtp.received[0]
    assert mail.subject == "Hi __pb_test_name__"
    assert re.search(r"<p>check@example.com  ey[\w.-]+</p>", mail.html), mail.html


async def test_only_superusers(client: httpx2.AsyncClient, smtp: SmtpServer) -> None:
    body = {"email": "check@example.com", "template": "otp"}
    r = await client.post("/api/settings/test/email", json=body)
    assert r.status_code == 401
    r = await client.post(
        "/api/collections/users/records",
        json={"email": "u@example.com", "password": "password-123", "passwordConfirm": "password-123"},
    )
    r = await client.post("/api/settings/test/email", json=body, headers=await login(client, "u@example.com"))
    assert r.json() == error(403, "The authorized record is not allowed to perform this action.")
    assert smtp.received == []


async def test_input_errors(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await client.post("/api/settings/test/email", json={}, headers=su_headers)
    assert r.json() == error(
        400,
        FAILED,
        {
            "email": {"code": "validation_required", "message": "Cannot be blank."},
            "template": {"code": "validation_required", "message": "Cannot be blank."},
        },
    )
    body = {"email": "bad", "template": "nope", "collection": "nope"}
    r = await client.post("/api/settings/test/email", json=body, headers=su_headers)
    assert {k: v["code"] for k, v in r.json()["data"].items()} == {
        "collection": "validation_invalid_auth_collection",
        "email": "validation_is_email",
        "template": "validation_in_invalid",
    }
    r = await client.post("/api/settings/test/email", json={"email": 1, "template": "otp"}, headers=su_headers)
    assert r.json() == error(400, "An error occurred while loading the submitted data.")


async def test_a_failed_delivery_is_a_400_naming_the_cause(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    # nothing listens on port 1
    await app.settings.patch({"smtp": {"enabled": True, "host": "127.0.0.1", "port": 1, "password": "hunter2-secret"}})
    body = {"email": "check@example.com", "template": "verification"}
    r = await client.post("/api/settings/test/email", json=body, headers=su_headers)
    assert r.status_code == 400 and r.json()["data"] == {}
    message = r.json()["message"]
    assert message.startswith(FAILED + " Raw error: \nSMTP delivery to 127.0.0.1:1 failed")
    assert "hunter2-secret" not in message
