"""The bench's API-styles section: the gRPC body h2load sends, h2load's output, the table, and one
tiny run of the section against a real Satchel (REST and GraphQL by the fallback loader, gRPC by h2load
when it is installed). Nothing here looks at timings: only counts, errors and shapes."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import httpx2

# `bench/` is not an installed package: plain `pytest` (unlike `python -m pytest`) would not find it
REPO_ROOT = str(Path(__file__).resolve().parents[2])
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from bench.apis import (  # noqa: E402
    API_SCENARIOS,
    GRPC_HEADERS,
    graphql_body,
    graphql_preflight,
    grpc_frame,
    grpc_message,
    grpc_preflight,
    h2load_command,
    h2load_path,
    parse_h2load,
    wants_apis,
)
from bench.load import RequestSpec  # noqa: E402
from bench.report import render_markdown  # noqa: E402
from bench.runner import Config, run_benchmark  # noqa: E402
from bench.scenarios import select  # noqa: E402
from bench.seed import SeedSizes  # noqa: E402
from satchel.plugins.grpc.gen import records_pb2 as pb  # noqa: E402

H2LOAD_STDOUT = """starting benchmark...
finished in 2.00s, 6893.00 req/s, 794.58KB/s
requests: 10 total, 11 started, 10 done, 7 succeeded, 3 failed, 0 errored, 0 timeout
status codes: 7 2xx, 0 3xx, 3 4xx, 0 5xx
"""


def test_grpc_frame_is_the_length_prefixed_message() -> None:
    method, message = grpc_message("list", "")
    framed = grpc_frame(message)
    flag, length = struct.unpack(">BI", framed[:5])
    assert (method, flag, length) == ("List", 0, len(message))
    assert pb.ListRequest.FromString(framed[5:]) == pb.ListRequest(collection="posts", per_page=20)
    method, message = grpc_message("get", "p000000000000001")
    assert method == "Get" and pb.GetRequest.FromString(message).id == "p000000000000001"


def test_parse_h2load_takes_counts_from_the_summary_and_percentiles_from_the_log() -> None:
    statuses = [200] * 7 + [404] * 3
    log = "".join(f"1796463125701848\t{s}\t{1000 * (i + 1)}\n" for i, s in enumerate(statuses))
    result = parse_h2load(H2LOAD_STDOUT, log)
    assert result.requests == 7
    assert result.duration_s == 2.0
    assert result.rps == 3.5
    assert result.errors == {"status": 3}  # the 3 failed are the 4xx: not counted twice
    assert (result.p50_ms, result.max_ms) == (4.0, 7.0)  # 1..7 ms: the 404s are not latencies


def test_parse_h2load_counts_streams_that_never_answered() -> None:
    stdout = H2LOAD_STDOUT.replace("3 failed, 0 errored, 0 timeout", "3 failed, 2 errored, 1 timeout")
    log = "1\t200\t500\n2\t-1\t900\n"
    result = parse_h2load(stdout, log)
    assert result.errors == {"failed": 2, "errored": 2, "timeout": 1, "status": 1}
    assert result.p99_ms == 0.5


def test_h2load_command_speaks_grpc() -> None:
    cmd = h2load_command("h2load", "http://127.0.0.1:1/x", Path("/b"), Path("/l"), 3.4, 32, 2)
    assert cmd[:5] == ["h2load", "-c32", "-t2", "-m1", "-D3"]
    assert cmd[cmd.index("-d") + 1] == "/b"
    assert [cmd[i + 1] for i, a in enumerate(cmd) if a == "-H"] == list(GRPC_HEADERS)
    assert cmd[-2:] == ["--log-file=/l", "http://127.0.0.1:1/x"]


def test_apis_is_a_section_name_of_only() -> None:
    assert wants_apis(None) and wants_apis("list_10k, apis") and not wants_apis("list_10k,realtime")
    assert [s.name for s in select("health,apis")] == ["health"]
    assert json.loads(graphql_body("get", "abc"))["query"].startswith('{ posts(id: "abc")')


def test_render_an_apis_only_run() -> None:
    runs = [{"rps": 100.0, "p50_ms": 1.0, "p99_ms": 2.0, "requests": 200, "errors": {}, "server_cpu_s": 0.1}]
    meta = {
        "mode": "quick",
        "started": "now",
        "rounds": 1,
        "duration_s": 2.0,
        "connections": 32,
        "threads": 2,
        "loader": "wrk",
        "sizes": {},
        "satchel_workers_requested": 2,
        "cpu": "cpu",
        "cpus": 2,
        "kernel": "k",
        "python": "3",
        "satchel": "s",
        "pocketbase": "p",
        "apis_workers": 2,
        "apis_posts": 1000,
        "apis_duration_s": 2.0,
    }
    entries = [
        {"name": "rest_get", "style": "rest", "summary": "GET", "result": {**runs[0], "cpu_ms_per_request": 0.5}},
        {"name": "grpc_get", "style": "grpc", "summary": "Get", "result": {}},
    ]
    md = render_markdown({"meta": meta, "notes": [], "apis": entries, "scenarios": [], "realtime": []})
    assert "| rest_get | rest | 100.0 | 1.00 | 2.00 | 0.500 | 0 |" in md
    assert "| grpc_get | grpc | — | — | — | — | — |" in md
    assert "posts_big" not in md  # the HTTP section's data line belongs to runs that have that section
    assert "- `grpc_get`: Get" in md


def test_the_section_runs_against_satchel(tmp_path: Path) -> None:
    cfg = Config(
        quick=True,
        only="apis",
        kinds=("satchel",),
        satchel_workers=1,
        loader="python",
        duration_s=2.0,  # long enough for a busy machine to answer some; the cap below ends a run sooner
        rounds=1,
        sizes=SeedSizes(users=1, posts=30, posts_big=0, posts_owned=0, delete_pool=0, view_ids=1),
        python_max_requests=50,
        work_dir=tmp_path / "work",
        log=lambda _msg: None,
    )
    data = run_benchmark(cfg)
    assert data["scenarios"] == [] and data["realtime"] == []
    expected = [s.name for s in API_SCENARIOS if h2load_path() is not None or s.style != "grpc"]
    assert [e["name"] for e in data["apis"]] == expected
    for entry in data["apis"]:
        result = entry["result"]
        assert result["requests"] > 0 and result["errors"] == {}, entry
        assert result["cpu_ms_per_request"] > 0, entry
    assert not [n for n in data["notes"] if "preflight" in n], data["notes"]
    if h2load_path() is None:
        assert any("h2load is not installed" in n for n in data["notes"])
    assert "## API styles" in render_markdown(data)


def test_the_requests_ask_for_what_rest_answers_and_the_checks_catch_failures(tmp_path: Path) -> None:
    """The GraphQL scenarios select every field REST returns, so the styles carry the same records; the
    checks before a run refuse what wrk and h2load would count as successes (HTTP 200 errors)."""
    import asyncio

    from bench.seed import seed
    from bench.servers import free_port, start_server

    grpc_addr = f"127.0.0.1:{free_port()}"
    server = start_server("satchel", tmp_path / "satchel", args=("--grpc", grpc_addr))
    try:
        data = asyncio.run(seed(server.url, SeedSizes(users=1, posts=3, posts_big=0, posts_owned=0, delete_pool=0)))
        rid = data.view_ids[0]
        rest = httpx2.get(f"{server.url}/api/collections/posts/records/{rid}").json()
        body, headers = graphql_body("get", rid), {"Content-Type": "application/json"}
        answer = httpx2.post(f"{server.url}/api/graphql", content=body, headers=headers).json()
        record = answer["data"]["posts"]
        record["author"] = record.pop("author_id")
        assert record == rest

        assert graphql_preflight(server.url, RequestSpec("POST", "/api/graphql", body=body)) is None
        missing = RequestSpec("POST", "/api/graphql", body=graphql_body("get", "nosuchrecord123"))
        assert "HTTP 200" in (graphql_preflight(server.url, missing) or "")  # `null`: nothing to measure
        bad = RequestSpec("POST", "/api/graphql", body=body.replace("author_id", "nosuchfield"))
        assert "nosuchfield" in (graphql_preflight(server.url, bad) or "")

        for op in ("list", "get"):
            assert grpc_preflight(grpc_addr, *grpc_message(op, rid)) is None, op
        assert "NOT_FOUND" in (grpc_preflight(grpc_addr, *grpc_message("get", "nosuchrecord123")) or "")
    finally:
        server.stop()
