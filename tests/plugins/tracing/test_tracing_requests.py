"""Server spans, probe child spans, error status and trace ids in logs, over the real ASGI app in-process."""

from __future__ import annotations

import asyncio
import logging

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from smtp_server import SmtpServer

from satchel.testing import postgres as pg_testing
from satchel.tools import probes
from tests.plugins.tracing.conftest import Traced

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


async def test_a_request_is_a_server_span_with_its_queries_as_children(traced: Traced) -> None:
    r = await traced.client.post(
        "/api/collections/posts/records", json={"title": "hello"}, headers={"user-agent": "t/1"}
    )
    assert r.status_code == 200, r.text

    span = traced.server_span("POST /api/collections/{collection}/records")
    assert span.kind is SpanKind.SERVER
    assert span.status.status_code is StatusCode.UNSET
    attrs = dict(span.attributes or {})
    assert attrs["http.request.method"] == "POST"
    assert attrs["http.route"] == "/api/collections/{collection}/records"
    assert attrs["url.path"] == "/api/collections/posts/records"
    assert attrs["http.response.status_code"] == 200
    assert attrs["user_agent.original"] == "t/1"

    queries = traced.children(span, "db.query")
    assert queries, [s.name for s in traced.spans()]
    system = "postgresql" if pg_testing.enabled() else "sqlite"
    assert {q.attributes["db.system"] for q in queries if q.attributes} == {system}
    assert any((q.attributes or {}).get("db.operation") == "INSERT" for q in queries)
    for query in queries:
        assert query.kind is SpanKind.CLIENT
        assert query.context.trace_id == span.context.trace_id
        assert span.start_time is not None and span.end_time is not None
        assert query.start_time is not None and query.end_time is not None
        # created after the fact, with the probe's own times: inside the request's span
        assert span.start_time <= query.start_time <= query.end_time <= span.end_time


async def test_an_incoming_traceparent_is_continued(traced: Traced) -> None:
    header = f"00-{TRACE_ID}-{PARENT_ID}-01"
    r = await traced.client.get("/api/collections/posts/records", headers={"traceparent": header, "tracestate": "k=v"})
    assert r.status_code == 200
    span = traced.server_span("GET /api/collections/{collection}/records")
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None and span.parent.is_remote
    assert format(span.parent.span_id, "016x") == PARENT_ID
    assert span.context.trace_state.get("k") == "v"
    assert all(q.context.trace_id == span.context.trace_id for q in traced.children(span, "db.query"))


async def test_an_unsampled_caller_is_respected(traced: Traced) -> None:
    r = await traced.client.get(
        "/api/collections/posts/records", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-00"}
    )
    assert r.status_code == 200
    assert traced.spans() == []  # parent-based sampling: neither the request nor its queries


async def test_a_malformed_traceparent_starts_a_new_trace(traced: Traced) -> None:
    r = await traced.client.get("/api/collections/posts/records", headers={"traceparent": "00-zz-yy-01"})
    assert r.status_code == 200
    span = traced.server_span("GET /api/collections/{collection}/records")
    assert span.parent is None and span.context.trace_id != 0


async def test_a_client_error_keeps_the_status_unset_and_an_unknown_path_keeps_the_name_bounded(traced: Traced) -> None:
    r = await traced.client.get("/api/collections/posts/records/missing1234567")
    assert r.status_code == 404
    span = traced.server_span("GET /api/collections/{collection}/records/{id}")
    assert span.status.status_code is StatusCode.UNSET
    assert (span.attributes or {})["http.response.status_code"] == 404

    r = await traced.client.get("/no/such/path/abc123")
    assert r.status_code == 404
    unmatched = traced.server_span("GET")
    assert "http.route" not in (unmatched.attributes or {})


async def test_a_server_error_is_an_error_span_without_the_exception_message(traced: Traced) -> None:
    r = await traced.client.get("/test/boom", params={"value": "do-not-export-this"})
    assert r.status_code == 500
    span = traced.server_span("GET /test/boom")
    assert span.status.status_code is StatusCode.ERROR
    attrs = dict(span.attributes or {})
    assert attrs["http.response.status_code"] == 500 and attrs["error.type"] == "RuntimeError"
    (event,) = [e for e in span.events if e.name == "exception"]
    assert dict(event.attributes or {})["exception.type"] == "RuntimeError"
    assert "_boom" in str(dict(event.attributes or {})["exception.stacktrace"])
    assert "do-not-export-this" not in span.to_json()  # neither the message nor the query string


async def test_a_failed_query_is_an_error_child_span(traced: Traced) -> None:
    assert (await traced.client.post("/api/collections/posts/records", json={"title": "same"})).status_code == 200
    traced.exporter.clear()
    r = await traced.client.post("/api/collections/posts/records", json={"title": "same"})
    assert r.status_code == 400  # the unique index, as PocketBase reports it
    span = traced.server_span("POST /api/collections/{collection}/records")
    assert span.status.status_code is StatusCode.UNSET
    failed = [q for q in traced.children(span, "db.query") if q.status.status_code is StatusCode.ERROR]
    assert len(failed) == 1, [(q.attributes, q.status) for q in traced.children(span, "db.query")]
    assert (failed[0].attributes or {})["db.operation"] == "INSERT"
    assert "same" not in repr(failed[0].to_json())  # bound values never reach a span


async def test_hooks_and_rule_compilation_are_internal_children(traced: Traced) -> None:
    async def handler(e: object) -> None:
        await e.next()  # type: ignore[attr-defined]

    traced.app.hooks.on_record_create_request.bind(handler)
    r = await traced.client.post("/api/collections/posts/records", json={"title": "hooked"})
    assert r.status_code == 200
    span = traced.server_span("POST /api/collections/{collection}/records")
    (hook,) = traced.children(span, "hook.trigger")
    assert hook.kind is SpanKind.INTERNAL
    assert (hook.attributes or {})["hook.name"] == "on_record_create_request"

    r = await traced.client.get("/api/collections/posts/records", params={"filter": "title = 'x' && title != 'y'"})
    assert r.status_code == 200
    listing = traced.server_span("GET /api/collections/{collection}/records")
    assert [s.kind for s in traced.children(listing, "rule.compile")] == [SpanKind.INTERNAL]


async def test_instant_probes_are_events_and_log_records_carry_the_ids(
    traced: Traced, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="satchel.test.tracing"):
        assert (await traced.client.get("/test/log")).status_code == 200
    span = traced.server_span("GET /test/log")
    assert [(e.name, dict(e.attributes or {})) for e in span.events] == [("test.instant", {"test.value": 7})]
    (record,) = [r for r in caplog.records if r.name == "satchel.test.tracing"]
    assert record.trace_id == format(span.context.trace_id, "032x")  # type: ignore[attr-defined]
    assert record.span_id == format(span.context.span_id, "016x")  # type: ignore[attr-defined]
    assert record.trace_sampled is True  # type: ignore[attr-defined]
    outside = logging.getLogger("satchel.test.tracing").makeRecord("x", logging.INFO, "f", 1, "m", (), None)
    assert outside.trace_id == "" and outside.span_id == ""  # type: ignore[attr-defined]


async def test_probes_outside_a_request_make_no_span(traced: Traced) -> None:
    probes.emit("db.query", 1, 2, {"db.system": "sqlite"})
    assert traced.spans() == []


async def test_stopping_removes_the_listener_and_the_log_fields(traced: Traced) -> None:
    assert probes.active
    traced.tracing.stop()
    assert not probes.active
    assert traced.tracing.tracer is None
    record = logging.getLogger("x").makeRecord("x", logging.INFO, "f", 1, "m", (), None)
    assert not hasattr(record, "trace_id")
    r = await traced.client.get("/api/collections/posts/records")
    assert r.status_code == 200 and traced.spans() == []


async def test_a_mail_sent_after_the_answer_joins_the_request_trace(traced: Traced, smtp: SmtpServer) -> None:
    user = {"email": "ann@example.com", "password": "secret-pass-1", "passwordConfirm": "secret-pass-1"}
    assert (await traced.client.post("/api/collections/users/records", headers=traced.su, json=user)).status_code == 200
    traced.exporter.clear()
    r = await traced.client.post("/api/collections/users/request-password-reset", json={"email": "ann@example.com"})
    assert r.status_code == 204
    await smtp.wait_for("ann@example.com")
    request = traced.server_span("POST /api/collections/{collection}/request-password-reset")
    for _ in range(100):  # the probe reports once the SMTP conversation is over
        sends = traced.children(request, "smtp.send")
        if sends:
            break
        await asyncio.sleep(0.02)
    (send,) = sends
    assert send.kind is SpanKind.CLIENT and send.status.status_code is StatusCode.UNSET
    assert (send.attributes or {})["server.address"] == "127.0.0.1"
    assert send.context.trace_id == request.context.trace_id
