"""What every request needs before routing, in one pass over its headers: CORS, the body size
limit and read timeout, the security headers of the response, and the caller's auth record.

These used to be three middlewares (one of them Starlette's CORS middleware); each re-read the
headers and wrapped `send`, ~15 us per request together (in-process measurement on
`/api/health`). One middleware reads the headers once, counts body bytes only when the size is
not declared up front, and adds its response headers to the start message directly.

CORS follows PocketBase's middleware (no credentials): every response varies on Origin; with the
default `--origins *` a request with an Origin gets `Access-Control-Allow-Origin: *`, with an
allow-list only a listed Origin gets it (echoed back), any other gets no CORS header at all. Every
OPTIONS request is answered 204 here, with the preflight headers when its Origin is allowed.

Every response gets the security headers (`SECURITY_HEADERS`): nosniff, no framing, no referrer,
its own browsing context group, and, unless the route set a Content-Security-Policy of its own (the
dashboard and files do), a CSP that lets an API response load nothing.

A client that stalls while sending its body holds a worker's connection slot: between body chunks it
gets `read_timeout` seconds, then a 408 (granian cuts off one that stalls in its headers).

An exception nothing else handled (a bug, a custom route or hook raising) is answered here, not by
Starlette's outermost layer: PocketBase's generic 500 then goes out through this middleware and the
request log like any answer, so it has the CORS headers (a browser page can read the error rather
than see a network failure), the security headers and `X-Request-Id`. Only an exception after the
response started is left to rise: the connection is all there is left to end.

A missing, malformed, expired or revoked token simply means "guest": endpoints that need auth
answer 401 themselves, exactly as PocketBase does. An `sk_` API key is not a token: it is resolved
by `api_key_auth` (on record endpoints only) and its use recorded once the response is sent.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from satchel.apis.client_ip import client_ip
from satchel.apis.errors import exception_response
from satchel.apis.middleware.api_key_auth import KEY_PREFIX, ApiKey, authenticate_api_key
from satchel.apis.middleware.hsts import HSTS, over_https
from satchel.apis.middleware.read_deadlines import ReadDeadlines
from satchel.core.app import App
from satchel.core.auth.superusers import superuser_ip_allowed
from satchel.core.errors import ForbiddenError, RequestTimeoutError, TooLargeError
from satchel.tools.tokens import strip_bearer

TOO_LARGE = orjson.dumps({"data": {}, "message": "Request entity too large.", "status": 413})
TIMEOUT = orjson.dumps({"data": {}, "message": RequestTimeoutError.default_message, "status": 408})
FORBIDDEN = orjson.dumps({"data": {}, "message": ForbiddenError.default_message, "status": 403})
ALLOW_METHODS = b"GET,HEAD,PUT,PATCH,POST,DELETE"
_VARY_ORIGIN = (b"vary", b"Origin")
_ALLOW_ANY = (b"access-control-allow-origin", b"*")
_Header = tuple[bytes, bytes]
_CSP = b"content-security-policy"
SECURITY_HEADERS: tuple[_Header, ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
API_CSP: _Header = (_CSP, b"default-src 'none'; frame-ancestors 'none'")
"""For responses that set no CSP: JSON never needs to load anything, nor to be framed."""
NO_BODY_METHODS = frozenset({"GET", "HEAD"})
COLLECTIONS_PREFIX = "/api/collections/"
BATCH_PATH = "/api/batch"
DEFAULT_BATCH_BODY_SIZE = 128 << 20
"""PocketBase's batch body limit when `batch.maxBodySize` is 0."""
UNLIMITED_BODY = frozenset({"/api/backups/upload"})
"""Paths without the body size limit, like PocketBase's `BodyLimit(0)`: backup archives are large
(the route requires a superuser before it reads any of the body)."""


class FrontMiddleware:
    def __init__(self, asgi: ASGIApp, app: App) -> None:
        self.asgi = asgi
        self.app = app
        origins = app.config.cors_origins
        self.any_origin = "*" in origins
        self.origins = frozenset(o.encode("latin-1") for o in origins)
        self.read_deadlines = ReadDeadlines(app.config.read_timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.asgi(scope, receive, send)
            return
        origin, authorization, length, request_headers = _read_headers(scope)
        cors = _cors(origin, self.any_origin, self.origins)
        if over_https(scope, self.app.settings.current["trustedProxy"]):  # every response of the request
            cors = (*cors, HSTS)
        if scope["method"] == "OPTIONS":
            await _preflight(send, cors, request_headers)
            return
        limit = self._body_limit(scope)
        declared = length is not None and length.isdigit()
        if limit > 0 and declared and int(length) > limit:  # type: ignore[arg-type]
            await _refuse(send, 413, TOO_LARGE, cors)
            return

        send_with_headers, started = _with_headers(send, cors)
        try:
            if not await self._authenticate(scope, authorization):
                await _refuse(send, 403, FORBIDDEN, cors)
                return
            if scope["method"] not in NO_BODY_METHODS:
                receive = self.read_deadlines.wrap(receive)
            if limit <= 0 or declared:
                # the server delivers no more than the declared length: nothing left to count
                await self.asgi(scope, receive, send_with_headers)
            else:
                await self._counting(scope, receive, send_with_headers, limit, cors)
        except RequestTimeoutError:
            # raised while reading outside any route's error handling (the server may have answered)
            await _refuse(send, 408, TIMEOUT, cors)
        except Exception as exc:
            if started():
                raise
            await exception_response(scope, exc)(scope, receive, send_with_headers)
        key: ApiKey | None = scope["state"].get("api_key")
        if key is not None:  # after the response: a throttled `lastUsed` write
            await self.app.api_keys.touch(key)

    async def _authenticate(self, scope: Scope, authorization: bytes | None) -> bool:
        """The caller's auth record into the scope; False when it is a superuser calling from an
        address `superuserIPs` does not allow (the request is then refused)."""
        if self.app.stale():  # a sibling worker changed collections or settings: see it first
            await self.app.sync()
        await authenticate(self.app, scope, None if authorization is None else authorization.decode("latin-1"))
        auth = scope["state"]["auth"]
        return auth is None or not auth.is_superuser or self._superuser_ip_allowed(scope)

    def _superuser_ip_allowed(self, scope: Scope) -> bool:
        """PocketBase's superuserIPs whitelist, applied to every request a superuser makes."""
        settings = self.app.settings.current
        return superuser_ip_allowed(settings, client_ip(scope, settings["trustedProxy"]))

    def _body_limit(self, scope: Scope) -> int:
        """The request body limit (0: none), as PocketBase sets it per route."""
        path: str = scope["path"]
        default = self.app.config.max_body_size
        if path in UNLIMITED_BODY:
            return 0
        if path == BATCH_PATH:
            return int(self.app.settings.current["batch"]["maxBodySize"]) or DEFAULT_BATCH_BODY_SIZE
        if scope["method"] in ("POST", "PATCH") and path.startswith(COLLECTIONS_PREFIX):
            # record create/update: room for every file (and big editor/json value) the collection allows
            parts = path[len(COLLECTIONS_PREFIX) :].split("/")
            if len(parts) in (2, 3) and parts[1] == "records":
                collection = self.app.collections.get(parts[0])
                if collection is not None:
                    return collection.max_body_size(default)
        return default

    async def _counting(
        self, scope: Scope, receive: Receive, send: Send, limit: int, cors: tuple[_Header, ...]
    ) -> None:
        """A body of undeclared size (chunked): stop reading once it passes the limit."""
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLargeError()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.asgi(scope, limited_receive, tracking_send)
        except TooLargeError:
            # raised while reading outside any route's error handling
            if not started:
                await _refuse(send, 413, TOO_LARGE, cors)


async def authenticate(app: App, scope: Scope, authorization: str | None) -> ApiKey | None:
    """Resolve an `Authorization` value into `scope["state"]`: `auth`, `token` and `api_key`.

    The one token check of every API: the HTTP requests here, and the WebSocket realtime's `auth`
    message (which passes its token as if it came in this header). Returns the API key when one
    authenticated the request (its use is then to be recorded).
    """
    state = scope.setdefault("state", {})
    state["auth"] = None
    state["token"] = ""
    state["api_key"] = None
    if authorization is not None:
        token = strip_bearer(authorization)
        if token.startswith(KEY_PREFIX):  # an API key, never kept as the request's token
            return await authenticate_api_key(app, scope, token)
        if token:
            state["token"] = token
            state["auth"] = await app.auth.record_from_token(token)
    return None


def response_headers(app: App, scope: Scope) -> list[_Header]:
    """What this middleware adds to every response of `scope`, for an answer sent past it (the
    last-resort 500 of an exception raised in a layer outside it)."""
    origins = app.config.cors_origins
    cors = _cors(_read_headers(scope)[0], "*" in origins, frozenset(o.encode("latin-1") for o in origins))
    if over_https(scope, app.settings.current["trustedProxy"]):
        cors = (*cors, HSTS)
    return [*cors, *SECURITY_HEADERS, API_CSP]


def _cors(origin: bytes | None, any_origin: bool, origins: frozenset[bytes]) -> tuple[_Header, ...]:
    if origin is None:
        return (_VARY_ORIGIN,)
    if any_origin:
        return (_VARY_ORIGIN, _ALLOW_ANY)
    if origin in origins:
        return (_VARY_ORIGIN, (b"access-control-allow-origin", origin))
    return (_VARY_ORIGIN,)


def _read_headers(scope: Scope) -> tuple[bytes | None, bytes | None, bytes | None, bytes | None]:
    """Origin, Authorization, Content-Length and Access-Control-Request-Headers, in one pass."""
    origin = authorization = length = request_headers = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value
        elif name == b"content-length":
            length = value
        elif name == b"origin":
            origin = value
        elif name == b"access-control-request-headers":
            request_headers = value
    return origin, authorization, length, request_headers


def _with_headers(send: Send, cors: tuple[_Header, ...]) -> tuple[Send, Callable[[], bool]]:
    """`send` adding the CORS and security headers to the response (a CSP only if it has none),
    and whether it has sent the response's start (after that, no other answer can be given)."""
    extra = _EXTRA.get(cors) or (*cors, *SECURITY_HEADERS)
    started = False

    async def send_with_headers(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
            headers = message.get("headers", ())
            for name, _ in headers:
                if name == _CSP:
                    message["headers"] = [*headers, *extra]
                    break
            else:
                message["headers"] = [*headers, *extra, API_CSP]
        await send(message)

    def has_started() -> bool:
        return started

    return send_with_headers, has_started


_EXTRA: dict[tuple[_Header, ...], tuple[_Header, ...]] = {
    cors: (*cors, *SECURITY_HEADERS) for cors in ((_VARY_ORIGIN,), (_VARY_ORIGIN, _ALLOW_ANY))
}
"""The headers of the common cases, built once."""


async def _preflight(send: Send, cors: tuple[_Header, ...], request_headers: bytes | None) -> None:
    headers = [*cors, *SECURITY_HEADERS, API_CSP]
    if len(cors) > 1:  # the request has an allowed Origin
        headers += [
            (b"vary", b"Access-Control-Request-Method"),
            (b"vary", b"Access-Control-Request-Headers"),
            (b"access-control-allow-methods", ALLOW_METHODS),
        ]
        if request_headers:
            headers.append((b"access-control-allow-headers", request_headers))
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _refuse(send: Send, status: int, body: bytes, cors: tuple[_Header, ...]) -> None:
    headers = [(b"content-type", b"application/json"), *cors, *SECURITY_HEADERS, API_CSP]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
