"""Load generators: wrk for the real measurements, a small asyncio loader for tests.

wrk is the measuring instrument because it is a C event loop that costs far less CPU per request than
any Python client; on a small machine a Python loader would measure itself. The asyncio loader exists
so the harness can be exercised where wrk is not installed (CI smoke test); its numbers are not
comparable with wrk's.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx2

LUA_DIR = Path(__file__).resolve().parent / "wrk"
MARKER = "BENCH_JSON "


class LoadError(RuntimeError):
    """The load generator is missing or failed; the message says what to do."""


@dataclass(frozen=True)
class RequestSpec:
    """One scenario made concrete for one server: what to send, as which user, over which ids."""

    method: str
    path: str  # may contain "{id}" when `ids` is set
    body: str | None = None
    auth: str | None = None
    ids: tuple[str, ...] = ()
    once: bool = False  # each id used once (deletes); otherwise ids are cycled


@dataclass
class LoadResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int] = field(default_factory=dict)
    ids_exhausted: bool = False

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def wrk_path() -> str | None:
    return shutil.which("wrk")


def require_wrk() -> str:
    found = wrk_path()
    if found is None:
        raise LoadError(
            "wrk is not installed; it is the load generator of `python -m bench`.\n"
            "Install it with: apt-get update && apt-get install -y wrk   (Debian/Ubuntu; or build from "
            "https://github.com/wg/wrk)"
        )
    return found


def parse_wrk_output(text: str) -> LoadResult:
    for line in text.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            break
    else:
        raise LoadError(f"wrk printed no {MARKER.strip()} line:\n{text[-2000:]}")
    # when every thread ran out of ids, wrk still reports the full -d; the scripts measured the busy span
    active_us = data.get("active_us", -1)
    duration_s = max((active_us if active_us > 0 else data["duration_us"]) / 1e6, 1e-9)
    lat = data["latency_us"]
    return LoadResult(
        requests=int(data["requests"]),
        duration_s=duration_s,
        rps=data["requests"] / duration_s,
        p50_ms=lat["p50"] / 1000,
        p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000,
        max_ms=lat["max"] / 1000,
        errors={k: int(v) for k, v in data["errors"].items() if v},
        ids_exhausted=bool(data.get("threads_exhausted")),
    )


def run_wrk(
    url: str, spec: RequestSpec, duration_s: float, connections: int = 32, threads: int = 2, timeout_s: float = 10.0
) -> LoadResult:
    """One wrk run; settings go through the environment so the Lua scripts stay generic."""
    exe = require_wrk()
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        env = dict(os.environ)
        env.update(BENCH_LUA_DIR=str(LUA_DIR), BENCH_METHOD=spec.method, BENCH_PATH=spec.path)
        env["BENCH_THREADS"] = str(threads)
        for key in ("BENCH_BODY", "BENCH_AUTH", "BENCH_IDS_FILE", "BENCH_ID_MODE"):
            env.pop(key, None)
        if spec.body is not None:
            env["BENCH_BODY"] = spec.body
        if spec.auth:
            env["BENCH_AUTH"] = spec.auth
        script = LUA_DIR / "static.lua"
        if spec.ids:
            ids_file = Path(tmp) / "ids.txt"
            ids_file.write_text("\n".join(spec.ids) + "\n")
            env["BENCH_IDS_FILE"] = str(ids_file)
            env["BENCH_ID_MODE"] = "once" if spec.once else "cycle"
            script = LUA_DIR / "ids.lua"
        secs = max(1, round(duration_s))
        cmd = [exe, f"-t{threads}", f"-c{connections}", f"-d{secs}s", f"--timeout={timeout_s:g}s", "-s", str(script)]
        cmd.append(url)
        try:
            # argv list built here from our own settings, no shell
            res = subprocess.run(cmd, capture_output=True, env=env, timeout=secs + timeout_s + 30, check=False)  # noqa: S603
        except subprocess.TimeoutExpired as exc:
            raise LoadError(f"wrk did not finish: {' '.join(cmd)}") from exc
    out = res.stdout.decode(errors="replace")
    if res.returncode != 0:
        raise LoadError(f"wrk exited {res.returncode}: {res.stderr.decode(errors='replace')[-2000:]}\n{out[-2000:]}")
    return parse_wrk_output(out)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile; enough for the small samples of the fallback loader and realtime."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


async def run_python(
    url: str, spec: RequestSpec, duration_s: float, connections: int = 8, max_requests: int = 10_000
) -> LoadResult:
    """A closed-loop asyncio loader with the same contract as `run_wrk` (bounded by time and count)."""
    headers = {"Content-Type": "application/json"} if spec.body is not None else {}
    if spec.auth:
        headers["Authorization"] = spec.auth
    latencies: list[float] = []
    errors: dict[str, int] = {}
    ids = list(spec.ids)
    state = {"issued": 0}
    exhausted = False
    deadline = time.monotonic() + duration_s

    def next_path() -> str | None:
        nonlocal exhausted
        n = state["issued"]
        if n >= max_requests:
            return None
        if ids:
            if spec.once and n >= len(ids):
                exhausted = True
                return None
            state["issued"] = n + 1
            return spec.path.replace("{id}", ids[n % len(ids)])
        state["issued"] = n + 1
        return spec.path

    async def worker(client: httpx2.AsyncClient) -> None:
        while time.monotonic() < deadline:
            path = next_path()
            if path is None:
                return
            t0 = time.perf_counter()
            try:
                resp = await client.request(spec.method, path, content=spec.body, headers=headers)
            except httpx2.HTTPError:
                errors["read"] = errors.get("read", 0) + 1
                continue
            latencies.append(time.perf_counter() - t0)
            if resp.status_code > 399:
                errors["status"] = errors.get("status", 0) + 1

    limits = httpx2.Limits(max_connections=connections)
    start = time.perf_counter()
    async with httpx2.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(connections)))
    elapsed = max(time.perf_counter() - start, 1e-9)
    lat = sorted(latencies)
    ms = [v * 1000 for v in lat]
    return LoadResult(
        requests=len(lat),
        duration_s=elapsed,
        rps=len(lat) / elapsed,
        p50_ms=percentile(ms, 50),
        p90_ms=percentile(ms, 90),
        p99_ms=percentile(ms, 99),
        max_ms=ms[-1] if ms else 0.0,
        errors=errors,
        ids_exhausted=exhausted,
    )
