"""One server span per gRPC API call, continuing the caller's W3C trace context from its metadata.

The gRPC server is not an ASGI app, so `ServerSpanMiddleware` never sees its calls: this
interceptor is their equivalent, installed through `app.grpc_interceptors` (this module, and so
grpcio, is imported only by a worker that serves gRPC). It wraps the call's handler in the call's
own task, so the span is current while the handler runs: the probe spans of its queries, rule
compilations and hooks, and the trace ids on its log records, land under it as under a REST
request's span.

Our own interceptor rather than opentelemetry-instrumentation-grpc's: that one names spans
`/package.Service/Method` (the conventions drop the slash), records exception messages (ours
never leave the process, see `errors`), reports peers with the deprecated `net.peer.*` attributes,
and brings the instrumentation runtime and wrapt along for what one small class does here.

- name `satchel.v1.Records/List` (`$package.$service/$method`, as OpenTelemetry's RPC conventions
  say); attributes `rpc.system`, `rpc.service`, `rpc.method`, `rpc.grpc.status_code`,
  `client.address`, `client.port`, `user_agent.original`;
- status ERROR only for the codes the conventions call server errors (INTERNAL for an unhandled
  error, with that error's type and frames), unset for the client's mistakes (NOT_FOUND, ...), as
  REST spans leave a 4xx unset;
- a server-streaming call (`Watch`) is one span for the stream's whole life, with the number of
  messages sent; a stream the client cancelled ends with CANCELLED, not an error.

Health checks and reflection are not traced: a load balancer's probe every few seconds would
bury the API's calls.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from contextvars import Token
from typing import Any

import grpc
from opentelemetry import context as context_api
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from satchel.plugins.tracing.errors import mark_failed
from satchel.plugins.tracing.runtime import Tracing

UNTRACED = ("/grpc.health.v1.Health/", "/grpc.reflection.")
"""Infrastructure services: their calls pass straight through."""
SERVER_ERRORS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)
"""The codes OpenTelemetry's gRPC conventions mark as a server span's error."""
MESSAGES_SENT = "satchel.grpc.messages_sent"

Context = Any
"""`grpc.aio.ServicerContext` (grpcio ships no type information)."""
Unary = Callable[[Any, Context], Awaitable[Any]]
Streaming = Callable[[Any, Context], AsyncGenerator[Any, None]]


def peer_address(peer: str) -> tuple[str, int] | None:
    """(address, port) of grpc's peer string (`ipv4:1.2.3.4:5678`, `ipv6:[::1]:5678`); None for others."""
    kind, _, rest = peer.partition(":")
    host, _, port = rest.rpartition(":")
    if kind not in ("ipv4", "ipv6") or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def call_code(context: Context, error: BaseException | None) -> grpc.StatusCode:
    """The status the call ended with: what the handler aborted with or set, CANCELLED when the
    client went away (or the server stopped) mid-call, UNKNOWN for an error that escaped it."""
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        return grpc.StatusCode.CANCELLED
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    return grpc.StatusCode.OK if error is None else grpc.StatusCode.UNKNOWN


def cause(error: BaseException | None) -> BaseException | None:
    """The error behind a failed call: the one a handler aborted over (the abort happens while it
    is handled, as `Records.answer` does), or the one that escaped the handler."""
    if isinstance(error, grpc.aio.AbortError):
        behind: BaseException | None = error.__context__
        return behind
    return error


class ServerSpanInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, tracing: Tracing) -> None:
        self.tracing = tracing
        self.fields = frozenset(f.lower() for f in propagate.get_global_textmap().fields)
        """What the configured propagators read (traceparent, tracestate, baggage): metadata keys
        arrive lower-case."""

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        handler = await continuation(details)
        tracer = self.tracing.tracer
        method: str = details.method
        if handler is None or tracer is None or method.startswith(UNTRACED):
            return handler
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(tracer, method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None and inspect.isasyncgenfunction(handler.unary_stream):
            return grpc.unary_stream_rpc_method_handler(
                self._server_stream(tracer, method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # client and bidirectional streams, `context.write` streams: the API has none

    def _unary(self, tracer: trace.Tracer, method: str, behavior: Unary) -> Unary:
        async def traced(request: Any, context: Context) -> Any:
            span, token = self._start(tracer, method, context)
            error: BaseException | None = None
            try:
                return await behavior(request, context)
            except BaseException as exc:
                error = exc
                raise
            finally:
                context_api.detach(token)
                _finish(span, context, error)

        return traced

    def _server_stream(self, tracer: trace.Tracer, method: str, behavior: Streaming) -> Streaming:
        # an async generator itself: grpc.aio tells streaming handlers from `context.write` ones by that
        async def traced(request: Any, context: Context) -> AsyncGenerator[Any, None]:
            span, token = self._start(tracer, method, context)
            error: BaseException | None = None
            sent = 0
            try:
                async with aclosing(behavior(request, context)) as messages:  # closed with this stream
                    async for message in messages:
                        sent += 1
                        yield message
            except BaseException as exc:
                error = exc
                raise
            finally:
                context_api.detach(token)
                if span.is_recording():
                    span.set_attribute(MESSAGES_SENT, sent)
                _finish(span, context, error)

        return traced

    def _start(self, tracer: trace.Tracer, method: str, context: Context) -> tuple[Span, Token[context_api.Context]]:
        metadata = context.invocation_metadata() or ()
        carrier: dict[str, str] = {}
        for key, value in metadata:
            if key in self.fields and isinstance(value, str):
                carrier[key] = f"{carrier[key]},{value}" if key in carrier else value  # repeated tracestate
        parent = propagate.extract(carrier) if carrier else None
        service, _, name = method.lstrip("/").partition("/")
        span = tracer.start_span(f"{service}/{name}", context=parent, kind=SpanKind.SERVER)
        if span.is_recording():  # an unsampled call pays for no attributes
            attrs: dict[str, str | int] = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
            peer = peer_address(context.peer() or "")
            if peer is not None:
                attrs["client.address"], attrs["client.port"] = peer
            agent = next((v for k, v in metadata if k == "user-agent" and isinstance(v, str)), None)
            if agent is not None:
                attrs["user_agent.original"] = agent
            span.set_attributes(attrs)
        return span, context_api.attach(trace.set_span_in_context(span, parent))


def _finish(span: Span, context: Context, error: BaseException | None) -> None:
    if span.is_recording():
        code = call_code(context, error)
        span.set_attribute("rpc.grpc.status_code", code.value[0])
        if code in SERVER_ERRORS:
            failure = cause(error)
            if failure is not None:
                mark_failed(span, failure)  # its type and frames, never its message
            else:
                span.set_attribute("error.type", code.name)
                span.set_status(Status(StatusCode.ERROR))
    span.end()
