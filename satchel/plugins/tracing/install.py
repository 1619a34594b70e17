"""Where tracing plugs into an App: the outermost middleware and the provider transport."""

from __future__ import annotations

from starlette.middleware import Middleware

from satchel.core.app import App
from satchel.plugins.tracing.outbound_http import TracedTransport
from satchel.plugins.tracing.runtime import Tracing
from satchel.plugins.tracing.server_span import ServerSpanMiddleware


def install(app: App, tracing: Tracing) -> None:
    # outermost of all, so the span covers the other plugins' middleware too
    app.asgi_middleware.insert(0, Middleware(ServerSpanMiddleware, tracing=tracing))
    http = app.auth.oauth2.http
    if not isinstance(http.transport, TracedTransport):
        http.transport = TracedTransport(tracing, http.transport)
