"""PocketBase's `superuserIPs` whitelist: when set, a superuser is refused (403) from any other address,
on every route and at sign-in; guests and other users are not affected."""

from __future__ import annotations

import httpx2

from satchel.testing import SUPERUSER_EMAIL, SUPERUSER_PASSWORD
from tests.apis.helpers import create_user, error, login

FORBIDDEN = error(403, "You are not allowed to perform this request.")


def from_ip(ip: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    return {**(headers or {}), "x-test-ip": ip}


async def test_superusers_only_from_listed_addresses(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_user(client, "plain@example.com")
    user = await login(client, "plain@example.com")
    r = await client.patch(
        "/api/settings",
        json={"trustedProxy": {"headers": ["x-test-ip"]}, "superuserIPs": ["10.0.0.0/8", "2001:db8::1"]},
        headers=su_headers,
    )
    assert r.status_code == 200, r.text
    for ip in ("10.1.2.3", "2001:db8::1"):
        r = await client.get("/api/settings", headers=from_ip(ip, su_headers))
        assert r.status_code == 200, ip
    for ip in ("127.0.0.1", "11.0.0.1", "2001:db8::2", "not-an-ip"):
        r = await client.get("/api/collections", headers=from_ip(ip, su_headers))
        assert r.json() == FORBIDDEN, ip
    # everyone else is unaffected
    r = await client.get("/api/collections/users/records", headers=from_ip("127.0.0.1", user))
    assert r.status_code == 200
    assert (await client.get("/api/health", headers=from_ip("127.0.0.1"))).status_code == 200

    # signing in as a superuser from elsewhere is refused before any token is issued
    body = {"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD}
    r = await client.post("/api/collections/_superusers/auth-with-password", json=body, headers=from_ip("127.0.0.1"))
    assert r.json() == FORBIDDEN
    r = await client.post("/api/collections/_superusers/auth-with-password", json=body, headers=from_ip("10.9.9.9"))
    assert r.status_code == 200 and r.json()["token"]

    # an empty list lifts the restriction
    r = await client.patch("/api/settings", json={"superuserIPs": []}, headers=from_ip("10.1.2.3", su_headers))
    assert r.status_code == 200
    assert (await client.get("/api/collections", headers=from_ip("127.0.0.1", su_headers))).status_code == 200
