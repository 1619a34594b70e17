"""A real Prometheus server scrapes a real `satchel serve --workers 2 --metrics` after some traffic.

The test asks Prometheus' HTTP API (not the exposition text) for the series and their values:
request counts by route template summed over both workers, the workers' live gauges (realtime
clients held one per worker), per-worker process metrics, DB time, and the broker lag of events
relayed between the workers. Prometheus authenticates with the bearer token, as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.apis.test_api_realtime import Stream, free_port
from tests.apis.test_api_realtime_scaleout import (
    Serve,
    Subscriber,
    create,
    fresh_connection_client,
    serve,
    setup_posts,
)
from tests.required_service import unavailable

TOKEN = "prometheus-scrape-token"
RECORDS = "/api/collections/{collection}/records"
CREATES = 6


def prometheus_binary() -> str:
    found = shutil.which("prometheus") or ("/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)
    if found is None:
        unavailable("the prometheus binary is missing", "apt-get install -y prometheus")
    assert found is not None
    return found


class Prometheus:
    def __init__(self, binary: str, base: Path, target: str) -> None:
        base.mkdir(parents=True, exist_ok=True)
        config = base / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: satchel\n    authorization:\n"
            f"      credentials: {TOKEN}\n    static_configs:\n      - targets: ['{target}']\n"
        )
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = (base / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={base / 'data'}",
                f"--web.listen-address={self.url.removeprefix('http://')}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}")
            try:
                if httpx2.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("prometheus did not become ready")

    def query(self, promql: str) -> list[dict[str, Any]]:
        r = httpx2.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5)
        body = r.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, promql: str) -> float | None:
        result = self.query(promql)
        return float(result[0]["value"][1]) if len(result) == 1 else None

    def wait_for(self, promql: str, expected: float, timeout: float = 20) -> float | None:
        """Poll until the query answers `expected` (scrapes land every second); the last answer."""
        deadline = time.monotonic() + timeout
        got = self.value(promql)
        while got != expected and time.monotonic() < deadline:
            time.sleep(0.5)
            got = self.value(promql)
        return got

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


@contextlib.asynccontextmanager
async def held_streams(url: str) -> AsyncIterator[tuple[list[Subscriber], int]]:
    """SSE clients subscribed to `posts/*` on both workers, and how many streams were opened in all."""
    subs: dict[str, Subscriber] = {}
    opened: list[Subscriber] = []
    streams = httpx2.AsyncClient(base_url=url, timeout=10, limits=httpx2.Limits(max_keepalive_connections=0))
    try:
        async with fresh_connection_client(url) as calls:
            while len(subs) < 2 and len(opened) < 60:
                stream = Stream(streams)
                sub = Subscriber(stream, asyncio.create_task(stream.run()))
                opened.append(sub)
                stream.client_id = (await stream.next())["id"]
                if sub.node not in subs:
                    r = await calls.post(
                        "/api/realtime", json={"clientId": stream.client_id, "subscriptions": ["posts/*"]}
                    )
                    assert r.status_code == 204, r.text
                    subs[sub.node] = sub
        assert len(subs) == 2, f"{len(opened)} streams landed on one worker only"
        yield list(subs.values()), len(opened)
    finally:
        for sub in opened:
            sub.task.cancel()
        await streams.aclose()


STALE = """
from prometheus_client import Counter
Counter("satchel_http_requests_total", "", ["method", "route", "status"]).labels("POST", "{route}", "200").inc(100)
"""


@pytest.fixture
def metered_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Serve]:
    """Two workers sharing a given metrics directory that holds an earlier run's counts."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    stale_env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", STALE.format(route=RECORDS)], env=stale_env, check=True)
    assert list(directory.glob("counter_*.db")), "the stale run left no file"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    monkeypatch.setenv("SATCHEL_METRICS_TOKEN", TOKEN)
    server = serve(tmp_path / "data", "--workers", "2", "--metrics")
    yield server
    server.stop()


async def test_prometheus_scrapes_every_workers_counts_in_one_target(tmp_path: Path, metered_workers: Serve) -> None:
    binary = prometheus_binary()
    url = metered_workers.url
    r = httpx2.get(f"{url}/metrics", timeout=5)
    assert (r.status_code, r.json()["status"]) == (401, 401)  # the token is required

    su = await setup_posts(url)
    async with held_streams(url) as (subs, opened):  # realtime clients on both workers
        for i in range(CREATES):
            await create(url, su, f"post {i}")  # fresh connections: spread over both workers
        for sub in subs:
            events = await sub.events(CREATES)
            assert [e["data"]["record"]["title"] for e in events] == [f"post {i}" for i in range(CREATES)]
        async with fresh_connection_client(url) as http:
            for i in range(4):
                assert (await http.get(f"/api/collections/posts/records/missing{i}")).status_code == 404

        prometheus = Prometheus(binary, tmp_path / "prometheus", url.removeprefix("http://"))
        try:
            target = '{job="satchel"}'
            assert prometheus.wait_for(f"up{target}", 1.0) == 1.0
            created = f'sum(satchel_http_requests_total{{method="POST",route="{RECORDS}",status="200"}})'
            # exactly this run's creates, however the workers shared them: the stale 100 were cleared
            assert prometheus.wait_for(created, CREATES) == CREATES
            missing = f'sum(satchel_http_requests_total{{route="{RECORDS}/{{id}}",status="404"}})'
            assert prometheus.wait_for(missing, 4) == 4
            assert prometheus.wait_for("satchel_workers", 2) == 2
            # a live gauge summed over the workers: every stream still open, whichever worker holds it
            assert prometheus.wait_for("satchel_realtime_connections", opened) == opened

            pids = {int(s["metric"]["pid"]) for s in prometheus.query("process_resident_memory_bytes")}
            assert pids == set(metered_workers.worker_pids())
            assert all(float(s["value"][1]) > 0 for s in prometheus.query("process_cpu_seconds_total"))

            inserts = prometheus.value(
                'sum(satchel_db_query_duration_seconds_count{operation="INSERT",system="sqlite"})'
            )
            assert inserts is not None and inserts >= CREATES
            # every create was broadcast to the sibling worker, which observed how long the frame took
            relayed = prometheus.value('sum(satchel_realtime_broker_lag_seconds_count{kind="record"})')
            assert relayed is not None and relayed >= CREATES
            p99 = prometheus.value(
                f'histogram_quantile(0.99, sum by (le) (satchel_http_request_duration_seconds_bucket{{route="{RECORDS}"}}))'
            )
            assert p99 is not None and 0 < p99 <= 10
            raw = prometheus.query('count({__name__=~"satchel_.*", route=~".*missing.*"})')
            assert raw == []  # no raw path ever became a label value
        finally:
            prometheus.stop()
