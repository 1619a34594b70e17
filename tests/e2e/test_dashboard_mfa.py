"""Superuser sign-in with MFA on `_superusers`: the password answers 401 {mfaId} and the page asks
for a second factor, a code mailed through a real SMTP server (read out of the mail) or one from an
authenticator app (TOTP, computed here as the app would)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from smtp_server import SmtpServer

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, shot
from tests.e2e.dashboard_server import Server, start, upsert_superuser

APP_USER = "app-user@example.com"
AUTH_KEY = "__pb_superuser_auth__"
APP_SECRETS: dict[str, str] = {}
"""The authenticator app's secret per superuser, kept as the phone would."""


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    s = SmtpServer().start_without_loop()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer) -> Iterator[Server]:
    """MFA and OTP on for superusers, mail through `smtp`; APP_USER has an authenticator app."""
    data_dir = tmp_path_factory.mktemp("mfa") / "pb_data"
    upsert_superuser(data_dir, EMAIL, PASSWORD)
    upsert_superuser(data_dir, APP_USER, PASSWORD)
    s = start(data_dir)
    token = s.sign_in(EMAIL, PASSWORD)
    app_token = s.sign_in(APP_USER, PASSWORD)
    s.api("PATCH", "/api/settings", {"smtp": {"enabled": True, "host": "127.0.0.1", "port": smtp.port}}, token=token)
    s.api("PATCH", "/api/collections/_superusers", {"mfa": {"enabled": True}, "otp": {"enabled": True}}, token=token)
    secret = s.api("POST", "/api/collections/_superusers/totp/enroll", token=app_token)["secret"]
    s.api("POST", "/api/collections/_superusers/totp/verify", {"code": pyotp.TOTP(secret).now()}, token=app_token)
    APP_SECRETS[APP_USER] = secret
    yield s
    s.stop()


def _password_step(page: Any, server: Server, email: str) -> None:
    page.goto(server.url + "/_/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Second step").wait_for()
    assert page.evaluate(f"localStorage.getItem('{AUTH_KEY}')") is None  # not signed in yet


def _mail_code(smtp: SmtpServer, to: str, seen: int) -> str:
    deadline = time.monotonic() + 15
    while True:
        mails = [m for m in smtp.received if to in m.envelope_to]
        if len(mails) > seen:
            found = re.search(r"<strong>(\w+)</strong>", mails[-1].html)
            assert found, mails[-1].html
            return found.group(1)
        assert time.monotonic() < deadline, "no OTP mail"
        time.sleep(0.05)


def test_password_then_emailed_code(server: Server, smtp: SmtpServer, watched: Watched) -> None:
    page = watched.page
    _password_step(page, server, EMAIL)
    seen = len([m for m in smtp.received if EMAIL in m.envelope_to])
    page.get_by_role("button", name="Email me a code").click()
    page.get_by_role("status").filter(has_text=f"A code was sent to {EMAIL}.").wait_for()
    shot(watched, "signin-mfa")
    code = _mail_code(smtp, EMAIL, seen)
    box = page.get_by_label("Code from the email")
    box.fill(f"x{code}")  # codes are digits: never right, and the server says so
    page.get_by_role("button", name="Verify emailed code").click()
    page.get_by_role("alert").wait_for()
    assert page.evaluate("document.activeElement.autocomplete") == "one-time-code"
    box.fill(code)
    page.get_by_role("button", name="Verify emailed code").click()
    page.get_by_role("heading", name="Collections").wait_for()
    assert page.get_by_text(EMAIL).count() == 1  # signed in as this superuser
    watched.assert_clean()


def test_password_then_authenticator_app(server: Server, watched: Watched) -> None:
    page = watched.page
    _password_step(page, server, APP_USER)
    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Verify app code").click()
    page.get_by_role("alert").filter(has_text="Invalid or expired authenticator code.").wait_for()
    # the next 30-second step (the server allows one step of drift): the current one went to enrolment,
    # and a code is accepted once
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(APP_SECRETS[APP_USER]).at(time.time() + 30))
    page.get_by_role("button", name="Verify app code").click()
    page.get_by_role("heading", name="Collections").wait_for()
    assert page.get_by_text(APP_USER).count() == 1
    watched.assert_clean()


def test_a_wrong_password_never_reaches_the_second_step(server: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url + "/_/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()
    assert page.get_by_role("heading", name="Second step").count() == 0
    watched.assert_clean()
