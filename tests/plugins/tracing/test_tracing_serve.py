"""The real `satchel serve` (one worker and `--workers 2`) exporting over OTLP/HTTP to a receiver in the test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from tests.apis.test_api_realtime import EMAIL, PASSWORD, free_port, healthy
from tests.plugins.tracing import otlp_receiver
from tests.plugins.tracing.otlp_receiver import ReceivedSpan, Receiver

POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "fields": [{"name": "title", "type": "text"}],
    "indexes": ["CREATE UNIQUE INDEX idx_posts_title ON posts (title)"],
}
CREATE = "POST /api/collections/{collection}/records"


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str

    def worker_pids(self) -> set[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return {int(p) for p in out.split()}

    def stop(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        self.proc.wait(30)


@contextlib.contextmanager
def serving(data: Path, receiver: Receiver, *args: str, **env: str) -> Iterator[Server]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SATCHEL_"))}
    env = {
        **clean,
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_SERVICE_NAME": "satchel-test",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        **env,
    }
    cli = [sys.executable, "-m", "satchel.cli.main"]
    subprocess.run(
        [*cli, "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(data)], check=True, env=env, capture_output=True
    )
    port = free_port()
    proc = subprocess.Popen(
        [*cli, "serve", "--http", f"127.0.0.1:{port}", "--dir", str(data), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = Server(proc, f"http://127.0.0.1:{port}")
    try:
        if not healthy(server.url, proc):
            raise RuntimeError(f"satchel serve {' '.join(args)} did not start")
        yield server
    finally:
        server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with otlp_receiver.running() as r:
        yield r


async def superuser(http: httpx2.AsyncClient) -> dict[str, str]:
    r = await http.post(
        "/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": r.json()["token"]}


def traceparent(n: int) -> tuple[str, str, str]:
    trace_id, parent_id = f"{n:032x}".replace("0", "a", 1), f"{n:016x}".replace("0", "b", 1)
    return f"00-{trace_id}-{parent_id}-01", trace_id, parent_id


def in_trace(spans: list[ReceivedSpan], trace_id: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.trace_id == trace_id]


async def test_one_worker_exports_request_spans_with_query_children(tmp_path: Path, receiver: Receiver) -> None:
    with serving(tmp_path / "data", receiver, "--tracing") as server:
        async with httpx2.AsyncClient(base_url=server.url, timeout=10) as http:
            su = await superuser(http)
            assert (await http.post("/api/collections", headers=su, json=POSTS)).status_code == 200
            header, trace_id, parent_id = traceparent(1)
            r = await http.post("/api/collections/posts/records", json={"title": "a"}, headers={"traceparent": header})
            assert r.status_code == 200, r.text
            dup_header, dup_trace, _ = traceparent(2)
            r = await http.post(
                "/api/collections/posts/records", json={"title": "a"}, headers={"traceparent": dup_header}
            )
            assert r.status_code == 400
            missing_header, missing_trace, _ = traceparent(3)
            r = await http.get("/api/collections/posts/records/nothere1234567", headers={"traceparent": missing_header})
            assert r.status_code == 404
        pids = server.worker_pids()

        def complete(spans: list[ReceivedSpan]) -> bool:
            traces = (trace_id, dup_trace, missing_trace)
            return all(any(s.kind == "server" for s in in_trace(spans, t)) for t in traces)

        spans = receiver.wait_for(complete)
    assert complete(spans), [(s.name, s.trace_id) for s in spans]

    (request,) = [s for s in in_trace(spans, trace_id) if s.kind == "server"]
    assert request.name == CREATE and request.parent_id == parent_id  # the caller's trace, continued
    assert request.status == "unset"
    assert request.attributes["http.route"] == "/api/collections/{collection}/records"
    assert request.attributes["http.request.method"] == "POST"
    assert request.attributes["http.response.status_code"] == 200
    assert request.resource["service.name"] == "satchel-test"
    assert request.resource["process.pid"] in pids  # exported by the worker, not the parent process
    queries = [s for s in in_trace(spans, trace_id) if s.name == "db.query"]
    assert queries and all(q.parent_id == request.span_id and q.kind == "client" for q in queries)
    assert any(q.attributes["db.operation"] == "INSERT" for q in queries)
    assert all(request.start_ns <= q.start_ns <= q.end_ns <= request.end_ns for q in queries)

    (duplicate,) = [s for s in in_trace(spans, dup_trace) if s.kind == "server"]
    assert duplicate.attributes["http.response.status_code"] == 400 and duplicate.status == "unset"
    failed = [s for s in in_trace(spans, dup_trace) if s.name == "db.query" and s.status == "error"]
    assert len(failed) == 1 and failed[0].parent_id == duplicate.span_id
    assert [name for name, _ in failed[0].events] == ["exception"]

    (missing,) = [s for s in in_trace(spans, missing_trace) if s.kind == "server"]
    assert missing.name == "GET /api/collections/{collection}/records/{id}"
    assert missing.attributes["http.response.status_code"] == 404


async def test_every_worker_exports_its_own_spans(tmp_path: Path, receiver: Receiver) -> None:
    with serving(tmp_path / "data", receiver, "--workers", "2") as server:  # on through the endpoint variable
        workers = server.worker_pids()
        assert len(workers) == 2
        sent: set[str] = set()
        seen_pids: set[int] = set()
        limits = httpx2.Limits(max_keepalive_connections=0)  # a new connection per request: any worker may take it
        async with httpx2.AsyncClient(base_url=server.url, timeout=10, limits=limits) as http:
            for batch in range(10):
                headers = [traceparent(100 + batch * 10 + i) for i in range(10)]
                replies = await asyncio.gather(
                    *(http.get("/api/health", headers={"traceparent": h}) for h, _, _ in headers)
                )
                assert all(r.status_code == 200 for r in replies)
                sent |= {t for _, t, _ in headers}
                expected = frozenset(sent)
                spans = receiver.wait_for(lambda s, expected=expected: expected <= {x.trace_id for x in s})
                seen_pids = {s.resource["process.pid"] for s in spans if s.trace_id in sent}
                if len(seen_pids) == 2:
                    break
    got = [s for s in spans if s.trace_id in sent]
    assert sorted(s.trace_id for s in got) == sorted(sent)  # each request once, none lost or doubled
    assert all(s.name == "GET /api/health" and s.kind == "server" for s in got)
    assert seen_pids == workers


async def test_queued_spans_are_flushed_when_the_server_stops(tmp_path: Path, receiver: Receiver) -> None:
    with serving(tmp_path / "data", receiver, "--tracing", OTEL_BSP_SCHEDULE_DELAY="600000") as server:
        header, trace_id, _ = traceparent(9)
        async with httpx2.AsyncClient(base_url=server.url, timeout=10) as http:
            assert (await http.get("/api/health", headers={"traceparent": header})).status_code == 200
        await asyncio.sleep(0.5)
        assert receiver.spans == []  # still queued: the batch is due in ten minutes
        server.stop(signal.SIGTERM)
    spans = receiver.wait_for(lambda s: bool(in_trace(s, trace_id)), timeout=5)
    assert [s.name for s in in_trace(spans, trace_id)] == ["GET /api/health"]
