"""Where tracing plugs into an App: the outermost middleware, the gRPC interceptor and the provider transport."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.middleware import Middleware

from satchel.core.app import App
from satchel.plugins.tracing.outbound_http import TracedTransport
from satchel.plugins.tracing.runtime import Tracing
from satchel.plugins.tracing.server_span import ServerSpanMiddleware


def install(app: App, tracing: Tracing) -> None:
    # outermost of all, so the span covers the other plugins' middleware too
    app.asgi_middleware.insert(0, Middleware(ServerSpanMiddleware, tracing=tracing))
    app.grpc_interceptors.insert(0, partial(grpc_interceptor, tracing))
    http = app.auth.oauth2.http
    if not isinstance(http.transport, TracedTransport):
        http.transport = TracedTransport(tracing, http.transport)


def grpc_interceptor(tracing: Tracing) -> Any:
    """Called by the gRPC server as it starts: grpcio is loaded only where gRPC is served."""
    from satchel.plugins.tracing.grpc_span import ServerSpanInterceptor

    return ServerSpanInterceptor(tracing)
