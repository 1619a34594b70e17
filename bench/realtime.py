"""Realtime fan-out: N SSE subscribers on `posts/*` while records are created at a fixed rate.

Latency is taken per delivered event as (receipt time at the subscriber) - (time the create response
arrived at the publisher). The response arrives after the commit, so this is a lower bound of
commit-to-delivery and may be negative when the event overtakes the response; the value from the
moment the create was *sent* is kept as well (an upper bound). Everything runs in one event loop, so
both clocks are the same `perf_counter`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2

from bench.load import percentile
from bench.seed import record_id

TOPIC = "posts/*"
COLLECTION = "posts"
MAX_DELIVERIES_PER_S = 10_000  # what one Python client process can parse without measuring itself
CONNECT_TIMEOUT_S = 30.0
GRACE_S = 5.0
SUBSCRIBE_CONNECTIONS = 32


@dataclass
class RealtimeResult:
    subscribers: int
    connected: int
    rate: float
    created: int
    create_errors: int
    expected: int
    delivered: int
    lost: int
    duplicates: int
    p50_ms: float
    p99_ms: float
    p50_from_send_ms: float
    p99_from_send_ms: float
    dropped_streams: int
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def fair_rate(subscribers: int, wanted: float) -> float:
    """Caps the event rate so the client's total deliveries stay parseable by one Python process."""
    return max(1.0, min(wanted, MAX_DELIVERIES_PER_S / max(1, subscribers)))


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _parse_event(raw: bytes) -> tuple[str, bytes]:
    name = ""
    data = b""
    for line in raw.split(b"\n"):
        if line.startswith(b"event:"):
            name = line[6:].strip().decode()
        elif line.startswith(b"data:"):
            data = line[5:].strip()
    return name, data


class _ChunkDecoder:
    """Incremental HTTP/1.1 chunked transfer decoding (both servers stream SSE chunked)."""

    def __init__(self) -> None:
        self.raw = b""
        self.need = 0  # payload bytes still expected in the current chunk
        self.skip = 0  # CRLF bytes still to drop after a chunk's payload
        self.done = False

    def feed(self, data: bytes) -> bytes:
        self.raw += data
        out: list[bytes] = []
        while self.raw and not self.done:
            if self.skip:
                cut = min(self.skip, len(self.raw))
                self.raw, self.skip = self.raw[cut:], self.skip - cut
            elif self.need:
                part = self.raw[: self.need]
                out.append(part)
                self.raw, self.need = self.raw[len(part) :], self.need - len(part)
                if not self.need:
                    self.skip = 2
            else:
                line, sep, rest = self.raw.partition(b"\r\n")
                if not sep:
                    break
                self.raw = rest
                self.need = int(line.split(b";")[0].strip() or b"0", 16)
                self.done = self.need == 0
        return b"".join(out)


class Subscriber(asyncio.Protocol):
    """One SSE connection as a bare asyncio protocol; records (record id, receipt time) per event.

    Neither an httpx2 stream nor asyncio streams: with hundreds of connections in one loop their
    per-chunk overhead delayed receipts by hundreds of milliseconds, so the client rather than the
    server was measured. `data_received` runs straight from the selector, timestamps first.
    """

    def __init__(self, url: str, post: httpx2.AsyncClient) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.post = post
        self.ready = asyncio.Event()
        self.closed = asyncio.Event()
        self.failed: str | None = None
        self.receipts: list[tuple[str, float]] = []
        self.dropped = False
        self.stopping = False
        self.stage = "connecting"
        """How far it got: connecting, tcp (request sent), stream (200 received), subscribing (PB_CONNECT
        received, subscribe request sent), subscribed."""
        self._head = b""
        self._body = b""
        self._chunks: _ChunkDecoder | None = None
        self._in_body = False
        self._transport: asyncio.Transport | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- protocol callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.stage = "tcp"
        transport.write(
            f"GET /api/realtime HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Accept: text/event-stream\r\nCache-Control: no-store\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self._in_body:
            self._head += data
            head, sep, rest = self._head.partition(b"\r\n\r\n")
            if not sep:
                return
            status = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"?"
            if status != b"200":
                self._fail(f"connect HTTP {status.decode(errors='replace')}")
                return
            self._in_body = True
            self.stage = "stream"
            self._chunks = _ChunkDecoder() if b"transfer-encoding: chunked" in head.lower() else None
            data = rest
        payload = self._chunks.feed(data) if self._chunks is not None else data
        self._body = self._events(self._body + payload, now)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.stopping:
            self.dropped = True
            self._fail(f"stream closed: {exc!r}")
        self.closed.set()

    # -- helpers
    def _fail(self, reason: str) -> None:
        self.failed = self.failed or reason
        self.ready.set()
        if self._transport is not None:
            self._transport.close()

    def _events(self, buf: bytes, now: float) -> bytes:
        buf = buf.replace(b"\r\n", b"\n")
        while b"\n\n" in buf:
            raw, buf = buf.split(b"\n\n", 1)
            name, data = _parse_event(raw)
            if name == "PB_CONNECT":
                self.stage = "subscribing"
                task = asyncio.get_running_loop().create_task(self._subscribe(json.loads(data)["clientId"]))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif data:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    self.receipts.append((json.loads(data)["record"]["id"], now))
        return buf

    async def _subscribe(self, client_id: str) -> None:
        try:
            resp = await self.post.post("/api/realtime", json={"clientId": client_id, "subscriptions": [TOPIC]})
            if resp.status_code >= 300:
                self.failed = f"subscribe HTTP {resp.status_code}: {resp.text[:200]}"
            else:
                self.stage = "subscribed"
        except httpx2.HTTPError as exc:
            self.failed = f"subscribe: {exc!r}"
        self.ready.set()

    async def connect(self) -> None:
        try:
            await asyncio.get_running_loop().create_connection(lambda: self, self.host, self.port)
        except OSError as exc:
            self.failed = f"connect: {exc!r}"
            self.ready.set()
            self.closed.set()

    def close(self) -> None:
        self.stopping = True
        if self._transport is not None:
            self._transport.close()
        else:
            self.closed.set()


async def _publish(
    client: httpx2.AsyncClient, token: str, rate: float, duration_s: float, tag: str
) -> tuple[dict[str, tuple[float, float]], int]:
    """Creates at a fixed schedule (not closed-loop): a slow server must not lower the offered rate."""
    count = max(1, int(rate * duration_s))
    sent: dict[str, tuple[float, float]] = {}
    errors = 0

    async def create(n: int) -> None:
        nonlocal errors
        rid = record_id(f"r{tag}", n)
        body = {"id": rid, "title": f"realtime {n}", "body": "x", "public": True}
        t0 = time.perf_counter()
        try:
            resp = await client.post(
                f"/api/collections/{COLLECTION}/records", json=body, headers={"Authorization": token}
            )
        except httpx2.HTTPError:
            errors += 1
            return
        if resp.status_code >= 300:
            errors += 1
            return
        sent[rid] = (t0, time.perf_counter())

    start = time.perf_counter()
    tasks = []
    for n in range(count):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(create(n)))
    await asyncio.gather(*tasks)
    return sent, errors


async def run_realtime(
    url: str,
    superuser_token: str,
    subscribers: int,
    rate: float,
    duration_s: float,
    tag: str,
    grace_s: float = GRACE_S,
) -> RealtimeResult:
    """Connect everyone, publish on a schedule, wait briefly for stragglers, then score deliveries."""
    raise_fd_limit(subscribers * 2 + 256)
    notes: list[str] = []
    limits = httpx2.Limits(max_connections=SUBSCRIBE_CONNECTIONS)
    async with (
        httpx2.AsyncClient(base_url=url, limits=limits, timeout=CONNECT_TIMEOUT_S) as sub_client,
        httpx2.AsyncClient(base_url=url, timeout=30.0) as pub_client,
    ):
        subs = [Subscriber(url, sub_client) for _ in range(subscribers)]
        connects = [asyncio.create_task(s.connect()) for s in subs]
        try:
            await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in subs)), CONNECT_TIMEOUT_S)
        except TimeoutError:
            waiting = Counter(s.stage for s in subs if not s.ready.is_set())
            stages = ", ".join(f"{n} at {stage}" for stage, n in sorted(waiting.items()))
            notes.append(
                f"{sum(waiting.values())} of {subscribers} subscribers not ready within {CONNECT_TIMEOUT_S:.0f}s "
                f"(where they stopped: {stages}; tcp/subscribing = request sent, no answer)"
            )
        live = [s for s in subs if s.ready.is_set() and s.failed is None]
        failures = {s.failed for s in subs if s.failed}
        if failures:
            notes.append("subscriber errors: " + "; ".join(sorted(failures))[:300])
        sent, create_errors = await _publish(pub_client, superuser_token, rate, duration_s, tag)
        deadline = time.perf_counter() + grace_s
        want = len(sent)
        while time.perf_counter() < deadline and any(len(s.receipts) < want for s in live):
            await asyncio.sleep(0.05)
        for sub in subs:
            sub.close()
        await asyncio.gather(*connects, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(s.closed.wait() for s in subs)), 10)
    return _score(subs, live, sent, create_errors, rate, notes)


def _score(
    subs: list[Subscriber],
    live: list[Subscriber],
    sent: dict[str, tuple[float, float]],
    create_errors: int,
    rate: float,
    notes: list[str],
) -> RealtimeResult:
    from_resp: list[float] = []
    from_send: list[float] = []
    delivered = duplicates = 0
    for sub in live:
        seen: set[str] = set()
        for rid, t in sub.receipts:
            times = sent.get(rid)
            if times is None:
                continue
            if rid in seen:
                duplicates += 1
                continue
            seen.add(rid)
            delivered += 1
            from_send.append((t - times[0]) * 1000)
            from_resp.append((t - times[1]) * 1000)
    from_resp.sort()
    from_send.sort()
    # subscribers that never connected lose every event: they count against the server
    expected = len(subs) * len(sent)
    return RealtimeResult(
        subscribers=len(subs),
        connected=len(live),
        rate=rate,
        created=len(sent),
        create_errors=create_errors,
        expected=expected,
        delivered=delivered,
        lost=expected - delivered,
        duplicates=duplicates,
        p50_ms=percentile(from_resp, 50),
        p99_ms=percentile(from_resp, 99),
        p50_from_send_ms=percentile(from_send, 50),
        p99_from_send_ms=percentile(from_send, 99),
        dropped_streams=sum(1 for s in subs if s.dropped),
        notes=notes,
    )
