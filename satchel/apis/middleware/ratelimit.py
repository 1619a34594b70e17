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
"""

from __future__ import annotations

import math

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from satchel.apis.client_ip import client_ip
from satchel.core.app import App
from satchel.core.ratelimit import Rule, RuleSet, Verdict, collection_labels, consume, counter_key, path_labels, ruleset
from satchel.core.ratelimit.limiter import cache_unavailable
from satchel.ports.cache import CacheError
from satchel.tools import probes

TOO_MANY = orjson.dumps({"data": {}, "message": "Too Many Requests.", "status": 429})

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


class RateLimitMiddleware:
    def __init__(self, asgi: ASGIApp, app: App) -> None:
        self.asgi = asgi
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        section = self.app.settings.current["rateLimits"]
        if scope["type"] != "http" or not section["enabled"]:
            await self.asgi(scope, receive, send)
            return
        verdict = await self._count(scope, ruleset(section))
        if verdict is None:
            await self.asgi(scope, receive, send)
        elif not verdict.allowed:
            await _too_many(send, verdict)
        else:
            await self.asgi(scope, receive, _with_limit_headers(send, verdict))

    async def _count(self, scope: Scope, rules: RuleSet) -> Verdict | None:
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
        try:
            verdict = await consume(self.app.cache, counter_key(counted, rule, ip), rule)
        except CacheError as exc:
            cache_unavailable(exc)
            return None
        if not verdict.allowed and probes.active:
            probes.instant("ratelimit.reject", {"ratelimit.label": rule.label})
        return verdict

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


def _with_limit_headers(send: Send, verdict: Verdict) -> Send:
    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *_limit_headers(verdict)]
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
