"""`python -m bench.pg_drivers`: asyncpg vs psycopg 3 (async pool) on this machine's PostgreSQL.

The adapter (satchel/adapters/db/postgres.py) uses asyncpg; the house notes said psycopg 3 "ties
asyncpg on throughput with ~2x better p99 at 64 concurrent queries; asyncpg uses less client CPU.
Pick by measurement". This is that measurement, kept small: a fresh database with one 10,000-row
table, then 64 tasks sharing a pool of 10 connections (the adapter's pool size) for each workload,
`select` (one row by primary key) and `insert` (one row, autocommit), drivers in alternating order
over rounds. Latency includes the wait for a pool connection, as a request's does. Client CPU is
this process's; server CPU is that of the PostgreSQL backends serving the pool under test.

Figures of 2026-12-05 (2 vCPUs shared with other work, PostgreSQL 15 at server defaults, uvloop,
2 rounds x 5 s, medians; indicative only; bench/README.md "PostgreSQL drivers" discusses them):

| workload | driver | ops/s | p50 ms | p99 ms | client CPU µs/op | server CPU µs/op |
|---|---|---:|---:|---:|---:|---:|
| select | asyncpg | 6,334 | 8.70 | 42.64 | 82 | 74 |
| select | asyncpg-noreset | 10,622 | 4.62 | 34.81 | 53 | 34 |
| select | psycopg | 5,965 | 9.79 | 21.47 | 100 | 41 |
| insert | asyncpg | 3,507 | 16.91 | 60.76 | 107 | 128 |
| insert | asyncpg-noreset | 4,334 | 12.43 | 54.66 | 75 | 89 |
| insert | psycopg | 3,347 | 16.51 | 79.83 | 121 | 94 |

asyncpg's pool resets every connection it takes back with one more query; `asyncpg-noreset` shows
what that costs (see `AsyncpgPool`).
Needs the `bench` extra (`pip install -e .[bench]`: psycopg[binary,pool]).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from bench import pg
from bench.servers import ServerError, tree_cpu_s

POOL_SIZE = 10  # satchel.adapters.db.postgres.POOL_SIZE
ROWS = 10_000
DRIVERS = ("asyncpg", "asyncpg-noreset", "psycopg")
WORKLOADS = ("select", "insert")
_SCHEMA = "CREATE TABLE items (id text PRIMARY KEY, title text NOT NULL, body text NOT NULL, n integer NOT NULL)"

Op = Callable[[int], Awaitable[None]]


@dataclass
class Outcome:
    driver: str
    workload: str
    ops: int
    seconds: float
    p50_ms: float
    p99_ms: float
    client_cpu_s: float
    server_cpu_s: float

    @property
    def rate(self) -> float:
        return self.ops / self.seconds


def _row(i: int) -> tuple[str, str, str, int]:
    return (f"r{i:014d}", f"title {i}", "lorem ipsum dolor sit amet " * 4, i)


async def _fill(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(_SCHEMA)
        await conn.copy_records_to_table("items", records=[_row(i) for i in range(ROWS)])
        await conn.execute("ANALYZE items")
    finally:
        await conn.close()


async def _keep_session(conn: Any) -> None:
    """A `reset` that sends nothing unless a transaction was left open (then a ROLLBACK, as psycopg's pool).

    Safe for code that keeps no session state (no SET, LISTEN or session advisory lock): the adapter's
    write lock is `pg_advisory_xact_lock`, released at COMMIT/ROLLBACK.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class AsyncpgPool:
    """asyncpg's pool; statements are prepared and cached per connection by the driver itself.

    By default asyncpg resets every connection it takes back (`Connection.reset()`: one more query,
    `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`, per acquire). The
    `asyncpg-noreset` variant passes a `reset` that sends nothing (but a ROLLBACK for a connection
    returned inside a transaction), as psycopg's pool does.
    """

    def __init__(self, url: str, *, reset: bool = True) -> None:
        self.url = url
        self.reset = reset
        self.pool: Any = None

    async def __aenter__(self) -> AsyncpgPool:
        import asyncpg

        reset = None if self.reset else _keep_session
        self.pool = await asyncpg.create_pool(self.url, min_size=POOL_SIZE, max_size=POOL_SIZE, reset=reset)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.pool.close()

    def op(self, workload: str, seq: Iterator[int]) -> Op:
        async def select(i: int) -> None:
            async with self.pool.acquire() as conn:
                await conn.fetchrow("SELECT id, title, body, n FROM items WHERE id = $1", _row(i % ROWS)[0])

        async def insert(i: int) -> None:
            async with self.pool.acquire() as conn:
                await conn.execute("INSERT INTO items VALUES ($1, $2, $3, $4)", *_row(next(seq)))

        return select if workload == "select" else insert


class PsycopgPool:
    """psycopg 3's AsyncConnectionPool in autocommit (one statement, one transaction, as asyncpg's).

    psycopg prepares a statement server-side once it has run 5 times on a connection (its default).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.pool: Any = None

    async def __aenter__(self) -> PsycopgPool:
        from psycopg_pool import AsyncConnectionPool

        self.pool = AsyncConnectionPool(
            self.url, min_size=POOL_SIZE, max_size=POOL_SIZE, kwargs={"autocommit": True}, open=False
        )
        await self.pool.open(wait=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.pool.close()

    def op(self, workload: str, seq: Iterator[int]) -> Op:
        async def select(i: int) -> None:
            async with self.pool.connection() as conn:
                cur = await conn.execute("SELECT id, title, body, n FROM items WHERE id = %s", (_row(i % ROWS)[0],))
                await cur.fetchone()

        async def insert(i: int) -> None:
            async with self.pool.connection() as conn:
                await conn.execute("INSERT INTO items VALUES (%s, %s, %s, %s)", _row(next(seq)))

        return select if workload == "select" else insert


def _pool(driver: str, url: str) -> AbstractAsyncContextManager[AsyncpgPool | PsycopgPool]:
    if driver == "psycopg":
        return PsycopgPool(url)
    return AsyncpgPool(url, reset=driver == "asyncpg")


async def _measure(
    driver: str, workload: str, url: str, db: str, tasks: int, seconds: float, seq: Iterator[int]
) -> Outcome:
    latencies: list[float] = []
    async with _pool(driver, url) as pool:
        op = pool.op(workload, seq)
        for i in range(tasks):  # warm every connection (and psycopg's prepare threshold) before measuring
            for _ in range(6):
                await op(i)
        backends = pg.backend_pids(db)
        server0, client0 = tree_cpu_s(backends), time.process_time()
        start = time.perf_counter()
        deadline = start + seconds
        rng = random.Random(7)  # noqa: S311 - which row to read, not a secret

        async def worker() -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                await op(rng.randrange(ROWS))
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(tasks)))
        elapsed = time.perf_counter() - start
        client = time.process_time() - client0
        server = tree_cpu_s(backends) - server0
    latencies.sort()
    return Outcome(
        driver,
        workload,
        len(latencies),
        elapsed,
        1000 * latencies[len(latencies) // 2],
        1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        client,
        server,
    )


def _median(runs: list[Outcome]) -> dict[str, float]:
    return {
        "rate": statistics.median(r.rate for r in runs),
        "p50": statistics.median(r.p50_ms for r in runs),
        "p99": statistics.median(r.p99_ms for r in runs),
        "client_us": statistics.median(1e6 * r.client_cpu_s / r.ops for r in runs),
        "server_us": statistics.median(1e6 * r.server_cpu_s / r.ops for r in runs),
    }


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| workload | driver | ops/s | p50 ms | p99 ms | client CPU µs/op | server CPU µs/op |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for workload in WORKLOADS:
        for driver in DRIVERS:
            runs = [o for o in outcomes if o.driver == driver and o.workload == workload]
            if runs:
                m = _median(runs)
                lines.append(
                    f"| {workload} | {driver} | {m['rate']:,.0f} | {m['p50']:.2f} | {m['p99']:.2f} "
                    f"| {m['client_us']:.0f} | {m['server_us']:.0f} |"
                )
    return "\n".join(lines)


async def run(tasks: int, seconds: float, rounds: int, log: Callable[[str], None]) -> list[Outcome]:
    database = await asyncio.to_thread(pg.create_database)
    outcomes: list[Outcome] = []
    try:
        await _fill(database.url)
        seq = itertools.count(ROWS)  # ids for inserts: each used once
        for rnd in range(rounds):
            order = DRIVERS if rnd % 2 == 0 else tuple(reversed(DRIVERS))
            for workload in WORKLOADS:
                for driver in order:
                    out = await _measure(driver, workload, database.url, database.name, tasks, seconds, seq)
                    log(
                        f"[pg-drivers] round {rnd + 1} {workload:<6} {driver:<8} {out.rate:9.0f} ops/s  "
                        f"p50 {out.p50_ms:6.2f} ms  p99 {out.p99_ms:6.2f} ms"
                    )
                    outcomes.append(out)
    finally:
        await asyncio.to_thread(database.drop)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pg_drivers", description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=int, default=64, help="concurrent tasks sharing the pool (64)")
    p.add_argument("--seconds", type=float, default=5.0, help="seconds per run (5)")
    p.add_argument("--rounds", type=int, default=2, help="rounds, driver order alternating (2)")
    args = p.parse_args(argv)
    try:
        import psycopg_pool  # noqa: F401 - only to fail early with the install hint
        import uvloop  # granian serves Satchel on uvloop: the drivers are measured on the same loop
    except ImportError as exc:
        print(f"bench.pg_drivers: {exc}; install the bench extra: pip install -e .[bench]", file=sys.stderr)
        return 2
    try:
        outcomes = uvloop.run(run(args.tasks, args.seconds, args.rounds, lambda m: print(m, file=sys.stderr)))
    except ServerError as exc:
        print(f"bench.pg_drivers: {exc}", file=sys.stderr)
        return 2
    print(table(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
