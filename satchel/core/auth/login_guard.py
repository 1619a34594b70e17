"""Login brute-force protection (beyond PocketBase): failed attempts counted per identity and per IP.

PocketBase's optional `*:auth` rate limit counts every auth request per IP. This guard is always on,
even with `rateLimits` disabled, and counts only failures, which is what guessing produces:

- per identity (the submitted email or username, lower-cased, within its collection): stops a slow
  guess at one account from many addresses;
- per IP (across collections): stops spraying many accounts from one address.

Over either limit the attempt is answered 429 before the password is even looked at. A success
clears the identity's count but not the IP's: a sprayer who knows one password must not earn a
fresh budget. The identity is counted whether or not it exists, so the guard reveals nothing about
which accounts exist; its keys hold a hash of the identity, never the address itself. Addresses
in `rateLimits.excludedIPs` (a trusted backend that signs users in on their behalf) skip the IP
count, never the identity count.

Counts live in the Cache port: per process with `memory:`, shared by every worker and node with
Redis. If the cache is unreachable the guard fails open and logs, so a Redis outage cannot lock
everyone out. Attempts already in flight when a limit is reached still finish, so concurrency can
overshoot a limit by the number of simultaneous attempts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from satchel.core.errors import TooManyRequestsError
from satchel.core.ratelimit.limiter import cache_unavailable
from satchel.core.ratelimit.rules import ruleset
from satchel.ports.cache import Cache, CacheError

if TYPE_CHECKING:
    from satchel.core.app import App


@dataclass(frozen=True, slots=True)
class Limit:
    failures: int
    """Failed attempts allowed in a window; the next attempt is refused until the window ends."""
    window: float
    """Seconds from the first failure."""


IDENTITY_LIMIT = Limit(failures=10, window=15 * 60)
IP_LIMIT = Limit(failures=50, window=15 * 60)
"""Higher than the identity limit: many people may share one address (an office, a mobile carrier)."""


def identity_key(collection_id: str, identity: str) -> str:
    digest = hashlib.sha256(identity.lower().encode()).hexdigest()[:32]
    return f"login:id:{collection_id}:{digest}"


def ip_key(ip: str) -> str:
    return f"login:ip:{ip}"


class LoginAttempt:
    """One attempt let through by `LoginGuard.begin`; report how it ended."""

    __slots__ = ("_cache", "_guard", "_identity", "_ip")

    def __init__(self, guard: LoginGuard, cache: Cache, identity: str, ip: str) -> None:
        self._guard, self._cache, self._identity, self._ip = guard, cache, identity, ip

    async def failed(self) -> None:
        """Count a failure (wrong password or code, unknown identity, auth rule refused)."""
        try:
            await self._cache.hit(self._identity, self._guard.identity_limit.window)
            if self._ip:
                await self._cache.hit(self._ip, self._guard.ip_limit.window)
        except CacheError as exc:
            cache_unavailable(exc)

    async def succeeded(self) -> None:
        """Clear the identity's failures (the IP's stay)."""
        try:
            await self._cache.delete(self._identity)
        except CacheError as exc:
            cache_unavailable(exc)


class LoginGuard:
    """Held by AuthService; every flow that checks a secret (password, OTP) goes through `begin`."""

    def __init__(self, app: App, identity_limit: Limit = IDENTITY_LIMIT, ip_limit: Limit = IP_LIMIT) -> None:
        self.app = app
        self.identity_limit = identity_limit
        self.ip_limit = ip_limit

    async def begin(self, collection_id: str, identity: str, ip: str) -> LoginAttempt:
        """Refuse (429) when the identity or the IP is over its limit; otherwise the attempt may go on.

        `identity` is what the client submitted (whether or not it exists); `ip` is the client
        address ("" when unknown: only the identity is counted).
        """
        cache = self.app.cache
        if ip and ruleset(self.app.settings.current["rateLimits"]).is_excluded(ip):
            ip = ""
        by_identity, by_ip = identity_key(collection_id, identity), ip_key(ip) if ip else ""
        over: Limit | None = None
        try:
            if await _reached(cache, by_identity, self.identity_limit):
                over = self.identity_limit
            elif by_ip and await _reached(cache, by_ip, self.ip_limit):
                over = self.ip_limit
        except CacheError as exc:
            cache_unavailable(exc)
        if over is not None:
            # the window started at the first failure, so its length bounds the wait
            raise TooManyRequestsError(retry_after=over.window)
        return LoginAttempt(self, cache, by_identity, by_ip)


async def _reached(cache: Cache, key: str, limit: Limit) -> bool:
    raw = await cache.get(key)
    return raw is not None and raw.isdigit() and int(raw) >= limit.failures
