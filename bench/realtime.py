"""Realtime fan-out: N SSE subscribers on `posts/*` while records are created at a fixed rate.

Latency is taken per delivered event as (arrival time in the subscriber's socket) - (time the create
response arrived at the publisher). The response arrives after the commit, so this is a lower bound of
commit-to-delivery and may be negative when the event overtakes the response; the value from the
moment the create was *sent* is kept as well (an upper bound). The arrival time is the kernel's receive
timestamp (SO_TIMESTAMPNS), so the time a client process takes to get round to a socket is not billed
to the server; that wait is reported on its own as the read lag.

Memory per connection: `run_realtime` calls a probe of the server's memory just before the clients
connect and once all of them are subscribed, before the first create (`per_connection_kib`).

Process layout: the parent process publishes the creates and merges the scores; the subscribers live
in `clients` child processes (see `client_processes`), each with its own event loop (uvloop when
installed), so that the receipts of a 10,000-subscriber burst are read by several cores instead of
queueing behind one Python loop. Every timestamp is `time.monotonic()`, which on Linux is
`clock_gettime(CLOCK_MONOTONIC)`: one clock for every process of the machine, so a receipt time taken
in a child and a send time taken in the parent can be subtracted.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import multiprocessing
import os
import resource
import socket
import struct
import time
import traceback
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from typing import Any

import httpx2

from bench.load import percentile
from bench.seed import record_id

TOPIC = "posts/*"
COLLECTION = "posts"
MAX_DELIVERIES_PER_S = 10_000
"""Deliveries per second the client side is asked to absorb in total (all client processes): on a
2-core machine the client processes share the cores with the server, so more processes do not buy a
higher rate, only a shorter queue inside each burst."""
SUBSCRIBERS_PER_CLIENT = 2_500
"""Subscribers per client process before another process is started (capped at the CPU count)."""
READY_TIMEOUT_S = 30.0
READY_TIMEOUT_PER_SUBSCRIBER_S = 0.003  # 10,000 subscribers: 60 s to connect and subscribe everyone
CONNECT_CONCURRENCY = 256
"""Subscribers between `connect()` and "subscribed" at once, over all client processes: bounded
batches instead of 10,000 simultaneous SYNs (the listen backlog would drop most of them and the kernel
retries after 1 s, 3 s, ..., which would measure SYN retransmits)."""
SUBSCRIBE_CONNECTIONS = 32  # keep-alive connections carrying the subscribe POSTs, over all client processes
GRACE_S = 5.0
MESSAGE_SLACK_S = 60.0  # how long the parent waits for a client process beyond that process's own deadline

MemoryProbe = Callable[[], tuple[int, int]]
"""Returns (RSS kB, PSS kB) of the server's process tree."""


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
    clients: int = 1
    ready_s: float = 0.0
    read_lag_p50_ms: float = 0.0
    read_lag_p99_ms: float = 0.0
    unstamped_reads: int = 0
    rss_before_kb: int | None = None
    pss_before_kb: int | None = None
    rss_connected_kb: int | None = None
    pss_connected_kb: int | None = None
    rss_kib_per_conn: float | None = None
    pss_kib_per_conn: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Samples:
    """One client process's share of the score, or the merge of several (`merge_samples`)."""

    subscribers: int = 0
    live: int = 0
    delivered: int = 0
    duplicates: int = 0
    dropped: int = 0
    ready_s: float = 0.0
    unstamped: int = 0
    from_resp_ms: list[float] = field(default_factory=list)
    from_send_ms: list[float] = field(default_factory=list)
    read_lag_ms: list[float] = field(default_factory=list)
    not_ready: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- pure helpers


def fair_rate(subscribers: int, wanted: float) -> float:
    """Caps the event rate so the client side's total deliveries stay at MAX_DELIVERIES_PER_S."""
    return max(1.0, min(wanted, MAX_DELIVERIES_PER_S / max(1, subscribers)))


def client_processes(subscribers: int, cpus: int | None = None) -> int:
    """One client process per SUBSCRIBERS_PER_CLIENT subscribers, at most one per CPU."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0))
    return max(1, min(cpus, math.ceil(subscribers / SUBSCRIBERS_PER_CLIENT)))


def split_evenly(total: int, parts: int) -> list[int]:
    """`total` subscribers over `parts` processes, sizes differing by at most one (no empty part)."""
    parts = max(1, min(parts, total)) if total > 0 else 1
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def ready_timeout(subscribers: int) -> float:
    return READY_TIMEOUT_S + READY_TIMEOUT_PER_SUBSCRIBER_S * subscribers


def per_connection_kib(before_kb: int | None, after_kb: int | None, connections: int) -> float | None:
    """(memory with the connections open - memory just before) / connections; /proc's kB are KiB."""
    if before_kb is None or after_kb is None or connections <= 0:
        return None
    return (after_kb - before_kb) / connections


def score_receipts(receipts: Iterable[Sequence[Receipt]], sent: dict[str, tuple[float, float]]) -> Samples:
    """Latencies of each subscriber's first receipt of each record created in this run.

    `receipts` holds one (record id, arrival time, read time) list per live subscriber; `sent` maps
    the ids created in this run to (send time, response time). Latencies run to the arrival time; the
    read lag (read - arrival) is what the client process itself added. A second receipt of the same id
    by the same subscriber is a duplicate; ids not created in this run are ignored.
    """
    out = Samples()
    for own in receipts:
        out.live += 1
        seen: set[str] = set()
        for rid, arrived, read in own:
            times = sent.get(rid)
            if times is None:
                continue
            if rid in seen:
                out.duplicates += 1
                continue
            seen.add(rid)
            out.delivered += 1
            out.from_send_ms.append((arrived - times[0]) * 1000)
            out.from_resp_ms.append((arrived - times[1]) * 1000)
            out.read_lag_ms.append((read - arrived) * 1000)
    out.subscribers = out.live
    return out


def merge_samples(parts: Sequence[Samples]) -> Samples:
    """One score from the client processes' scores: counts add up, latency samples are pooled and sorted.

    Pooling the raw samples (not averaging per-process percentiles) keeps p50/p99 the percentiles of
    every delivery, whichever process received it.
    """
    merged = Samples()
    not_ready: Counter[str] = Counter()
    failures: set[str] = set()
    for part in parts:
        merged.subscribers += part.subscribers
        merged.live += part.live
        merged.delivered += part.delivered
        merged.duplicates += part.duplicates
        merged.dropped += part.dropped
        merged.ready_s = max(merged.ready_s, part.ready_s)
        merged.unstamped += part.unstamped
        merged.from_resp_ms.extend(part.from_resp_ms)
        merged.from_send_ms.extend(part.from_send_ms)
        merged.read_lag_ms.extend(part.read_lag_ms)
        not_ready.update(part.not_ready)
        failures.update(part.failures)
    merged.from_resp_ms.sort()
    merged.from_send_ms.sort()
    merged.read_lag_ms.sort()
    merged.not_ready = dict(sorted(not_ready.items()))
    merged.failures = sorted(failures)
    return merged


def raise_fd_limit(needed: int | None = None) -> tuple[int, int]:
    """Raises the soft open-files limit to `needed` (default: the hard limit); returns (soft, hard).

    Child processes inherit it: the harness calls this before starting the servers so that both get a
    soft limit high enough for 10,000 streams (PocketBase's Go runtime raises its own soft limit to
    the hard one anyway; Satchel's `serve` does the same and sizes granian's backpressure from it).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if needed is None else needed
    if hard != resource.RLIM_INFINITY:
        target = min(target, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# ---------------------------------------------------------------- SSE parsing


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


class SseReader:
    """The body of an SSE response, possibly chunked: `feed` returns the (event, data) pairs it completes."""

    def __init__(self, chunked: bool) -> None:
        self._chunks = _ChunkDecoder() if chunked else None
        self._buf = b""

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        payload = self._chunks.feed(data) if self._chunks is not None else data
        buf = (self._buf + payload).replace(b"\r\n", b"\n")
        events = []
        while b"\n\n" in buf:
            raw, buf = buf.split(b"\n\n", 1)
            events.append(_parse_event(raw))
        self._buf = buf
        return events


def _record_id(data: bytes) -> str | None:
    try:
        rid = json.loads(data)["record"]["id"]
    except (ValueError, KeyError, TypeError):
        return None
    return rid if isinstance(rid, str) else None


# ---------------------------------------------------------------- one subscriber


class KeepAlive:
    """A few bare HTTP/1.1 keep-alive connections for the subscribe POSTs, one request in flight on each.

    httpx2 cost about 1.5 ms of client CPU per request: at 10,000 subscribers the subscribe calls alone
    kept the client processes busier than either server while connecting.
    """

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host = host
        self.port = port
        self._slots: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = asyncio.Queue()
        for _ in range(size):
            self._slots.put_nowait(None)  # a slot whose connection is opened on first use

    async def post_json(self, path: str, payload: Any, timeout_s: float) -> tuple[int, bytes]:
        body = json.dumps(payload).encode()
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        slot = await self._slots.get()
        try:
            if slot is None:
                slot = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), timeout_s)
            status, answer, keep = await asyncio.wait_for(_exchange(*slot, request), timeout_s)
            if not keep:
                slot[1].close()
                slot = None
            return status, answer
        except BaseException:
            if slot is not None:
                slot[1].close()
                slot = None
            raise
        finally:
            self._slots.put_nowait(slot)

    def close(self) -> None:
        while not self._slots.empty():
            slot = self._slots.get_nowait()
            if slot is not None:
                slot[1].close()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes, bool]:
    """One request/response on an open connection: (status, body, whether the connection can be reused)."""
    writer.write(request)
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status_line, *lines = head.split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip().lower() for k, _, v in (line.partition(":") for line in lines if line)}
    keep = headers.get("connection") != "close"
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        parts = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16):
            parts.append((await reader.readexactly(size + 2))[:-2])
        await reader.readuntil(b"\r\n")  # the empty line after the last chunk (no trailers expected)
        body = b"".join(parts)
    elif status in (204, 304) or status < 200:
        body = b""
    else:
        body, keep = await reader.read(), False
    return status, body, keep


_HTTP_ERRORS = (OSError, TimeoutError, ValueError, IndexError, asyncio.IncompleteReadError, asyncio.LimitOverrunError)

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux asm-generic value; Python does not export it
_TIMESPEC = struct.Struct("@ll")  # struct timespec on Linux (64-bit time_t)
_CMSG_SPACE = socket.CMSG_SPACE(_TIMESPEC.size)

Receipt = tuple[str, float, float]
"""(record id, arrival time in the client's kernel, time the client process read it), both monotonic."""


def kernel_lag_s(ancillary: list[tuple[int, int, bytes]], real_ns: int) -> float | None:
    """How long the bytes of a read waited in the socket: `real_ns` (CLOCK_REALTIME, now) minus the
    kernel's receive timestamp of the read's last segment (SCM_TIMESTAMPNS); None if there is none."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            sec, nsec = _TIMESPEC.unpack_from(data)
            stamp_ns: int = sec * 1_000_000_000 + nsec
            return max(0.0, (real_ns - stamp_ns) / 1e9)
    return None


class Subscriber:
    """One SSE connection on a bare non-blocking socket, read with `recvmsg` from a loop reader callback.

    Neither an httpx2 stream nor asyncio streams: with hundreds of connections in one loop their
    per-chunk overhead delayed receipts by hundreds of milliseconds, so the client rather than the
    server was measured. Two things keep the client out of the figure now:

    - the socket has SO_TIMESTAMPNS, so every read carries the time the kernel received its last
      segment: an event's time is when it reached the client's socket, not when this process got
      round to reading it (that second time is kept too, and the difference is reported as the
      client's read lag);
    - once PB_CONNECT has arrived a read only appends (times, bytes) and counts `data:` lines;
      decoding and JSON parsing happen after the run.
    """

    REQUEST = (
        "GET /api/realtime HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Accept: text/event-stream\r\nCache-Control: no-store\r\n\r\n"
    )

    def __init__(self, host: str, port: int, post: KeepAlive, deadline: float) -> None:
        self.host = host
        self.port = port
        self.post = post
        self.deadline = deadline
        self.ready = asyncio.Event()
        self.failed: str | None = None
        self.dropped = False
        self.stage = "connecting"
        """How far it got: connecting, tcp (request sent), stream (200 received), subscribing (PB_CONNECT
        received, subscribe request sent), subscribed."""
        self.recording = False
        self.recorded: list[tuple[float, float, bytes]] = []  # (read time, kernel lag, bytes)
        self.marks = 0  # `data:` lines seen while recording: a running count of events without parsing
        self.unstamped = 0  # reads without a kernel timestamp (their read time is used instead)
        self.early: list[Receipt] = []  # record events parsed before recording began
        self._head = b""
        self._reader: SseReader | None = None
        self._sock: socket.socket | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        try:
            await loop.sock_connect(sock, (self.host, self.port))
            sock.send(self.REQUEST.format(host=self.host, port=self.port).encode())  # fits any empty send buffer
        except OSError as exc:
            sock.close()
            self._fail(f"connect: {exc!r}")
            return
        self._sock = sock
        self.stage = "tcp"
        loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        assert self._sock is not None
        try:
            data, ancillary, _flags, _addr = self._sock.recvmsg(65536, _CMSG_SPACE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lost(exc)
            return
        now = time.monotonic()
        lag = kernel_lag_s(ancillary, time.time_ns())
        if not data:
            self._lost(None)
            return
        if lag is None:
            self.unstamped += 1
            lag = 0.0
        if self.recording:
            self.recorded.append((now, lag, data))
            self.marks += data.count(b"data:")
            return
        self._handshake(data, now, lag)

    def _handshake(self, data: bytes, now: float, lag: float) -> None:
        if self._reader is None:
            self._head += data
            head, sep, rest = self._head.partition(b"\r\n\r\n")
            if not sep:
                return
            status = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"?"
            if status != b"200":
                self._fail(f"connect HTTP {status.decode(errors='replace')}")
                return
            self.stage = "stream"
            self._reader = SseReader(b"transfer-encoding: chunked" in head.lower())
            data = rest
        for name, payload in self._reader.feed(data):
            if name == "PB_CONNECT" and not self.recording:
                self.stage = "subscribing"
                self.recording = True  # from here on, reads are only recorded
                task = asyncio.get_running_loop().create_task(self._subscribe(json.loads(payload)["clientId"]))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                rid = _record_id(payload)
                if rid is not None:
                    self.early.append((rid, now - lag, now))

    def _lost(self, exc: Exception | None) -> None:
        self.dropped = True
        self._fail(f"stream closed: {exc!r}")

    def _fail(self, reason: str) -> None:
        self.failed = self.failed or reason
        self.ready.set()
        self.close()

    async def _subscribe(self, client_id: str) -> None:
        payload = {"clientId": client_id, "subscriptions": [TOPIC]}
        try:
            status, body = await self.post.post_json("/api/realtime", payload, self.deadline - time.monotonic())
            if status >= 300:
                self.failed = f"subscribe HTTP {status}: {body[:200].decode(errors='replace')}"
            else:
                self.stage = "subscribed"
        except _HTTP_ERRORS as exc:
            self.failed = f"subscribe: {exc!r}"
        self.ready.set()

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(RuntimeError, ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    def receipts(self) -> list[Receipt]:
        """(record id, arrival time, read time) of every record event, decoded from the recorded reads."""
        out = list(self.early)
        if self._reader is None:
            return out
        for now, lag, data in self.recorded:
            for _name, payload in self._reader.feed(data):
                rid = _record_id(payload)
                if rid is not None:
                    out.append((rid, now - lag, now))
        return out


# ---------------------------------------------------------------- a client process


async def _message(conn: Connection) -> Any:
    """The next message from the parent, without blocking the loop that timestamps the receipts.

    Polled rather than watched with `add_reader`: uvloop's reader makes the descriptor non-blocking,
    and `Connection.send` of a large score would then fail half-written.
    """
    while not conn.poll():
        await asyncio.sleep(0.05)
    return conn.recv()


async def _client(conn: Connection, url: str, count: int, concurrency: int, pool: int, deadline: float) -> None:
    """Connects and subscribes `count` subscribers, reports, records until told the run is over, scores."""
    raise_fd_limit(count + pool + 256)
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    post = KeepAlive(host, int(port), pool)
    try:
        subs = [Subscriber(host, int(port), post, deadline) for _ in range(count)]
        gate = asyncio.Semaphore(concurrency)

        async def start(sub: Subscriber) -> None:
            async with gate:
                await sub.connect()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(sub.ready.wait(), max(0.0, deadline - time.monotonic()))

        t0 = time.monotonic()
        starters = [asyncio.create_task(start(s)) for s in subs]
        _, pending = await asyncio.wait(starters, timeout=max(0.0, deadline - time.monotonic()))
        for task in pending:
            task.cancel()
        ready_s = time.monotonic() - t0
        live = [s for s in subs if s.ready.is_set() and s.failed is None]
        conn.send(("ready", len(live)))
        # nothing but appends from here to the end of the run: no collector pauses inside a burst
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            sent, grace_deadline = await _message(conn)
            want = len(sent)
            while time.monotonic() < grace_deadline and any(s.marks + len(s.early) < want for s in live):
                await asyncio.sleep(0.05)
            for sub in subs:
                sub.close()
            await asyncio.gather(*pending, return_exceptions=True)
        finally:
            gc.enable()
            gc.unfreeze()
    finally:
        post.close()
    score = score_receipts((s.receipts() for s in live), sent)
    score.subscribers = count
    score.ready_s = ready_s
    score.dropped = sum(1 for s in subs if s.dropped)
    score.not_ready = dict(Counter(s.stage for s in subs if not s.ready.is_set()))
    score.failures = sorted({s.failed for s in subs if s.failed})
    score.unstamped = sum(s.unstamped for s in live)
    conn.send(("done", score))


def _run_loop(coro: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


def _client_main(conn: Connection, url: str, count: int, concurrency: int, pool: int, deadline: float) -> None:
    try:
        _run_loop(_client(conn, url, count, concurrency, pool, deadline))
    except BaseException:
        with contextlib.suppress(OSError, ValueError):
            conn.send(("error", traceback.format_exc(limit=4)[-600:]))
    finally:
        conn.close()


# ---------------------------------------------------------------- the parent: publish and merge


async def _publish(
    url: str, token: str, rate: float, duration_s: float, tag: str
) -> tuple[dict[str, tuple[float, float]], int]:
    """Creates at a fixed schedule (not closed-loop): a slow server must not lower the offered rate."""
    count = max(1, int(rate * duration_s))
    sent: dict[str, tuple[float, float]] = {}
    errors = 0

    async def create(client: httpx2.AsyncClient, n: int) -> None:
        nonlocal errors
        rid = record_id(f"r{tag}", n)
        body = {"id": rid, "title": f"realtime {n}", "body": "x", "public": True}
        t0 = time.monotonic()
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
        sent[rid] = (t0, time.monotonic())

    async with httpx2.AsyncClient(base_url=url, timeout=30.0) as client:
        await client.get("/api/health")  # the first create must not pay for opening the connection
        start = time.monotonic()
        tasks = []
        for n in range(count):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(create(client, n)))
        await asyncio.gather(*tasks)
    return sent, errors


def _receive(conn: Connection, timeout_s: float) -> tuple[str, Any]:
    try:
        if conn.poll(max(0.0, timeout_s)):
            message: tuple[str, Any] = conn.recv()
            return message
    except (EOFError, OSError) as exc:
        return ("error", f"client process gone: {exc!r}")
    return ("error", f"no answer from the client process within {timeout_s:.0f}s")


def run_realtime(
    url: str,
    superuser_token: str,
    subscribers: int,
    rate: float,
    duration_s: float,
    tag: str,
    grace_s: float = GRACE_S,
    clients: int | None = None,
    memory: MemoryProbe | None = None,
) -> RealtimeResult:
    """Connect everyone, measure memory, publish on a schedule, wait briefly for stragglers, then score.

    `memory` (if given) is called just before the client processes start and again once every one of
    them has reported its subscribers connected and subscribed, before the first create.
    """
    counts = split_evenly(subscribers, clients or client_processes(subscribers))
    concurrency = max(16, CONNECT_CONCURRENCY // len(counts))
    pool = max(4, SUBSCRIBE_CONNECTIONS // len(counts))
    notes: list[str] = []
    before = memory() if memory else None
    deadline = time.monotonic() + ready_timeout(subscribers)
    ctx = multiprocessing.get_context("spawn")  # no fork of a parent that runs a memory-sampling thread
    procs: list[tuple[SpawnProcess, Connection]] = []
    finished = False
    try:
        for i, n in enumerate(counts):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=_client_main,
                args=(theirs, url, n, concurrency, pool, deadline),
                name=f"bench-realtime-client-{i}",
                daemon=True,
            )
            proc.start()
            theirs.close()
            procs.append((proc, ours))
        failed: dict[int, str] = {}
        for i, (_, conn) in enumerate(procs):
            kind, value = _receive(conn, deadline + MESSAGE_SLACK_S - time.monotonic())
            if kind != "ready":
                failed[i] = str(value)
        connected = memory() if memory else None
        sent, create_errors = asyncio.run(_publish(url, superuser_token, rate, duration_s, tag))
        grace_deadline = time.monotonic() + grace_s
        for i, (_, conn) in enumerate(procs):
            if i not in failed:
                conn.send((sent, grace_deadline))
        parts: list[Samples] = []
        for i, (_, conn) in enumerate(procs):
            kind, value = ("error", failed[i]) if i in failed else _receive(conn, grace_s + MESSAGE_SLACK_S)
            if kind == "done" and isinstance(value, Samples):
                parts.append(value)
            else:
                notes.append(f"client process {i} failed: {value}")
                parts.append(Samples(subscribers=counts[i]))
        finished = True
    finally:
        for proc, conn in procs:
            if not finished:
                proc.terminate()  # the run failed: nobody will tell the clients it is over
            proc.join(timeout=15)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            conn.close()
    merged = merge_samples(parts)
    return _result(merged, subscribers, len(counts), rate, sent, create_errors, before, connected, notes)


def _result(
    merged: Samples,
    subscribers: int,
    clients: int,
    rate: float,
    sent: dict[str, tuple[float, float]],
    create_errors: int,
    before: tuple[int, int] | None,
    connected: tuple[int, int] | None,
    notes: list[str],
) -> RealtimeResult:
    if merged.not_ready:
        stages = ", ".join(f"{n} at {stage}" for stage, n in merged.not_ready.items())
        notes.append(
            f"{sum(merged.not_ready.values())} of {subscribers} subscribers not ready within "
            f"{ready_timeout(subscribers):.0f}s (where they stopped: {stages}; tcp/subscribing = request sent, "
            "no answer)"
        )
    if merged.failures:
        notes.append("subscriber errors: " + "; ".join(merged.failures)[:300])
    if merged.unstamped:
        notes.append(f"{merged.unstamped} reads carried no kernel timestamp: their read time was used")
    # subscribers that never connected lose every event: they count against the server
    expected = subscribers * len(sent)
    rss0, pss0 = before if before else (None, None)
    rss1, pss1 = connected if connected else (None, None)
    return RealtimeResult(
        subscribers=subscribers,
        connected=merged.live,
        rate=rate,
        created=len(sent),
        create_errors=create_errors,
        expected=expected,
        delivered=merged.delivered,
        lost=expected - merged.delivered,
        duplicates=merged.duplicates,
        p50_ms=percentile(merged.from_resp_ms, 50),
        p99_ms=percentile(merged.from_resp_ms, 99),
        p50_from_send_ms=percentile(merged.from_send_ms, 50),
        p99_from_send_ms=percentile(merged.from_send_ms, 99),
        dropped_streams=merged.dropped,
        clients=clients,
        ready_s=round(merged.ready_s, 2),
        read_lag_p50_ms=percentile(merged.read_lag_ms, 50),
        read_lag_p99_ms=percentile(merged.read_lag_ms, 99),
        unstamped_reads=merged.unstamped,
        rss_before_kb=rss0,
        pss_before_kb=pss0,
        rss_connected_kb=rss1,
        pss_connected_kb=pss1,
        rss_kib_per_conn=per_connection_kib(rss0, rss1, merged.live),
        pss_kib_per_conn=per_connection_kib(pss0, pss1, merged.live),
        notes=notes,
    )
