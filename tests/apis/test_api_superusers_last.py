"""The last superuser cannot be deleted through the API (PocketBase's rule): nobody could sign in to
the dashboard again. Any other one can, the signed-in superuser included."""

from __future__ import annotations

import httpx2

from satchel.core.app import App
from satchel.core.auth.superusers import delete_superuser, find_superuser

BASE = "/api/collections/_superusers/records"
REFUSED = {"status": 400, "message": "You can't delete the only existing superuser.", "data": {}}


async def _all(client: httpx2.AsyncClient, su: dict[str, str]) -> list[dict[str, object]]:
    r = await client.get(BASE, headers=su)
    assert r.status_code == 200, r.text
    items: list[dict[str, object]] = r.json()["items"]
    return items


async def test_the_only_superuser_is_kept(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    (only,) = await _all(client, su_headers)
    r = await client.delete(f"{BASE}/{only['id']}", headers=su_headers)
    assert (r.status_code, r.json()) == (400, REFUSED)
    assert [s["id"] for s in await _all(client, su_headers)] == [only["id"]]


async def test_yourself_is_deleted_while_another_remains(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    (me,) = await _all(client, su_headers)
    body = {"email": "second@example.com", "password": "pass-word-123", "passwordConfirm": "pass-word-123"}
    r = await client.post(BASE, headers=su_headers, json=body)
    assert r.status_code == 200, r.text
    other = r.json()
    r = await client.delete(f"{BASE}/{me['id']}", headers=su_headers)
    assert r.status_code == 204, r.text
    r = await client.post(
        "/api/collections/_superusers/auth-with-password",
        json={"identity": body["email"], "password": body["password"]},
    )
    second = {"Authorization": r.json()["token"]}
    r = await client.delete(f"{BASE}/{other['id']}", headers=second)  # now the last one
    assert (r.status_code, r.json()) == (400, REFUSED)


async def test_the_command_line_may_still_delete_the_last_one(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    (only,) = await _all(client, su_headers)
    assert await delete_superuser(app, str(only["email"])) is True
    assert await find_superuser(app, str(only["email"])) is None
