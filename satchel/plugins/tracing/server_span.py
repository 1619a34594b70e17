"""One server span per HTTP request, continuing the caller's W3C trace context.

The outermost middleware: the span covers CORS, auth, rate limits and the handler. It is named
`METHOD /route/{template}` once routing has picked the route (the router records it in the
scope), or just `METHOD` when nothing matched, so names stay few whatever the paths. Only
low-risk attributes: the path without its query (file tokens ride there), no headers but the
user agent. Status follows OpenTelemetry's HTTP conventions for servers: ERROR for 5xx and
exceptions, unset for 4xx (the client's mistake, not the server's). An exception the app answered
with its 500 (the front middleware does, so the answer keeps its headers) is read from the scope,
where the error handling leaves it, and recorded as if it had reached this layer.

It also sees the ASGI lifespan, which is where each worker process starts and stops its tracer.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from satchel.plugins.tracing.errors import mark_failed
from satchel.plugins.tracing.runtime import Tracing


def _carrier(headers: Iterable[tuple[bytes, bytes]], fields: frozenset[bytes]) -> dict[str, str] | None:
    """The propagation headers of a request (names arrive lower-case), or None: most requests have none."""
    found: dict[str, str] | None = None
    for name, value in headers:
        if name in fields:
            if found is None:
                found = {}
            key, text = name.decode("latin-1"), value.decode("latin-1")
            found[key] = f"{found[key]},{text}" if key in found else text  # repeated tracestate lines join
    return found


def _request_attributes(scope: Scope) -> dict[str, str | int]:
    attrs: dict[str, str | int] = {
        "http.request.method": scope["method"],
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    server = scope.get("server")
    if server:
        attrs["server.address"], attrs["server.port"] = server[0], server[1]
    client = scope.get("client")
    if client:
        attrs["client.address"] = client[0]
    agent = _first(scope["headers"], b"user-agent")
    if agent is not None:
        attrs["user_agent.original"] = agent
    return attrs


def _first(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for n, v in headers:
        if n == name:
            return v.decode("latin-1")
    return None


class ServerSpanMiddleware:
    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = app
        self.tracing = tracing
        self.fields = frozenset(f.lower().encode("latin-1") for f in propagate.get_global_textmap().fields)
        """What the configured propagators read (OTEL_PROPAGATORS; traceparent, tracestate, baggage)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        tracer = self.tracing.tracer
        if kind != "http" or tracer is None:
            if kind == "lifespan":
                await self._lifespan(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        carrier = _carrier(scope["headers"], self.fields)
        parent = None if carrier is None else propagate.extract(carrier)
        method = scope["method"]
        span = tracer.start_span(method, context=parent, kind=SpanKind.SERVER)
        recording = span.is_recording()
        if recording:  # an unsampled request pays for no attributes
            span.set_attributes(_request_attributes(scope))
        token = context.attach(trace.set_span_in_context(span, parent))
        status = 0
        failed = False

        async def traced_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, traced_send if recording else send)
        except BaseException as exc:
            mark_failed(span, exc)
            failed = True
            status = status or 500
            raise
        finally:
            context.detach(token)
            route = getattr(scope.get("route"), "path", None) if recording else None
            if route is not None:
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
            if status and recording:
                span.set_attribute("http.response.status_code", status)
                if status >= 500 and not failed:
                    answered = scope.get("state", {}).get("error")  # an exception answered with a 500 inside
                    if isinstance(answered, Exception):
                        mark_failed(span, answered)
                    else:
                        span.set_attribute("error.type", str(status))
                        span.set_status(Status(StatusCode.ERROR))
            span.end()

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Start this worker's tracer before the app's startup, flush it after the app's shutdown."""

        async def on_receive() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.tracing.start()
            return message

        async def on_send(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                self.tracing.stop()
            await send(message)

        await self.app(scope, on_receive, on_send)
