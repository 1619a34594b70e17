"""What every call goes through before a core service sees it, as every REST request goes through
`FrontMiddleware` and `RateLimitMiddleware`: the schema refreshed when a sibling changed it, the
`authorization` metadata resolved into the caller (the same tokens, API keys only where REST takes
them), the superuser IP allow-list, and the rate-limit rule of the matching REST route, counted
under the same key so that REST and gRPC calls share one budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc

from satchel.core.app import App
from satchel.core.auth.api_keys import KEY_PREFIX, ApiKey
from satchel.core.auth.superusers import superuser_ip_allowed
from satchel.core.errors import ForbiddenError, TooManyRequestsError
from satchel.core.ratelimit import collection_labels, consume, counter_key, ruleset
from satchel.core.ratelimit.limiter import cache_unavailable
from satchel.core.records.model import Record
from satchel.core.rules.request_info import RequestInfo
from satchel.plugins.grpc.call_log import CallLog
from satchel.ports.cache import CacheError
from satchel.tools.tokens import strip_bearer

AUTHORIZATION = "authorization"
_VIEW_REFUSED = {"create", "update"}


@dataclass(frozen=True, slots=True)
class Route:
    """The REST route a call stands for: its method, tags and path pattern (rules and rate limits)."""

    method: str
    tag: str
    with_id: bool

    @property
    def pattern(self) -> str:
        suffix = "records/{id}" if self.with_id else "records"
        return f"{self.method} /api/collections/{{collection}}/{suffix}"


LIST = Route("GET", "list", False)
VIEW = Route("GET", "view", True)
CREATE = Route("POST", "create", False)
UPDATE = Route("PATCH", "update", True)
DELETE = Route("DELETE", "delete", True)
WATCH = Route("GET", "realtime", False)


def peer_ip(peer: str) -> str:
    """The address in grpc's peer string (`ipv4:1.2.3.4:5678`, `ipv6:[::1]:5678`); "" for others."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0]
    if kind == "ipv6":
        return rest.rpartition(":")[0].strip("[]")
    return ""


def metadata_headers(context: grpc.aio.ServicerContext[Any, Any]) -> dict[str, str]:
    """Text metadata in `@request.headers` form (`x-token` -> `x_token`), as REST passes headers."""
    headers: dict[str, str] = {}
    for key, value in context.invocation_metadata() or ():
        if not key.endswith("-bin") and isinstance(value, str):
            headers[key.lower().replace("-", "_")] = value
    return headers


class Calls:
    def __init__(self, app: App) -> None:
        self.app = app

    async def request_info(
        self,
        context: grpc.aio.ServicerContext[Any, Any],
        route: Route,
        collection: str,
        record_id: str = "",
        *,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        log: CallLog | None = None,
    ) -> tuple[RequestInfo, ApiKey | None]:
        """The request as core services take it, and the API key that authenticated it (if any)."""
        app = self.app
        if app.stale():  # a sibling worker changed collections or settings: see it first
            await app.sync()
        headers = metadata_headers(context)
        ip = peer_ip(context.peer() or "")
        auth, key = await self._caller(headers.get(AUTHORIZATION), keys=route is not WATCH)
        if log is not None:
            log.auth, log.ip = auth, ip
            log.collection, log.record_id, log.body = collection, record_id, body or {}
            log.api_key_id = "" if key is None else key.id
        if auth is not None and auth.is_superuser and not superuser_ip_allowed(app.settings.current, ip):
            raise ForbiddenError()
        info = RequestInfo(
            auth=auth,
            method=route.method,
            query=query or {},
            headers=headers,
            body=body or {},
            scopes=key.scopes if key is not None else None,
            ip=ip,
        )
        if route is not WATCH:
            await self._rate_limit(info, route, collection, record_id)
        return info, key

    async def _caller(self, authorization: str | None, *, keys: bool) -> tuple[Record | None, ApiKey | None]:
        """The auth record of a token, or of an API key where REST takes keys; else a guest."""
        if not authorization:
            return None, None
        token = strip_bearer(authorization)
        if token.startswith(KEY_PREFIX):
            found = await self.app.api_keys.authenticate(token) if keys else None
            return (None, None) if found is None else (found[1], found[0])
        return (await self.app.auth.record_from_token(token) if token else None), None

    async def _rate_limit(self, info: RequestInfo, route: Route, name: str, record_id: str) -> None:
        """The REST route's rule (`posts:list`, `*:create`, `/api/...`), refused as REST refuses it."""
        section = self.app.settings.current["rateLimits"]
        if not section["enabled"] or info.is_superuser:
            return
        rules = ruleset(section)
        if not info.ip or rules.is_excluded(info.ip):
            return
        collection = self.app.collections.get(name)
        if collection is None or (collection.is_view and route.tag in _VIEW_REFUSED):
            return  # answered 404/400 by the service, uncounted, as REST does
        path = f"/api/collections/{name}/records" + (f"/{record_id}" if route.with_id else "")
        rule = rules.find(collection_labels(collection.name, (route.tag,), route.method, path), info.auth is not None)
        if rule is None:
            return
        try:
            verdict = await consume(
                self.app.cache, counter_key(f"{collection.id} {route.pattern} {route.tag}", rule, info.ip), rule
            )
        except CacheError as exc:
            cache_unavailable(exc)
            return
        if not verdict.allowed:
            raise TooManyRequestsError(retry_after=verdict.reset_in)

    async def used(self, key: ApiKey | None) -> None:
        """Record an API key's use after the call, as REST does after the response."""
        if key is not None:
            await self.app.api_keys.touch(key)
