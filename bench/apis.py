"""API styles: the same list and get through REST, GraphQL and gRPC, on Satchel alone.

PocketBase has neither GraphQL nor gRPC, so this is a separate section: what a request costs in each
style on the same server and the same rows, not a comparison with PocketBase. REST and GraphQL are
loaded by wrk (GraphQL is one pre-built JSON POST, `bench/wrk/static.lua`); gRPC by h2load, the
HTTP/2 load generator of nghttp2, with a prepared length-prefixed protobuf body and the gRPC headers.
h2load only sees HTTP: a gRPC error still answers HTTP 200 with the error in `grpc-status`, so each
gRPC call is first made once with the Python client and must answer grpc-status 0 with records.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from bench.load import LoadError, LoadResult, RequestSpec, percentile
from bench.seed import Dataset

PER_PAGE = 20
GRPC_SERVICE = "/satchel.v1.Records/"
POST_FIELDS = "id collectionId collectionName title body public author_id"
"""Every field REST's and gRPC's answers carry, so GraphQL is asked for the same record."""
GRPC_HEADERS = ("content-type: application/grpc", "te: trailers")


@dataclass(frozen=True)
class ApiScenario:
    name: str
    style: str  # rest, graphql or grpc
    op: str  # list or get
    summary: str


API_SCENARIOS: tuple[ApiScenario, ...] = (
    ApiScenario("rest_list", "rest", "list", f"GET posts?perPage={PER_PAGE} (with totals)"),
    ApiScenario(
        "graphql_list",
        "graphql",
        "list",
        f"POST /api/graphql `postsList(perPage: {PER_PAGE})` with totals, every field REST returns",
    ),
    ApiScenario("grpc_list", "grpc", "list", f"Records/List posts, per_page {PER_PAGE} (with totals)"),
    ApiScenario("rest_get", "rest", "get", "GET posts/{id}, one seeded id"),
    ApiScenario("graphql_get", "graphql", "get", "POST /api/graphql `posts(id:)`, every field REST returns"),
    ApiScenario("grpc_get", "grpc", "get", "Records/Get posts, one seeded id"),
)


def wants_apis(only: str | None) -> bool:
    return not only or "apis" in [w.strip() for w in only.split(",")]


# ---------------------------------------------------------------------------------------- requests
def graphql_body(op: str, record_id: str) -> str:
    if op == "list":
        query = f"{{ postsList(perPage: {PER_PAGE}) {{ items {{ {POST_FIELDS} }} totalItems totalPages }} }}"
    else:
        query = f'{{ posts(id: "{record_id}") {{ {POST_FIELDS} }} }}'
    return json.dumps({"query": query}, separators=(",", ":"))


def http_spec(sc: ApiScenario, data: Dataset) -> RequestSpec:
    """The wrk request of a REST or GraphQL scenario (as a guest: posts are public)."""
    record_id = data.view_ids[0]
    if sc.style == "rest":
        path = f"/api/collections/posts/records?perPage={PER_PAGE}" if sc.op == "list" else ""
        return RequestSpec("GET", path or f"/api/collections/posts/records/{record_id}")
    if sc.style == "graphql":
        return RequestSpec("POST", "/api/graphql", body=graphql_body(sc.op, record_id))
    raise ValueError(f"{sc.name} is not an HTTP/1.1 scenario")


def grpc_message(op: str, record_id: str) -> tuple[str, bytes]:
    """(method, serialised request) of a gRPC scenario."""
    from satchel.plugins.grpc.gen import records_pb2 as pb  # generated code: imported only when measuring gRPC

    if op == "list":
        return "List", pb.ListRequest(collection="posts", per_page=PER_PAGE).SerializeToString()
    return "Get", pb.GetRequest(collection="posts", id=record_id).SerializeToString()


def grpc_frame(message: bytes) -> bytes:
    """gRPC's length-prefixed message: a 0 byte (not compressed), the length (4 bytes, big-endian), the bytes."""
    return struct.pack(">BI", 0, len(message)) + message


def grpc_preflight(target: str, method: str, message: bytes) -> str | None:
    """The call once through grpcio: None when it answered grpc-status 0 with at least one record."""
    import grpc  # the server under test has gRPC on; the harness needs grpcio only for this check

    from satchel.plugins.grpc.gen import records_pb2 as pb

    replies: dict[str, Callable[[bytes], Any]] = {
        "List": pb.ListResponse.FromString,
        "Get": pb.GetResponse.FromString,
    }
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(
            GRPC_SERVICE + method, request_serializer=lambda b: b, response_deserializer=replies[method]
        )
        try:
            answer = call(message, timeout=30)
        except grpc.RpcError as exc:
            return f"{method} -> {exc.code()}: {exc.details()}"
    if method == "List" and not answer.items:
        return "List answered no records"
    if method == "Get" and not answer.record.fields:
        return "Get answered no record"
    return None


def graphql_preflight(url: str, spec: RequestSpec) -> str | None:
    """GraphQL answers HTTP 200 with `errors` when a query fails: wrk would count a failure as a success."""
    with httpx2.Client(base_url=url, timeout=60) as client:
        r = client.post(spec.path, content=spec.body, headers={"Content-Type": "application/json"})
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    if r.status_code != 200 or body.get("errors") or not any((body.get("data") or {}).values()):
        return f"POST /api/graphql -> HTTP {r.status_code}: {r.text[:200]}"
    return None


# ---------------------------------------------------------------------------------------- h2load
def h2load_path() -> str | None:
    return shutil.which("h2load")


def require_h2load() -> str:
    found = h2load_path()
    if found is None:
        raise LoadError(
            "h2load is not installed; it loads the gRPC API for the `apis` section of `python -m bench`.\n"
            "Install it with: apt-get update && apt-get install -y nghttp2-client   (Debian/Ubuntu)\n"
            "or leave the section out: --only with other scenario names"
        )
    return found


_FINISHED = re.compile(r"finished in ([\d.]+)(us|ms|s)")
_REQUESTS = re.compile(
    r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout"
)
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def parse_h2load(stdout: str, log: str) -> LoadResult:
    """h2load's summary for counts and time, its per-request log (`--log-file`) for the percentiles.

    The log's columns: start (µs since the epoch), HTTP status (-1 when the stream failed), µs to the
    end of the response. h2load's own summary has only min/max/mean of the request time.
    """
    finished = _FINISHED.search(stdout)
    counts = _REQUESTS.search(stdout)
    if finished is None or counts is None:
        raise LoadError(f"h2load printed no summary:\n{stdout[-2000:]}")
    duration_s = max(float(finished.group(1)) * _UNITS[finished.group(2)], 1e-9)
    succeeded, failed, errored, timeout = (int(counts.group(i)) for i in (4, 5, 6, 7))
    latencies: list[float] = []
    bad_status = 0
    for line in log.splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        status = int(parts[1])
        if status >= 400 or status < 0:
            bad_status += 1
        else:
            latencies.append(int(parts[2]) / 1000)
    latencies.sort()
    errors = {"failed": failed - bad_status, "errored": errored, "timeout": timeout, "status": bad_status}
    return LoadResult(
        requests=succeeded,
        duration_s=duration_s,
        rps=succeeded / duration_s,
        p50_ms=percentile(latencies, 50),
        p90_ms=percentile(latencies, 90),
        p99_ms=percentile(latencies, 99),
        max_ms=latencies[-1] if latencies else 0.0,
        errors={k: v for k, v in errors.items() if v > 0},
    )


def h2load_command(
    exe: str, url: str, body_file: Path, log_file: Path, duration_s: float, connections: int, threads: int
) -> list[str]:
    """One stream in flight per connection, like wrk's closed loop over the same number of connections."""
    cmd = [exe, f"-c{connections}", f"-t{threads}", "-m1", f"-D{max(1, round(duration_s))}", "-d", str(body_file)]
    for header in GRPC_HEADERS:
        cmd += ["-H", header]
    return [*cmd, f"--log-file={log_file}", url]


def run_h2load(
    base_url: str, method: str, message: bytes, duration_s: float, connections: int = 32, threads: int = 2
) -> LoadResult:
    """h2load over cleartext HTTP/2 (prior knowledge, as gRPC clients speak to an insecure port)."""
    exe = require_h2load()
    with tempfile.TemporaryDirectory(prefix="bench-h2load-") as tmp:
        body_file, log_file = Path(tmp) / "body.bin", Path(tmp) / "requests.tsv"
        body_file.write_bytes(grpc_frame(message))
        cmd = h2load_command(
            exe, base_url + GRPC_SERVICE + method, body_file, log_file, duration_s, connections, threads
        )
        try:
            # argv built here from our own settings, no shell
            res = subprocess.run(cmd, capture_output=True, timeout=duration_s + 60, check=False, env=dict(os.environ))  # noqa: S603
        except subprocess.TimeoutExpired as exc:
            raise LoadError(f"h2load did not finish: {' '.join(cmd)}") from exc
        out = res.stdout.decode(errors="replace")
        if res.returncode != 0:
            raise LoadError(f"h2load exited {res.returncode}: {res.stderr.decode(errors='replace')[-2000:]}\n{out}")
        return parse_h2load(out, log_file.read_text() if log_file.exists() else "")


# ---------------------------------------------------------------------------------------- the runs
Loader = Callable[[ApiScenario, float], LoadResult]


def summarize_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of speed over rounds, and server CPU per answered request over all of them."""
    from statistics import median

    if not runs:
        return {}
    requests = sum(r["requests"] for r in runs)
    cpu = sum(r["server_cpu_s"] for r in runs)
    errors: dict[str, int] = {}
    for run in runs:
        for key, value in run["errors"].items():
            errors[key] = errors.get(key, 0) + value
    return {
        "rps": median(r["rps"] for r in runs),
        "p50_ms": median(r["p50_ms"] for r in runs),
        "p99_ms": median(r["p99_ms"] for r in runs),
        "cpu_ms_per_request": 1000 * cpu / requests if requests else None,
        "requests": requests,
        "errors": errors,
        "rounds": len(runs),
    }


def apis_table(data: dict[str, Any]) -> list[str]:
    lines = [
        "| scenario | style | req/s | p50 ms | p99 ms | server CPU ms/req | errors |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for entry in data.get("apis", []):
        s = entry.get("result") or {}

        def num(key: str, digits: int, s: dict[str, Any] = s) -> str:
            value = s.get(key)
            return "—" if value is None else f"{value:,.{digits}f}"

        errors = s.get("errors") or {}
        shown = str(sum(errors.values())) if not errors else f"**{sum(errors.values())}** ({errors})"
        lines.append(
            f"| {entry['name']} | {entry['style']} | {num('rps', 1)} | {num('p50_ms', 2)} | {num('p99_ms', 2)} "
            f"| {num('cpu_ms_per_request', 3)} | {shown if s else '—'} |"
        )
    return lines
