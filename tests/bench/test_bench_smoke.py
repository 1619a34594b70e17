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
from bench.realtime import _ChunkDecoder, fair_rate  # noqa: E402
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
    sat_rt = rt["servers"]["satchel"]
    assert sat_rt["connected"] == 3
    assert sat_rt["created"] > 0
    assert sat_rt["lost"] == 0 and sat_rt["delivered"] == 3 * sat_rt["created"], sat_rt

    md, js = write_results(data, tmp_path / "results")
    text = md.read_text()
    assert "| health |" in text and "| 3 |" in text
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
