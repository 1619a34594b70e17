"""Auth origins and new-location alerts, driven through real sign-ins and a real SMTP server."""

from __future__ import annotations

import hashlib
import re

import httpx2
from smtp_server import SmtpServer

from satchel.core.app import App
from satchel.core.auth import origins
from satchel.core.records.model import Record
from tests.apis.helpers import create_user

PASSWORD = "password-123"
ALERT = "Login from a new location"


async def _sign_in(client: httpx2.AsyncClient, email: str, agent: str, **headers: str) -> dict[str, str]:
    r = await client.post(
        "/api/collections/users/auth-with-password",
        json={"identity": email, "password": PASSWORD},
        headers={"User-Agent": agent, **headers},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": r.json()["token"]}


async def _origins(app: App, user_id: str) -> list[Record]:
    users = app.collections.get("users")
    assert users is not None
    return await origins.find_all(app, Record(users, {"id": user_id}))


def _alerts(smtp: SmtpServer) -> list[str]:
    return [m.html for m in smtp.received if m.subject == ALERT]


def test_fingerprint_is_pocketbases() -> None:
    expected = hashlib.md5(b"10.0.0.1" + b"a" * 200 + b"...", usedforsecurity=False).hexdigest()
    assert origins.fingerprint("10.0.0.1", "a" * 300) == expected
    assert (
        origins.fingerprint("10.0.0.1", "curl/8") == hashlib.md5(b"10.0.0.1curl/8", usedforsecurity=False).hexdigest()
    )


async def test_first_sign_in_records_silently_then_a_new_origin_alerts(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer
) -> None:
    user = await create_user(client, "ann@example.com")
    await _sign_in(client, "ann@example.com", "agent-A")
    await _sign_in(client, "ann@example.com", "agent-A")
    found = await _origins(app, user["id"])
    assert [(o.get("collectionRef"), o.get("recordRef"), o.get("fingerprint")) for o in found] == [
        ("_pb_users_auth_", user["id"], origins.fingerprint("127.0.0.1", "agent-A"))
    ]
    assert _alerts(smtp) == []
    await _sign_in(client, "ann@example.com", "agent-<B>")
    [alert] = _alerts(smtp)  # sent before the sign-in was answered
    info = re.search(r"<em>(.*)</em>", alert)
    assert info and re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z - 127\.0\.0\.1 agent-&lt;B&gt;", info.group(1)
    )
    assert smtp.received[0].envelope_to == ["ann@example.com"]
    assert len(await _origins(app, user["id"])) == 2
    await _sign_in(client, "ann@example.com", "agent-<B>")
    assert len(_alerts(smtp)) == 1


async def test_trusted_proxy_header_gives_the_address(app: App, client: httpx2.AsyncClient, smtp: SmtpServer) -> None:
    await app.settings.patch({"trustedProxy": {"headers": ["X-Real-IP"]}})
    user = await create_user(client, "ann@example.com")
    await _sign_in(client, "ann@example.com", "agent", **{"X-Real-IP": "203.0.113.9"})
    await _sign_in(client, "ann@example.com", "agent", **{"X-Real-IP": "198.51.100.7"})
    [alert] = _alerts(smtp)
    assert " - 198.51.100.7 agent</em>" in alert
    fingerprints = {o.get("fingerprint") for o in await _origins(app, user["id"])}
    assert fingerprints == {origins.fingerprint(ip, "agent") for ip in ("203.0.113.9", "198.51.100.7")}


async def test_at_most_five_origins_the_oldest_go(app: App, client: httpx2.AsyncClient, smtp: SmtpServer) -> None:
    user = await create_user(client, "ann@example.com")
    for i in range(7):
        await _sign_in(client, "ann@example.com", f"agent-{i}")
    kept = {o.get("fingerprint") for o in await _origins(app, user["id"])}
    assert kept == {origins.fingerprint("127.0.0.1", f"agent-{i}") for i in range(2, 7)}
    assert len(_alerts(smtp)) == 6


async def test_disabled_alerts_record_nothing(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str], smtp: SmtpServer
) -> None:
    r = await client.patch("/api/collections/users", json={"authAlert": {"enabled": False}}, headers=su_headers)
    assert r.status_code == 200, r.text
    user = await create_user(client, "ann@example.com")
    await _sign_in(client, "ann@example.com", "agent-A")
    await _sign_in(client, "ann@example.com", "agent-B")
    assert await _origins(app, user["id"]) == [] and _alerts(smtp) == []


async def test_refresh_and_impersonation_are_not_sign_ins(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str], smtp: SmtpServer
) -> None:
    user = await create_user(client, "ann@example.com")
    h = await _sign_in(client, "ann@example.com", "agent-A")
    r = await client.post("/api/collections/users/auth-refresh", headers={**h, "User-Agent": "agent-B"})
    assert r.status_code == 200
    r = await client.post(f"/api/collections/users/impersonate/{user['id']}", json={}, headers=su_headers)
    assert r.status_code == 200
    assert len(await _origins(app, user["id"])) == 1 and _alerts(smtp) == []


async def test_a_failed_alert_keeps_the_origin_unknown(app: App, client: httpx2.AsyncClient) -> None:
    await app.settings.patch({"smtp": {"enabled": True, "host": "127.0.0.1", "port": 1}})
    user = await create_user(client, "ann@example.com")
    await _sign_in(client, "ann@example.com", "agent-A")
    await _sign_in(client, "ann@example.com", "agent-B")  # the alert cannot go out; the sign-in still works
    fingerprints = [o.get("fingerprint") for o in await _origins(app, user["id"])]
    assert fingerprints == [origins.fingerprint("127.0.0.1", "agent-A")]  # so the next sign-in alerts again


async def test_a_password_change_or_deletion_forgets_the_origins(app: App, client: httpx2.AsyncClient) -> None:
    user = await create_user(client, "ann@example.com")
    other = await create_user(client, "bob@example.com")
    await _sign_in(client, "ann@example.com", "agent-A")
    h = await _sign_in(client, "bob@example.com", "agent-A")
    r = await client.patch(
        f"/api/collections/users/records/{other['id']}",
        json={"oldPassword": PASSWORD, "password": "changed-1234", "passwordConfirm": "changed-1234"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert await _origins(app, other["id"]) == [] and len(await _origins(app, user["id"])) == 1
    h = await _sign_in(client, "ann@example.com", "agent-A")
    r = await client.patch(f"/api/collections/users/records/{user['id']}", json={"name": "Ann"}, headers=h)
    assert r.status_code == 200 and len(await _origins(app, user["id"])) == 1  # other updates keep them
    r = await client.delete(f"/api/collections/users/records/{user['id']}", headers=h)
    assert r.status_code == 204 and await _origins(app, user["id"]) == []
