"""Smoke test of the benchmark harness: the machinery works end to end on tiny data, Satchel only.

Uses the asyncio fallback loader (wrk may be absent in CI); the wrk Lua scripts are exercised only
when wrk is installed. Nothing here looks at timings: only counts, errors and the report's shape.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

# `bench/` is not an installed package: plain `pytest` (unlike `python -m pytest`) would not find it
REPO_ROOT = str(Path(__file__).resolve().parents[2])
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from bench.load import RequestSpec, parse_wrk_output, percentile, run_wrk, wrk_path  # noqa: E402
from bench.realtime import (  # noqa: E402
    SO_TIMESTAMPNS,
    Samples,
    SseReader,
    _ChunkDecoder,
    _exchange,
    client_processes,
    fair_rate,
    kernel_lag_s,
    merge_samples,
    per_connection_kib,
    score_receipts,
    split_evenly,
)
from bench.report import render_markdown, write_results  # noqa: E402
from bench.runner import Config, run_benchmark  # noqa: E402
from bench.scenarios import SCENARIOS, select  # noqa: E402
from bench.seed import SeedSizes, add_delete_pool, record_id, seed  # noqa: E402
from bench.servers import start_server, tree_pss_kb, tree_rss_kb  # noqa: E402

TINY = SeedSizes(users=2, posts=40, posts_big=60, posts_owned=40, delete_pool=30, view_ids=10)


def test_end_to_end_on_satchel_with_the_python_loader(tmp_path: Path) -> None:
    cfg = Config(
        quick=True,
        only="health,view,delete,realtime",
        kinds=("satchel",),
        satchel_workers=1,
        loader="python",
        duration_s=0.3,
        rounds=1,
        sizes=TINY,
        subscribers=(3,),
        realtime_duration_s=0.5,
        realtime_grace_s=3.0,
        python_max_requests=200,
        work_dir=tmp_path / "work",
        log=lambda _msg: None,
    )
    data = run_benchmark(cfg)

    names = [e["name"] for e in data["scenarios"]]
    assert names == ["health", "view", "delete"]
    for entry in data["scenarios"]:
        sat = entry["servers"]["satchel"]
        assert sat["requests"] > 0, entry["name"]
        assert sat["errors"] == {}, (entry["name"], sat["errors"])  # e.g. a 404 would mean a reused delete id
        assert sat["rss_kb"] > 10_000
        # shared pages count once in PSS: never more than the RSS sum, never nothing
        assert 0 < sat["pss_kb"] <= sat["rss_kb"]
        assert "pocketbase" not in entry["servers"]
    delete = data["scenarios"][-1]["servers"]["satchel"]
    assert delete["requests"] <= TINY.delete_pool - 1  # one id went to the preflight
    assert not [n for n in data["notes"] if "preflight" in n], data["notes"]

    [rt] = data["realtime"]
    assert rt["clients"] == 1
    sat_rt = rt["servers"]["satchel"]
    assert sat_rt["connected"] == 3
    assert sat_rt["created"] > 0
    assert sat_rt["lost"] == 0 and sat_rt["delivered"] == 3 * sat_rt["created"], sat_rt
    # Linux stamps reads (latencies run to the kernel's arrival time) once its timestamping is switched on:
    # the first socket asking for it switches it on from a deferred work item, so under load a subscriber's
    # first read (its PB_CONNECT) can come unstamped; every subscriber reads at least twice (connect, events)
    assert sat_rt["unstamped_reads"] <= sat_rt["connected"], sat_rt
    # memory was sampled around the connecting (the per-connection figure itself is noise at 3 subscribers)
    assert sat_rt["rss_before_kb"] > 10_000 and sat_rt["rss_connected_kb"] > 10_000
    assert sat_rt["rss_kib_per_conn"] is not None and sat_rt["pss_kib_per_conn"] is not None

    md, js = write_results(data, tmp_path / "results")
    text = md.read_text()
    assert "| health |" in text and "| 3 |" in text
    assert "KiB/conn" in text
    assert "| — |" in text  # no PocketBase: ratios are blank, not invented
    assert json.loads(js.read_text())["meta"]["mode"] == "quick"


@pytest.mark.skipif(wrk_path() is None, reason="wrk not installed")
def test_wrk_scripts_against_satchel(tmp_path: Path) -> None:
    import asyncio

    server = start_server("satchel", tmp_path / "satchel")
    try:
        data = asyncio.run(seed(server.url, TINY))
        assert tree_rss_kb(server.pid) > 10_000
        assert 0 < tree_pss_kb(server.pid) <= tree_rss_kb(server.pid)
        health = run_wrk(server.url, RequestSpec("GET", "/api/health"), 1, connections=4)
        assert health.requests > 0 and health.errors == {}
        view = SCENARIOS[[s.name for s in SCENARIOS].index("view")].build(data)
        viewed = run_wrk(server.url, view, 1, connections=4)
        assert viewed.requests > 0 and viewed.errors == {} and not viewed.ids_exhausted
        ids = asyncio.run(add_delete_pool(data, "9", 20))
        spec = RequestSpec("DELETE", "/api/collections/bench_deletes/records/{id}", ids=tuple(ids), once=True)
        deleted = run_wrk(server.url, spec, 1, connections=4)
        # every id deleted at most once, then the threads stop: no 404s; the requests still in flight
        # when a thread stops (at most one per connection) are not counted by wrk
        assert deleted.ids_exhausted
        assert deleted.errors == {}
        assert len(ids) - 4 <= deleted.requests <= len(ids)
    finally:
        server.stop()


def test_parse_wrk_output_reads_the_json_line() -> None:
    out = (
        "Running 1s test @ http://x\n"
        'BENCH_JSON {"requests":200,"duration_us":2000000,"bytes":1,"errors":{"connect":0,"read":0,'
        '"write":0,"status":3,"timeout":0},"latency_us":{"p50":1500,"p90":2000,"p99":9000,"max":12000,'
        '"mean":1.0},"threads_exhausted":2,"ids_used":5,"active_us":500000}\n'
    )
    res = parse_wrk_output(out)
    assert res.duration_s == 0.5  # every thread ran out of ids: the busy span, not wrk's fixed -d
    assert res.rps == 400.0
    assert parse_wrk_output(out.replace('"active_us":500000', '"active_us":-1')).rps == 100.0
    assert (res.p50_ms, res.p99_ms) == (1.5, 9.0)
    assert res.errors == {"status": 3}
    assert res.ids_exhausted


def test_chunk_decoder_handles_split_frames() -> None:
    stream = b"5\r\nhello\r\n7\r\n world!\r\n0\r\n\r\n"
    dec = _ChunkDecoder()
    out = b"".join(dec.feed(stream[i : i + 3]) for i in range(0, len(stream), 3))
    assert out == b"hello world!"
    assert dec.done


def test_small_helpers() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 99) == 4.0
    assert fair_rate(1000, 50) == 10
    assert fair_rate(100, 50) == 50
    assert record_id("p", 7) == "p00000000000007"
    assert [s.name for s in select("delete,health")] == ["health", "delete"]
    with pytest.raises(ValueError, match="unknown scenario"):
        select("nope")


def test_realtime_pure_helpers() -> None:
    assert fair_rate(10_000, 50) == 1
    assert fair_rate(1_000_000, 50) == 1  # never below one create per second
    assert client_processes(50, cpus=2) == 1
    assert client_processes(1000, cpus=2) == 1
    assert client_processes(10_000, cpus=2) == 2
    assert client_processes(10_000, cpus=8) == 4
    assert split_evenly(10_000, 3) == [3334, 3333, 3333]
    assert split_evenly(2, 4) == [1, 1]  # no empty client process
    assert sum(split_evenly(9_999, 2)) == 9_999
    # KiB per connection: /proc's kB are KiB; nothing to divide by gives no figure rather than a division error
    assert per_connection_kib(100_000, 550_000, 10_000) == 45.0
    assert per_connection_kib(100_000, 90_000, 1_000) == -10.0
    assert per_connection_kib(None, 5, 10) is None
    assert per_connection_kib(1, 5, 0) is None


def test_score_receipts_uses_arrival_times_and_counts_duplicates() -> None:
    sent = {"a": (10.0, 10.010), "b": (11.0, 11.020)}
    receipts = [
        [("a", 10.015, 10.017), ("b", 11.030, 11.031), ("a", 10.5, 10.5)],  # a late copy of "a": a duplicate
        [("b", 11.010, 11.040), ("zzz", 12.0, 12.0)],  # "zzz" was not created in this run: ignored
    ]
    score = score_receipts(receipts, sent)
    assert (score.live, score.delivered, score.duplicates) == (2, 3, 1)
    assert sorted(round(x, 3) for x in score.from_resp_ms) == [-10.0, 5.0, 10.0]  # arrival - response
    assert sorted(round(x, 3) for x in score.from_send_ms) == [10.0, 15.0, 30.0]  # arrival - send
    assert sorted(round(x, 3) for x in score.read_lag_ms) == [1.0, 2.0, 30.0]  # read - arrival


def test_merge_samples_pools_the_client_processes() -> None:
    one = Samples(subscribers=2, live=2, delivered=4, duplicates=1, dropped=0, ready_s=1.5, unstamped=2,
                  from_resp_ms=[1.0, 9.0, 3.0, 7.0], from_send_ms=[2.0, 10.0, 4.0, 8.0], read_lag_ms=[0.5] * 4,
                  not_ready={}, failures=["x"])
    two = Samples(subscribers=3, live=1, delivered=2, duplicates=0, dropped=1, ready_s=2.5,
                  from_resp_ms=[5.0, 2.0], from_send_ms=[6.0, 3.0], read_lag_ms=[0.1, 0.2],
                  not_ready={"subscribing": 2}, failures=["x", "y"])
    merged = merge_samples([one, two])
    assert (merged.subscribers, merged.live, merged.delivered, merged.duplicates, merged.dropped) == (5, 3, 6, 1, 1)
    assert merged.ready_s == 2.5 and merged.unstamped == 2
    # the percentiles of all deliveries, not an average of per-process percentiles
    assert merged.from_resp_ms == [1.0, 2.0, 3.0, 5.0, 7.0, 9.0]
    assert percentile(merged.from_resp_ms, 50) == 3.0
    assert merged.from_send_ms == sorted([2.0, 10.0, 4.0, 8.0, 6.0, 3.0])
    assert merged.not_ready == {"subscribing": 2}
    assert merged.failures == ["x", "y"]
    assert merge_samples([]).delivered == 0


def test_sse_reader_and_kernel_lag() -> None:
    import socket
    import struct

    reader = SseReader(chunked=True)
    frame = b'id:1\nevent:posts/*\ndata:{"record":{"id":"r1"}}\n\n'
    wire = f"{len(frame):x}\r\n".encode() + frame + b"\r\n"
    assert reader.feed(wire[:20]) == []
    assert reader.feed(wire[20:]) == [("posts/*", b'{"record":{"id":"r1"}}')]
    stamp = struct.pack("@ll", 100, 500_000_000)  # 100.5 s
    assert kernel_lag_s([(socket.SOL_SOCKET, SO_TIMESTAMPNS, stamp)], 100_750_000_000) == 0.25
    assert kernel_lag_s([], 1) is None


def test_keep_alive_exchange_reads_every_framing() -> None:
    import asyncio

    async def answer(raw: bytes) -> tuple[int, bytes, bool]:
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()

        class Sink:
            def write(self, _data: bytes) -> None:
                pass

        return await _exchange(reader, Sink(), b"POST / HTTP/1.1\r\n\r\n")  # type: ignore[arg-type]

    assert asyncio.run(answer(b"HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n")) == (204, b"", True)
    assert asyncio.run(answer(b"HTTP/1.1 400 Bad\r\nContent-Length: 2\r\n\r\n{}")) == (400, b"{}", True)
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    assert asyncio.run(answer(chunked)) == (200, b"abcde", True)
    assert asyncio.run(answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nrest")) == (200, b"rest", False)


def test_render_without_realtime_has_no_realtime_section() -> None:
    data = {
        "meta": {
            "mode": "full",
            "started": "now",
            "duration_s": 10,
            "warmup_s": 1,
            "rounds": 2,
            "connections": 32,
            "threads": 2,
            "loader": "wrk",
            "sizes": {"posts": 1, "posts_big": 1, "posts_owned": 1, "users": 1, "delete_pool": 1},
            "satchel_workers_requested": 2,
            "satchel_workers_used": 1,
            "cpu": "c",
            "cpus": 2,
            "kernel": "k",
            "python": "3",
            "satchel": "s",
            "pocketbase": "p",
            "realtime_duration_s": 10,
        },
        "notes": ["fell back to 1 worker"],
        "scenarios": [
            {
                "name": "health",
                "summary": "GET /api/health",
                "servers": {
                    "satchel": {"rps": 200.0, "p50_ms": 1, "p99_ms": 4, "rss_kb": 2048, "pss_kb": 3072, "errors": {}},
                    "pocketbase": {
                        "rps": 100.0, "p50_ms": 1, "p99_ms": 2, "rss_kb": 1024, "pss_kb": 1024, "errors": {"status": 2}
                    },
                },
            }
        ],
        "realtime": [],
    }
    text = render_markdown(data)
    assert "Realtime" not in text.split("## Notes")[0]
    row = next(line for line in text.splitlines() if line.startswith("| health"))
    assert "| 2.00 |" in row  # req/s ratio 200/100 and p99 ratio 4/2
    assert "| 3 | 1 | 3.00 |" in row  # PSS MB and its ratio
    assert "**2** (status 2)" in row
    assert "fell back to 1 worker" in text


def test_render_realtime_latency_and_memory_tables() -> None:
    def server(p50: float, pss_per: float | None, rss_per: float | None) -> dict[str, object]:
        return {
            "p50_ms": p50, "p99_ms": 2 * p50, "p50_from_send_ms": p50 + 1, "p99_from_send_ms": 4 * p50,
            "lost": 0, "expected": 100_000, "rss_kb": 600 * 1024, "pss_kb": 500 * 1024,
            "pss_kib_per_conn": pss_per, "rss_kib_per_conn": rss_per,
        }

    data = {
        "meta": {
            "mode": "full", "started": "now", "duration_s": 10, "warmup_s": 1, "rounds": 2, "connections": 32,
            "threads": 2, "loader": "wrk", "satchel_workers_requested": 2, "satchel_workers_used": 2,
            "sizes": {"posts": 1, "posts_big": 1, "posts_owned": 1, "users": 1, "delete_pool": 1},
            "cpu": "c", "cpus": 2, "kernel": "k", "python": "3", "satchel": "s", "pocketbase": "p",
            "realtime_duration_s": 10, "realtime_warmup": 20, "realtime_satchel_workers": 2,
        },
        "notes": [],
        "scenarios": [],
        "realtime": [
            {
                "subscribers": 10000, "rate": 1.0, "clients": 2,
                "servers": {"satchel": server(100.0, 44.0, 42.0), "pocketbase": server(50.0, 55.0, None)},
            }
        ],
    }
    text = render_markdown(data)
    latency = next(line for line in text.splitlines() if line.startswith("| 10000 | 1 | 2 |"))
    assert "| 400.00 | 200.00 | 2.00 |" in latency  # p99 from send and its ratio
    memory = next(line for line in text.splitlines() if line.startswith("| 10000 | 44.0"))
    assert memory.startswith("| 10000 | 44.0 | 55.0 | 0.80 | 42.0 | — | — |")  # a missing figure: no ratio
    assert "with 2 worker(s)" in text and "subscriptions are per process" not in text
