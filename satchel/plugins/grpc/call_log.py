"""Each finished gRPC call leaves a request entry in `_logs`, and a stdout request line when those
are on, as each REST request does: the dashboard's logs show `POST /satchel.v1.Records/List` with
the REST status the answer maps to, the time it took, the caller (`logAuthId`) and address
(`logIP`), and the error and its details.

A superuser's Create, Update or Delete also leaves an audit entry (`satchel.core.logs.audit_entry`), as
a superuser's REST write does: the gRPC port must not be a way around the trail.

It is also where a finished call reports the `grpc.call` probe (`satchel.tools.probes`), so the
metrics plugin counts it with the REST requests without knowing about gRPC.

A call the client cancels mid-handler (or whose deadline passes) is logged and counted too, with
status 499 (nginx's "client closed request"). REST never needs it: the HTTP server lets a handler
whose client hung up run to its end, and the entry shows the status it answered. grpc cancels the
handler instead, so there is no answer to show, and a 5xx would count the client's leaving as the
server's failure."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc

from satchel.apis.middleware.request_log import STDOUT, stdout_fields
from satchel.core.app import App
from satchel.core.errors import SatchelError
from satchel.core.logs.audit_entry import AuditAction, audit_entry
from satchel.core.logs.request_entry import RequestSummary
from satchel.core.records.model import Record
from satchel.plugins.grpc.errors import http_status
from satchel.tools import probes
from satchel.tools.log_format import render

METHOD = "POST"
"""Every gRPC call is an HTTP/2 POST to `/package.Service/Method`."""
PROBE = "grpc.call"
CLIENT_CLOSED = 499
CLIENT_CLOSED_MESSAGE = "The call was cancelled before it was answered."
"""The client cancelled it, or its deadline passed (grpc cancels the handler either way)."""
AUDITED = frozenset({"Create", "Update", "Delete"})
"""The calls that may change something (REST's non-GET methods)."""


class CallLog:
    __slots__ = (
        "api_key_id", "app", "auth", "body", "collection", "ip", "method", "path", "record_id", "service",
        "started", "user_agent",
    )  # fmt: skip

    def __init__(self, app: App, service: str, method: str, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        self.app = app
        self.service, self.method = service, method
        self.path = f"/{service}/{method}"
        self.started = time.perf_counter_ns()
        self.auth: Record | None = None
        """Set once the caller is known (a call refused before that is logged as a guest's)."""
        self.ip = ""
        self.collection, self.record_id, self.api_key_id = "", "", ""
        self.body: dict[str, Any] = {}
        """What the call was about, for the audit entry of a superuser's write (set with `auth`)."""
        self.user_agent = next((str(v) for k, v in context.invocation_metadata() or () if k == "user-agent"), "")

    def done(self, error: BaseException | None = None) -> None:
        ended = time.perf_counter_ns()
        cancelled = isinstance(error, asyncio.CancelledError)
        status = 200 if error is None else CLIENT_CLOSED if cancelled else http_status(error)
        if probes.active:
            attrs = {
                "rpc.system": "grpc",
                "rpc.service": self.service,
                "rpc.method": self.method,
                "http.route": self.path,
                "http.response.status_code": status,
            }
            probes.emit(PROBE, self.started, ended, attrs, error)
        auth = self.auth
        if auth is not None and auth.is_superuser and self.method in AUDITED:
            self._audit(auth, status)
        logs = self.app.settings.current["logs"]
        line_format = self.app.config.log_format  # the stdout request lines (`--log-requests`, `--dev`)
        if logs["maxDays"] <= 0 and not line_format:
            return
        message, details = "", None
        if isinstance(error, SatchelError):
            message, details = error.message, dict(error.data)
        elif cancelled:
            message = CLIENT_CLOSED_MESSAGE
        elif error is not None:
            message = f"{type(error).__name__} (unhandled)"
        summary = RequestSummary(
            method=METHOD,
            path=self.path,
            query="",
            status=status,
            exec_ms=(ended - self.started) // 1000 / 1000,
            route=self.path,
            auth_collection="" if auth is None else auth.collection_name,
            auth_id="" if auth is None else auth.id,
            user_ip=self.ip,
            remote_ip=self.ip,
            user_agent=self.user_agent,
            error=message,
            details=details,
            created=time.time(),
        )
        if logs["maxDays"] > 0:
            self.app.logs.add_request(summary, logs)
        if line_format:
            STDOUT.add(render(stdout_fields(summary, logs), line_format))

    def _audit(self, auth: Record, status: int) -> None:
        action = AuditAction(
            method=METHOD,
            path=self.path,
            route=self.path,
            status=status,
            auth_id=auth.id,
            auth_email=str(auth.get("email") or ""),
            user_ip=self.ip,
            remote_ip=self.ip,
            api_key_id=self.api_key_id,
            collection=self.collection,
            record_id=self.record_id,
            body=self.body,
        )
        level, message, data = audit_entry(action)
        self.app.logs.add(level, message, data, audit=True)
