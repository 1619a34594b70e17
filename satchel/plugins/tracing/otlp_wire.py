"""Spans to OTLP protobuf bytes, written directly in the wire format.

The SDK's encoder builds a generated message object per span, attribute and value before
serialising them; on a busy server that cost (about 30 µs a span) is paid in the worker's own
process, under its GIL, by every traced request. The handful of OTLP trace messages are simple
enough to write field by field (`opentelemetry/proto/trace/v1/trace.proto`); the tests decode the
output with the official generated classes, so a mistake here cannot pass unnoticed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import Link, SpanKind, StatusCode

_KINDS = {
    SpanKind.INTERNAL: 1,
    SpanKind.SERVER: 2,
    SpanKind.CLIENT: 3,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: 5,
}
_STATUS = {StatusCode.UNSET: 0, StatusCode.OK: 1, StatusCode.ERROR: 2}
_FIXED64 = struct.Struct("<Q")
_FIXED32 = struct.Struct("<I")
_DOUBLE = struct.Struct("<d")
_FLAGS_HAS_IS_REMOTE = 0x100
_FLAGS_IS_REMOTE = 0x200


def _varint_slow(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL = [_varint_slow(n) for n in range(1 << 14)]
"""Every varint of one or two bytes: field tags and most lengths are looked up, not computed."""


def _varint(n: int) -> bytes:
    return _SMALL[n] if 0 <= n < 16384 else _varint_slow(n)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (strings, bytes, messages)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _any_value(value: Any) -> bytes:
    if isinstance(value, str):
        return _field(1, value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bool):
        return b"\x10" + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        return b"\x18" + _varint(value & 0xFFFFFFFFFFFFFFFF)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE.pack(value)
    if isinstance(value, bytes):
        return _field(7, value)
    if isinstance(value, Sequence):
        return _field(5, b"".join(_field(1, _any_value(v)) for v in value))
    return _field(1, str(value).encode("utf-8", "surrogatepass"))


_CACHE_LIMIT = 4096
_CACHEABLE_TEXT = 512
_encoded: dict[tuple[int, str, type, Any], bytes] = {}
"""Encoded attributes by (field, key, value): most repeat span after span (methods, routes, SQL
text), so most are one dictionary lookup. Written only by the one batch thread; cleared when full."""


def _attribute(number: int, key: str, value: Any) -> bytes:
    cacheable = isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) <= _CACHEABLE_TEXT)
    if cacheable:
        hit = _encoded.get((number, key, type(value), value))
        if hit is not None:
            return hit
    encoded = _field(number, _field(1, key.encode("utf-8", "surrogatepass")) + _field(2, _any_value(value)))
    if cacheable:
        if len(_encoded) >= _CACHE_LIMIT:
            _encoded.clear()
        _encoded[(number, key, type(value), value)] = encoded
    return encoded


def _attributes(number: int, attrs: Mapping[str, Any] | None) -> bytes:
    if not attrs:
        return b""
    return b"".join([_attribute(number, key, value) for key, value in attrs.items()])


def _ids(trace_id: int, span_id: int) -> bytes:
    """Fields 1 and 2 (trace and span id) of a span or a link."""
    return b"\x0a\x10" + trace_id.to_bytes(16, "big") + b"\x12\x08" + span_id.to_bytes(8, "big")


def _text(number: int, value: str) -> bytes:
    return _field(number, value.encode("utf-8", "surrogatepass")) if value else b""


def _scope_spans(scope: Any, encoded: list[bytes]) -> bytes:
    head = b"" if scope is None else _text(1, scope.name) + _text(2, scope.version or "")
    schema = b"" if scope is None else _text(3, scope.schema_url or "")
    return _field(1, head) + b"".join(_field(2, s) for s in encoded) + schema


def _link(link: Link) -> bytes:
    linked = link.context
    state = _text(3, linked.trace_state.to_header()) if linked.trace_state else b""
    flags = _FLAGS_HAS_IS_REMOTE | (_FLAGS_IS_REMOTE if linked.is_remote else 0)
    return (
        _ids(linked.trace_id, linked.span_id) + state + _attributes(4, link.attributes) + b"\x35" + _FIXED32.pack(flags)
    )


def _span(span: ReadableSpan) -> bytes:
    context = span.context
    if context is None:
        return b""
    parts = [_ids(context.trace_id, context.span_id)]
    if context.trace_state:
        parts.append(_field(3, context.trace_state.to_header().encode()))
    parent = span.parent
    flags = _FLAGS_HAS_IS_REMOTE  # as the SDK's encoder: the parent's remoteness, not the trace flags
    if parent is not None:
        parts.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
        if parent.is_remote:
            flags |= _FLAGS_IS_REMOTE
    parts.append(_field(5, span.name.encode("utf-8", "surrogatepass")))
    parts.append(b"\x30" + _varint(_KINDS.get(span.kind, 0)))
    parts.append(b"\x39" + _FIXED64.pack(span.start_time or 0))
    parts.append(b"\x41" + _FIXED64.pack(span.end_time or 0))
    parts.append(_attributes(9, span.attributes))
    if span.dropped_attributes:
        parts.append(b"\x50" + _varint(span.dropped_attributes))
    for event in span.events:
        body = b"\x09" + _FIXED64.pack(event.timestamp) + _field(2, event.name.encode("utf-8", "surrogatepass"))
        parts.append(_field(11, body + _attributes(3, event.attributes)))
    for link in span.links:
        parts.append(_field(13, _link(link)))
    status = span.status
    code = _STATUS.get(status.status_code, 0)
    parts.append(_field(15, _text(2, status.description or "") + (b"\x18" + _varint(code) if code else b"")))
    parts.append(b"\x85\x01" + _FIXED32.pack(flags))
    return b"".join(parts)


def encode(spans: Iterable[ReadableSpan]) -> bytes:
    """An `ExportTraceServiceRequest`: spans grouped by resource, then by instrumentation scope."""
    grouped: dict[int, tuple[Any, dict[int, tuple[Any, list[bytes]]]]] = {}
    for span in spans:
        resource = span.resource
        scopes = grouped.setdefault(id(resource), (resource, {}))[1]
        scope = span.instrumentation_scope
        scopes.setdefault(id(scope), (scope, []))[1].append(_span(span))
    out = []
    for resource, scopes in grouped.values():
        body = _field(1, _attributes(1, resource.attributes))
        for scope, encoded in scopes.values():
            scope_body = b""
            if scope is not None:
                scope_body = _field(1, scope.name.encode()) + (
                    _field(2, scope.version.encode()) if scope.version else b""
                )
            schema = scope.schema_url if scope is not None and scope.schema_url else ""
            body += _field(
                2,
                _field(1, scope_body)
                + b"".join(_field(2, s) for s in encoded)
                + (_field(3, schema.encode()) if schema else b""),
            )
        if resource.schema_url:
            body += _field(3, resource.schema_url.encode())
        out.append(_field(1, body))
    return b"".join(out)
