"""The request log: one middleware feeds both the stdout line and the `_logs` entry of a request.

It runs ahead of Satchel's own middleware (plugins' middleware, such as a tracing span, wraps it),
so its duration covers everything Satchel does for the request, and it reads what the inner layers
left in `scope`: the auth record (front middleware), the matched route (router) and the error that
became the response (error handler). It gives every request an id, the caller's `X-Request-Id`
when it sent a sane one, and echoes it in the response.

Nothing here waits on I/O: the `_logs` entry goes to a buffer written in batches off the request
path, and the stdout line to a buffer written in whole-line chunks (`StdoutBuffer`). With logs
retention off (`maxDays` 0) and no stdout format, a request costs an id and a wrapped `send`. The
stdout line carries the route template and the path, never the query string (it may carry a
token), and the auth id and client IP only when `settings.logs` allows them in the logs.

A WebSocket session (GraphQL subscriptions, the realtime socket, any websocket route) is one
request too, logged when it ends: `GET`, its path and route, 101 once accepted (or the status it
was refused with before that: 403 for a close before accept, as ASGI servers answer it), the
whole session's duration, the auth the session had when it ended (the token of its
`connection_init` or `auth` message: the front middleware never sees a websocket scope) and the
close code. Only its control messages are looked at; text frames pass with one comparison. The
HTTP path pays nothing for this: websocket scopes are told apart inside the non-HTTP branch.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from satchel.apis.client_ip import client_ip
from satchel.core.app import App
from satchel.core.collections.model import SUPERUSERS
from satchel.core.errors import SatchelError
from satchel.core.logs.audit_entry import AuditAction, audit_entry, is_audited, is_superuser_sign_in
from satchel.core.logs.request_entry import RequestSummary, SocketSummary
from satchel.tools.cheap_ids import ProcessIds
from satchel.tools.log_format import StdoutBuffer, iso_time, render

REQUEST_ID_HEADER = b"x-request-id"
MAX_REQUEST_ID = 128
REQUEST_ID_LENGTH = 20
_REQUEST_IDS = ProcessIds(REQUEST_ID_LENGTH)
STDOUT = StdoutBuffer()
"""The process's request lines (one buffer however many apps: they share file descriptor 1)."""
ERROR_KEY = "error"
"""`scope["state"]` key where the error handler leaves the exception it turned into the response."""
SOCKET_STATUS = "socket_status"
"""`scope["state"]` key where a WebSocket session's logged status is left when it ends, so the
metrics middleware counts the session as logged without watching its messages itself."""
SOCKET_ACCEPTED = 101
SOCKET_REFUSED = 403
"""What the server answers a handshake the app closed (or ended) before accepting (ASGI spec)."""
SKIP_SUCCESS_LOG = "skip_success_log"
"""`scope["state"]` flag: a successful response leaves no `_logs` entry (PocketBase's
SkipSuccessActivityLog, set by the logs API); failures are still logged."""
AUDITED_BY_HANDLER = "audited_by_handler"
"""`scope["state"]` flag: the endpoint audits what it does itself (GraphQL, one entry per mutation:
only it knows which records an operation touched, and a query touches none), so a superuser's
request to it leaves no audit entry of its own here."""


def incoming_request_id(value: bytes | None) -> str:
    """The caller's id if it is short printable ASCII without spaces (it ends up in logs), else ""."""
    if not value or len(value) > MAX_REQUEST_ID:
        return ""
    if not all(0x21 <= b <= 0x7E for b in value):
        return ""
    return value.decode("ascii")


class RequestLogMiddleware:
    def __init__(self, asgi: ASGIApp, app: App) -> None:
        self.asgi = asgi
        self.app = app
        self.fmt = app.config.log_format
        self.stdout = STDOUT

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await self._session(scope, receive, send)
            else:
                await self.asgi(scope, receive, send)
            return
        start = time.perf_counter_ns()
        given = referer = agent = None
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                given = value
            elif name == b"referer":
                referer = value
            elif name == b"user-agent":
                agent = value
        request_id = incoming_request_id(given) or _REQUEST_IDS.next()
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode("ascii"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        raised: Exception | None = None
        try:
            await self.asgi(scope, receive, send_with_id)
        except Exception as exc:  # unhandled: Starlette's outermost layer answers 500 after this
            raised = exc
            raise
        finally:
            elapsed = (time.perf_counter_ns() - start) // 1000 / 1000  # ms to the microsecond (round() costs ~1 us)
            self._log(scope, status, elapsed, request_id, referer, agent, raised)

    def _log(
        self,
        scope: Scope,
        status: int,
        exec_ms: float,
        request_id: str,
        referer: bytes | None,
        agent: bytes | None,
        raised: Exception | None,
    ) -> None:
        settings = self.app.settings.current
        logs = settings["logs"]
        state: dict[str, Any] = scope.get("state") or {}
        auth = state.get("auth")
        if auth is not None and is_audited(scope["method"], auth.is_superuser):
            if not state.get(AUDITED_BY_HANDLER):  # read here only: unaudited requests pay nothing
                self._audit(scope, state, status, request_id, settings)
        elif (
            scope["method"] == "POST"
            and is_superuser_sign_in(scope["method"], _route_path(scope.get("route")))
            and self._is_superusers(scope)
        ):
            self._audit(scope, state, status, request_id, settings, sign_in=True)
        to_db = logs["maxDays"] > 0 and not (status < 400 and state.get(SKIP_SUCCESS_LOG))
        if not to_db and not self.fmt:
            return
        remote = scope.get("client")
        error = state.get(ERROR_KEY, raised)
        message, details = ("", None) if error is None else _error_parts(error)
        # positional, in RequestSummary's field order: this tuple is all a logged request builds here
        summary = RequestSummary(
            scope["method"],
            scope["path"],
            scope["query_string"].decode("latin-1") if scope.get("query_string") else "",
            status,
            exec_ms,
            request_id,
            _route_path(scope.get("route")),
            "" if auth is None else auth.collection_name,
            "" if auth is None else auth.id,
            client_ip(scope, settings["trustedProxy"]) if logs.get("logIP") or self.fmt else "",
            str(remote[0]) if remote else "",
            "" if referer is None else referer.decode("latin-1"),
            "" if agent is None else agent.decode("latin-1"),
            message,
            details,
            time.time(),
        )
        if to_db:
            self.app.logs.add_request(summary, logs)
        if self.fmt:
            self.stdout.add(render(stdout_fields(summary, logs), self.fmt))

    async def _session(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run a WebSocket session, then log it as one request (see the module docstring)."""
        start = time.perf_counter_ns()
        given, referer, agent = _log_headers(scope)
        request_id = incoming_request_id(given) or _REQUEST_IDS.next()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        session = _Session()

        async def watch_send(message: Message) -> None:
            if message["type"] != "websocket.send":
                session.sent(message)
            await send(message)

        async def watch_receive() -> Message:
            message = await receive()
            if message["type"] == "websocket.disconnect" and session.close_code is None:
                session.close_code = message.get("code", 1005)  # 1005: closed without a code
            return message

        raised: Exception | None = None
        try:
            await self.asgi(scope, watch_receive, watch_send)
        except Exception as exc:
            raised = exc
            raise
        finally:
            elapsed = (time.perf_counter_ns() - start) // 1000 / 1000
            status = session.status or (500 if raised is not None else SOCKET_REFUSED)
            state[SOCKET_STATUS] = status
            self._log_session(scope, session, status, elapsed, request_id, referer, agent, raised)

    def _log_session(
        self,
        scope: Scope,
        session: _Session,
        status: int,
        exec_ms: float,
        request_id: str,
        referer: bytes | None,
        agent: bytes | None,
        raised: Exception | None,
    ) -> None:
        settings = self.app.settings.current
        logs = settings["logs"]
        if logs["maxDays"] <= 0 and not self.fmt:
            return
        auth = scope["state"].get("auth")
        remote = scope.get("client")
        message, details = ("", None) if raised is None else _error_parts(raised)
        summary = SocketSummary(
            method="GET",
            path=scope["path"],
            query=scope["query_string"].decode("latin-1") if scope.get("query_string") else "",
            status=status,
            exec_ms=exec_ms,
            request_id=request_id,
            route=_route_path(scope.get("route")),
            auth_collection="" if auth is None else auth.collection_name,
            auth_id="" if auth is None else auth.id,
            user_ip=client_ip(scope, settings["trustedProxy"]) if logs.get("logIP") or self.fmt else "",
            remote_ip=str(remote[0]) if remote else "",
            referer="" if referer is None else referer.decode("latin-1"),
            user_agent="" if agent is None else agent.decode("latin-1"),
            error=message or (session.reason if status >= 400 else ""),
            details=details,
            created=time.time(),
        )
        summary.close_code = session.close_code
        if logs["maxDays"] > 0:
            self.app.logs.add_request(summary, logs)
        if self.fmt:
            fields = stdout_fields(summary, logs)
            if summary.close_code is not None:
                fields["closeCode"] = summary.close_code
            self.stdout.add(render(fields, self.fmt))

    def _is_superusers(self, scope: Scope) -> bool:
        name = (scope.get("path_params") or {}).get("collection")
        collection = self.app.collections.get(name) if isinstance(name, str) else None
        return collection is not None and collection.name == SUPERUSERS

    def _audit(
        self,
        scope: Scope,
        state: dict[str, Any],
        status: int,
        request_id: str,
        settings: Any,
        *,
        sign_in: bool = False,
    ) -> None:
        """The audit entry of a superuser's request that may have changed something, or of a sign-in
        into `_superusers` (see `audit_entry`)."""
        auth = state.get("auth")
        params: dict[str, Any] = scope.get("path_params") or {}
        key = state.get("api_key")
        remote = scope.get("client")
        raw_body = state.get("body_dict")
        body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {}
        if sign_in or auth is None:  # not a superuser yet: who it claims to be
            identity = body.get("identity")
            auth_id, email = "", identity[:255] if isinstance(identity, str) else ""
        else:
            auth_id, email = auth.id, str(auth.get("email") or "")
        action = AuditAction(
            method=scope["method"],
            path=scope["path"],
            route=_route_path(scope.get("route")),
            status=status,
            auth_id=auth_id,
            auth_email=email,
            user_ip=client_ip(scope, settings["trustedProxy"]),
            remote_ip=str(remote[0]) if remote else "",
            request_id=request_id,
            api_key_id="" if key is None else key.id,
            collection=str(params.get("collection", "")),
            record_id=str(params.get("id", params.get("recordId", params.get("key", "")))),
            body=body,
            sign_in=sign_in,
        )
        level, message, data = audit_entry(action)
        self.app.logs.add(level, message, data, audit=True)


class _Session:
    """What a WebSocket session's control messages said: its status and close code."""

    __slots__ = ("close_code", "reason", "status")

    def __init__(self) -> None:
        self.status = 0
        self.close_code: int | None = None
        self.reason = ""

    def sent(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            self.status = SOCKET_ACCEPTED
        elif kind == "websocket.close":
            if not self.status:
                self.status = SOCKET_REFUSED
            if self.close_code is None:
                self.close_code = message.get("code", 1000)
                self.reason = message.get("reason") or ""
        elif kind == "websocket.http.response.start":  # the denial response extension
            self.status = message["status"]


def _log_headers(scope: Scope) -> tuple[bytes | None, bytes | None, bytes | None]:
    """X-Request-Id, Referer and User-Agent (the HTTP path reads them inline)."""
    given = referer = agent = None
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            given = value
        elif name == b"referer":
            referer = value
        elif name == b"user-agent":
            agent = value
    return given, referer, agent


def _route_path(route: BaseRoute | None) -> str:
    path = getattr(route, "path", "")
    return path if isinstance(path, str) else ""


def _error_parts(exc: BaseException) -> tuple[str, dict[str, Any]]:
    if isinstance(exc, SatchelError):
        return exc.message, dict(exc.data)
    detail = getattr(exc, "detail", None)  # Starlette's HTTPException (404/405 of the router)
    if isinstance(detail, str):
        return detail, {}
    return f"{type(exc).__name__} (unhandled)", {}


def stdout_fields(summary: RequestSummary, logs: dict[str, Any]) -> dict[str, Any]:
    """The stdout line of a request: no query string, auth id and IP only as the settings allow."""
    fields: dict[str, Any] = {
        "time": iso_time(time.time()),
        "level": "ERROR" if summary.status >= 500 else ("WARN" if summary.status >= 400 else "INFO"),
        "msg": f"{summary.method} {summary.route or summary.path} {summary.status}",
        "type": "request",
        "requestId": summary.request_id,
        "method": summary.method,
        "route": summary.route,
        "path": summary.path,
        "status": summary.status,
        "durationMs": summary.exec_ms,
        "auth": summary.auth_collection,
    }
    if logs.get("logAuthId") and summary.auth_id:
        fields["authId"] = summary.auth_id
    if logs.get("logIP"):
        fields["ip"] = summary.user_ip
    if summary.error:
        fields["errorMessage"] = summary.error
    return fields
