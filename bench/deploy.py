"""How the Satchel under test is deployed: one node on SQLite (the default), one on PostgreSQL, or N
nodes on PostgreSQL sharing a cache (Redis) and a broker (NATS) behind nginx.

PocketBase has no alternative to its embedded SQLite, so it always runs alone and is reached
directly: the comparison is "Satchel deployed this way vs PocketBase". Everything a deployment
creates (its database, its Redis and NATS servers, nginx) is created fresh for each server pair and
removed when the pair stops.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench import pg
from bench.proxy import Nginx, start_nginx
from bench.servers import Server, ServerError, Target, start_server
from bench.services import Service, start_nats, start_redis

DBS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Deployment:
    db: str = "sqlite"
    nodes: int = 1
    pg_admin_url: str | None = None  # None: BENCH_PG_URL or the local server (bench.pg)
    pg_set: tuple[tuple[str, str], ...] = ()  # settings of the fresh database (--pg-set KEY=VALUE)
    satchel_args: tuple[str, ...] = ()  # extra `satchel serve` options (--metrics: the overhead of a feature)

    def __post_init__(self) -> None:
        if self.db not in DBS:
            raise ValueError(f"--db expects one of {', '.join(DBS)}, got {self.db!r}")
        if self.nodes < 1:
            raise ValueError("--nodes must be >= 1")
        if self.nodes > 1 and self.db != "postgres":
            raise ValueError("several nodes need PostgreSQL: an SQLite database belongs to one node only")
        if self.pg_set and self.db != "postgres":
            raise ValueError("--pg-set applies to --db postgres only")

    @property
    def label(self) -> str:
        """`sqlite`, `postgres` or `2nodes`: the name of the results files (latest-<label>.md)."""
        return f"{self.nodes}nodes" if self.nodes > 1 else self.db

    @property
    def stem(self) -> str:
        return "latest" if self.label == "sqlite" else f"latest-{self.label}"

    def workers_per_node(self, workers: int) -> int:
        """The same number of Satchel processes in all: 2 workers on one node, 1 on each of 2 nodes."""
        return max(1, workers // self.nodes)

    def describe(self, workers: int) -> str:
        if self.db == "sqlite":
            return f"one node on SQLite, {workers} worker(s)"
        if self.nodes == 1:
            return f"one node on PostgreSQL (a fresh database per server pair), {workers} worker(s)"
        return (
            f"{self.nodes} nodes x {workers} worker(s) on PostgreSQL (a fresh database per server pair), cache on "
            "Redis and realtime broker on NATS (private servers), behind nginx (the shipped deploy/nginx "
            "configuration over plain HTTP); PocketBase is reached directly"
        )


@dataclass
class Cluster:
    """Several `satchel serve` nodes behind nginx: the runner sees one server at nginx's address."""

    kind: str
    url: str
    workers: int
    nodes: list[Server]
    proxy: Nginx
    services: list[Service]
    aux_pids: dict[str, Callable[[], list[int]]]
    on_stop: list[Callable[[], None]] = field(default_factory=list)

    def roots(self) -> list[int]:
        return [node.pid for node in self.nodes]

    def aux(self) -> dict[str, list[int]]:
        return {name: find() for name, find in self.aux_pids.items()}

    def alive(self) -> bool:
        return all(node.alive() for node in self.nodes) and self.proxy.alive()

    def exit_code(self) -> int | None:
        return next((node.exit_code() for node in self.nodes if not node.alive()), None)

    def stop(self) -> None:
        try:
            self.proxy.stop()
            for node in self.nodes:
                node.stop()
            for service in self.services:
                service.stop()
        finally:
            hooks, self.on_stop = self.on_stop, []
            for hook in reversed(hooks):
                hook()

    def log_tail(self, limit: int = 4000) -> str:
        share = max(200, limit // (len(self.nodes) + 1))
        parts = [f"[node {i + 1}]\n{node.log_tail(share)}" for i, node in enumerate(self.nodes)]
        return "\n".join([*parts, f"[nginx]\n{self.proxy.log_tail(share)}"])


@dataclass
class Started:
    """What a deployment started beyond the server itself, for the report (never a password)."""

    database: str | None = None
    pg_settings: dict[str, str] = field(default_factory=dict)


def start_satchel(deployment: Deployment, base_dir: Path, workers: int, started: Started | None = None) -> Target:
    """A fresh Satchel deployed as asked; stopping it also drops its database and ends its helpers."""
    if deployment.db == "sqlite":
        return start_server("satchel", base_dir, workers, args=deployment.satchel_args)
    database = pg.create_database(deployment.pg_admin_url, deployment.pg_set)
    if started is not None:
        started.database = database.name
        started.pg_settings = database.settings
    try:
        if deployment.nodes == 1:
            env = {"SATCHEL_DB": database.url}
            server = start_server("satchel", base_dir, workers, args=deployment.satchel_args, env=env)
            server.aux_pids["postgres"] = database.backends()
            server.on_stop.append(database.drop)
            return server
        return _start_cluster(deployment, base_dir, workers, database)
    except BaseException:
        database.drop()
        raise


def _start_cluster(deployment: Deployment, base_dir: Path, workers: int, database: pg.Database) -> Cluster:
    helpers: list[Service] = []
    nodes: list[Server] = []
    try:
        redis = start_redis(base_dir / "redis")
        helpers.append(redis)
        nats = start_nats(base_dir / "nats")
        helpers.append(nats)
        env = {"SATCHEL_DB": database.url}
        args = ["--cache-url", redis.url, "--broker-url", nats.url, *deployment.satchel_args]
        for i in range(deployment.nodes):
            # each node has its own directory, as on separate machines; only the first creates the superuser
            nodes.append(start_server("satchel", base_dir / f"node{i + 1}", workers, args=args, env=env, upsert=i == 0))
        proxy = start_nginx(base_dir / "nginx", [node.url.removeprefix("http://") for node in nodes])
    except BaseException:
        for node in nodes:
            with contextlib.suppress(Exception):
                node.stop()
        for helper in helpers:
            with contextlib.suppress(Exception):
                helper.stop()
        raise
    aux = {
        "postgres": database.backends(),
        "nginx": _pid(proxy.pid),
        "redis": _pid(redis.pid),
        "nats": _pid(nats.pid),
    }
    cluster = Cluster("satchel", proxy.url, workers, nodes, proxy, helpers, aux)
    cluster.on_stop.append(database.drop)
    return cluster


def _pid(pid: int) -> Callable[[], list[int]]:
    return lambda: [pid]


@contextlib.contextmanager
def deployed(deployment: Deployment, base_dir: Path, workers: int) -> Iterator[Target]:
    target = start_satchel(deployment, base_dir, workers)
    try:
        yield target
    finally:
        target.stop()


__all__ = ["Cluster", "Deployment", "ServerError", "Started", "deployed", "start_satchel"]
