"""The tracer of one server process: provider, span processors, exporters, and what feeds them.

Started from the worker's ASGI lifespan (so with `--workers N` every worker builds its own
exporter and batch thread after the fork, never inheriting a parent's), stopped (flushing what
is queued) at its shutdown. Until `start` and after `stop`, `tracer` is None and every traced
seam passes straight through.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from satchel import __version__
from satchel.plugins.tracing import log_context, probe_spans
from satchel.plugins.tracing.settings import TracingSettings
from satchel.tools import probes

log = logging.getLogger("satchel.tracing")

DEFAULT_SERVICE_NAME = "satchel"


def resource() -> Resource:
    """OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win; `process.pid` tells workers apart."""
    detected = Resource.create({"service.version": __version__, "process.pid": os.getpid()})
    if str(detected.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        detected = detected.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return detected


def exporters(settings: TracingSettings) -> list[SpanExporter]:
    """The exporters `OTEL_TRACES_EXPORTER` names; each reads its own OTEL_EXPORTER_OTLP_* variables."""
    out: list[SpanExporter] = []
    for name in settings.exporters:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            out.append(OTLPSpanExporter())
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            out.append(ConsoleSpanExporter(service_name=DEFAULT_SERVICE_NAME))
    return out


class Tracing:
    """Shared by the server-span middleware, the probe listener and the outbound seams."""

    def __init__(self, settings: TracingSettings) -> None:
        self.settings = settings
        self.tracer: trace.Tracer | None = None
        self.provider: TracerProvider | None = None
        self.offset_ns = 0
        """Probes time with `perf_counter_ns`; spans want epoch nanoseconds."""
        self._listener: probe_spans.ProbeSpans | None = None
        self._logs: log_context.RecordFactory | None = None

    def start(self, processors: Sequence[SpanProcessor] | None = None) -> None:
        """Build the provider (batch processors over the configured exporters unless `processors`)."""
        if self.tracer is not None:
            return
        provider = TracerProvider(resource=resource())
        chosen = processors if processors is not None else [BatchSpanProcessor(e) for e in exporters(self.settings)]
        for processor in chosen:
            provider.add_span_processor(processor)
        self.provider = provider
        self.offset_ns = time.time_ns() - time.perf_counter_ns()
        self.tracer = provider.get_tracer("satchel", __version__)
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            # Python hooks that call `opentelemetry.trace.get_tracer()` join the same traces
            trace.set_tracer_provider(provider)
        self._listener = probe_spans.ProbeSpans(self.tracer, self.offset_ns)
        probes.listen(self._listener)
        self._logs = log_context.RecordFactory.install()
        log.info("tracing on: exporting to %s", ", ".join(self.settings.exporters) or "nothing")

    def stop(self) -> None:
        """Flush and shut the exporters down; the seams pass through again."""
        if self._listener is not None:
            probes.unlisten(self._listener)
            self._listener = None
        if self._logs is not None:
            self._logs.uninstall()
            self._logs = None
        self.tracer = None
        provider, self.provider = self.provider, None
        if provider is not None:
            provider.shutdown()
