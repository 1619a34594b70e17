"""Guessing is capped: passwords per identity (whatever the address) and OTP codes per otpId.

The login guard's own behaviour (windows, spraying, excluded IPs, cache outage) is tested in
tests/apis/test_api_login_guard.py; here the attacker rotates client addresses, which is what a
botnet, or a client behind a trusted proxy header, can do.
"""

from __future__ import annotations

import httpx2
from smtp_server import SmtpServer

from satchel.core.app import App
from satchel.testing import SUPERUSER_EMAIL
from tests.apis.auth_flows import auth_with_otp, enable_otp, mailed_code, request_otp
from tests.apis.helpers import create_user

TOO_MANY = 429


async def _from(app: App) -> None:
    await app.settings.patch({"trustedProxy": {"headers": ["X-Real-IP"], "useLeftmostIP": False}})


def ip(n: int) -> dict[str, str]:
    return {"X-Real-IP": f"198.51.100.{n % 250 + 1}"}


async def test_password_guessing_is_capped_per_identity_across_addresses(app: App, client: httpx2.AsyncClient) -> None:
    await _from(app)
    await create_user(client, "victim@example.com", password="correct-horse-1")
    statuses = []
    for n in range(12):
        r = await client.post(
            "/api/collections/users/auth-with-password",
            json={"identity": "victim@example.com", "password": f"guess-{n}"},
            headers=ip(n),
        )
        statuses.append(r.status_code)
    assert statuses[:10] == [400] * 10 and statuses[10:] == [TOO_MANY] * 2
    r = await client.post(  # the right password from a fresh address: still refused in this window
        "/api/collections/users/auth-with-password",
        json={"identity": "victim@example.com", "password": "correct-horse-1"},
        headers=ip(99),
    )
    assert r.status_code == TOO_MANY and r.json()["status"] == TOO_MANY


async def test_superuser_password_guessing_is_capped(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await _from(app)
    codes = []
    for n in range(11):
        r = await client.post(
            "/api/collections/_superusers/auth-with-password",
            json={"identity": SUPERUSER_EMAIL, "password": f"nope-{n}"},
            headers=ip(n),
        )
        codes.append(r.status_code)
    assert codes[-1] == TOO_MANY and codes.count(400) == 10


async def test_otp_guessing_is_capped_per_otp_id_across_addresses(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    """Regression: attempts were counted per record and address only, so every new address got five
    more guesses at the same code. Now the sixth attempt on one otpId, from anywhere, burns it."""
    await _from(app)
    await create_user(client, "otp-victim@example.com")
    await enable_otp(client, su_headers)
    otp_id = await request_otp(client, "otp-victim@example.com")
    code = await mailed_code(smtp, "otp-victim@example.com", otp_id)
    wrong = "0" * len(code) if code != "0" * len(code) else "1" * len(code)
    for n in range(5):
        r = await auth_with_otp(client, otp_id, wrong, headers=ip(n))
        assert r.status_code == 400, r.text
    r = await auth_with_otp(client, otp_id, code, headers=ip(50))  # a new address, the right code
    assert r.status_code == TOO_MANY and r.json()["status"] == TOO_MANY
    r = await auth_with_otp(client, otp_id, code, headers=ip(51))
    assert r.status_code == 400  # burned: the user asks for a new one
    fresh = await request_otp(client, "otp-victim@example.com")
    r = await auth_with_otp(client, fresh, await mailed_code(smtp, "otp-victim@example.com", fresh), headers=ip(52))
    assert r.status_code == 200, r.text
