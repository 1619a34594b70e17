"""Client spans and `traceparent` on the HTTP calls Satchel makes (OAuth2 token, user info, JWKS, avatars).

Every provider call goes through the transport of `app.auth.oauth2.http` (the one seam core
keeps for it), so wrapping that transport reaches them all without core knowing about tracing.
When core left the transport unset (production), each request gets a fresh default transport,
closed with its response: exactly the connection lifetime of the per-call clients before
(sharing a pool here would let an avatar download pinned to an address reuse a TLS connection
verified for another host name). The span ends when the response is closed, body read.

The URL recorded has no query (providers' user-info URLs may carry tokens) and no credentials.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from satchel.plugins.tracing.errors import mark_failed
from satchel.plugins.tracing.runtime import Tracing
from satchel.tools.tls_trust import httpx_verify


def _attributes(request: httpx2.Request) -> dict[str, str | int]:
    url = request.url
    # the Host header names the server even when the URL was pinned to a vetted address (avatars)
    named = httpx2.URL(f"{url.scheme}://{request.headers.get('host') or url.netloc.decode('ascii')}/")
    port = named.port or url.port or (443 if url.scheme == "https" else 80)
    return {
        "http.request.method": request.method,
        "server.address": named.host,
        "server.port": port,
        "url.full": f"{url.scheme}://{named.netloc.decode('ascii')}{url.path}",
    }


class _Finishing(httpx2.AsyncByteStream):
    """The response body; closing it ends the span and the per-request transport (either may be None)."""

    def __init__(
        self, inner: httpx2.AsyncByteStream, span: Span | None, transport: httpx2.AsyncBaseTransport | None
    ) -> None:
        self.inner = inner
        self.span = span
        self.transport = transport

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
            if self.transport is not None:
                await self.transport.aclose()
        finally:
            if self.span is not None:
                self.span.end()


class TracedTransport(httpx2.AsyncBaseTransport):
    def __init__(self, tracing: Tracing, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        self.tracing = tracing
        self.inner = inner
        """A transport someone else owns (tests); None: a fresh default one per request."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        owned: httpx2.AsyncBaseTransport | None = None
        if self.inner is not None:
            transport = self.inner
        else:
            transport = owned = httpx2.AsyncHTTPTransport(verify=httpx_verify())  # as the untraced client
        tracer = self.tracing.tracer
        span: Span | None = None
        if tracer is not None and trace.get_current_span().get_span_context().is_valid:
            span = tracer.start_span(request.method, kind=SpanKind.CLIENT, attributes=_attributes(request))
            propagate.inject(request.headers, context=trace.set_span_in_context(span))
        try:
            response = await transport.handle_async_request(request)
        except BaseException as exc:
            if span is not None:
                mark_failed(span, exc)
                span.end()
            if owned is not None:
                await owned.aclose()
            raise
        if span is not None:
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:  # a client span's 4xx is an error too (the call failed)
                span.set_attribute("error.type", str(response.status_code))
                span.set_status(Status(StatusCode.ERROR))
        if span is not None or owned is not None:
            response.stream = _Finishing(response.stream, span, owned)  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        """Per-call clients close their transport on exit; this one is shared, so it stays open."""
