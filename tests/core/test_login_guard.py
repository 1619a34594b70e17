"""The login guard's counters: what is counted under which key, and what a success clears."""

from __future__ import annotations

import pytest

from satchel.adapters.cache.memory import MemoryCache
from satchel.core.app import App
from satchel.core.auth.login_guard import Limit, LoginGuard, identity_key, ip_key
from satchel.core.errors import TooManyRequestsError


def test_identity_keys_are_case_blind_per_collection_and_never_hold_the_identity() -> None:
    key = identity_key("c1", "Alice@Example.com")
    assert key == identity_key("c1", "alice@example.com")
    assert key != identity_key("c2", "alice@example.com")
    assert key != identity_key("c1", " alice@example.com")  # not the same identity for the lookup either
    assert "alice" not in key and "example" not in key


async def test_failures_count_per_identity_and_ip_and_success_clears_the_identity(app: App) -> None:
    cache = app.cache = MemoryCache()
    guard = LoginGuard(app, identity_limit=Limit(2, 60), ip_limit=Limit(3, 60))
    first = await guard.begin("c1", "a@x.io", "1.2.3.4")
    await first.failed()
    await (await guard.begin("c1", "b@x.io", "1.2.3.4")).failed()
    assert await cache.get(identity_key("c1", "a@x.io")) == b"1"
    assert await cache.get(ip_key("1.2.3.4")) == b"2"
    await (await guard.begin("c1", "a@x.io", "1.2.3.4")).succeeded()
    assert await cache.get(identity_key("c1", "a@x.io")) is None
    assert await cache.get(ip_key("1.2.3.4")) == b"2"
    await (await guard.begin("c1", "c@x.io", "")).failed()  # no address known: only the identity counts
    assert await cache.get(ip_key("1.2.3.4")) == b"2" and await cache.get(ip_key("")) is None
    await (await guard.begin("c1", "d@x.io", "1.2.3.4")).failed()
    with pytest.raises(TooManyRequestsError):
        await guard.begin("c1", "fresh@x.io", "1.2.3.4")
