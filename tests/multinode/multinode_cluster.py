"""A Satchel cluster on loopback: two `satchel serve` nodes on one PostgreSQL database, sharing a
Redis cache and a NATS broker, behind nginx run from the shipped deploy/nginx files.

Each cluster gets a database of its own (created here, dropped with `FORCE` at the end, so a node
that still holds connections cannot keep it alive). The nodes' Redis cache uses database
`REDIS_DB`, which no other test uses, and the keys a cluster leaves there are deleted when it ends
(the ones present when it started are left alone). NATS subjects are fixed by the broker; tests
keep collection names unique per cluster so that another cluster's events can never match them.

A missing service skips locally and fails under CI=true (`required_service.unavailable`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis
from nats_service import nats_url
from redis_service import redis_url
from required_service import unavailable

from satchel.testing.postgres import base_url
from tests.conformance.servers import SUPERUSER_EMAIL, SUPERUSER_PASSWORD
from tests.deploy.deploy_nodes import Node, start_node
from tests.deploy.nginx_proxy import Proxy, prepare, start_proxy, stop

REDIS_DB = 14
"""The Redis database of the multi-node tests (the other Redis tests use 15 with key prefixes;
a node's cache prefix is fixed, so these nodes get a database of their own)."""
LOG_TAIL = 4000


def postgres_server() -> str:
    """The test PostgreSQL server's URL (any database on it); skips locally when it is down."""
    url = base_url()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    try:
        with socket.create_connection((host, port), timeout=2):
            pass
    except OSError as exc:
        unavailable(f"PostgreSQL at {host}:{port} is unreachable ({exc})", "set SATCHEL_TEST_POSTGRES_URL")
    return url


def with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(with_path(server, "/postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database(server: str) -> str:
    """A new, empty database (C collation, as docs/deploy.md asks for); its name."""
    name = f"satchel_mn_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(server, f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'"))
    return name


def drop_database(server: str, name: str) -> None:
    asyncio.run(_admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def tail(path: Path, limit: int = LOG_TAIL) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<no log: {exc}>"
    return text if len(text) <= limit else "...\n" + text[-limit:]


@dataclass
class Cluster:
    root: Path
    db_url: str
    cache_url: str
    broker_url: str
    nodes: list[Node] = field(default_factory=list)
    proxy: Proxy | None = None

    @property
    def a(self) -> Node:
        return self.nodes[0]

    @property
    def b(self) -> Node:
        return self.nodes[1]

    @property
    def nginx(self) -> Proxy:
        if self.proxy is None:
            raise RuntimeError("the cluster's nginx is not running")
        return self.proxy

    @property
    def nginx_log(self) -> Path:
        return self.root / "nginx.log"

    def node_log(self, index: int) -> Path:
        return self.root / f"node-{index}.log"

    def describe(self) -> str:
        """The logs' tails, for failure messages."""
        parts = [f"--- node {i} ({node.url}) ---\n{tail(self.node_log(i))}" for i, node in enumerate(self.nodes)]
        parts.append(f"--- nginx ---\n{tail(self.nginx_log)}")
        return "\n".join(parts)


def serve_options(cluster: Cluster) -> list[str]:
    return ["--db", cluster.db_url, "--cache", cluster.cache_url, "--broker-url", cluster.broker_url]


def _superuser(cluster: Cluster) -> None:
    """The superuser, created in the shared database before any node starts (so no two nodes race
    to migrate an empty database)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATCHEL_")}
    env["SATCHEL_DB"] = cluster.db_url
    cmd = [sys.executable, "-m", "satchel.cli.main", "superuser", "upsert", SUPERUSER_EMAIL, SUPERUSER_PASSWORD]
    res = subprocess.run(
        [*cmd, "--dir", str(cluster.root / "setup")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if res.returncode != 0:
        raise RuntimeError(f"superuser upsert on PostgreSQL failed:\n{res.stdout}\n{res.stderr}")


def _redis_keys(url: str) -> set[bytes]:
    client = redis.Redis.from_url(url)
    try:
        return set(client.scan_iter(count=1000))
    finally:
        client.close()


def _drop_new_keys(url: str, before: set[bytes]) -> None:
    client = redis.Redis.from_url(url)
    try:
        new = [key for key in client.scan_iter(count=1000) if key not in before]
        if new:
            client.delete(*new)
    finally:
        client.close()


@contextlib.contextmanager
def running_cluster(root: Path) -> Iterator[Cluster]:
    """Two nodes and nginx on a fresh database; everything stopped and dropped on exit."""
    server = postgres_server()
    cache_url = with_path(redis_url(), f"/{REDIS_DB}")
    broker_url = nats_url()
    root.mkdir(parents=True, exist_ok=True)
    name = create_database(server)
    keys = _redis_keys(cache_url)
    cluster = Cluster(root, with_path(server, f"/{name}"), cache_url, broker_url)
    try:
        try:
            _superuser(cluster)
            for i in range(2):
                cluster.nodes.append(start_node(root / f"node-{i}", serve_options(cluster), cluster.node_log(i)))
            prefix = prepare(root / "nginx", [f"127.0.0.1:{node.port}" for node in cluster.nodes])
            cluster.proxy = start_proxy(prefix, cluster.nginx_log)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{cluster.describe()}") from exc
        yield cluster
    finally:
        if cluster.proxy is not None:
            stop(cluster.proxy.proc)
        for node in cluster.nodes:
            node.stop()
        drop_database(server, name)
        _drop_new_keys(cache_url, keys)
