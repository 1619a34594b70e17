"""Child spans from `satchel.tools.probes`: each probe becomes a span after the fact.

A probe reports when its work is over, so its span is created then, with the probe's own start
and end times and the span current at that moment (the request's server span) as parent. Probes
from work a request started in the background (a mail sent after the answer) still join its trace,
under its span; probes of work no request started (cron backups, realtime fan-out between
workers) and of unsampled requests make no span: a root trace per query of a cron job would bury
the requests.

Instant probes (start == end: a refused request, a realtime client connecting) become events on
the current span rather than empty spans. `oauth2.http` is left out: the traced transport
(`outbound_http`) already makes a live client span for each provider request, the one whose id
travels in `traceparent`; so is `grpc.call`: the gRPC interceptor (`grpc_span`) makes the call's
live server span, the parent of the call's other probe spans.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from satchel.plugins.tracing.errors import mark_failed

CLIENT_PROBES = frozenset({"db.query", "smtp.send", "s3.request"})
"""Probes that time a call to another system (database, mail server, bucket): client spans, as
OpenTelemetry's conventions want; the rest (`rule.compile`, `hook.trigger`) are internal."""
SKIPPED_PROBES = frozenset({"oauth2.http", "grpc.call"})

_PLAIN = (str, bool, int, float)


def clean(attrs: dict[str, Any]) -> dict[str, Any]:
    """Values OpenTelemetry accepts (others as text, None dropped), so the SDK warns about none."""
    return {k: (v if isinstance(v, _PLAIN) else str(v)) for k, v in attrs.items() if v is not None}


class ProbeSpans:
    """The probe listener: cheap outside sampled traces (one context lookup)."""

    def __init__(self, tracer: trace.Tracer, offset_ns: int) -> None:
        self.tracer = tracer
        self.offset_ns = offset_ns

    def __call__(
        self, name: str, start_ns: int, end_ns: int, attrs: dict[str, Any], error: BaseException | None
    ) -> None:
        parent = trace.get_current_span()
        if not parent.get_span_context().trace_flags.sampled or name in SKIPPED_PROBES:
            return
        if start_ns == end_ns:
            if parent.is_recording():  # an ended span takes no more events
                parent.add_event(name, clean(attrs), timestamp=start_ns + self.offset_ns)
            return
        kind = SpanKind.CLIENT if name in CLIENT_PROBES else SpanKind.INTERNAL
        span = self.tracer.start_span(name, kind=kind, attributes=clean(attrs), start_time=start_ns + self.offset_ns)
        if error is not None:
            mark_failed(span, error)
        span.end(end_time=end_ns + self.offset_ns)
