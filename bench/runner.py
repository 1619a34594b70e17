"""Orchestration: start both servers, seed them, run every scenario on each in alternating rounds.

Rounds alternate the order (A then B, then B then A) so slow drifts of the machine (page cache, CPU
frequency, a noisy neighbour) are spread over both servers instead of always hurting the second one.
The result is a plain dict (JSON-ready) that `bench.report` renders.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx2

from bench.apis import (
    API_SCENARIOS,
    graphql_preflight,
    grpc_message,
    grpc_preflight,
    h2load_path,
    http_spec,
    require_h2load,
    run_h2load,
    summarize_runs,
    wants_apis,
)
from bench.deploy import Deployment, Started, start_satchel
from bench.load import LoadResult, RequestSpec, require_wrk, run_python, run_wrk
from bench.proxy import worker_connections
from bench.realtime import fair_rate, raise_fd_limit, run_realtime
from bench.scenarios import Scenario, select
from bench.seed import Dataset, SeedSizes, add_delete_pool, seed
from bench.servers import (
    RssSampler,
    ServerError,
    Target,
    family,
    fd_soft_limit,
    find_pocketbase,
    free_port,
    satchel_supports_workers,
    start_server,
    tree_pss_kb,
    tree_rss_kb,
    wait_idle,
    watched,
)

KINDS = ("satchel", "pocketbase")
APIS_MAX_DURATION_S = 4.0
"""Seconds per API-style run at most: six scenarios x rounds must not stretch the full run past 15 minutes."""
REALTIME_SEED = SeedSizes(users=1, posts=0, posts_big=0, posts_owned=0, delete_pool=0, view_ids=0)


@dataclass
class Config:
    quick: bool = False
    only: str | None = None
    satchel_workers: int = 2
    realtime_workers: int | None = None  # None: the same as satchel_workers
    realtime_clients: int | None = None  # client processes per realtime run; None: `client_processes(n)`
    realtime_warmup: int = 20  # subscribers of the unmeasured warm-up run before each measured one (0: none)
    kinds: tuple[str, ...] = KINDS
    loader: str = "wrk"  # "python": the asyncio loader, for tests where wrk is absent
    duration_s: float | None = None
    warmup_s: float | None = None
    rounds: int | None = None
    connections: int = 32
    threads: int = 2
    sizes: SeedSizes | None = None
    subscribers: tuple[int, ...] | None = None
    realtime_rate: float = 50.0
    realtime_duration_s: float | None = None
    realtime_grace_s: float = 5.0
    idle_timeout_s: float = 30.0
    python_max_requests: int = 5000
    work_dir: Path | None = None
    deployment: Deployment = field(default_factory=Deployment)
    log: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr, flush=True))

    def resolved(self) -> Config:
        """Fills the mode-dependent defaults: full = 10 s x 2 rounds, quick = 2 s x 1 round on less data.

        A full run on PostgreSQL or several nodes keeps its two alternating rounds but runs 7 s and only
        the 1,000-subscriber realtime case, to stay near ten minutes (seeding, and a fresh database and
        cluster per realtime case, cost more than on SQLite). 10,000 streams behind the shipped nginx
        would need ~20,000 proxy connections, more than its 2 x 8,192 and this machine's open-files limit.
        """
        q = self.quick
        lean = self.deployment.label != "sqlite" and not q
        return replace(
            self,
            duration_s=self.duration_s if self.duration_s is not None else (2.0 if q else 7.0 if lean else 10.0),
            warmup_s=self.warmup_s if self.warmup_s is not None else (0.0 if q else 1.0),
            rounds=self.rounds if self.rounds is not None else (1 if q else 2),
            sizes=self.sizes or (SeedSizes.quick() if q else SeedSizes()),
            subscribers=self.subscribers or ((50,) if q else (1000,) if lean else (1000, 10_000)),
            realtime_duration_s=self.realtime_duration_s or (3.0 if q else 10.0),
            idle_timeout_s=min(self.idle_timeout_s, 10.0) if q else self.idle_timeout_s,
        )


def wants_realtime(only: str | None) -> bool:
    return not only or "realtime" in [w.strip() for w in only.split(",")]


def _version(cmd: list[str]) -> str:
    try:
        res = subprocess.run(cmd, capture_output=True, timeout=30, check=False)  # noqa: S603 - fixed argv
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (res.stdout or res.stderr).decode(errors="replace").strip()
    return text.splitlines()[0] if text else "?"


def _wrk_version(exe: str) -> str:
    words = _version([exe, "--version"]).split()  # "wrk debian/4.1.0-3+b2 [epoll] Copyright ..."
    return " ".join(words[:2]) if words else "wrk"


def machine_info(cfg: Config) -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pb = find_pocketbase()
    wrk = shutil.which("wrk")
    return {
        "cpu": cpu,
        "cpus": len(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "satchel": _version([sys.executable, "-m", "satchel.cli.main", "--version"]),
        "pocketbase": _version([pb, "--version"]) if pb else "missing",
        "loader": _wrk_version(wrk) if (cfg.loader == "wrk" and wrk) else cfg.loader,
    }


def _start(cfg: Config, kind: str, root: Path, workers: int, meta: dict[str, Any]) -> Target:
    if kind != "satchel":
        return start_server(kind, root, workers)
    started = Started()
    target = start_satchel(cfg.deployment, root, workers, started)
    if started.database:
        meta["pg_settings"] = started.pg_settings
        meta.setdefault("pg_databases", []).append(started.database)  # each dropped when its pair stops
    return target


@contextmanager
def _servers(cfg: Config, root: Path, satchel_workers: int, out: dict[str, Any]) -> Iterator[dict[str, Target]]:
    notes: list[str] = out["notes"]
    started: dict[str, Target] = {}
    try:
        for kind in cfg.kinds:
            workers = cfg.deployment.workers_per_node(satchel_workers) if kind == "satchel" else 1
            try:
                started[kind] = _start(cfg, kind, root / kind, workers, out["meta"])
            except ServerError as exc:
                if kind != "satchel" or workers == 1:
                    raise
                notes.append(f"Satchel failed to start with --workers {workers}; fell back to 1 worker ({exc!s:.200})")
                shutil.rmtree(root / kind, ignore_errors=True)
                started[kind] = _start(cfg, kind, root / kind, 1, out["meta"])
            cfg.log(f"[bench] {kind} up at {started[kind].url} (workers={started[kind].workers})")
        yield started
    finally:
        for server in started.values():
            server.stop()


async def _seed_all(servers: dict[str, Target], sizes: SeedSizes) -> dict[str, tuple[Dataset, float]]:
    """Both servers are seeded at once: seeding is not measured and this halves the wait."""

    async def one(server: Target) -> tuple[Dataset, float]:
        t0 = time.perf_counter()
        data = await seed(server.url, sizes)
        return data, time.perf_counter() - t0

    done = await asyncio.gather(*(one(s) for s in servers.values()))
    return dict(zip(servers, done, strict=True))


async def _preflight(url: str, spec: RequestSpec) -> tuple[RequestSpec, str | None]:
    """One request before the load, so a misconfigured scenario reports its error instead of a fast 4xx."""
    path = spec.path.replace("{id}", spec.ids[0]) if spec.ids else spec.path
    headers = {"Content-Type": "application/json"} if spec.body is not None else {}
    if spec.auth:
        headers["Authorization"] = spec.auth
    async with httpx2.AsyncClient(base_url=url, timeout=60) as client:
        resp = await client.request(spec.method, path, content=spec.body, headers=headers)
    if spec.once:
        spec = replace(spec, ids=spec.ids[1:])
    if resp.status_code >= 300:
        return spec, f"{spec.method} {path} -> HTTP {resp.status_code}: {resp.text[:200]}"
    return spec, None


def _load(cfg: Config, url: str, spec: RequestSpec, duration_s: float, connections: int | None) -> LoadResult:
    conns = connections or cfg.connections
    if cfg.loader == "python":
        return asyncio.run(
            run_python(url, spec, duration_s, connections=min(conns, 8), max_requests=cfg.python_max_requests)
        )
    return run_wrk(url, spec, duration_s, connections=max(conns, cfg.threads), threads=cfg.threads)


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds for speed (robust to one noisy round), max for memory, sums for errors."""
    if not runs:
        return {}
    errors: dict[str, int] = {}
    for run in runs:
        for key, value in run["errors"].items():
            errors[key] = errors.get(key, 0) + value
    return {
        "rps": statistics.median(r["rps"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "rss_kb": max(r["rss_kb"] for r in runs),
        "pss_kb": max(r.get("pss_kb", 0) for r in runs),
        "requests": sum(r["requests"] for r in runs),
        "errors": errors,
        "ids_exhausted": any(r["ids_exhausted"] for r in runs),
        "rounds": len(runs),
    }


def _run_one(cfg: Config, server: Target, data: Dataset, sc: Scenario, rnd: int, notes: list[str]) -> dict[str, Any]:
    assert cfg.duration_s is not None and cfg.warmup_s is not None
    if sc.needs_delete_pool:
        asyncio.run(add_delete_pool(data, str(rnd)))
    spec, problem = asyncio.run(_preflight(server.url, sc.build(data)))
    if problem:
        notes.append(f"{server.kind} / {sc.name}: preflight {problem}")
    if rnd == 0 and cfg.warmup_s > 0 and not spec.once:
        _load(cfg, server.url, spec, cfg.warmup_s, sc.connections)
    wait_idle(lambda: watched(server), cfg.idle_timeout_s)
    with RssSampler(server) as rss:
        result = _load(cfg, server.url, spec, cfg.duration_s, sc.connections)
    cpu = rss.cpu_s()
    drain = wait_idle(lambda: watched(server), cfg.idle_timeout_s)
    run = {
        **result.to_json(),
        "rss_kb": rss.peak_kb,
        "pss_kb": rss.peak_pss_kb,
        "server_cpu_s": round(cpu.pop("", 0.0), 3),
        "drain_s": round(drain, 2),
    }
    if cpu:
        # the processes beside Satchel (its PostgreSQL backends, nginx, Redis, NATS), each on its own
        run["aux"] = {
            name: {
                "cpu_s": round(cpu[name], 3),
                "rss_kb": rss.aux_peak_kb.get(name, 0),
                "pss_kb": rss.aux_peak_pss_kb.get(name, 0),
            }
            for name in cpu
        }
    cfg.log(
        f"[bench] round {rnd + 1} {sc.name:<20} {server.kind:<10} {result.rps:9.1f} req/s  "
        f"p50 {result.p50_ms:8.2f} ms  p99 {result.p99_ms:8.2f} ms  rss {rss.peak_kb / 1024:7.1f} MB"
        + (f"  errors {result.errors}" if result.errors else "")
    )
    return run


def _http_phase(cfg: Config, root: Path, scenarios: list[Scenario], workers: int, out: dict[str, Any]) -> None:
    assert cfg.rounds is not None and cfg.sizes is not None
    notes: list[str] = out["notes"]
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {s.name: {k: [] for k in cfg.kinds} for s in scenarios}
    with _servers(cfg, root, workers, out) as servers:
        out["meta"]["satchel_workers_used"] = servers["satchel"].workers if "satchel" in servers else None
        cfg.log(f"[bench] seeding {cfg.sizes}")
        seeded = asyncio.run(_seed_all(servers, cfg.sizes))
        for kind, (data, secs) in seeded.items():
            out["servers"][kind] = {
                "seed_s": round(secs, 1),
                "batch": data.batch,
                "rss_after_seed_kb": tree_rss_kb(servers[kind].roots()),
            }
        dead: set[str] = set()
        for rnd in range(cfg.rounds):
            order = list(cfg.kinds) if rnd % 2 == 0 else list(reversed(cfg.kinds))
            for sc in scenarios:
                for kind in order:
                    server = servers[kind]
                    if kind in dead:
                        continue
                    runs[sc.name][kind].append(_run_one(cfg, server, seeded[kind][0], sc, rnd, notes))
                    if not server.alive():
                        dead.add(kind)
                        code = server.exit_code()
                        notes.append(f"{kind} DIED during {sc.name} (exit {code}): {server.log_tail(800)}")
        for kind, server in servers.items():
            out["servers"][kind]["rss_end_kb"] = tree_rss_kb(server.roots())
    for sc in scenarios:
        out["scenarios"].append(
            {
                "name": sc.name,
                "summary": sc.summary,
                "connections": sc.connections or cfg.connections,
                "servers": {k: {**summarize(v), "runs": v} for k, v in runs[sc.name].items() if v},
            }
        )


def _apis_load(cfg: Config, server: Target, request: RequestSpec | tuple[str, bytes], grpc_addr: str) -> LoadResult:
    """wrk (or the python loader) for an HTTP/1.1 request, h2load on the gRPC port for a (method, message)."""
    assert cfg.duration_s is not None
    duration = min(cfg.duration_s, APIS_MAX_DURATION_S)
    if isinstance(request, tuple):
        return run_h2load(f"http://{grpc_addr}", *request, duration, cfg.connections, cfg.threads)
    return _load(cfg, server.url, request, duration, None)


def _apis_phase(cfg: Config, root: Path, workers: int, out: dict[str, Any]) -> None:
    """REST, GraphQL and gRPC list/get on one fresh Satchel serving gRPC too (PocketBase has neither)."""
    assert cfg.rounds is not None and cfg.sizes is not None and cfg.warmup_s is not None
    notes: list[str] = out["notes"]
    if cfg.deployment.nodes > 1:
        notes.append("API styles: not measured with --nodes (the shipped nginx configuration proxies no gRPC)")
        return
    scenarios = list(API_SCENARIOS)
    if h2load_path() is None:  # only with the python loader: run_benchmark requires h2load with wrk
        notes.append("API styles: gRPC not measured, h2load is not installed (apt-get install -y nghttp2-client)")
        scenarios = [sc for sc in scenarios if sc.style != "grpc"]
    grpc_addr = f"127.0.0.1:{free_port()}"
    deployment = replace(cfg.deployment, satchel_args=(*cfg.deployment.satchel_args, "--grpc", grpc_addr))
    sizes = SeedSizes(users=1, posts=cfg.sizes.posts, posts_big=0, posts_owned=0, delete_pool=0, view_ids=1)
    server = _start(replace(cfg, deployment=deployment), "satchel", root, workers, out["meta"])
    runs: dict[str, list[dict[str, Any]]] = {sc.name: [] for sc in scenarios}
    try:
        cfg.log(f"[bench] API styles: satchel up at {server.url}, gRPC {grpc_addr} (workers={server.workers})")
        data = asyncio.run(seed(server.url, sizes))
        requests: dict[str, RequestSpec | tuple[str, bytes]] = {}
        for sc in scenarios:
            if sc.style == "grpc":
                call = requests[sc.name] = grpc_message(sc.op, data.view_ids[0])
                problem = grpc_preflight(grpc_addr, *call)
            elif sc.style == "graphql":
                spec = requests[sc.name] = http_spec(sc, data)
                problem = graphql_preflight(server.url, spec)
            else:
                spec = requests[sc.name] = http_spec(sc, data)
                problem = asyncio.run(_preflight(server.url, spec))[1]
            if problem:
                # not measured: wrk and h2load would count these HTTP 200 answers as successes
                notes.append(f"API styles / {sc.name}: not measured, preflight {problem}")
                del requests[sc.name]
        measured = [sc for sc in scenarios if sc.name in requests]
        for rnd in range(cfg.rounds):
            for sc in measured if rnd % 2 == 0 else list(reversed(measured)):
                if rnd == 0 and cfg.warmup_s > 0:
                    _apis_load(replace(cfg, duration_s=cfg.warmup_s), server, requests[sc.name], grpc_addr)
                wait_idle(lambda: watched(server), cfg.idle_timeout_s)
                with RssSampler(server) as rss:
                    result = _apis_load(cfg, server, requests[sc.name], grpc_addr)
                cpu = rss.cpu_s()
                wait_idle(lambda: watched(server), cfg.idle_timeout_s)
                runs[sc.name].append(
                    {**result.to_json(), "rss_kb": rss.peak_kb, "server_cpu_s": round(cpu.pop("", 0.0), 3)}
                )
                cfg.log(
                    f"[bench] round {rnd + 1} {sc.name:<20} {result.rps:9.1f} req/s  p50 {result.p50_ms:8.2f} ms  "
                    f"p99 {result.p99_ms:8.2f} ms" + (f"  errors {result.errors}" if result.errors else "")
                )
    finally:
        server.stop()
    out["meta"]["apis_duration_s"] = min(cfg.duration_s or APIS_MAX_DURATION_S, APIS_MAX_DURATION_S)
    out["meta"]["apis_posts"] = sizes.posts
    out["meta"]["apis_workers"] = server.workers
    out["apis"] = [
        {
            "name": sc.name,
            "style": sc.style,
            "op": sc.op,
            "summary": sc.summary,
            "result": summarize_runs(runs[sc.name]),
            "runs": runs[sc.name],
        }
        for sc in scenarios
    ]


def _memory_probe(server: Target, idle_timeout_s: float) -> Callable[[], tuple[int, int]]:
    """(RSS kB, PSS kB) of a server's process tree once it is idle: before and after connecting the clients."""

    def probe() -> tuple[int, int]:
        wait_idle(lambda: watched(server), idle_timeout_s)
        return tree_rss_kb(server.roots()), tree_pss_kb(server.roots())

    return probe


def _check_fd_limits(servers: dict[str, Target], subscribers: int, notes: list[str]) -> None:
    """Each server process must be allowed more descriptors than there will be streams.

    A proxy in front holds two per stream (the client's and the upstream's), split over its workers.
    """
    for kind, server in servers.items():
        limit = min((fd_soft_limit(p) for p in family(server.roots())), default=0)
        if 0 < limit < subscribers + 64:
            notes.append(f"{kind}: open-files limit {limit} < {subscribers} subscribers (raise `ulimit -n`)")
        proxy = family(server.aux().get("nginx", []))[1:]  # its workers: the master holds no stream
        files = min((fd_soft_limit(p) for p in proxy), default=0)
        limit = min(files, worker_connections() or files) * len(proxy)
        if proxy and 0 < limit < 2 * subscribers + 64:
            notes.append(
                f"{kind}: nginx's {len(proxy)} workers may hold {limit} connections in all (open-files limit "
                f"{files} each, worker_connections {worker_connections()}); {subscribers} streams need "
                f"~{2 * subscribers}"
            )


def _realtime_run(
    cfg: Config, server: Target, token: str, n: int, rate: float, tag: str, notes: list[str]
) -> dict[str, Any]:
    """A small unmeasured warm-up, then the measured run with memory sampled around the connecting."""
    assert cfg.realtime_duration_s is not None
    if cfg.realtime_warmup:
        # the first realtime client of a fresh server pays one-off costs (imports, buffers, the first
        # goroutines): they must not be billed to the connections measured next
        warm = run_realtime(server.url, token, cfg.realtime_warmup, 10.0, 0.5, f"w{tag}", grace_s=2.0, clients=1)
        if warm.lost:
            notes.append(f"{server.kind} realtime warm-up: lost {warm.lost}/{warm.expected}")
    wait_idle(lambda: watched(server), cfg.idle_timeout_s)
    with RssSampler(server) as rss:
        res = run_realtime(
            server.url,
            token,
            n,
            rate,
            cfg.realtime_duration_s,
            tag=tag,
            grace_s=cfg.realtime_grace_s,
            clients=cfg.realtime_clients,
            memory=_memory_probe(server, min(cfg.idle_timeout_s, 10.0)),
        )
    cfg.log(
        f"[bench] realtime {n:>5} subs @ {rate:g}/s {server.kind:<10} p50 {res.p50_ms:8.2f} ms  "
        f"p99 {res.p99_ms:8.2f} ms  p99 from send {res.p99_from_send_ms:8.2f} ms  lost {res.lost}/{res.expected}  "
        f"{res.pss_kib_per_conn or 0:6.1f} KiB/conn (PSS)  peak rss {rss.peak_kb / 1024:7.1f} MB  "
        f"({res.clients} client procs, ready in {res.ready_s:.1f} s, read lag p99 {res.read_lag_p99_ms:.1f} ms)"
    )
    notes.extend(f"{server.kind} realtime {n}: {note}" for note in res.notes)
    aux = {name: {"rss_kb": kb, "pss_kb": rss.aux_peak_pss_kb.get(name, 0)} for name, kb in rss.aux_peak_kb.items()}
    return {**res.to_json(), "rss_kb": rss.peak_kb, "pss_kb": rss.peak_pss_kb, **({"aux": aux} if aux else {})}


def _realtime_phase(cfg: Config, root: Path, workers: int, out: dict[str, Any]) -> None:
    """For each subscriber count, a fresh pair of servers with only the schema.

    Fresh per count so that the memory measured per connection starts from the same state for every
    count (a server that already held 1,000 streams keeps some of that memory for the next run), and
    so that realtime is not measured on 100k-row databases.
    """
    assert cfg.subscribers is not None and cfg.realtime_duration_s is not None
    notes: list[str] = out["notes"]
    for i, n in enumerate(cfg.subscribers):
        with _servers(cfg, root / f"n{n}", workers, out) as servers:
            out["meta"]["realtime_satchel_workers"] = servers["satchel"].workers if "satchel" in servers else None
            seeded = asyncio.run(_seed_all(servers, REALTIME_SEED))
            _check_fd_limits(servers, n, notes)
            rate = fair_rate(n, cfg.realtime_rate)
            entry: dict[str, Any] = {"subscribers": n, "rate": rate, "clients": None, "servers": {}}
            order = list(cfg.kinds) if i % 2 == 0 else list(reversed(cfg.kinds))
            for kind in order:
                server = servers[kind]
                token = seeded[kind][0].superuser_token
                entry["servers"][kind] = result = _realtime_run(cfg, server, token, n, rate, f"{i}{kind[0]}", notes)
                entry["clients"] = result["clients"]
                if not server.alive():
                    notes.append(f"{kind} DIED during realtime {n}: {server.log_tail(800)}")
            out["realtime"].append(entry)


def run_benchmark(cfg: Config) -> dict[str, Any]:
    cfg = cfg.resolved()
    assert cfg.sizes is not None
    scenarios = select(cfg.only)
    apis = wants_apis(cfg.only) and "satchel" in cfg.kinds
    if cfg.loader == "wrk" and (scenarios or apis):
        require_wrk()
    if cfg.loader == "wrk" and apis:
        require_h2load()
    t0 = time.time()
    notes: list[str] = []
    # the servers inherit this process's limits: 10,000 streams need 10,000 descriptors in each
    fd_soft, fd_hard = raise_fd_limit()
    workers = cfg.satchel_workers
    realtime_workers = cfg.realtime_workers or cfg.satchel_workers
    if max(workers, realtime_workers) > 1 and "satchel" in cfg.kinds and not satchel_supports_workers():
        notes.append(f"`satchel serve` does not accept --workers yet: Satchel ran with 1 worker, not {workers}")
        workers = realtime_workers = 1
    out: dict[str, Any] = {
        "meta": {
            "mode": "quick" if cfg.quick else "full",
            "started": time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(t0)),
            "duration_s": cfg.duration_s,
            "warmup_s": cfg.warmup_s,
            "rounds": cfg.rounds,
            "connections": cfg.connections,
            "threads": cfg.threads,
            "satchel_workers_requested": cfg.satchel_workers,
            "sizes": asdict(cfg.sizes),
            "realtime_duration_s": cfg.realtime_duration_s,
            "realtime_warmup": cfg.realtime_warmup,
            "open_files_limit": [fd_soft, fd_hard],
            "kinds": list(cfg.kinds),
            "deployment": cfg.deployment.label,
            "satchel_db": cfg.deployment.db,
            "nodes": cfg.deployment.nodes,
            "deployment_text": cfg.deployment.describe(cfg.deployment.workers_per_node(workers)),
            **machine_info(cfg),
        },
        "notes": notes,
        "servers": {},
        "scenarios": [],
        "realtime": [],
        "apis": [],
    }
    base = cfg.work_dir or Path(tempfile.mkdtemp(prefix="satchel-bench-"))
    try:
        if scenarios:
            _http_phase(cfg, base / "http", scenarios, workers, out)
        if apis:
            _apis_phase(cfg, base / "apis", workers, out)
        if wants_realtime(cfg.only):
            _realtime_phase(cfg, base / "realtime", realtime_workers, out)
    finally:
        if cfg.work_dir is None:
            shutil.rmtree(base, ignore_errors=True)
    out["meta"]["elapsed_s"] = round(time.time() - t0, 1)
    return out
