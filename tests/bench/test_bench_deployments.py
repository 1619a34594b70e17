"""The benchmark's PostgreSQL and multi-node deployments, end to end on tiny data (Satchel only).

Real PostgreSQL, nginx, redis-server and nats-server (a missing one skips locally and fails under
CI=true); the asyncio loader stands in for wrk. Nothing here looks at timings: only that requests
were answered without errors, that the helper processes were measured, and that everything a run
created (its database, its processes) is gone afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from required_service import unavailable

# `bench/` is not an installed package: plain `pytest` (unlike `python -m pytest`) would not find it
REPO_ROOT = str(Path(__file__).resolve().parents[2])
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from bench import pg  # noqa: E402
from bench.__main__ import main as bench_main  # noqa: E402
from bench.deploy import Deployment, start_satchel  # noqa: E402
from bench.proxy import check_config, plain_http_server, upstreams, write_prefix  # noqa: E402
from bench.report import render_markdown  # noqa: E402
from bench.runner import Config, run_benchmark  # noqa: E402
from bench.seed import SeedSizes  # noqa: E402
from bench.servers import family  # noqa: E402
from bench.summary import render, result_files, write_summary  # noqa: E402
from satchel.testing.postgres import base_url  # noqa: E402

TINY = SeedSizes(users=2, posts=40, posts_big=60, posts_owned=40, delete_pool=30, view_ids=10)
SHIPPED = Path(REPO_ROOT) / "deploy" / "nginx"


def admin_url() -> str:
    """The test server's maintenance database, where the bench creates and drops its own."""
    url = base_url()
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=2):
            pass
    except OSError as exc:
        unavailable(
            f"PostgreSQL at {parts.hostname}:{parts.port} is unreachable ({exc})", "set SATCHEL_TEST_POSTGRES_URL"
        )
    return pg.with_database(url, "postgres")


def require_tools(*names: str) -> None:
    for name in names:
        if shutil.which(name) is None and not any(Path(d, name).is_file() for d in ("/usr/sbin", "/usr/local/sbin")):
            unavailable(f"{name} is not installed", f"apt-get install {name}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


@pytest.mark.parametrize("nodes", [1, 2])
def test_end_to_end_on_postgres(nodes: int, tmp_path: Path) -> None:
    admin = admin_url()
    if nodes > 1:
        require_tools("nginx", "redis-server", "nats-server")
    cfg = Config(
        quick=True,
        # realtime only across nodes: on one node it is the SQLite run's path (the local broker)
        only="health,create,view" + (",realtime" if nodes > 1 else ""),
        kinds=("satchel",),
        satchel_workers=2,
        loader="python",
        duration_s=0.3,
        rounds=1,
        sizes=TINY,
        subscribers=(3,),
        realtime_duration_s=0.5,
        realtime_grace_s=3.0,
        python_max_requests=100,
        work_dir=tmp_path / "work",
        deployment=Deployment(db="postgres", nodes=nodes, pg_admin_url=admin),
        log=lambda _msg: None,
    )
    data = run_benchmark(cfg)

    meta = data["meta"]
    assert meta["deployment"] == ("postgres" if nodes == 1 else "2nodes")
    assert meta["satchel_workers_used"] == 2 // nodes  # the same Satchel processes in all
    assert meta["pg_settings"]["server_version"]
    # one fresh database for the HTTP pair (and one for the realtime pair): all dropped
    assert len(meta["pg_databases"]) == (1 if nodes == 1 else 2)
    assert not any(pg.database_exists(name, admin) for name in meta["pg_databases"])

    helpers = {"postgres"} if nodes == 1 else {"postgres", "nginx", "redis", "nats"}
    for entry in data["scenarios"]:
        sat = entry["servers"]["satchel"]
        assert sat["requests"] > 0 and sat["errors"] == {}, (entry["name"], sat)
        [run] = sat["runs"]
        assert set(run["aux"]) == helpers
        # the backends serving Satchel's pool were found and measured while it ran
        assert run["aux"]["postgres"]["pss_kb"] > 0
    if nodes > 1:
        [rt] = data["realtime"]
        sat_rt = rt["servers"]["satchel"]
        # events crossed the nodes (NATS) and nginx's streaming location: every subscriber got every create
        assert sat_rt["created"] > 0 and sat_rt["lost"] == 0, sat_rt

    text = render_markdown(data)
    assert "CPU per request, Satchel and the processes it relies on" in text
    assert "postgres CPU ms/req" in text
    if nodes > 1:
        assert "| nginx CPU ms/req |" in text and "behind nginx" in text


def test_a_stopped_cluster_leaves_nothing_behind(tmp_path: Path) -> None:
    admin = admin_url()
    require_tools("nginx", "redis-server", "nats-server")
    target = start_satchel(Deployment(db="postgres", nodes=2, pg_admin_url=admin), tmp_path / "c", workers=1)
    try:
        roots = target.roots()
        aux = target.aux()
        assert len(roots) == 2
        assert aux["postgres"], "the nodes' pools hold backends"
        processes = family([*roots, *(pid for pids in aux.values() for pid in pids)])
        resp = httpx2.get(target.url + "/api/health", headers={"X-Request-Id": "bench-probe"})
        assert resp.status_code == 200
        assert resp.headers["X-Request-Id"] == "bench-probe"  # the shipped proxy configuration is in front
        # the database's name, from its backends' process titles
        [(_, db_name)] = {pg.parse_title(Path(f"/proc/{pid}/cmdline").read_bytes()) for pid in aux["postgres"]}
    finally:
        target.stop()
    assert not [pid for pid in processes if alive(pid)]
    assert not pg.database_exists(db_name, admin)
    assert pg.backend_pids(db_name) == []


def test_nginx_configuration_is_the_shipped_one_over_plain_http(tmp_path: Path) -> None:
    require_tools("nginx")
    server = plain_http_server((SHIPPED / "satchel.conf").read_text(), 18080)
    assert "listen 127.0.0.1:18080;" in server
    assert "ssl" not in server.replace("proxy_", "")  # no listen ssl, no certificate lines
    assert "return 301" not in server  # the redirect server is gone
    assert "location = /api/realtime" in server and "proxy_buffering off;" in server
    upstream = upstreams((SHIPPED / "upstream.conf").read_text(), ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"])
    assert "satchel-1" not in upstream and upstream.count("max_fails=3") == 3 and "least_conn;" in upstream
    write_prefix(tmp_path / "nginx", 18080, ["127.0.0.1:1", "127.0.0.1:2"])
    res = check_config(tmp_path / "nginx")
    assert res.returncode == 0, res.stderr.decode()


def test_shipped_files_that_changed_shape_are_refused() -> None:
    with pytest.raises(ValueError, match=r"satchel\.conf changed"):
        plain_http_server("server { listen 8090; }", 1)
    with pytest.raises(ValueError, match=r"upstream\.conf changed"):
        upstreams("upstream satchel { server a:1; }", ["127.0.0.1:1"])


def test_backend_titles_and_settings() -> None:
    assert pg.parse_title(b"postgres: 15/main: postgres shop 127.0.0.1(5432) idle\0\0") == ("postgres", "shop")
    assert pg.parse_title(b"postgres: alice shop [local] SELECT") == ("alice", "shop")
    assert pg.parse_title(b"postgres: 15/main: checkpointer ") is None
    assert pg.parse_title(b"/usr/bin/python -m bench") is None
    assert pg.parse_setting("synchronous_commit = off") == ("synchronous_commit", "off")
    for bad in ("synchronous_commit", "x=1; DROP DATABASE y", "a b=1", "work_mem='4MB'"):
        with pytest.raises(ValueError):
            pg.parse_setting(bad)
    assert pg.redact("postgres://u:secret@h:5/db") == "postgres://u:***@h:5/db"


def test_deployment_options_are_checked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert Deployment(db="postgres", nodes=2).stem == "latest-2nodes"
    assert Deployment(db="postgres").stem == "latest-postgres"
    assert Deployment().stem == "latest"
    assert bench_main(["--db", "sqlite", "--nodes", "2", "--out", str(tmp_path)]) == 2
    assert "several nodes need PostgreSQL" in capsys.readouterr().err
    assert bench_main(["--pg-set", "synchronous_commit=off", "--out", str(tmp_path)]) == 2
    assert "--pg-set applies to --db postgres only" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing ran, nothing written


def _run(label: str, mode: str, rps: tuple[float, float], p99: tuple[float, float], **meta: Any) -> dict[str, Any]:
    def server(r: float, p: float) -> dict[str, Any]:
        runs = [{"requests": 1000, "server_cpu_s": 0.5, "aux": {"postgres": {"cpu_s": 0.25}} if label else {}}]
        return {"rps": r, "p99_ms": p, "runs": runs}

    return {
        "meta": {"mode": mode, "started": "2026-12-05", "elapsed_s": 1, "rounds": 1, "duration_s": 2, **meta},
        "scenarios": [
            {"name": "view", "servers": {"satchel": server(rps[0], p99[0]), "pocketbase": server(rps[1], p99[1])}}
        ],
        "realtime": [],
    }


def test_summary_puts_each_deployment_beside_its_own_pocketbase(tmp_path: Path) -> None:
    (tmp_path / "latest.json").write_text(json.dumps(_run("", "full", (3000, 2000), (10, 20))))
    pg_run = _run("postgres", "quick", (1000, 4000), (30, 10), deployment="postgres", nodes=1)
    (tmp_path / "latest-postgres.json").write_text(json.dumps(pg_run))
    (tmp_path / "latest-2nodes.json").write_text("{not json")  # a half-written file is left out, not fatal
    assert [p.name for p in result_files(tmp_path)] == ["latest.json", "latest-postgres.json", "latest-2nodes.json"]
    text = write_summary(tmp_path).read_text()
    assert "`latest.json`" in text and "`latest-postgres.json`" in text and "latest-2nodes" not in text
    assert "| view | 3,000.0 | 2,000.0 | 1.50 | 1,000.0 | 4,000.0 | 0.25 |" in text
    assert "| view | 10.00 | 20.00 | 0.50 | 30.00 | 10.00 | 3.00 |" in text
    # CPU per request: Satchel's own 0.5 ms plus its PostgreSQL backends' 0.25 ms, against PocketBase's 0.5
    assert "| view | 0.50 | 0.50 | 1.00 | 0.75 | 0.50 | 1.50 |" in text
    assert "mix quick and full" in text
    assert "No results yet" in render([])


class _Helpers:
    """A stand-in target whose only helper is a process started and ended while it is measured."""

    def __init__(self) -> None:
        self.pids: list[int] = []

    def roots(self) -> list[int]:
        return [os.getpid()]

    def aux(self) -> dict[str, list[int]]:
        return {"burner": list(self.pids)}


def test_cpu_of_a_helper_that_comes_and_goes_during_the_run_is_counted() -> None:
    """A PostgreSQL backend replaced mid-run (asyncpg recycles pool connections) keeps its CPU in the figure."""
    import subprocess
    import time

    from bench.servers import RssSampler, _cpu_ticks_and_start

    target = _Helpers()
    burn = "import sys\nx = 0\nfor i in range(3_000_000): x += i\nprint('done', flush=True)\nsys.stdin.read()"
    with RssSampler(target, interval_s=0.02) as sampler:  # type: ignore[arg-type]
        proc = subprocess.Popen([sys.executable, "-c", burn], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        target.pids.append(proc.pid)
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline() == b"done\n"
        ticks, _ = _cpu_ticks_and_start(proc.pid)  # idle from now on: its CPU stays at this figure
        assert ticks > 0
        deadline = time.monotonic() + 60
        while sampler._last.get("burner", {}).get(proc.pid) != ticks and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.stdin.close()
        proc.stdout.close()
        proc.wait(30)
        time.sleep(0.1)  # more samples after it has gone
    # born during the run: all of its CPU counts, although before/after sums would no longer see it
    assert sampler.cpu_s()["burner"] == ticks / os.sysconf("SC_CLK_TCK")
