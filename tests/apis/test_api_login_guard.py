"""Login brute-force protection through the API: per identity, per IP, no user enumeration,
on by default with rate limits disabled. Windows are stepped with the memory cache's clock."""

from __future__ import annotations

import httpx2
import pytest

from satchel.adapters.cache.memory import MemoryCache
from satchel.adapters.cache.redis import RedisCache
from satchel.core.app import App
from satchel.core.auth.login_guard import IDENTITY_LIMIT, Limit
from satchel.testing import SUPERUSER_EMAIL, SUPERUSER_PASSWORD
from tests.apis.helpers import create_user, error

TOO_MANY = error(429, "Too Many Requests.")
FAILED = error(400, "Failed to authenticate.")
PASSWORD = "password-123"  # create_user's default


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: App) -> Clock:
    """Small limits (3 per identity, 5 per IP, 60 s windows) over a cache with a stepped clock."""
    c = Clock()
    app.cache = MemoryCache(clock=c)
    app.auth.guard.identity_limit = Limit(failures=3, window=60)
    app.auth.guard.ip_limit = Limit(failures=5, window=60)
    return c


async def attempt(
    client: httpx2.AsyncClient, identity: str, password: str, collection: str = "users", ip: str = ""
) -> httpx2.Response:
    headers = {"X-Forwarded-For": ip} if ip else {}
    body = {"identity": identity, "password": password}
    return await client.post(f"/api/collections/{collection}/auth-with-password", json=body, headers=headers)


async def codes(client: httpx2.AsyncClient, identity: str, password: str, n: int, ip: str = "") -> list[int]:
    return [(await attempt(client, identity, password, ip=ip)).status_code for _ in range(n)]


async def test_on_by_default_with_rate_limits_disabled(app: App, client: httpx2.AsyncClient) -> None:
    assert app.settings.current["rateLimits"]["enabled"] is False
    await create_user(client, "default@example.com")
    assert await codes(client, "default@example.com", "wrong-pass", IDENTITY_LIMIT.failures) == [400] * 10
    r = await attempt(client, "default@example.com", PASSWORD)
    assert (r.status_code, r.json()) == (429, TOO_MANY)
    assert r.headers["retry-after"] == str(int(IDENTITY_LIMIT.window))  # the window bounds the wait


async def test_per_identity_then_the_window_ends(client: httpx2.AsyncClient, clock: Clock) -> None:
    await create_user(client, "alice@example.com")
    await create_user(client, "bob@example.com")
    assert await codes(client, "alice@example.com", "wrong-pass", 3) == [400, 400, 400]
    # refused before the password is checked: even the right one
    r = await attempt(client, "alice@example.com", PASSWORD)
    assert (r.status_code, r.json()) == (429, TOO_MANY)
    assert (await attempt(client, "ALICE@Example.com", PASSWORD)).status_code == 429  # one identity, any case
    assert (await attempt(client, "bob@example.com", PASSWORD)).status_code == 200  # others are unaffected
    clock.now += 60
    assert (await attempt(client, "alice@example.com", PASSWORD)).status_code == 200


async def test_unknown_identities_behave_exactly_like_known_ones(
    app: App, client: httpx2.AsyncClient, clock: Clock
) -> None:
    app.auth.guard.ip_limit = Limit(failures=100, window=60)  # only the identity count in play
    await create_user(client, "known@example.com")
    known = [await attempt(client, "known@example.com", "wrong-pass") for _ in range(4)]
    unknown = [await attempt(client, "ghost@example.com", "wrong-pass") for _ in range(4)]
    assert [(r.status_code, r.json()) for r in known] == [(r.status_code, r.json()) for r in unknown]
    assert [r.status_code for r in known] == [400, 400, 400, 429]


async def test_success_resets_the_identity_but_not_the_ip(client: httpx2.AsyncClient, clock: Clock) -> None:
    for name in ("a", "b", "c"):
        await create_user(client, f"{name}@example.com")
    assert await codes(client, "a@example.com", "wrong-pass", 2) == [400, 400]
    assert (await attempt(client, "a@example.com", PASSWORD)).status_code == 200
    # the identity starts over (two more failures are not its third and fourth)...
    assert await codes(client, "a@example.com", "wrong-pass", 2) == [400, 400]
    # ...but the address keeps all four: its fifth failure is the last one allowed
    assert await codes(client, "b@example.com", "wrong-pass", 1) == [400]
    assert (await attempt(client, "c@example.com", PASSWORD)).status_code == 429


async def test_per_ip_against_spraying(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str], clock: Clock
) -> None:
    r = await client.patch("/api/settings", json={"trustedProxy": {"headers": ["X-Forwarded-For"]}}, headers=su_headers)
    assert r.status_code == 200
    await create_user(client, "target@example.com")
    sprayed = [(await attempt(client, f"u{i}@example.com", "guess", ip="6.6.6.6")).status_code for i in range(5)]
    assert sprayed == [400] * 5
    assert (await attempt(client, "target@example.com", PASSWORD, ip="6.6.6.6")).status_code == 429
    assert (await attempt(client, "target@example.com", PASSWORD, ip="7.7.7.7")).status_code == 200


async def test_excluded_ips_skip_the_ip_count_only(
    client: httpx2.AsyncClient, su_headers: dict[str, str], clock: Clock
) -> None:
    body = {"trustedProxy": {"headers": ["X-Forwarded-For"]}, "rateLimits": {"excludedIPs": ["10.0.0.0/8"]}}
    assert (await client.patch("/api/settings", json=body, headers=su_headers)).status_code == 200
    await create_user(client, "backend@example.com")
    sprayed = [(await attempt(client, f"s{i}@example.com", "guess", ip="10.1.1.1")).status_code for i in range(8)]
    assert sprayed == [400] * 8  # a trusted backend signing users in is not one attacker
    assert await codes(client, "backend@example.com", "wrong-pass", 4, ip="10.1.1.1") == [400, 400, 400, 429]


async def test_superusers_are_guarded_too(app: App, client: httpx2.AsyncClient, clock: Clock) -> None:
    from satchel.core.auth.superusers import upsert_superuser

    await upsert_superuser(app, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
    wrong = [(await attempt(client, SUPERUSER_EMAIL, "nope-nope", "_superusers")).status_code for _ in range(3)]
    assert wrong == [400, 400, 400]
    assert (await attempt(client, SUPERUSER_EMAIL, SUPERUSER_PASSWORD, "_superusers")).status_code == 429


async def test_malformed_requests_are_not_failures(client: httpx2.AsyncClient, clock: Clock) -> None:
    await create_user(client, "typo@example.com")
    for _ in range(5):
        r = await client.post("/api/collections/users/auth-with-password", json={"identity": "typo@example.com"})
        assert r.status_code == 400 and "password" in r.json()["data"]
    assert (await attempt(client, "typo@example.com", PASSWORD)).status_code == 200


async def test_a_cache_outage_does_not_lock_anyone_out(app: App, client: httpx2.AsyncClient) -> None:
    await create_user(client, "outage@example.com")
    app.cache = RedisCache("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        assert await codes(client, "outage@example.com", "wrong-pass", IDENTITY_LIMIT.failures + 1) == [400] * 11
        assert (await attempt(client, "outage@example.com", PASSWORD)).status_code == 200
    finally:
        await app.cache.close()
