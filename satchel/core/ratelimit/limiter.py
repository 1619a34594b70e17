"""Counting one request against the rule that applies to it, in a window the Cache keeps.

The window is fixed and starts at the first request, as PocketBase's limiter: `maxRequests`
requests pass per `duration` seconds, the next ones are refused until the window ends. The
counter lives in the Cache port, so with Redis every worker and node spends one shared budget.
"""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

from satchel.core.ratelimit.rules import Rule
from satchel.ports.cache import Cache, CacheError


class Verdict(NamedTuple):
    """One request counted against its rule (a tuple: cheap to build on every limited request)."""

    allowed: bool
    limit: int
    remaining: int
    reset_in: float
    """Seconds until the window ends and the budget is whole again."""


def counter_key(scope: str, rule: Rule, client: str) -> str:
    """One window per (what is limited, rule, client).

    `scope` is the rule's label for path rules, and collection id + route + tags for collection
    actions (so `*:create` counts each collection apart, as PocketBase does). The rule's numbers
    are part of the key: an edited rule starts fresh counts, as PocketBase's limiters reset when
    settings change.
    """
    return f"rl:{scope}|{rule.audience}|{rule.duration}|{rule.max_requests}|{client}"


async def consume(cache: Cache, key: str, rule: Rule, amount: int = 1) -> Verdict:
    """Count one request, or `amount` (CacheError propagates: the caller decides to fail open)."""
    window = await cache.hit(key, rule.window, amount)
    remaining = rule.max_requests - window.count
    return Verdict(remaining >= 0, rule.max_requests, max(0, remaining), window.reset_in)


_log = logging.getLogger("satchel.ratelimit")
_WARN_EVERY = 60.0
_last_warning = -_WARN_EVERY


def cache_unavailable(exc: CacheError) -> None:
    """Log that limits are not enforced (fail open), at most once a minute per process.

    A cache outage must not take the API down with it, nor flood the log on every request.
    """
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARN_EVERY:
        _last_warning = now
        _log.warning("rate limits and login guard not enforced: cache unavailable (%s)", exc)
