"""Rate limiting as PocketBase applies it: one rule per request, counted per client IP.

Runs after `FrontMiddleware` (so the caller's auth is known) and before routing. With
`rateLimits.enabled` off, the default, a request pays two dict lookups here and nothing else.

When on, superusers and `excludedIPs` are never limited, like PocketBase. Routes that act on a
collection (record CRUD and the auth flows, PocketBase's `collectionPathRateLimit` and inline
checks, file downloads) are recognised from the path, so their tag labels (`users:create`, `*:auth`...) are tried
before the path labels, and their counters are kept per collection and route. An unknown
collection is not counted: the endpoint answers 404, as PocketBase does before its check.

Refused requests get PocketBase's 429 body plus `Retry-After`; every counted response carries
`X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds until the window
ends), which PocketBase does not send. If the cache is unreachable requests pass (logged).

The rule is found from the path, before the body is read, so a request is counted once here. An
endpoint whose one request does the work of several (GraphQL's root fields: each is a list, a view
or a write REST would serve as a request of its own) finds the request's `Charge` in the scope and
counts the rest on the same counter (`charge_of`); the limit headers then show the final count.
"""

from __future__ import annotations

import math

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from satchel.apis.client_ip import client_ip
from satchel.core.app import App
from satchel.core.ratelimit import Rule, RuleSet, Verdict, collection_labels, consume, counter_key, path_labels, ruleset
from satchel.core.ratelimit.limiter import cache_unavailable
from satchel.ports.cache import Cache, CacheError
from satchel.tools import probes

TOO_MANY = orjson.dumps({"data": {}, "message": "Too Many Requests.", "status": 429})
CHARGE = "ratelimit"
"""The scope state key of the request's `Charge`."""

# `/api/collections/{collection}/<suffix>`: PocketBase's tags per route (apis/record_auth.go, record_crud.go)
_COLLECTION_ROUTES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "records"): ("list",),
    ("POST", "records"): ("create",),
    ("GET", "records/{id}"): ("view",),
    ("PATCH", "records/{id}"): ("update",),
    ("DELETE", "records/{id}"): ("delete",),
    ("GET", "auth-methods"): ("listAuthMethods",),
    ("POST", "auth-refresh"): ("authRefresh",),
    ("POST", "auth-with-password"): ("authWithPassword", "auth"),
    ("POST", "auth-with-oauth2"): ("authWithOAuth2", "auth"),
    ("POST", "request-otp"): ("requestOTP",),
    ("POST", "auth-with-otp"): ("authWithOTP", "auth"),
    ("POST", "auth-with-totp"): ("authWithTOTP", "auth"),  # Satchel's authenticator apps (docs/auth-totp.md)
    ("POST", "request-password-reset"): ("requestPasswordReset",),
    ("POST", "confirm-password-reset"): ("confirmPasswordReset",),
    ("POST", "request-verification"): ("requestVerification",),
    ("POST", "confirm-verification"): ("confirmVerification",),
    ("POST", "request-email-change"): ("requestEmailChange",),
    ("POST", "confirm-email-change"): ("confirmEmailChange",),
}
_VIEW_REFUSED = {"create", "update"}
"""Actions a view collection answers 400 for before PocketBase's check: not counted."""


class Charge:
    """The counter a request was counted on, for an endpoint that does the work of several."""

    __slots__ = ("cache", "key", "rule", "verdict")

    def __init__(self, cache: Cache, key: str, rule: Rule, verdict: Verdict) -> None:
        self.cache = cache
        self.key = key
        self.rule = rule
        self.verdict = verdict

    async def more(self, amount: int) -> bool:
        """Count `amount` more requests; False when that exceeds the rule (answer `too_many`).
        An unreachable cache lets them through, as it does the request itself."""
        if amount <= 0:
            return True
        try:
            self.verdict = await consume(self.cache, self.key, self.rule, amount)
        except CacheError as exc:
            cache_unavailable(exc)
            return True
        if not self.verdict.allowed and probes.active:
            probes.instant("ratelimit.reject", {"ratelimit.label": self.rule.label})
        return self.verdict.allowed


def charge_of(scope: Scope) -> Charge | None:
    """The request's `Charge`; None when no rule counts it (limits off, a superuser, no rule...)."""
    charge = scope.get("state", {}).get(CHARGE)
    return charge if isinstance(charge, Charge) else None


def too_many(charge: Charge) -> Response:
    """PocketBase's 429, from an endpoint that counted more than its budget (`Charge.more`); the
    middleware adds the limit headers."""
    retry = max(1, math.ceil(charge.verdict.reset_in))
    return Response(TOO_MANY, 429, {"retry-after": str(retry)}, media_type="application/json")


class RateLimitMiddleware:
    def __init__(self, asgi: ASGIApp, app: App) -> None:
        self.asgi = asgi
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        section = self.app.settings.current["rateLimits"]
        if scope["type"] != "http" or not section["enabled"]:
            await self.asgi(scope, receive, send)
            return
        charge = await self._count(scope, ruleset(section))
        if charge is None:
            await self.asgi(scope, receive, send)
        elif not charge.verdict.allowed:
            await _too_many(send, charge.verdict)
        else:
            scope.setdefault("state", {})[CHARGE] = charge
            await self.asgi(scope, receive, _with_limit_headers(send, charge))

    async def _count(self, scope: Scope, rules: RuleSet) -> Charge | None:
        """Count this request against the rule that applies (None: no rule, or not limited)."""
        auth = scope.get("state", {}).get("auth")
        if auth is not None and auth.is_superuser:
            return None
        ip = client_ip(scope, self.app.settings.current["trustedProxy"])
        if not ip or rules.is_excluded(ip):
            return None
        target = self._target(scope, rules, auth is not None)
        if target is None:
            return None
        rule, counted = target
        key = counter_key(counted, rule, ip)
        try:
            verdict = await consume(self.app.cache, key, rule)
        except CacheError as exc:
            cache_unavailable(exc)
            return None
        if not verdict.allowed and probes.active:
            probes.instant("ratelimit.reject", {"ratelimit.label": rule.label})
        return Charge(self.app.cache, key, rule, verdict)

    def _target(self, scope: Scope, rules: RuleSet, authenticated: bool) -> tuple[Rule, str] | None:
        """The rule for this request and what its counter is kept for."""
        method, path = scope["method"], scope["path"]
        route = _collection_route(method, path)
        if route is None:
            rule = rules.find(path_labels(method, path), authenticated)
            return None if rule is None else (rule, rule.label)
        name, pattern, tags = route
        collection = self.app.collections.get(name)
        if collection is None or (collection.is_view and tags[0] in _VIEW_REFUSED):
            return None
        rule = rules.find(collection_labels(collection.name, tags, method, path), authenticated)
        return None if rule is None else (rule, f"{collection.id} {pattern} {' '.join(tags)}")


FILE_ROUTE = "GET /api/files/{collection}/{recordId}/{filename}"


def _collection_route(method: str, path: str) -> tuple[str, str, tuple[str, ...]] | None:
    """(collection, route pattern, tags) when the path is one of PocketBase's collection routes."""
    if path.startswith("/api/files/"):
        # file downloads carry PocketBase's `file` tag (`posts:file`, `*:file`), counted per collection
        parts = path[len("/api/files/") :].split("/")
        if method not in ("GET", "HEAD") or len(parts) != 3 or not all(parts):
            return None
        return parts[0], FILE_ROUTE, ("file",)
    if not path.startswith("/api/collections/"):
        return None
    parts = path[len("/api/collections/") :].split("/")
    if len(parts) == 2:
        suffix = parts[1]
    elif len(parts) == 3 and parts[1] == "records" and parts[2]:
        suffix = "records/{id}"
    else:
        return None
    verb = "GET" if method == "HEAD" else method
    tags = _COLLECTION_ROUTES.get((verb, suffix))
    if tags is None or not parts[0]:
        return None
    return parts[0], f"{verb} /api/collections/{{collection}}/{suffix}", tags


def _limit_headers(verdict: Verdict) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-ratelimit-limit", b"%d" % verdict.limit),
        (b"x-ratelimit-remaining", b"%d" % verdict.remaining),
        (b"x-ratelimit-reset", b"%d" % math.ceil(verdict.reset_in)),
    ]


def _with_limit_headers(send: Send, charge: Charge) -> Send:
    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":  # the count as the endpoint left it
            message["headers"] = [*message.get("headers", ()), *_limit_headers(charge.verdict)]
        await send(message)

    return sender


async def _too_many(send: Send, verdict: Verdict) -> None:
    retry = max(1, math.ceil(verdict.reset_in))
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(TOO_MANY)),
        (b"retry-after", b"%d" % retry),
        *_limit_headers(verdict),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": TOO_MANY})
