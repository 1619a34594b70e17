"""The hand-written OTLP encoding decodes, with the official generated classes, to what the SDK's encoder writes."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from satchel.plugins.tracing import otlp_wire
from satchel.plugins.tracing.exporter import WireOTLPSpanExporter


def decoded(data: bytes) -> ExportTraceServiceRequest:
    message = ExportTraceServiceRequest()
    message.ParseFromString(data)
    return message


def spans_of(provider_resources: Sequence[Resource]) -> list[ReadableSpan]:
    out: list[ReadableSpan] = []
    for index, resource in enumerate(provider_resources):
        exporter = InMemorySpanExporter()
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        remote = SpanContext(
            0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1), trace_state=TraceState([("k", "v")])
        )
        for scope in (("satchel", "0.1.0"), ("my-hooks", None)):
            tracer = provider.get_tracer(*scope)
            root = tracer.start_span(
                f"GET /r/{index}",
                context=set_span_in_context(NonRecordingSpan(remote)),
                kind=SpanKind.SERVER,
                attributes={
                    "s": "text é ✓",
                    "long": "x" * 2000,
                    "i": 8090,
                    "neg": -5,
                    "big": 2**40,
                    "f": 1.25,
                    "b": True,
                    "no": False,
                    "zero": 0,
                    "empty": "",
                    "list": ["a", "b"],
                    "ints": [1, 2],
                },
                links=[Link(SpanContext(0x1, 0x2, is_remote=True), {"why": "batch"})],
            )
            root.add_event("exception", {"exception.type": "ValueError"})
            root.add_event("bare")
            child = tracer.start_span("db.query", context=set_span_in_context(root), kind=SpanKind.CLIENT)
            child.set_status(Status(StatusCode.ERROR, "failed"))
            child.end()
            internal = tracer.start_span("hook.trigger", context=set_span_in_context(root))
            internal.set_status(Status(StatusCode.OK))
            internal.end(end_time=(internal.start_time or 0) + 5)
            root.end()
        out.extend(exporter.get_finished_spans())
    return out


def test_the_wire_encoding_equals_the_sdk_encoding() -> None:
    spans = spans_of([Resource.create({"service.name": "a"}), Resource({"service.name": "b"}, schema_url="https://s")])
    assert len(spans) == 12
    ours, theirs = decoded(otlp_wire.encode(spans)), decoded(encode_spans(spans).SerializePartialToString())
    assert ours == theirs
    assert len(ours.resource_spans) == 2 and len(ours.resource_spans[0].scope_spans) == 2


def test_cached_attributes_stay_right_when_the_cache_fills(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(otlp_wire, "_CACHE_LIMIT", 3)
    spans = spans_of([Resource({"service.name": "c"})])
    first = otlp_wire.encode(spans)
    assert len(otlp_wire._encoded) <= 3
    assert decoded(otlp_wire.encode(spans)) == decoded(first) == decoded(encode_spans(spans).SerializePartialToString())
    # True and 1 (equal and of equal hash in Python) are different attribute values on the wire
    assert otlp_wire._attribute(9, "x", True) != otlp_wire._attribute(9, "x", 1)


def test_the_exporter_takes_the_wire_path() -> None:
    exporter = WireOTLPSpanExporter(endpoint="http://127.0.0.1:1/v1/traces")
    try:
        assert exporter.fast_path()  # fails when an SDK upgrade moves the HTTP client: update exporter.py
    finally:
        exporter.shutdown()
