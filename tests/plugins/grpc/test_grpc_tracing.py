"""gRPC calls traced as REST requests are: a server span per call under the caller's `traceparent`
metadata, with the call's query, rule and hook spans as children.

First against the app in-process (its real gRPC server on loopback, spans kept by the SDK's memory
exporter), for what each kind of answer looks like; then the real `satchel serve --grpc --tracing`
exporting over OTLP/HTTP to the receiver the tracing tests use.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx2
import pytest
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from satchel.core.app import App
from satchel.core.hooks import RecordRequestEvent, RecordsListEvent
from satchel.plugins import grpc as grpc_plugin
from satchel.plugins.grpc.gen import records_pb2 as pb
from satchel.plugins.grpc.gen import records_pb2_grpc
from satchel.plugins.tracing.install import install
from satchel.plugins.tracing.runtime import Tracing
from satchel.plugins.tracing.settings import TracingSettings
from satchel.testing import client_for, superuser_token
from tests.apis.test_api_realtime import free_port
from tests.plugins.tracing import otlp_receiver
from tests.plugins.tracing.otlp_receiver import ReceivedSpan, Receiver
from tests.plugins.tracing.test_tracing_serve import POSTS, in_trace, serving, superuser, traceparent

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
LIST = "satchel.v1.Records/List"


@dataclass
class TracedGrpc:
    app: App
    stub: records_pb2_grpc.RecordsStub
    channel: grpc.aio.Channel
    exporter: InMemorySpanExporter
    su: tuple[tuple[str, str], ...]

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    async def span(self, name: str) -> ReadableSpan:
        """The call's span once it ended: `context.abort` sends the status before the handler (and so the
        interceptor's `finally`) returns, so a client can hold a failed answer before its span ends."""
        for _ in range(500):
            matching = [s for s in self.spans() if s.name == name]
            if matching:
                break
            await asyncio.sleep(0.01)
        assert len(matching) == 1, [s.name for s in self.spans()]
        return matching[0]

    def children(self, parent: ReadableSpan, name: str) -> list[ReadableSpan]:
        return [
            s
            for s in self.spans()
            if s.parent is not None and s.parent.span_id == parent.context.span_id and s.name == name
        ]


@pytest.fixture
async def traced(app: App) -> AsyncIterator[TracedGrpc]:
    tracing = Tracing(TracingSettings(enabled=True, exporters=()))
    install(app, tracing)  # before the gRPC server starts: it takes its interceptors then
    exporter = InMemorySpanExporter()
    tracing.start([SimpleSpanProcessor(exporter)])
    server = grpc_plugin.register(app, grpc_plugin.GrpcConfig("127.0.0.1:0"))
    await server.start()
    try:
        async with client_for(app) as client:
            token = await superuser_token(app, client)
            r = await client.post("/api/collections", headers={"Authorization": token}, json=POSTS)
            assert r.status_code == 200, r.text
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            exporter.clear()
            yield TracedGrpc(app, records_pb2_grpc.RecordsStub(channel), channel, exporter, (("authorization", token),))
    finally:
        await server.stop()
        tracing.stop()


def attributes(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


async def test_a_call_is_a_server_span_under_the_callers_traceparent_with_its_queries(traced: TracedGrpc) -> None:
    metadata = (("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-01"), ("tracestate", "k=v"))
    reply = await traced.stub.List(pb.ListRequest(collection="posts", filter="title != 'x'"), metadata=metadata)
    assert reply.page == 1

    span = await traced.span(LIST)
    assert span.kind is SpanKind.SERVER and span.status.status_code is StatusCode.UNSET
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None and span.parent.is_remote and format(span.parent.span_id, "016x") == PARENT_ID
    assert span.context.trace_state.get("k") == "v"
    attrs = attributes(span)
    assert {k: attrs[k] for k in ("rpc.system", "rpc.service", "rpc.method", "rpc.grpc.status_code")} == {
        "rpc.system": "grpc",
        "rpc.service": "satchel.v1.Records",
        "rpc.method": "List",
        "rpc.grpc.status_code": 0,
    }
    assert attrs["client.address"] == "127.0.0.1" and isinstance(attrs["client.port"], int)
    assert str(attrs["user_agent.original"]).startswith("grpc-python")  # the client library's
    queries = traced.children(span, "db.query")
    assert queries and all(q.kind is SpanKind.CLIENT for q in queries)
    assert any(attributes(q)["db.operation"] == "SELECT" for q in queries)
    for query in queries:
        assert span.start_time is not None and span.end_time is not None
        assert query.start_time is not None and query.end_time is not None
        assert span.start_time <= query.start_time <= query.end_time <= span.end_time
    assert [s.name for s in traced.children(span, "rule.compile")] == ["rule.compile"]  # the filter
    assert [s.name for s in traced.spans() if s.name == "grpc.call"] == []  # the probe makes no second span


async def test_hooks_are_children_and_a_client_error_leaves_the_status_unset(traced: TracedGrpc) -> None:
    async def handler(e: RecordRequestEvent) -> None:
        await e.next()

    traced.app.hooks.on_record_create_request.bind(handler)
    data = struct_pb2.Struct()
    data.update({"title": "hooked"})
    await traced.stub.Create(pb.CreateRequest(collection="posts", data=data))
    created = await traced.span("satchel.v1.Records/Create")
    (hook,) = traced.children(created, "hook.trigger")
    assert hook.kind is SpanKind.INTERNAL and attributes(hook)["hook.name"] == "on_record_create_request"
    assert any(attributes(q)["db.operation"] == "INSERT" for q in traced.children(created, "db.query"))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await traced.stub.Get(pb.GetRequest(collection="posts", id="missing1234567"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    span = await traced.span("satchel.v1.Records/Get")
    assert span.status.status_code is StatusCode.UNSET  # the client's mistake, as REST's 404
    assert attributes(span)["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert "error.type" not in attributes(span) and span.events == ()


async def test_an_unhandled_error_is_an_error_span_without_its_message(traced: TracedGrpc) -> None:
    async def boom(e: RecordsListEvent) -> None:
        raise RuntimeError(f"failed with {e.collection.name}-do-not-export-this")  # a runtime value in the message

    traced.app.hooks.on_records_list_request.bind(boom)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await traced.stub.List(pb.ListRequest(collection="posts"))
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    span = await traced.span(LIST)
    assert span.status.status_code is StatusCode.ERROR
    attrs = attributes(span)
    assert attrs["rpc.grpc.status_code"] == grpc.StatusCode.INTERNAL.value[0] and attrs["error.type"] == "RuntimeError"
    (event,) = [e for e in span.events if e.name == "exception"]
    assert "boom" in str(dict(event.attributes or {})["exception.stacktrace"])
    assert "posts-do-not-export-this" not in span.to_json()


async def test_an_unsampled_caller_is_respected_and_health_checks_are_not_traced(traced: TracedGrpc) -> None:
    await traced.stub.List(
        pb.ListRequest(collection="posts"), metadata=(("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-00"),)
    )
    reply = await health_pb2_grpc.HealthStub(traced.channel).Check(health_pb2.HealthCheckRequest(service=""))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert traced.spans() == []
    await traced.stub.List(pb.ListRequest(collection="posts"))  # no traceparent: a new trace
    span = await traced.span(LIST)
    assert span.parent is None and span.context.trace_id != 0


async def test_a_watch_is_one_span_for_the_streams_life(traced: TracedGrpc) -> None:
    metadata = (("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-01"), *traced.su)
    call = traced.stub.Watch(pb.WatchRequest(collection="posts", filter="title != 'watch-filter'"), metadata=metadata)
    await call.initial_metadata()  # subscribed
    async with client_for(traced.app) as client:
        for title in ("one", "two"):
            r = await client.post("/api/collections/posts/records", json={"title": title})
            assert r.status_code == 200, r.text
    events = [await call.read(), await call.read()]
    assert [e.record["title"] for e in events] == ["one", "two"]
    assert [s for s in traced.spans() if s.name == "satchel.v1.Records/Watch"] == []  # still open
    call.cancel()
    for _ in range(200):  # the server learns of the cancellation asynchronously
        if any(s.name == "satchel.v1.Records/Watch" for s in traced.spans()):
            break
        await asyncio.sleep(0.02)
    span = await traced.span("satchel.v1.Records/Watch")
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.status.status_code is StatusCode.UNSET  # the client leaving is no server error
    attrs = attributes(span)
    assert attrs["satchel.grpc.messages_sent"] == 2
    assert attrs["rpc.grpc.status_code"] == grpc.StatusCode.CANCELLED.value[0]
    assert traced.children(span, "db.query")  # the caller's lookup
    assert traced.children(span, "rule.compile")  # the filter


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with otlp_receiver.running() as r:
        yield r


async def test_serve_exports_the_call_span_with_the_callers_parent_and_a_query_child(
    tmp_path: Path, receiver: Receiver
) -> None:
    target = f"127.0.0.1:{free_port()}"
    with serving(tmp_path / "data", receiver, "--tracing", "--grpc", target) as server:
        async with httpx2.AsyncClient(base_url=server.url, timeout=10) as http:
            su = await superuser(http)
            assert (await http.post("/api/collections", headers=su, json=POSTS)).status_code == 200
            assert (await http.post("/api/collections/posts/records", json={"title": "a"})).status_code == 200
        header, trace_id, parent_id = traceparent(41)
        async with grpc.aio.insecure_channel(target) as channel:
            await asyncio.wait_for(channel.channel_ready(), 30)
            reply = await records_pb2_grpc.RecordsStub(channel).List(
                pb.ListRequest(collection="posts"), metadata=(("traceparent", header),)
            )
        assert [item["title"] for item in reply.items] == ["a"]

        def complete(spans: list[ReceivedSpan]) -> bool:
            return any(s.kind == "server" for s in in_trace(spans, trace_id))

        spans = receiver.wait_for(complete)
        pids = server.worker_pids()
    assert complete(spans), [(s.name, s.trace_id) for s in spans]
    (call,) = [s for s in in_trace(spans, trace_id) if s.kind == "server"]
    assert call.name == LIST and call.parent_id == parent_id  # the caller's trace, continued
    assert call.status == "unset"
    assert call.attributes["rpc.system"] == "grpc" and call.attributes["rpc.method"] == "List"
    assert call.attributes["rpc.grpc.status_code"] == 0
    assert call.resource["process.pid"] in pids  # exported by the worker that served it
    queries = [s for s in in_trace(spans, trace_id) if s.name == "db.query"]
    assert queries and all(q.parent_id == call.span_id and q.kind == "client" for q in queries)
    assert any(q.attributes["db.operation"] == "SELECT" for q in queries)
