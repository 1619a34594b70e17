"""`/api/webhooks`: superusers only, validated with PocketBase's error shape, the secret never answered."""

from __future__ import annotations

from typing import Any

import pytest

from tests.apis.helpers import create_user, login
from tests.plugins.events.conftest import SECRET, Env

INVALID = "An error occurred while validating the submitted data."
GOOD = {"url": "https://example.com/hook", "secret": SECRET}


def codes(body: dict[str, Any]) -> dict[str, str]:
    return {k: v["code"] for k, v in body["data"].items()}


async def test_only_superusers_manage_webhooks(env: Env) -> None:
    r = await env.client.get("/api/webhooks")
    assert r.status_code == 401 and r.json()["status"] == 401
    await create_user(env.client, "u@example.com")
    user = await login(env.client, "u@example.com")
    for method, path in (("GET", "/api/webhooks"), ("POST", "/api/webhooks"), ("GET", "/api/webhooks/x/attempts")):
        r = await env.client.request(method, path, json=GOOD, headers=user)
        assert r.status_code == 403, (method, path)
    assert (await env.client.get("/api/webhooks", headers=env.su)).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"url": "validation_required", "secret": "validation_required"}),
        ({**GOOD, "url": "ftp://example.com/x"}, {"url": "validation_invalid_url"}),
        ({**GOOD, "url": "not a url"}, {"url": "validation_invalid_url"}),
        ({**GOOD, "url": 5}, {"url": "validation_required"}),
        ({**GOOD, "secret": "short"}, {"secret": "validation_length_out_of_range"}),
        ({**GOOD, "actions": ["create", "bogus"]}, {"actions": "validation_invalid_value"}),
        ({**GOOD, "actions": "create"}, {"actions": "validation_invalid_value"}),
        ({**GOOD, "collections": ["nope"]}, {"collections": "validation_missing_collection"}),
        ({**GOOD, "collections": [1]}, {"collections": "validation_invalid_value"}),
        ({**GOOD, "active": "yes"}, {"active": "validation_invalid_bool"}),
        ({**GOOD, "name": "x" * 101}, {"name": "validation_max_text_constraint"}),
    ],
)
async def test_bad_input_is_a_400_with_field_codes(env: Env, body: dict[str, Any], expected: dict[str, str]) -> None:
    r = await env.client.post("/api/webhooks", json=body, headers=env.su)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == INVALID and codes(r.json()) == expected
    assert (await env.client.get("/api/webhooks", headers=env.su)).json()["totalItems"] == 0


@pytest.mark.parametrize("raw", [b"[1, 2]", b"not json", b'"text"', b"{"])
async def test_malformed_bodies_are_client_errors(env: Env, raw: bytes) -> None:
    r = await env.client.post("/api/webhooks", content=raw, headers={**env.su, "content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"status", "message", "data"}


async def test_crud_never_answers_the_secret(env: Env) -> None:
    r = await env.client.post(
        "/api/webhooks",
        json={**GOOD, "name": "crm", "collections": ["notes"], "actions": ["delete", "create"]},
        headers=env.su,
    )
    assert r.status_code == 200, r.text
    hook = r.json()
    assert SECRET not in r.text and "secret" not in hook
    assert hook["name"] == "crm" and hook["active"] is True
    assert hook["collections"] == ["notes"] and hook["actions"] == ["create", "delete"]  # canonical order
    for path in ("/api/webhooks", f"/api/webhooks/{hook['id']}"):
        r = await env.client.get(path, headers=env.su)
        assert r.status_code == 200 and SECRET not in r.text
    r = await env.client.patch(
        f"/api/webhooks/{hook['id']}", json={"active": False, "url": "http://a.test/x"}, headers=env.su
    )
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["url"] == "http://a.test/x"
    assert r.json()["name"] == "crm" and r.json()["updated"] >= hook["updated"]
    # a bad update changes nothing
    r = await env.client.patch(f"/api/webhooks/{hook['id']}", json={"name": "new", "url": "bad"}, headers=env.su)
    assert r.status_code == 400 and codes(r.json()) == {"url": "validation_invalid_url"}
    r = await env.client.get(f"/api/webhooks/{hook['id']}", headers=env.su)
    assert r.json()["name"] == "crm"
    stored = await env.events.webhooks._get(hook["id"])
    assert stored.secret == SECRET  # kept when not resubmitted
    r = await env.client.delete(f"/api/webhooks/{hook['id']}", headers=env.su)
    assert r.status_code == 204


async def test_unknown_ids_are_404(env: Env) -> None:
    hook = await env.webhook("https://example.com/h")
    for method, path in (
        ("GET", "/api/webhooks/missing"),
        ("PATCH", "/api/webhooks/missing"),
        ("DELETE", "/api/webhooks/missing"),
        ("GET", "/api/webhooks/missing/attempts"),
        ("GET", "/api/webhooks/missing/dead-letters"),
        ("POST", f"/api/webhooks/{hook['id']}/dead-letters/missing/replay"),
    ):
        r = await env.client.request(method, path, json={}, headers=env.su)
        assert r.status_code == 404, (method, path)
        assert r.json()["status"] == 404


async def test_attempts_paging_tolerates_bad_numbers(env: Env) -> None:
    hook = await env.webhook("https://example.com/h")
    for query in ("page=abc&perPage=-3", "page=99999999999999999999", "perPage=0"):
        r = await env.client.get(f"/api/webhooks/{hook['id']}/attempts?{query}", headers=env.su)
        assert r.status_code == 200, query
        assert r.json()["items"] == []
