"""Rate limits through the HTTP API: PocketBase's 429, our limit headers, windows, audiences,
excluded IPs, trusted proxies, collection tags on record and auth routes, settings validation.

Windows are stepped with the memory cache's injectable clock, so nothing here depends on timing.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx2
import pytest

from satchel.adapters.cache.memory import MemoryCache
from satchel.adapters.cache.redis import RedisCache
from satchel.core.app import App
from satchel.core.ratelimit import limiter
from tests.apis.helpers import create_collection, create_user, login

TOO_MANY = {"data": {}, "message": "Too Many Requests.", "status": 429}
LOAD_ERROR = {"data": {}, "message": "An error occurred while loading the submitted data.", "status": 400}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(app: App) -> Clock:
    c = Clock()
    app.cache = MemoryCache(clock=c)
    return c


def rule(label: str, max_requests: int, duration: int = 10, audience: str = "") -> dict[str, Any]:
    return {"label": label, "audience": audience, "duration": duration, "maxRequests": max_requests}


async def limits(client: httpx2.AsyncClient, su: dict[str, str], *rules: dict[str, Any], **extra: Any) -> None:
    body = {"rateLimits": {"enabled": True, "rules": list(rules), **extra.pop("rate_limits", {})}, **extra}
    r = await client.patch("/api/settings", json=body, headers=su)
    assert r.status_code == 200, r.text


async def statuses(client: httpx2.AsyncClient, n: int, url: str = "/api/health", **kw: Any) -> list[int]:
    return [(await client.get(url, **kw)).status_code for _ in range(n)]


def open_collection(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "base",
        "listRule": "",
        "viewRule": "",
        "createRule": "",
        "fields": [{"name": "title", "type": "text"}],
    }


async def test_disabled_by_default_even_with_strict_rules(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    settings = (await client.get("/api/settings", headers=su_headers)).json()["rateLimits"]
    assert settings["enabled"] is False and settings["rules"][0] == rule("*:auth", 2, 3)
    r = await client.patch("/api/settings", json={"rateLimits": {"rules": [rule("/api/", 1)]}}, headers=su_headers)
    assert r.status_code == 200 and r.json()["rateLimits"]["enabled"] is False
    for _ in range(5):
        r = await client.get("/api/health")
        assert r.status_code == 200 and "x-ratelimit-limit" not in r.headers


async def test_429_body_headers_and_window_reset(
    client: httpx2.AsyncClient, su_headers: dict[str, str], clock: Clock
) -> None:
    await limits(client, su_headers, rule("/api/", 2, duration=10))
    first, second = await client.get("/api/health"), await client.get("/api/health")
    assert first.status_code == second.status_code == 200
    assert [first.headers["x-ratelimit-remaining"], second.headers["x-ratelimit-remaining"]] == ["1", "0"]
    assert first.headers["x-ratelimit-limit"] == "2" and first.headers["x-ratelimit-reset"] == "10"
    assert "retry-after" not in first.headers
    refused = await client.get("/api/health")
    assert refused.status_code == 429 and refused.json() == TOO_MANY
    assert refused.headers["content-type"] == "application/json"
    assert refused.headers["retry-after"] == "10" and refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["vary"] == "Origin"  # still a CORS-complete answer
    clock.advance(4)
    assert (await client.get("/api/health")).headers["retry-after"] == "6"
    clock.advance(6)  # the window has ended: a whole budget again
    again = await client.get("/api/health")
    assert again.status_code == 200 and again.headers["x-ratelimit-remaining"] == "1"


async def test_an_edited_rule_starts_fresh_counts(
    client: httpx2.AsyncClient, su_headers: dict[str, str], clock: Clock
) -> None:
    await limits(client, su_headers, rule("/api/health", 1))
    assert await statuses(client, 2) == [200, 429]
    await limits(client, su_headers, rule("/api/health", 2))
    assert await statuses(client, 3) == [200, 200, 429]


async def test_audiences_and_superusers(client: httpx2.AsyncClient, su_headers: dict[str, str], clock: Clock) -> None:
    await create_user(client, "aud@example.com")
    user = await login(client, "aud@example.com")
    await limits(client, su_headers, rule("/api/", 1, audience="@guest"), rule("/api/", 3, audience="@auth"))
    assert await statuses(client, 2) == [200, 429]
    assert await statuses(client, 4, headers=user) == [200, 200, 200, 429]
    assert await statuses(client, 5, headers=su_headers) == [200] * 5  # superusers are never limited
    r = await client.get("/api/health", headers=su_headers)
    assert "x-ratelimit-limit" not in r.headers


@pytest.mark.parametrize(
    ("excluded", "expected"), [("127.0.0.1", [200] * 3), ("127.0.0.0/8", [200] * 3), ("10.0.0.0/8", [200, 429, 429])]
)
async def test_excluded_ips(
    client: httpx2.AsyncClient, su_headers: dict[str, str], clock: Clock, excluded: str, expected: list[int]
) -> None:
    # the in-process client connects from 127.0.0.1
    await limits(client, su_headers, rule("/api/", 1), rate_limits={"excludedIPs": [excluded]})
    assert await statuses(client, 3) == expected


async def test_client_ip_through_trusted_proxy_headers(
    client: httpx2.AsyncClient, su_headers: dict[str, str], clock: Clock
) -> None:
    def via(chain: str) -> dict[str, dict[str, str]]:
        return {"headers": {"X-Forwarded-For": chain}}

    await limits(client, su_headers, rule("/api/", 1))
    # not trusted yet: the header is ignored and every request comes from 127.0.0.1
    assert await statuses(client, 1, **via("1.1.1.1")) + await statuses(client, 1, **via("2.2.2.2")) == [200, 429]
    await limits(
        client,
        su_headers,
        rule("/api/", 1),
        trustedProxy={"headers": ["X-Forwarded-For"]},
        rate_limits={"excludedIPs": ["4.4.4.4"]},
    )
    assert await statuses(client, 2, **via("1.1.1.1")) == [200, 429]
    assert await statuses(client, 1, **via("2.2.2.2")) == [200]
    assert await statuses(client, 1, **via("9.9.9.9, 2.2.2.2")) == [429]  # rightmost: what the proxy saw
    assert await statuses(client, 1, **via("garbage, 5.5.5.5, junk")) == [200]  # rightmost *valid* one
    assert await statuses(client, 3, **via("4.4.4.4")) == [200] * 3  # excluded, seen through the proxy
    await limits(
        client, su_headers, rule("/api/", 1), trustedProxy={"headers": ["X-Forwarded-For"], "useLeftmostIP": True}
    )
    assert await statuses(client, 2, **via("3.3.3.3, 2.2.2.2")) == [200, 429]
    assert await statuses(client, 1, **via("6.6.6.6, 3.3.3.3")) == [200]


async def test_collection_tags_on_record_routes(
    client: httpx2.AsyncClient, su_headers: dict[str, str], clock: Clock
) -> None:
    await create_collection(client, su_headers, open_collection("notes"))
    await create_collection(client, su_headers, open_collection("memos"))
    note = (await client.post("/api/collections/notes/records", json={"title": "n"})).json()
    await limits(client, su_headers, rule("notes:create", 1), rule("*:list", 2), rule("/api/", 1))
    creates = [(await client.post("/api/collections/notes/records", json={"title": "x"})).status_code for _ in range(2)]
    assert creates == [200, 429]
    # *:list counts each collection apart, as PocketBase keys it by collection and route
    assert await statuses(client, 3, "/api/collections/notes/records") == [200, 200, 429]
    assert await statuses(client, 3, "/api/collections/MEMOS/records") == [200, 200, 429]
    # a collection route without a tag rule falls back to the path rules, in its own counter
    assert await statuses(client, 2, f"/api/collections/notes/records/{note['id']}") == [200, 429]
    assert await statuses(client, 2) == [200, 429]
    # an unknown collection is answered 404 before any counting, as PocketBase does
    assert await statuses(client, 3, "/api/collections/nope/records") == [404] * 3


async def test_collection_tags_on_auth_routes(
    client: httpx2.AsyncClient, su_headers: dict[str, str], clock: Clock
) -> None:
    await create_user(client, "tags@example.com")
    user = await login(client, "tags@example.com")
    await limits(client, su_headers, rule("*:auth", 2), rule("users:listAuthMethods", 1), rule("*:authRefresh", 1))

    async def password(collection: str) -> int:
        body = {"identity": "tags@example.com", "password": "wrong-password"}
        return (await client.post(f"/api/collections/{collection}/auth-with-password", json=body)).status_code

    assert [await password("users") for _ in range(3)] == [400, 400, 429]
    assert await password("_superusers") == 400  # another collection, another counter
    # Satchel's authenticator-app sign-in is an auth action too (its own counter, like each route)
    totp = [(await client.post("/api/collections/users/auth-with-totp", json={})).status_code for _ in range(3)]
    assert totp[2] == 429 and 429 not in totp[:2]
    assert await statuses(client, 2, "/api/collections/users/auth-methods") == [200, 429]
    refreshes = [(await client.post("/api/collections/users/auth-refresh", headers=user)).status_code for _ in range(2)]
    assert refreshes == [200, 429]


async def test_a_cache_outage_lets_requests_through(
    app: App,
    client: httpx2.AsyncClient,
    su_headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await limits(client, su_headers, rule("/api/", 1))
    app.cache = RedisCache("redis://127.0.0.1:1/0")  # nothing listens there
    monkeypatch.setattr(limiter, "_last_warning", -limiter._WARN_EVERY)  # not throttled by an earlier test
    try:
        with caplog.at_level(logging.WARNING, logger="satchel.ratelimit"):
            assert await statuses(client, 3) == [200] * 3
    finally:
        await app.cache.close()
    warnings = [r.getMessage() for r in caplog.records if r.name == "satchel.ratelimit"]
    assert len(warnings) == 1 and "cache unavailable" in warnings[0]


# ------------------------------------------------------------------------------ settings validation
async def patch(client: httpx2.AsyncClient, su: dict[str, str], rate_limits: Any) -> httpx2.Response:
    return await client.patch("/api/settings", json={"rateLimits": rate_limits}, headers=su)


def saving_error(rate_limits: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": {"rateLimits": rate_limits},
        "message": "An error occurred while saving the new settings.",
        "status": 400,
    }


async def test_settings_validation_errors_as_pocketbase(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    blank = {"code": "validation_required", "message": "Cannot be blank."}
    r = await patch(client, su_headers, {"enabled": True, "rules": []})
    assert r.json() == saving_error({"rules": blank})
    r = await patch(client, su_headers, {"rules": [rule("/api/", 1), rule("/api/", 1, audience="@guest")]})
    message = "Rate limit rule configuration with label /api/ already exists or conflicts with another rule."
    conflict = {"code": "validation_conflicting_rate_limit_rule", "message": message, "params": {"label": "/api/"}}
    assert r.json() == saving_error({"rules": {"1": {"label": conflict}}})
    r = await patch(client, su_headers, {"rules": [{"label": "zzz"}], "excludedIPs": ["", "nope"]})
    bad_ip = {"code": "validation_invlaid_ip_or_subnet", "message": "Invalid IP or CIDR subnet."}
    assert r.json() == saving_error(
        {"rules": {"0": {"duration": blank, "maxRequests": blank}}, "excludedIPs": {"0": blank, "1": bad_ip}}
    )
    for undecodable in (
        {"rules": [{"label": "a", "duration": 2.0, "maxRequests": 1}]},
        {"rules": "x"},
        {"excludedIPs": [1]},
    ):
        r = await patch(client, su_headers, undecodable)
        assert (r.status_code, r.json()) == (400, LOAD_ERROR)
    current = (await client.get("/api/settings", headers=su_headers)).json()["rateLimits"]
    assert current["enabled"] is False and len(current["rules"]) == 4  # nothing above was saved


async def test_settings_saved_in_pocketbase_shape(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await patch(
        client,
        su_headers,
        {"rules": [{"label": "a", "duration": 1, "maxRequests": 2, "extra": 1}], "excludedIPs": None},
    )
    assert r.status_code == 200, r.text
    expected = {"rules": [rule("a", 2, duration=1)], "excludedIPs": [], "enabled": False}
    assert r.json()["rateLimits"] == expected
    assert (await client.get("/api/settings", headers=su_headers)).json()["rateLimits"] == expected
    r = await patch(client, su_headers, {"rules": None})
    assert r.json()["rateLimits"]["rules"] == []


async def test_file_downloads_carry_the_file_tag(
    client: httpx2.AsyncClient, su_headers: dict[str, str], clock: Clock
) -> None:
    docs = {**open_collection("docs"), "fields": [{"name": "doc", "type": "file", "maxSelect": 1}]}
    await create_collection(client, su_headers, docs)
    files = {"doc": ("a.txt", b"hello", "text/plain")}
    record = (await client.post("/api/collections/docs/records", files=files, headers=su_headers)).json()
    url = f"/api/files/docs/{record['id']}/{record['doc']}"
    await limits(client, su_headers, rule("docs:file", 1), rule("/api/", 5))
    assert await statuses(client, 3, url) == [200, 429, 429]
    # a route outside the file tag still counts against the path rule only
    assert await statuses(client, 1) == [200]
    # an unknown collection is a 404 before counting, as PocketBase does
    assert await statuses(client, 2, f"/api/files/nope/{record['id']}/{record['doc']}") == [404, 404]
